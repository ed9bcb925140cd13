import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Longer than JetStream's 10-minute duplicate window, so a generation is never reused inside it. */
const KEEP_SEC = 15 * 60;

/** Which copy of a Bitrix24 event a message is: the event's content and its generation (see EventOccurrences). */
export interface EventOccurrence {
  key: string;
  generation: number;
}

/**
 * What Bitrix24 says of an event that tells it from another: portal, event, handler, second, data,
 * and the user its `auth` names (only to tell two users' events apart: never trusted as who acted).
 */
export function eventContentKey(
  memberId: string,
  event: string,
  handlerId: string,
  ts: string,
  data: unknown,
  userId = '',
): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([data, userId]) ?? '')
    .digest('hex')
    .slice(0, 32);
  // Cut by code points: a UTF-16 cut can leave half a surrogate pair, which no JSON column takes.
  const cut = (s: string) => Array.from(s).slice(0, 20).join('');
  return `${memberId}:${event}:${cut(handlerId)}:${cut(ts)}:${digest}`;
}

/**
 * Tells a repeated delivery of one Bitrix24 event from a second event that looks the same.
 * Bitrix24's events carry no id: two updates of one deal in the same second (our own write and a
 * person's stage move) arrive with the same event, handler, `ts` (whole seconds) and data
 * (`FIELDS.ID` only), exactly as a repeated delivery of one of them would. Their consumers read the
 * entity again when they handle the event, so a copy that arrives before the first copy is
 * handled adds nothing (the read comes after it) and may be dropped; a copy that arrives after the
 * handling began may say something the read did not see and must be handled.
 *
 * So each content key has a generation in Redis: the gateway names the message
 * `…:{content}:{generation}` (JetStream drops a second message of the same name), and the consumer
 * moves the generation on (`advance`) before it reads the portal. A copy arriving before that is
 * dropped as a duplicate, one arriving after is a new message.
 */
export class EventOccurrences {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async current(contentKey: string): Promise<EventOccurrence> {
    const raw = await this.redis.get(this.redisKey(contentKey));
    const generation = Number(raw ?? 0);
    return { key: contentKey, generation: Number.isSafeInteger(generation) ? generation : 0 };
  }

  /** The handler is about to read the portal: copies that arrive from now on are new events. */
  async advance(occurrence: EventOccurrence | null | undefined): Promise<void> {
    if (!occurrence || typeof occurrence.key !== 'string' || occurrence.key.length > 300) return;
    const key = this.redisKey(occurrence.key);
    await this.redis.multi().incr(key).expire(key, KEEP_SEC).exec();
  }

  private redisKey(contentKey: string): string {
    return `${this.prefix}b24:event:${contentKey}`;
  }
}
