import type { Runtime } from '@hhb24/common';
import type { Config } from './config.js';
import { ChannelError, type FeedbackChannel } from './feedback-channels.js';
import { type OpenFeedback, claimDueFeedback, recordAttempt } from './feedback-store.js';

/** Messages one retry pass sends at most (the rest wait for the next pass). */
const BATCH = 20;

/**
 * Delivers «Обратная связь» to every configured channel: at once when it is written, then, for the
 * channels that did not take it, again after a wait that doubles from FEEDBACK_RETRY_MIN_SEC up to
 * FEEDBACK_RETRY_MAX_SEC, until each took it. A message counts as delivered (the sender is told so)
 * once one channel took it: a person has it.
 */
export class FeedbackDelivery {
  constructor(
    private readonly runtime: Runtime,
    private readonly config: Config,
    private readonly channels: readonly FeedbackChannel[],
  ) {}

  /** How long a message is held by the process sending it: every channel's longest wait, and some. */
  get leaseMs(): number {
    return (this.channels.length + 1) * this.config.FEEDBACK_SEND_TIMEOUT_MS;
  }

  get configured(): boolean {
    return this.channels.length > 0;
  }

  /** The wait before attempt `attempts + 1`. */
  backoffMs(attempts: number): number {
    const { FEEDBACK_RETRY_MIN_SEC: min, FEEDBACK_RETRY_MAX_SEC: max } = this.config;
    return Math.min(max, min * 2 ** Math.max(0, attempts - 1)) * 1000;
  }

  /** One attempt at the channels that have not taken the message yet; true when a person has it. */
  async attempt(letter: OpenFeedback): Promise<boolean> {
    const left = this.channels.filter((c) => !letter.deliveredVia.includes(c.name));
    const results = await Promise.allSettled(left.map((c) => c.send(letter)));
    const tookIt = left.filter((_, i) => results[i]!.status === 'fulfilled').map((c) => c.name);
    const errors = results.flatMap((r) =>
      r.status === 'rejected' ? [r.reason instanceof ChannelError ? r.reason.message : 'error'] : [],
    );
    const attempts = letter.attempts + 1;
    const done = errors.length === 0 && letter.deliveredVia.length + tookIt.length > 0;
    const log = { feedbackId: letter.id, memberId: letter.memberId, attempts };
    await recordAttempt(this.runtime.db, letter.id, {
      tookIt,
      done,
      nextAttemptAt: new Date(Date.now() + this.backoffMs(attempts)),
      error: errors.length > 0 ? errors.join('; ') : left.length === 0 ? 'no channel configured' : null,
    });
    if (tookIt.length > 0) this.runtime.log.info({ ...log, channels: tookIt }, 'feedback delivered');
    if (errors.length > 0)
      this.runtime.log.warn(
        { ...log, errors, retryInSec: this.backoffMs(attempts) / 1000 },
        'feedback not delivered: it is tried again',
      );
    return letter.deliveredVia.length + tookIt.length > 0;
  }

  /** The worker's pass: every message whose next attempt is due. */
  async retryDue(): Promise<void> {
    if (!this.configured) return;
    for (const letter of await claimDueFeedback(this.runtime.db, BATCH, this.leaseMs))
      await this.attempt(letter);
  }
}
