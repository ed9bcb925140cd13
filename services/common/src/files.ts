import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { AppError } from './errors.js';

/**
 * Files the services hand each other (resume PDFs), stored once in Postgres and passed by
 * reference: hh-connector writes a download into `stored_files` as it arrives, crm-writer and the
 * gateway read it back part by part. No service holds a whole file, and no file travels inside a
 * NATS message. A file is named by its portal and a key that is new for every version, so a reader
 * holding an old key finds it gone (and tries again) instead of reading a mix of two versions.
 */

/**
 * Bytes per stored part: what one statement carries (twice that as the hex text of a bytea). Small
 * enough that none of the copies made on the way (hex text, base64, its URL-encoding) is a large
 * object: they die young instead of waiting for a full collection (measured: 256 KB parts left
 * 14–15 MB more peak RSS per 5 MB file in hh-connector and crm-writer).
 */
export const FILE_PART_BYTES = 32 * 1024;

/** A stored file: the key to read it by and its size in bytes. */
export interface StoredFileRef {
  key: string;
  size: number;
}

/** A part of a file vanished while it was read: a newer version replaced it or it was erased. */
export class FileGone extends AppError {
  constructor(key: string) {
    super('file_gone', `the stored file ${key} is no longer there`, { retryable: true, status: 503 });
  }
}

export class FileStore {
  constructor(private readonly db: Knex) {}

  /**
   * Stores the bytes as they come, under a new key made from `prefix`, and returns it. Parts are
   * written as they fill; a failure removes what was written.
   */
  async write(
    memberId: string,
    prefix: string,
    bytes: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): Promise<StoredFileRef> {
    const key = `${prefix}:${randomUUID()}`;
    // One buffer for the part being filled, reused for every part: the bytes are copied once on
    // their way in (an insert has made its own text of them by the time it is done).
    const part = Buffer.allocUnsafe(FILE_PART_BYTES);
    let index = 0;
    let filled = 0;
    let size = 0;
    const insert = async (data: Buffer) => {
      await this.db('stored_files').insert({ member_id: memberId, file_key: key, part: index, data });
      index++;
      filled = 0;
    };
    try {
      for await (const chunk of bytes) {
        for (let at = 0; at < chunk.byteLength;) {
          const n = Math.min(FILE_PART_BYTES - filled, chunk.byteLength - at);
          part.set(chunk.subarray(at, at + n), filled);
          filled += n;
          at += n;
          size += n;
          if (filled === FILE_PART_BYTES) await insert(part);
        }
      }
      if (filled > 0) await insert(part.subarray(0, filled));
      return { key, size };
    } catch (err) {
      await this.remove(memberId, [key]).catch(() => undefined);
      throw err;
    }
  }

  /** The file's size, or null when there is no such file. */
  async size(memberId: string, key: string): Promise<number | null> {
    const r = await this.db('stored_files')
      .where({ member_id: memberId, file_key: key })
      .first<{ parts: string; bytes: string | null }>(
        this.db.raw('count(*) as parts'),
        this.db.raw('sum(octet_length(data)) as bytes'),
      );
    return r && Number(r.parts) > 0 ? Number(r.bytes) : null;
  }

  /** The file's bytes, one stored part at a time; FileGone when a part vanishes before the end. */
  async *read(memberId: string, key: string, size: number): AsyncGenerator<Buffer> {
    let read = 0;
    for (let part = 0; read < size; part++) {
      const r = await this.db('stored_files')
        .where({ member_id: memberId, file_key: key, part })
        .first<{ data: Buffer } | undefined>('data');
      if (!r) throw new FileGone(key);
      read += r.data.length;
      yield r.data;
    }
    if (read !== size) throw new FileGone(key);
  }

  /** A file as a value a Bitrix24 batch command carries (its base64 is streamed into the request). */
  upload(memberId: string, ref: StoredFileRef): StreamedFile {
    return new StreamedFile(ref.size, () => this.read(memberId, ref.key, ref.size));
  }

  async remove(memberId: string, keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.db('stored_files').where({ member_id: memberId }).whereIn('file_key', keys).delete();
  }
}

/**
 * A file inside the parameters of a Bitrix24 call. Where it stands, the request body carries a
 * marker; the client sends the body as a stream with the file's base64 in the marker's place,
 * read from the store part by part, so the encoded file is never held whole.
 */
export class StreamedFile {
  /** Letters and digits only: unchanged by URL-encoding and by JSON. */
  readonly marker = `hhb24file${randomBytes(12).toString('hex')}`;

  constructor(
    readonly size: number,
    readonly open: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ) {}

  /** Bytes of its base64. */
  get base64Length(): number {
    return 4 * Math.ceil(this.size / 3);
  }

  /** Only batch commands carry files: a file in a plain call's JSON would be sent as this text. */
  toJSON(): never {
    throw new Error('a stored file travels only inside a Bitrix24 batch command');
  }
}

/**
 * The base64 of `bytes`, URL-encoded as a batch command's query needs (`+`, `/`, `=` escaped),
 * chunk by chunk: each chunk encodes whole groups of three bytes, the rest waits for the next.
 */
export async function* queryBase64(
  bytes: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Buffer> {
  let carry = Buffer.alloc(0);
  for await (const chunk of bytes) {
    const all = carry.length > 0 ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
    const whole = all.length - (all.length % 3);
    carry = Buffer.from(all.subarray(whole));
    if (whole > 0) yield encode(all.subarray(0, whole));
  }
  if (carry.length > 0) yield encode(carry);
}

function encode(bytes: Buffer): Buffer {
  return Buffer.from(encodeURIComponent(bytes.toString('base64')), 'latin1');
}
