import { Readable } from 'node:stream';
import { textOf } from '../text.js';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { BreakerRegistry } from '../breaker.js';
import { AppError, UnavailableError, ValidationError, classifyError, waitUnlessStopping } from '../errors.js';
import { BodyTooLarge, OAUTH_ANSWER_CAP_BYTES, isRefusedRedirect, readCapped } from '../outgoing.js';
import { type StreamedFile, queryBase64 } from '../files.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { RedisLock } from '../redis/lock.js';
import { type RateLimit, RateLimiter } from '../redis/rate-limit.js';
import type { Runtime } from '../runtime.js';
import type { Keyring } from '../secrets.js';
import type { Bitrix24Config } from './config.js';
import { Bitrix24Error, classifyBitrix24 } from './errors.js';
import { Bitrix24PortalStore, type PortalRecord } from './portal-store.js';
import { phpQuery } from './query.js';

export type Params = Record<string, unknown>;

export interface CallOptions {
  /**
   * Longest wait for the portal's shared rate budget. Beyond it the call throws
   * RateLimitExceeded (`wait: true`) at once, so a message handler can defer instead of sleeping.
   */
  maxWaitMs?: number;
  /** Stored files whose markers the parameters carry (a batch with a resume): streamed into the body. */
  files?: readonly StreamedFile[];
}

/** One command of a batch: a method and its parameters; `$result[key]` refers to an earlier command. */
export type BatchCommand = [method: string, params?: Params];

export interface BatchResult {
  results: Record<string, unknown>;
  errors: Record<string, Bitrix24Error>;
  totals: Record<string, number>;
  nexts: Record<string, number>;
}

export interface Bitrix24ClientOptions {
  db: Knex;
  redis: Redis;
  redisPrefix: string;
  keyring: Keyring;
  breakers: BreakerRegistry;
  log: Logger;
  metrics?: Metrics;
  clientId: string;
  clientSecret: string;
  ratePerSec: number;
  burst: number;
  /** Part of the burst left unused, for clock and network differences. */
  burstHeadroom: number;
  timeoutMs: number;
  /** Largest answer read from a portal (B24_MAX_RESPONSE_BYTES); a bigger one is cut there. */
  maxResponseBytes: number;
  /** Aborted when the process shuts down: waits for the rate budget end at once (ShuttingDown). */
  stopping?: AbortSignal;
}

interface Answer {
  result: unknown;
  total?: number;
  next?: number;
  time?: { operating_reset_at?: number };
}

const BATCH_SIZE = 50;
const REFRESH_LOCK_MS = 15_000;
/** 503 QUERY_LIMIT_EXCEEDED means the request was not executed, so it is safe to send again. */
const LIMIT_RETRIES = 3;
const WAIT_COUNT_TTL_SEC = 7200;
const REF = /\$result(?:_error|_total|_next|_time)?\[([^\]]+)\]/g;

/**
 * The Bitrix24 REST client for many portals and many processes. Per portal (member_id): the
 * address and tokens stored at install; one shared rate budget in Redis for all replicas; a
 * circuit breaker; refresh on expired_token exactly once across processes (Redis lock, re-read
 * after locking, compare-and-swap in Postgres). Errors come out classified (Bitrix24Error).
 */
export class Bitrix24Client {
  readonly store: Bitrix24PortalStore;
  private readonly limiter: RateLimiter;
  private readonly locks: RedisLock;
  private readonly limit: RateLimit;
  /** The last `operating_reset_at` each portal reported: when a method blocked by a 429 opens again. */
  private readonly operatingResetAt = new Map<string, number>();

  constructor(private readonly options: Bitrix24ClientOptions) {
    this.store = new Bitrix24PortalStore(options.db, options.keyring);
    this.limiter = new RateLimiter(options.redis, options.redisPrefix, options.stopping);
    this.locks = new RedisLock(options.redis, options.redisPrefix);
    this.limit = {
      ratePerSec: options.ratePerSec,
      burst: Math.max(1, options.burst - options.burstHeadroom),
    };
  }

