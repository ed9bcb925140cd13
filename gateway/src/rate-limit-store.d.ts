/** The Redis store that @fastify/rate-limit ships (its types cover the plugin, not this file). */
declare module '@fastify/rate-limit/store/RedisStore.js' {
  import type { Redis } from '@hhb24/common';

  export default class RedisStore {
    constructor(continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key?: string);
    incr(
      key: string,
      callback: (err: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
      max: number,
    ): void;
  }
}
