import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Deletes the key only if it still holds our token: a lease that expired and was taken is not ours to free. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface Lease {
  readonly key: string;
  readonly token: string;
  /** False when the lease had already expired (someone else may hold the lock now). */
  release(): Promise<boolean>;
  extend(ttlMs: number): Promise<boolean>;
}

export interface AcquireOptions {
  /** How long to keep trying; 0 tries once. */
  waitMs?: number;
  retryMs?: number;
}

/**
 * A single-instance Redis lock with an owner token. Good for "only one of us refreshes this token
 * now"; correctness never rests on it alone (Postgres compare-and-swap or unique keys back it up),
 * because a lease can expire while its holder is paused.
 */
export class RedisLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async acquire(key: string, ttlMs: number, options: AcquireOptions = {}): Promise<Lease | null> {
    const fullKey = `${this.prefix}lock:${key}`;
    const token = randomBytes(16).toString('hex');
    const deadline = Date.now() + (options.waitMs ?? 0);
    const retryMs = options.retryMs ?? 50;
    for (;;) {
      const ok = await this.redis.set(fullKey, token, 'PX', ttlMs, 'NX');
      if (ok === 'OK') return this.lease(fullKey, token);
      if (Date.now() + retryMs > deadline) return null;
      await new Promise((r) => setTimeout(r, retryMs * (0.5 + Math.random())));
    }
  }

  /** Runs `fn` under the lock; returns `undefined` without running it when the lock was not obtained. */
  async withLock<T>(
    key: string,
    ttlMs: number,
    fn: (lease: Lease) => Promise<T>,
    options: AcquireOptions = {},
  ): Promise<{ ran: true; value: T } | { ran: false }> {
    const lease = await this.acquire(key, ttlMs, options);
    if (!lease) return { ran: false };
    try {
      return { ran: true, value: await fn(lease) };
    } finally {
      await lease.release().catch(() => false);
    }
  }

  /**
   * Takes the lock and keeps extending it while `fn` runs, so that a short TTL only matters when
   * the holder dies (a crashed process frees the key within `ttlMs`, not after the longest job).
   */
  async hold<T>(
    key: string,
    ttlMs: number,
    fn: () => Promise<T>,
    options: AcquireOptions = {},
  ): Promise<{ ran: true; value: T } | { ran: false }> {
    const lease = await this.acquire(key, ttlMs, options);
    if (!lease) return { ran: false };
    const timer = setInterval(
      () => void lease.extend(ttlMs).catch(() => false),
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    try {
      return { ran: true, value: await fn() };
    } finally {
      clearInterval(timer);
      await lease.release().catch(() => false);
    }
  }

  private lease(key: string, token: string): Lease {
    const redis = this.redis;
    return {
      key,
      token,
      release: async () => (await redis.eval(RELEASE, 1, key, token)) === 1,
      extend: async (ttlMs: number) => (await redis.eval(EXTEND, 1, key, token, String(ttlMs))) === 1,
    };
  }
}
