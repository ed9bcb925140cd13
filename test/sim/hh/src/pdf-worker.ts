import { parentPort } from 'node:worker_threads';
import { type PdfContent, renderPdf } from './documents.js';

parentPort!.on('message', ({ id, content }: { id: number; content: PdfContent }) => {
  renderPdf(content).then(
    (pdf) => parentPort!.postMessage({ id, pdf }),
    (err: unknown) => parentPort!.postMessage({ id, error: String(err) }),
  );
});
