import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export type { Redis } from 'ioredis';

/** A client that reconnects forever; commands wait for the connection instead of failing at once. */
export function createRedis(options: { url: string; name: string; log: Logger }): Redis {
  const redis = new Redis(options.url, {
    connectionName: options.name,
    maxRetriesPerRequest: 3,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // ioredis emits the same error on every reconnect attempt; log changes only.
    if (err.message !== lastError) options.log.warn({ err }, 'redis error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    if (lastError) options.log.info('redis connection restored');
    lastError = '';
  });
  return redis;
}

export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<boolean> {
  try {
    const result = await Promise.race([
      redis.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs)),
    ]);
    return result === 'PONG';
  } catch {
    return false;
  }
}
