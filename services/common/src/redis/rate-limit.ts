import type { Redis } from 'ioredis';
import { AppError, waitUnlessStopping } from '../errors.js';

/**
 * The bucket as it stands now, by Redis's own clock (one clock for every process): `tokens` refilled
 * at `rate` up to `burst` since `ts`; `fresh` is what a bucket Redis does not hold starts with.
 * `epoch` names the bucket's life: one Redis lost (flushed, restarted) and made anew has another,
 * so a caller that reserved a turn in the lost one knows its turn is gone.
 */
const refill = (fresh: string) => `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', key, 'tokens', 'ts', 'epoch')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
local epoch = state[3]
if tokens == nil then tokens = ${fresh}; ts = now end
if not epoch then epoch = t[1] .. '.' .. t[2]; redis.call('HSET', key, 'epoch', epoch) end
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000) end`;

/**
 * A token bucket kept in Redis, so every process that uses the same key shares one budget.
 * The script reads the clock of the Redis server: processes on different hosts agree on time.
 * Returns {granted, waitMs, epoch}: when refused, waitMs says when enough tokens will be there.
 * With `reserve`, the tokens are taken even when missing (the bucket goes negative, bounded by
 * `maxQueueMs` of waiting), and waitMs says when the caller may go: callers then queue fairly
 * instead of polling.
 */
const TAKE = `
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local reserve = ARGV[4] == '1'
local max_queue_ms = tonumber(ARGV[5])
${refill('burst')}
local granted = 0
local wait = 0
if tokens >= want then
  tokens = tokens - want
  granted = 1
else
  wait = math.ceil((want - tokens) * 1000 / rate)
  if reserve and wait <= max_queue_ms then
    tokens = tokens - want
    granted = 1
  end
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + math.max(wait, 0) + 1000)
return {granted, wait, epoch}
`;

/**
 * The other side said its bucket is full (a 503 QUERY_LIMIT_EXCEEDED) although ours had room: ours
 * was lost (Redis flushed or restarted) or someone else spends the same budget. Ours is emptied
 * (a queue of reservations is kept), so every process sharing the key waits at the drain rate
 * instead of each finding out with its own refused request.
 */
const DRAIN = `
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
${refill('0')}
if tokens > 0 then tokens = 0 end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', key, math.ceil((burst - tokens) * 1000 / rate) + 1000)
return 1
`;

export interface RateLimit {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Bucket size: how many calls may go at once after a quiet period. */
  burst: number;
}

export interface TakeResult {
  granted: boolean;
  /** Refused: wait this long before asking again. Reserved: wait this long before going. */
  waitMs: number;
}

export class RateLimiter {
  /** `stopping`: aborted when the process shuts down; a caller waiting its turn then gets ShuttingDown. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly stopping?: AbortSignal,
  ) {}

  async take(
    key: string,
    limit: RateLimit,
    tokens = 1,
    options: { reserve?: boolean; maxQueueMs?: number } = {},
  ): Promise<TakeResult> {
    const { granted, waitMs } = await this.takeIn(key, limit, tokens, options);
    return { granted, waitMs };
  }

  private async takeIn(
    key: string,
    limit: RateLimit,
    tokens: number,
    options: { reserve?: boolean; maxQueueMs?: number },
  ): Promise<TakeResult & { epoch: string }> {
    const [granted, waitMs, epoch] = (await this.redis.eval(
      TAKE,
      1,
      `${this.prefix}rate:${key}`,
      String(limit.ratePerSec),
      String(limit.burst),
      String(tokens),
      options.reserve ? '1' : '0',
      String(options.maxQueueMs ?? 0),
    )) as [number, number, string];
    return { granted: granted === 1, waitMs, epoch };
  }

  /** Empties the bucket now (see DRAIN): the budget's owner refused a call our bucket allowed. */
  async drain(key: string, limit: RateLimit): Promise<void> {
    await this.redis.eval(
      DRAIN,
      1,
      `${this.prefix}rate:${key}`,
      String(limit.ratePerSec),
      String(limit.burst),
    );
  }

  /**
   * Waits (in this process) until the call may go. For request paths and clients; message handlers
   * should use `take` and hand the wait back to JetStream instead.
   */
  async acquire(key: string, limit: RateLimit, options: { maxWaitMs?: number } = {}): Promise<number> {
    const deadline = Date.now() + (options.maxWaitMs ?? 30_000);
    let waited = 0;
    for (;;) {
      const result = await this.takeIn(key, limit, 1, {
        reserve: true,
        maxQueueMs: Math.max(0, deadline - Date.now()),
      });
      if (!result.granted) throw new RateLimitExceeded(key, result.waitMs);
      if (result.waitMs <= 0) return waited;
      await waitUnlessStopping(result.waitMs, this.stopping, `waiting for rate limit ${key}`);
      waited += result.waitMs;
      // The turn was reserved in a bucket Redis has since lost: the new bucket does not know it, and
      // going now would add to the new bucket's pace (after a flush, hh.ru's 429s and the portal's
      // QUERY_LIMIT_EXCEEDED came from callers that went on turns of the lost bucket).
      if ((await this.redis.hget(`${this.prefix}rate:${key}`, 'epoch')) === result.epoch) return waited;
    }
  }
}

export class RateLimitExceeded extends AppError {
  constructor(
    readonly key: string,
    readonly waitMs: number,
  ) {
    super('rate_limited', `rate limit ${key}: wait ${waitMs} ms`, {
      wait: true,
      status: 429,
      retryAfterMs: waitMs,
    });
    this.name = 'RateLimitExceeded';
  }
}