  static fromRuntime(runtime: Runtime, config: Bitrix24Config): Bitrix24Client {
    return new Bitrix24Client({
      db: runtime.db,
      redis: runtime.redis,
      redisPrefix: runtime.config.REDIS_PREFIX,
      keyring: runtime.keyring,
      breakers: runtime.breakers,
      log: runtime.log,
      metrics: runtime.metrics,
      clientId: config.B24_CLIENT_ID,
      clientSecret: config.B24_CLIENT_SECRET,
      ratePerSec: config.B24_RATE_PER_SEC,
      burst: config.B24_BURST,
      burstHeadroom: config.B24_BURST_HEADROOM,
      timeoutMs: config.B24_TIMEOUT_MS,
      maxResponseBytes: config.B24_MAX_RESPONSE_BYTES,
      stopping: runtime.stopping,
    });
  }

  /** Calls a method with the portal's stored tokens and returns its `result`. */
  async call<T = unknown>(
    memberId: string,
    method: string,
    params: Params = {},
    options: CallOptions = {},
  ): Promise<T> {
    return (await this.callWithStoredTokens(memberId, method, params, options)).result as T;
  }

  /**
   * Calls a method with a user's token from a page load (AUTH_ID). No refresh: an expired token
   * is the page's to renew. The portal address still comes from the install record.
   */
  async callAs<T = unknown>(
    memberId: string,
    accessToken: string,
    method: string,
    params: Params = {},
    options: CallOptions = {},
  ): Promise<T> {
    const portal = await this.portal(memberId, method);
    return (await this.send(memberId, method, params, options, async () => ({ portal, accessToken })))
      .result as T;
  }

  /**
   * Runs commands in batches of 50 (one request each against the rate budget). `$result[key]`
   * references must stay within a chunk of 50; a failing command does not stop the others
   * unless `halt` is set.
   */
  async batch(
    memberId: string,
    commands: Record<string, BatchCommand> | BatchCommand[],
    options: CallOptions & { halt?: boolean } = {},
  ): Promise<BatchResult> {
    const entries: Array<[string, BatchCommand]> = Array.isArray(commands)
      ? commands.map((c, i) => [String(i), c])
      : Object.entries(commands);
    const out: BatchResult = { results: {}, errors: {}, totals: {}, nexts: {} };
    for (let i = 0; i < entries.length; i += BATCH_SIZE) {
      const chunk = entries.slice(i, i + BATCH_SIZE);
      const keys = new Set(chunk.map(([k]) => k));
      const cmd: Record<string, string> = {};
      const files: StreamedFile[] = [];
      for (const [key, [method, params]] of chunk) {
        const query = phpQuery(params ?? {}, files);
        for (const m of decodeURIComponent(query).matchAll(REF)) {
          if (!keys.has(m[1]!))
            throw new ValidationError(
              `batch command ${key} refers to ${m[1]}, which is not in the same chunk of ${BATCH_SIZE}`,
            );
        }
        cmd[key] = query ? `${method}?${query}` : method;
      }
      const answer = (
        await this.callWithStoredTokens(
          memberId,
          'batch',
          { halt: options.halt ? 1 : 0, cmd },
          { ...options, files },
        )
      ).result as {
        result?: Record<string, unknown> | unknown[];
        result_error?: Record<string, unknown> | unknown[];
        result_total?: Record<string, number> | number[];
        result_next?: Record<string, number> | number[];
      };
      const section = <V>(v: Record<string, V> | V[] | undefined): Record<string, V> =>
        Array.isArray(v) ? Object.fromEntries(v.map((x, j) => [String(j), x])) : (v ?? {});
      Object.assign(out.results, section(answer.result));
      Object.assign(out.totals, section(answer.result_total));
      Object.assign(out.nexts, section(answer.result_next));
      for (const [key, e] of Object.entries(section(answer.result_error))) {
        out.errors[key] = classifyBitrix24(400, e, {
          memberId,
          method: chunk.find(([k]) => k === key)?.[1][0] ?? 'batch',
        });
      }
      if (options.halt && Object.keys(out.errors).length > 0) break;
    }
    return out;
  }

