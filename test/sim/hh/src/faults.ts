import { Rng } from './random.js';

/**
 * Faults a test switches on: `error` answers 5xx, `slow` delays the answer, `rate_limit` answers
 * 429 (a burst), `drop_webhook` loses a callback, `duplicate_webhook` sends a callback twice.
 * A rule fires `times` times (default: until removed), each time with `probability` (default 1).
 */
export type FaultKind = 'error' | 'slow' | 'rate_limit' | 'drop_webhook' | 'duplicate_webhook';

export interface FaultRule {
  kind: FaultKind;
  times?: number;
  probability?: number;
  /** Only requests whose path starts with this (API faults), or callbacks of this action type (webhook faults). */
  match?: string;
  /** `error`: the status (default 503). */
  status?: number;
  /** `slow`: how long to hold the answer (default 3000 ms). */
  delayMs?: number;
}

export interface ActiveFault extends FaultRule {
  id: number;
  hits: number;
}

const KINDS: readonly FaultKind[] = ['error', 'slow', 'rate_limit', 'drop_webhook', 'duplicate_webhook'];

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
    const active: ActiveFault = { ...rule, id: this.nextId++, hits: 0 };
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
