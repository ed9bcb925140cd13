import { Worker } from 'node:worker_threads';
import type { PdfContent } from './documents.js';

interface Pending {
  resolve(pdf: Buffer): void;
  reject(err: Error): void;
}

/**
 * Resume PDFs rendered in one worker thread, so the simulator's event loop keeps answering (and
 * judging its rate limit) while a PDF is drawn. The worker starts on the first PDF and does not
 * keep the process alive.
 */
export class PdfPool {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  render(content: PdfContent): Promise<Buffer> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, content });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(new URL('./pdf-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', ({ id, pdf, error }: { id: number; pdf?: Uint8Array; error?: string }) => {
      const p = this.pending.get(id);
      this.pending.delete(id);
      if (!p) return;
      if (pdf) p.resolve(Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength));
      else p.reject(new Error(error ?? 'the PDF worker gave no PDF'));
    });
    // A dead worker fails what it held; the next PDF starts a new one.
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the PDF worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}