  /**
   * Every row of a list method. The first page says how many there are; the other pages are
   * fetched 50 at a time inside batches (one request per 2 500 rows).
   */
  async listAll<T = unknown>(
    memberId: string,
    method: string,
    params: Params = {},
    options: CallOptions = {},
  ): Promise<T[]> {
    const first = await this.callWithStoredTokens(memberId, method, { ...params, start: 0 }, options);
    const rows = unwrapRows<T>(first.result);
    if (first.next === undefined || first.total === undefined) return rows;
    const starts: number[] = [];
    for (let start = first.next; start < first.total; start += BATCH_SIZE) starts.push(start);
    const pages = await this.batch(
      memberId,
      starts.map((start) => [method, { ...params, start }] as BatchCommand),
      options,
    );
    const failed = Object.values(pages.errors)[0];
    if (failed) throw failed;
    for (let i = 0; i < starts.length; i++) rows.push(...unwrapRows<T>(pages.results[String(i)]));
    return rows;
  }

  /**
   * `app.info` in the portal's own words, whatever our record says of the portal (also when its
   * tokens were refused before): with the stored access token, renewed once at the OAuth server
   * when the portal calls it expired or unknown. The uninstall check rests on it: an app removed
   * from the portal gets 401 `APPLICATION_NOT_FOUND` from the portal, and a renewal of its tokens
   * `PAYMENT_REQUIRED` from the OAuth server (both in the thrown error's `b24Error`).
   */
  async appInfo(memberId: string, options: CallOptions = {}): Promise<Record<string, unknown>> {
    let used: PortalRecord | undefined;
    const stored = async () => {
      used = await this.portal(memberId, 'app.info', true);
      return { portal: used, accessToken: used.accessToken };
    };
    const ask = async () =>
      (await this.send(memberId, 'app.info', {}, options, stored)).result as Record<string, unknown>;
    try {
      return await ask();
    } catch (err) {
      if (
        !(err instanceof Bitrix24Error) ||
        !used ||
        (err.code !== 'b24_expired_token' && err.code !== 'b24_invalid_token')
      )
        throw err;
      await this.refresh(used, true);
      return ask();
    }
  }

  /**
   * The portal's stored record for a call. `anyStatus` also hands out a portal whose tokens were
   * refused before, or that is marked uninstalled (the uninstall check asks it whether the app is gone).
   */
  private async portal(memberId: string, method: string, anyStatus = false): Promise<PortalRecord> {
    const portal = await this.store.get(memberId);
    if (portal && anyStatus) return portal;
    if (!portal || portal.status === 'uninstalled') {
      throw new Bitrix24Error('b24_portal_unknown', `Bitrix24 portal ${memberId} has not installed the app`, {
        memberId,
        method,
        httpStatus: 0,
        b24Error: '',
        b24Description: '',
      });
    }
    if (portal.status === 'reinstall_required') {
      throw new Bitrix24Error(
        'b24_reinstall_required',
        `Bitrix24 portal ${memberId} must reinstall the app (its tokens were refused)`,
        { memberId, method, httpStatus: 0, b24Error: '', b24Description: '' },
      );
    }
    return portal;
  }

