/**
 * Rules for every request we send to hh.ru, to a portal or to an OAuth server: the answer is read
 * as a stream and cut at a byte cap (never more than the cap is held in memory, whatever the other
 * side sends or claims), and a redirect is never followed (`redirect: 'error'`), because the
 * request carries a token or a secret that must not go to an address an answer names.
 */

/** The answer is bigger than the cap: reading stopped there and the connection was dropped. */
export class BodyTooLarge extends Error {
  constructor(
    readonly capBytes: number,
    /** What was known when reading stopped: the declared length, or the bytes read so far. */
    readonly seenBytes: number,
  ) {
    super(`the answer is larger than ${capBytes} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/**
 * The body of `res`, read until `capBytes` and no further. A Content-Length above the cap is
 * refused before reading; otherwise the chunks are counted as they arrive (after any
 * decompression, so a small compressed answer that unpacks to gigabytes is cut too) and the
 * stream is cancelled as soon as the count passes the cap.
 */
export async function readCapped(res: Response, capBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of streamCapped(res, capBytes)) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  return Buffer.concat(chunks, total);
}

/** True when `fetch` failed because the answer was a redirect and `redirect: 'error'` refused it. */
export function isRefusedRedirect(err: unknown): boolean {
  const cause = (err as { cause?: unknown } | null)?.cause;
  return err instanceof TypeError && cause instanceof Error && /redirect/i.test(cause.message);
}

/** Largest answer of a Bitrix24 OAuth server we read (a token answer is well under 2 KB). */
export const OAUTH_ANSWER_CAP_BYTES = 64 * 1024;

/**
 * The body of `res` as it arrives, cut at `capBytes`: for an answer that is written on (a resume
 * PDF into the file store) instead of held whole, and under `readCapped`.
 */
export async function* streamCapped(res: Response, capBytes: number): AsyncGenerator<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
  if (!encoded && Number.isFinite(declared) && declared > capBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new BodyTooLarge(capBytes, declared);
  }
  if (!res.body) return;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let total = 0;
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      total += value.byteLength;
      if (total > capBytes) throw new BodyTooLarge(capBytes, total);
      yield value;
    }
  } finally {
    // Whatever stopped the reading early (the cap, or the consumer failing): drop the rest.
    if (!finished) await reader.cancel().catch(() => undefined);
  }
}
