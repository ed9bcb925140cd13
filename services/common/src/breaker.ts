import CircuitBreaker from 'opossum';
import { UnavailableError, classifyError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface BreakerSettings {
  /** Failure share in the rolling window that opens the breaker. */
  errorThresholdPercentage: number;
  /** Calls in the window before the share counts: two early failures never open it. */
  volumeThreshold: number;
  /** How long an open breaker rejects before letting one trial call through. */
  resetTimeoutMs: number;
  rollingCountTimeoutMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 15_000,
  rollingCountTimeoutMs: 30_000,
};

type Action = () => Promise<unknown>;

/**
 * Circuit breakers per downstream and tenant (one portal's broken Bitrix24 must not stop calls to
 * the others). Only retryable failures count: a 4xx that says "your input is wrong" is not a sign
 * the downstream is down. Idle breakers are forgotten beyond `maxEntries`.
 */
export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker<[Action], unknown>>();
  private readonly open = new Set<string>();

  constructor(
    private readonly options: {
      log: Logger;
      metrics?: Metrics;
      settings?: Partial<BreakerSettings>;
      maxEntries?: number;
    },
  ) {}

  get(
    downstream: string,
    tenant: string,
    settings: Partial<BreakerSettings> = {},
  ): CircuitBreaker<[Action], unknown> {
    const key = `${downstream}\u0000${tenant}`;
    const existing = this.breakers.get(key);
    if (existing) {
      // Map order is recency order: re-insert on use.
      this.breakers.delete(key);
      this.breakers.set(key, existing);
      return existing;
    }
    const s = { ...DEFAULT_BREAKER, ...this.options.settings, ...settings };
    const breaker = new CircuitBreaker<[Action], unknown>((action: Action) => action(), {
      timeout: false,
      errorThresholdPercentage: s.errorThresholdPercentage,
      volumeThreshold: s.volumeThreshold,
      resetTimeout: s.resetTimeoutMs,
      rollingCountTimeout: s.rollingCountTimeoutMs,
      errorFilter: (err: unknown) => !classifyError(err).retryable,
    });
    const { metrics, log } = this.options;
    const emitter: NodeJS.EventEmitter = breaker;
    for (const event of ['open', 'halfOpen', 'close', 'reject', 'failure'] as const) {
      emitter.on(event, () => metrics?.breakerEvents.inc({ downstream, event }));
    }
    const countOpen = () =>
      metrics?.breakersOpen.set(
        { downstream },
        [...this.open].filter((k) => k.startsWith(`${downstream}\u0000`)).length,
      );
    breaker.on('open', () => {
      this.open.add(key);
      countOpen();
      log.warn({ downstream, tenant }, 'circuit breaker opened');
    });
    breaker.on('close', () => {
      this.open.delete(key);
      countOpen();
      log.info({ downstream, tenant }, 'circuit breaker closed');
    });
    this.breakers.set(key, breaker);
    this.evict();
    return breaker;
  }

  /** Runs `action` through the tenant's breaker; an open breaker answers with a retryable error. */
  async fire<T>(
    downstream: string,
    tenant: string,
    action: () => Promise<T>,
    settings?: Partial<BreakerSettings>,
  ): Promise<T> {
    const breaker = this.get(downstream, tenant, settings);
    try {
      return (await breaker.fire(action)) as T;
    } catch (err) {
      if ((err as { code?: string }).code === 'EOPENBREAKER') {
        const s = { ...DEFAULT_BREAKER, ...this.options.settings, ...settings };
        throw new UnavailableError('breaker_open', `${downstream} is failing for ${tenant}; calls paused`, {
          wait: true,
          retryAfterMs: s.resetTimeoutMs,
          details: { downstream, tenant },
        });
      }
      throw err;
    }
  }

  shutdown(): void {
    for (const b of this.breakers.values()) b.shutdown();
    this.breakers.clear();
  }

  private evict(): void {
    const max = this.options.maxEntries ?? 10_000;
    for (const [key, breaker] of this.breakers) {
      if (this.breakers.size <= max) break;
      if (breaker.opened) continue;
      breaker.shutdown();
      this.breakers.delete(key);
    }
  }
}