  private async callWithStoredTokens(
    memberId: string,
    method: string,
    params: Params,
    options: CallOptions,
  ): Promise<Answer> {
    // The portal row is read after the rate-limit wait, so a token refreshed meanwhile is used.
    let used: PortalRecord | undefined;
    const stored = async () => {
      used = await this.portal(memberId, method);
      return { portal: used, accessToken: used.accessToken };
    };
    try {
      return await this.send(memberId, method, params, options, stored);
    } catch (err) {
      if (
        !(err instanceof Bitrix24Error) ||
        !used ||
        (err.code !== 'b24_expired_token' && err.code !== 'b24_invalid_token')
      )
        throw err;
      if (err.code === 'b24_invalid_token') {
        // Another process may have replaced the token (and the portal revoked the old one).
        const fresh = await this.portal(memberId, method);
        if (fresh.accessToken === used.accessToken) throw err;
      } else {
        await this.refresh(used);
      }
      return this.send(memberId, method, params, options, stored);
    }
  }

  /**
   * Exactly one refresh per expiry across all processes: take the portal's lock, read the row
   * again (someone may have refreshed while we waited), refresh, and write with compare-and-swap.
   */
  private async refresh(stale: PortalRecord, anyStatus = false): Promise<PortalRecord> {
    const { memberId } = stale;
    const lease = await this.locks.acquire(`b24:refresh:${memberId}`, REFRESH_LOCK_MS, {
      waitMs: REFRESH_LOCK_MS,
    });
    if (!lease)
      throw new UnavailableError('b24_refresh_busy', `token refresh for ${memberId} is taking too long`, {
        wait: true,
        retryAfterMs: 1000,
      });
    try {
      const current = await this.portal(memberId, 'oauth.refresh', anyStatus);
      if (current.accessToken !== stale.accessToken) return current;
      const tokenUrl = current.serverEndpoint.replace(/rest\/$/, 'oauth/token/');
      const body = new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: this.options.clientId,
        client_secret: this.options.clientSecret,
        refresh_token: current.refreshToken,
      });
      let status = 0;
      let answer: Record<string, unknown> = {};
      try {
        const res = await fetch(tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
          // The body carries our client_secret and the refresh token: never to another address.
          redirect: 'error',
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        status = res.status;
        const text = (await readCapped(res, OAUTH_ANSWER_CAP_BYTES)).toString('utf8');
        try {
          answer = JSON.parse(text) as Record<string, unknown>;
        } catch {
          answer = {};
        }
      } catch (err) {
        const why =
          err instanceof BodyTooLarge
            ? `the OAuth server's answer is larger than ${OAUTH_ANSWER_CAP_BYTES} bytes`
            : isRefusedRedirect(err)
              ? 'the OAuth server answered with a redirect, which is not followed'
              : (err as Error).message;
        throw new Bitrix24Error(
          'b24_unavailable',
          `Bitrix24 token refresh for ${memberId} failed: ${why}`,
          { memberId, method: 'oauth.refresh', httpStatus: 0, b24Error: '', b24Description: '' },
          { cause: err },
        );
      }
      const details = {
        memberId,
        method: 'oauth.refresh',
        httpStatus: status,
        b24Error: textOf(answer['error']),
        b24Description: textOf(answer['error_description']),
      };
      if (
        [
          'invalid_grant',
          'invalid_client',
          'PAYMENT_REQUIRED',
          'invalid_scope',
          'insufficient_scope',
        ].includes(details.b24Error)
      ) {
        await this.store.setStatus(memberId, 'reinstall_required');
        this.options.log.warn(
          { memberId, error: details.b24Error },
          'bitrix24 refused to refresh the tokens; the portal must reinstall the app',
        );
        throw new Bitrix24Error(
          'b24_reinstall_required',
          `Bitrix24 refused to refresh the tokens of ${memberId} (${details.b24Error})`,
          details,
        );
      }
      if (
        status !== 200 ||
        typeof answer['access_token'] !== 'string' ||
        typeof answer['refresh_token'] !== 'string'
      ) {
        throw new Bitrix24Error(
          'b24_unavailable',
          `Bitrix24 token refresh for ${memberId} answered ${status}`,
          details,
        );
      }
      const expiresIn = Number(answer['expires_in']) || 3600;
      const swapped = await this.store.swapTokens(memberId, current.version, {
        accessToken: answer['access_token'],
        refreshToken: answer['refresh_token'],
        expiresAt: new Date(Date.now() + expiresIn * 1000),
        scope:
          typeof answer['scope'] === 'string' ? answer['scope'].split(/[\s,]+/).filter(Boolean) : undefined,
      });
      this.options.log.info({ memberId }, 'bitrix24 tokens refreshed');
      // Only a lease that expired mid-refresh loses the swap; the row then holds a newer pair.
      return swapped ?? (await this.portal(memberId, 'oauth.refresh', anyStatus));
    } finally {
      await lease.release().catch(() => false);
    }
  }

  /**
   * Waits for the portal's budget, counted per portal and minute in Redis (kept two hours), so
   * the «Состояние» tab can say how often the portal's limit slowed us down in the last hour.
   * The metric has no portal label; this count is what tells one portal from another.
   */
  private countWait(memberId: string): void {
    const key = `${this.options.redisPrefix}b24:waits:${memberId}:${Math.floor(Date.now() / 60_000)}`;
    this.options.redis
      .multi()
      .incr(key)
      .expire(key, WAIT_COUNT_TTL_SEC)
      .exec()
      .catch((err: unknown) => this.options.log.debug({ err }, 'rate-limit wait not counted'));
  }

  /** How many times calls to this portal waited for its rate budget in the last hour (all processes). */
  async waitsLastHour(memberId: string): Promise<number> {
    const minute = Math.floor(Date.now() / 60_000);
    const keys = Array.from(
      { length: 60 },
      (_, i) => `${this.options.redisPrefix}b24:waits:${memberId}:${minute - i}`,
    );
    const values = await this.options.redis.mget(...keys);
    return values.reduce((sum, v) => sum + (Number(v) || 0), 0);
  }

  /** One HTTP request: the shared rate budget first, then the breaker around the request itself. */
  private async send(
    memberId: string,
    method: string,
    params: Params,
    options: CallOptions,
    credentials: () => Promise<{ portal: PortalRecord; accessToken: string }>,
  ): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      const waited = await this.limiter.acquire(`b24:${memberId}`, this.limit, {
        maxWaitMs: options.maxWaitMs ?? 60_000,
      });
      if (waited > 0) {
        this.options.metrics?.rateLimitWaits.inc({ limit: 'bitrix24' });
        this.countWait(memberId);
      }
      const { portal, accessToken } = await credentials();
      try {
        return await this.options.breakers.fire('bitrix24', memberId, () =>
          this.request(portal, accessToken, method, params, options.files ?? []),
        );
      } catch (err) {
        // The portal's bucket was fuller than ours (another client of the same portal): wait a few
        // drain steps and send again, unless the caller cannot wait that long.
        if (err instanceof Bitrix24Error && err.code === 'b24_rate_limited') {
          // The portal's bucket is full while ours had room: ours is wrong (lost with Redis, or the
          // portal has other clients). Emptied, it makes every process wait at the drain rate.
          await this.limiter.drain(`b24:${memberId}`, this.limit).catch(() => undefined);
        }
        if (err instanceof Bitrix24Error && err.code === 'b24_rate_limited' && attempt < LIMIT_RETRIES) {
          const delay = (err.retryAfterMs ?? 1000) * (attempt + 1);
          if (options.maxWaitMs === undefined || delay <= options.maxWaitMs) {
            await waitUnlessStopping(delay, this.options.stopping, 'waiting for the portal’s rate limit');
            continue;
          }
        }
        throw err;
      }
    }
  }

  /** How long the portal asks us to wait after a 503 or 429: its Retry-After, or what its limits imply. */
  private waitAfter(memberId: string, error: string, res: Response): number {
    const retryAfter = Number(res.headers.get('retry-after'));
    if (retryAfter > 0) return retryAfter * 1000;
    if (error === 'OPERATION_TIME_LIMIT') {
      const resetAt = this.operatingResetAt.get(memberId);
      // Without a hint yet, a minute: the operating-time window is counted in one-minute buckets.
      return resetAt ? Math.max(1000, resetAt * 1000 - Date.now()) : 60_000;
    }
    // The leaky bucket drains one request per 1/rate seconds.
    return Math.ceil(1000 / this.limit.ratePerSec);
  }

  private async request(
    portal: PortalRecord,
    accessToken: string,
    method: string,
    params: Params,
    files: readonly StreamedFile[],
  ): Promise<Answer> {
    const context = { memberId: portal.memberId, method };
    let res: Response;
    let text: string;
    try {
      // The token travels in the body, never in a URL that a proxy might log.
      const json = JSON.stringify({ ...params, auth: accessToken });
      res = await fetch(`${portal.clientEndpoint}${method}.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ...(files.length > 0
          ? { body: Readable.from(withFiles(json, files)), duplex: 'half' }
          : { body: json }),
        // Nor to an address a redirect names (the address is the one recorded at install).
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = (await readCapped(res, this.options.maxResponseBytes)).toString('utf8');
    } catch (err) {
      const failed = { ...context, httpStatus: 0, b24Error: '', b24Description: '' };
      if (err instanceof BodyTooLarge)
        throw new Bitrix24Error(
          'b24_answer_too_large',
          `Bitrix24 ${method}: the portal's answer is larger than B24_MAX_RESPONSE_BYTES (${err.capBytes} bytes), reading stopped there`,
          failed,
        );
      if (isRefusedRedirect(err))
        throw new Bitrix24Error(
          'b24_redirect_refused',
          `Bitrix24 ${method}: the portal answered with a redirect, which is not followed (the call carries its token; a portal that moved must install the app again)`,
          failed,
        );
      const classified = classifyError(err);
      throw new Bitrix24Error(
        'b24_unavailable',
        `Bitrix24 ${method}: ${classified.message}`,
        { ...context, httpStatus: 0, b24Error: classified.code, b24Description: '' },
        { cause: err },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw classifyBitrix24(res.status, {}, context);
    }
    const answer = body as Answer & { error?: unknown };
    if (answer && typeof answer === 'object' && 'error' in answer) {
      throw classifyBitrix24(res.status, body, {
        ...context,
        waitMs: this.waitAfter(portal.memberId, String(answer.error), res),
      });
    }
    if (!res.ok || !answer || typeof answer !== 'object' || !('result' in answer))
      throw classifyBitrix24(res.status, {}, context);
    const reset = answer.time?.operating_reset_at;
    if (typeof reset === 'number') {
      this.operatingResetAt.delete(portal.memberId);
      this.operatingResetAt.set(portal.memberId, reset);
      if (this.operatingResetAt.size > 10_000)
        this.operatingResetAt.delete(this.operatingResetAt.keys().next().value!);
    }
    return answer;
  }
}

/**
 * The body with each file's URL-encoded base64 in its marker's place, read from the store as it
 * is sent (a new read for every attempt): the encoded file is never held whole.
 */
async function* withFiles(json: string, files: readonly StreamedFile[]): AsyncGenerator<Buffer> {
  const byMarker = new Map(files.map((f) => [f.marker, f]));
  const markers = new RegExp([...byMarker.keys()].join('|'), 'g');
  let at = 0;
  for (const m of json.matchAll(markers)) {
    yield Buffer.from(json.slice(at, m.index), 'utf8');
    yield* queryBase64(byMarker.get(m[0])!.open());
    at = m.index + m[0].length;
  }
  yield Buffer.from(json.slice(at), 'utf8');
}

/** A list page's rows: an array, or the array inside `{categories: [...]}` / `{items: [...]}`. */
function unwrapRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return [...(result as T[])];
  if (result && typeof result === 'object') {
    const arrays = Object.values(result).filter(Array.isArray);
    if (arrays.length === 1) return [...(arrays[0] as T[])];
  }
  throw new AppError('b24_unexpected_list', 'a list method answered something that is not a list', {
    retryable: false,
  });
}
