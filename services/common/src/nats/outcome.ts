/**
 * What a message handler decided. One adapter (the consumer runner) maps these to JetStream:
 * ack → ack, retry/defer → nak with delay, drop → dead-letter row + term.
 */
export type Outcome =
  | { kind: 'ack' }
  /** Something failed that may work later; counts towards the delivery limit. */
  | { kind: 'retry'; error: string; delayMs?: number }
  /** Nothing failed: the work must wait (a rate limit, a parked account). Not counted as a failure. */
  | { kind: 'defer'; reason: string; delayMs: number }
  /** The message can never succeed (malformed, unknown tenant): kept in the dead-letter table. */
  | { kind: 'drop'; reason: string };

export const ack = (): Outcome => ({ kind: 'ack' });
export const retry = (error: string, delayMs?: number): Outcome => ({ kind: 'retry', error, delayMs });
export const defer = (reason: string, delayMs: number): Outcome => ({ kind: 'defer', reason, delayMs });
export const drop = (reason: string): Outcome => ({ kind: 'drop', reason });
