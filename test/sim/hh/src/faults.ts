import { Readable } from 'node:stream';
import { Rng } from './random.js';

/**
 * Faults a test switches on: `error` answers 5xx, `slow` delays the answer (with `stale`, an answer
 * made when the request arrived: what hh.ru had then), `rate_limit` answers 429 (a burst),
 * `huge_body` answers 200 with a body of `bytes` bytes, `redirect` answers 302 to `location`,
 * `drop_webhook` loses a callback, `duplicate_webhook` sends a callback twice, `delay_webhook`
 * holds a callback `delayMs` so that later ones overtake it.
 * A rule fires `times` times (default: until removed), each time with `probability` (default 1).
 */
export type FaultKind =
  | 'error'
  | 'slow'
  | 'rate_limit'
  | 'huge_body'
  | 'redirect'
  | 'drop_webhook'
  | 'duplicate_webhook'
  | 'delay_webhook';

export interface FaultRule {
  kind: FaultKind;
  times?: number;
  probability?: number;
  /** Only requests whose path starts with this (API faults), or callbacks of this action type (webhook faults). */
  match?: string;
  /** `error`: the status (default 503). */
  status?: number;
  /** `slow`: how long to hold the answer; `delay_webhook`: how long to hold the callback (default 3000 ms). */
  delayMs?: number;
  /**
   * `slow`: the answer is made when the request arrives and sent `delayMs` later, so it says what
   * hh.ru had then even if the negotiation moved meanwhile (a late answer). Without it the request
   * waits first and the answer is made after the wait.
   */
  stale?: boolean;
  /** `huge_body`: the size of the body (default 50 000 000 bytes). */
  bytes?: number;
  /** `huge_body`: announce the size in Content-Length (default: no, the body is chunked and only its end tells). */
  declareLength?: boolean;
  /** `redirect`: where the 302 points (default `/me`). */
  location?: string;
}

export interface ActiveFault extends FaultRule {
  id: number;
  hits: number;
  /** `huge_body`: bytes the simulator produced so far (made only as the client reads; `addFault` returns the live rule). */
  servedBytes: number;
}

const KINDS: readonly FaultKind[] = [
  'error',
  'slow',
  'rate_limit',
  'huge_body',
  'redirect',
  'drop_webhook',
  'duplicate_webhook',
  'delay_webhook',
];

export class Faults {
  private rules: ActiveFault[] = [];
  private nextId = 1;
  private rng = new Rng(7);

  add(rule: FaultRule): ActiveFault {
    if (!KINDS.includes(rule.kind)) throw new Error(`fault kind must be one of ${KINDS.join(', ')}`);
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1))
      throw new Error('fault times must be a whole number ≥ 1');
    if (rule.probability !== undefined && !(rule.probability > 0 && rule.probability <= 1))
      throw new Error('fault probability must be in (0, 1]');
    if (rule.status !== undefined && !(rule.status >= 500 && rule.status <= 599))
      throw new Error('fault status must be 5xx');
    if (
      rule.bytes !== undefined &&
      !(Number.isInteger(rule.bytes) && rule.bytes >= 0 && rule.bytes <= 2 ** 32)
    )
      throw new Error('fault bytes must be a whole number between 0 and 2^32');
    if (
      rule.delayMs !== undefined &&
      !(Number.isInteger(rule.delayMs) && rule.delayMs >= 0 && rule.delayMs <= 600_000)
    )
      throw new Error('fault delayMs must be a whole number of milliseconds between 0 and 600000');
    if (rule.stale !== undefined && typeof rule.stale !== 'boolean')
      throw new Error('fault stale must be true or false');
    if (rule.location !== undefined && typeof rule.location !== 'string')
      throw new Error('fault location must be a string');
    const active: ActiveFault = { ...rule, id: this.nextId++, hits: 0, servedBytes: 0 };
    this.rules.push(active);
    return active;
  }

  list(): ActiveFault[] {
    return this.rules.map((r) => ({ ...r }));
  }

  clear(): void {
    this.rules = [];
    this.rng = new Rng(7);
  }

  /** The first rule of this kind that matches and fires now, used up by one. */
  take(kind: FaultKind, subject: string): ActiveFault | undefined {
    for (const rule of this.rules) {
      if (rule.kind !== kind) continue;
      if (rule.match && !subject.startsWith(rule.match)) continue;
      if (rule.probability !== undefined && this.rng.next() >= rule.probability) continue;
      rule.hits++;
      if (rule.times !== undefined && rule.hits >= rule.times)
        this.rules = this.rules.filter((r) => r !== rule);
      return rule;
    }
    return undefined;
  }
}

/** A token bucket per key, in memory: hh.ru counts requests per client address per second. */
export class Buckets {
  private readonly buckets = new Map<string, { tokens: number; ts: number }>();

  /** True when the request may go. */
  take(key: string, perSec: number, burst: number, now: number): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: burst, ts: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.ts) * perSec) / 1000);
    b.ts = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  clear(): void {
    this.buckets.clear();
  }
}

/**
 * A body of `bytes` bytes, made as the client reads it (never held whole), starting like the file
 * the path names (a PDF header for `.pdf`, a JSON array otherwise); `served` counts what was made.
 */
export function hugeBody(path: string, bytes: number, served: (n: number) => void): Readable {
  const head = Buffer.from(path.endsWith('.pdf') ? '%PDF-1.4\n%' : '[', 'latin1');
  const filler = Buffer.alloc(64 * 1024, path.endsWith('.pdf') ? 0x25 : 0x20);
  let left = bytes;
  let first = true;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      let chunk = first ? Buffer.concat([head, filler]) : filler;
      first = false;
      if (chunk.length > left) chunk = chunk.subarray(0, left);
      left -= chunk.length;
      served(chunk.length);
      this.push(chunk);
    },
  });
}
