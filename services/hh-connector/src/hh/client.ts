import { AsyncLocalStorage } from 'node:async_hooks';
import {
  AppError,
  type BreakerRegistry,
  type Keyring,
  type Knex,
  type Logger,
  type RateLimit,
  type RateLimiter,
  type RedisLock,
  UnavailableError,
  waitUnlessStopping,
} from '@hhb24/common';
import { type HhAccount, HhAccountStore } from './accounts.js';
import { egressFor } from './egress.js';
import { HH_ERROR_CODES, HhError, HhLoginRequired, HhOAuthError, HhRateLimited, apiError } from './errors.js';
import { type ByteCap, HhHttp, type HhResponse, type Query, type SendInit } from './http.js';
import { HhOAuth } from './oauth.js';
import type {
  HhCollections,
  HhManager,
  HhMe,
  HhMessage,
  HhMethodAccess,
  HhNegotiation,
  HhPage,
  HhResume,
  HhResumeLimits,
  HhTokens,
  HhVacancy,
  HhWebhookAction,
  HhWebhookSubscription,
} from './types.js';

export interface HhClientConfig {
  apiUrl: string;
  oauthUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  userAgent: string;
  /** Largest JSON answer and largest resume PDF read from hh.ru. */
  jsonCap: ByteCap;
  pdfCap: ByteCap;
  /** The shared token bucket every replica draws from. */
  rate: RateLimit;
  /**
   * `global`: one bucket for all accounts (hh.ru limits per client address, and our replicas share
   * one); `account`: one per account; `egress`: one per egress address, each account drawing from
   * its address's (needs `egressAddresses`).
   */
  rateScope: 'global' | 'account' | 'egress';
  /**
   * Local addresses hh.ru calls leave from (HH_EGRESS_ADDRESSES), each account from one of them
   * (`egressFor`: rendezvous hashing on the account id). Empty: the system chooses, as before.
   */
  egressAddresses?: readonly string[];
  timeoutMs: number;
  /** Attempts of one call when hh.ru answers 429 (or 5xx on a read) before giving the wait back to the caller. */
  maxAttempts: number;
  /** First back-off delay; it doubles per attempt (with jitter), up to 8 s. */
  backoffMs?: number;
}

export interface HhDeps {
  db: Knex;
  keyring: Keyring;
  locks: RedisLock;
  limiter: RateLimiter;
  breakers: BreakerRegistry;
  log: Logger;
  /** Aborted when the process shuts down: a back-off then ends at once (ShuttingDown). */
  stopping?: AbortSignal;
  /** hh.ru answers counted per egress address (`hhb24_hh_requests_total`). */
  metrics?: { hhRequests: { inc(labels: { egress: string; outcome: string }): void } };
}

export interface CallOptions {
  /**
   * The longest this call may wait for the shared rate limit (and for 429 back-off). Longer waits
   * throw `RateLimitExceeded` / `HhRateLimited` (both `wait: true`), so a message handler can defer
   * the message instead of sleeping. Without it the call waits.
   */
  maxWaitMs?: number;
}

interface RequestInit extends SendInit {
  query?: Query;
}

type Authorized = { account: HhAccount; accessToken: string; refreshToken: string };

/**
 * The accounts one step of work has read, with their tokens (`HhClient.step`): a step makes up to
 * a few hh.ru calls for the same account, and reading and opening its row for each of them was a
 * Postgres round trip and two decryptions a call (docs/performance.md).
 */
const stepAccounts = new AsyncLocalStorage<Map<string, Authorized>>();

const REFRESH_LOCK_TTL_MS = 30_000;
const REFRESH_LOCK_WAIT_MS = 20_000;
/** Longest wait for the rate limit before a refresh, under the refresh lock (whose lease is 30 s). */
const REFRESH_PACE_WAIT_MS = 10_000;
const MAX_BACKOFF_MS = 8_000;

/**
 * The hh.ru client of hh-connector: OAuth, accounts and tokens, and every API call the product
 * makes, each through the shared rate limit, the account's breaker, the refresh-once rule and the
 * error mapping. `account(id)` gives the typed methods of one connected hh account.
 */
export class HhClient {
  readonly http: HhHttp;
  readonly oauth: HhOAuth;
  readonly accounts: HhAccountStore;
  private readonly backoffMs: number;
  private readonly egressAddresses: readonly string[];

  constructor(
    readonly config: HhClientConfig,
    private readonly deps: HhDeps,
    private readonly hooks: { onLoginRequired?: (account: HhAccount) => void | Promise<void> } = {},
  ) {
    this.http = new HhHttp({
      apiUrl: config.apiUrl,
      oauthUrl: config.oauthUrl,
      userAgent: config.userAgent,
      timeoutMs: config.timeoutMs,
      jsonCap: config.jsonCap,
      pdfCap: config.pdfCap,
      egressAddresses: config.egressAddresses,
    });
    this.oauth = new HhOAuth(this.http, {
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      redirectUri: config.redirectUri,
    });
    this.accounts = new HhAccountStore(deps.db, deps.keyring);
    this.backoffMs = config.backoffMs ?? 500;
    this.egressAddresses = config.egressAddresses ?? [];
    if (config.rateScope === 'egress' && this.egressAddresses.length === 0)
      throw new Error(
        'HH_RATE_SCOPE=egress needs HH_EGRESS_ADDRESSES: the addresses whose budgets it counts',
      );
  }

  /**
   * The local address an account's hh.ru calls leave from (HH_EGRESS_ADDRESSES), the same in every
   * replica; undefined without the setting. Before a login is stored the portal's member_id stands
   * for the account (`connect`).
   */
  egressOf(accountId: string): string | undefined {
    return this.egressAddresses.length === 0 ? undefined : egressFor(accountId, this.egressAddresses);
  }

  /** Closes the egress addresses' connection pools (on shutdown). */
  close(): Promise<void> {
    return this.http.close();
  }

  /** Finishes a login from the OAuth callback's code: exchanges it, then stores the account (`adoptTokens`). */
  async connect(memberId: string, code: string, redirectUri?: string): Promise<HhAccount> {
    const egress = this.egressOf(connectKey(memberId));
    // The token endpoint counts toward the address's limit at hh.ru like any call: paced too.
    await this.takeToken('connect', egress);
    return this.adoptTokens(memberId, await this.oauth.exchangeCode(code, redirectUri, egress));
  }

  /** Stores a fresh token pair for the portal: reads /me with it and keeps the employer manager's account. */
  async adoptTokens(memberId: string, tokens: HhTokens): Promise<HhAccount> {
    const egress = this.egressOf(connectKey(memberId));
    await this.takeToken('connect', egress);
    const res = await this.http.send('GET', this.http.url('/me'), { token: tokens.access_token, egress });
    this.count(egress, res.status);
    if (res.status !== 200) throw apiError(res.status, res.body, res.headers);
    const me = res.body as HhMe;
    if (me.auth_type !== 'employer' || !me.employer || !me.manager) {
      throw new HhError(
        HH_ERROR_CODES.forbidden,
        'this hh.ru account is not an employer manager',
        { status: 403, errors: [] },
        { status: 403 },
      );
    }
    const account = await this.accounts.saveLogin(memberId, me, tokens);
    this.deps.log.info(
      { account: account.id, memberId, employer: account.employerId, manager: account.managerId },
      'hh account connected',
    );
    return account;
  }

  account(id: string): HhAccountClient {
    return new HhAccountClient(this, id);
  }

  /**
   * One API call for an account. Order per attempt: the account's tokens (refreshed once if
   * expired), the shared bucket, the account's breaker, hh.ru. A 403 token_expired refreshes once
   * and repeats; revoked tokens mark the account `login_required`; 429 backs off and repeats (and
   * costs the shared bucket a token, so every replica slows down); 5xx repeats reads only.
   */
  async request(
    accountId: string,
    method: string,
    target: string,
    init: RequestInit = {},
    opts: CallOptions = {},
  ): Promise<HhResponse> {
    const deadline = opts.maxWaitMs === undefined ? undefined : Date.now() + opts.maxWaitMs;
    const url = this.http.url(target, init.query);
    const repeatable = method === 'GET' || method === 'DELETE';
    const egress = this.egressOf(accountId);
    let refreshed = false;
    let rechecked = false;
    for (let attempt = 1; ; attempt++) {
      const auth = await this.authorized(accountId);
      await this.takeToken(accountId, egress, deadline);
      let res: HhResponse;
      try {
        res = await this.deps.breakers.fire('hh', accountId, async () => {
          let r: HhResponse;
          try {
            r = await this.http.send(method, url, { ...init, token: auth.accessToken, egress });
          } catch (err) {
            if (err instanceof UnavailableError) this.count(egress, 0);
            throw err;
          }
          this.count(egress, r.status);
          // Only server failures count against the breaker; 4xx and 429 are answers, not outages.
          if (r.status >= 500) throw apiError(r.status, r.body, r.headers);
          return r;
        });
      } catch (err) {
        const e =
          err instanceof AppError
            ? err
            : new UnavailableError(HH_ERROR_CODES.unavailable, String(err), { cause: err });
        if (e.code === 'breaker_open' || !e.retryable || !repeatable || attempt >= this.config.maxAttempts)
          throw e;
        await this.backoff(accountId, attempt, e.retryAfterMs, deadline, () => e);
        continue;
      }
      if (res.status < 400) return res;
      const error = apiError(res.status, res.body, res.headers);
      if (error.code === HH_ERROR_CODES.tokenExpired) {
        const value = error.details.errors[0]?.value;
        // The step's tokens may be older than the stored ones (another process refreshed them since
        // the step read them): the stored ones are tried before hh.ru's answer is judged.
        if (!rechecked && stepAccounts.getStore()?.has(accountId)) {
          rechecked = true;
          stepAccounts.getStore()!.delete(accountId);
          const latest = await this.stepAccount(accountId);
          if (latest && latest.account.version !== auth.account.version) {
            attempt--;
            continue;
          }
        }
        if (value === 'token_expired' && !refreshed) {
          refreshed = true;
          await this.refresh(accountId, auth.account.version, true);
          attempt--;
          continue;
        }
        if (value === 'token_expired')
          throw new HhError(
            HH_ERROR_CODES.tokenExpired,
            'hh.ru still calls the refreshed token expired',
            error.details,
            { retryable: true, status: 503 },
          );
        throw await this.loginRequired(auth.account, value ?? 'token_rejected');
      }
      if (error instanceof HhRateLimited && attempt < this.config.maxAttempts) {
        await this.slowDown(accountId, egress);
        await this.backoff(
          accountId,
          attempt,
          error.retryAfterMs,
          deadline,
          (waitMs) => new HhRateLimited(error.details, waitMs),
        );
        continue;
      }
      throw error;
    }
  }

  async json<T>(
    accountId: string,
    method: string,
    target: string,
    init: RequestInit = {},
    opts: CallOptions = {},
  ): Promise<T> {
    return (await this.request(accountId, method, target, init, opts)).body as T;
  }

  /**
   * Runs one step of work (a message's handling) with each account it uses read once: its calls
   * take the account and tokens the first one read, as they stood when the step began. A refresh
   * replaces them for the rest of the step; a login found lost drops them. Another process's change
   * meanwhile (a refresh, a logout) reaches the step as hh.ru's answer to the token it sent, which
   * the step handles as it would have without the memo (refresh once, or the login is required).
   */
  step<T>(work: () => Promise<T>): Promise<T> {
    return stepAccounts.run(new Map(), work);
  }

  /** The account with its opened tokens: read once per step (`step`), or each time outside one. */
  async stepAccount(accountId: string): Promise<Authorized | undefined> {
    const memo = stepAccounts.getStore();
    const known = memo?.get(accountId);
    if (known) return known;
    const current = await this.accounts.withTokens(accountId);
    if (current) memo?.set(accountId, current);
    return current;
  }

  /** The account's tokens, refreshed first when they have expired; refuses accounts that need a login. */
  private async authorized(accountId: string): Promise<Authorized> {
    const current = await this.stepAccount(accountId);
    if (!current)
      throw new HhError(
        HH_ERROR_CODES.notFound,
        `no hh account ${accountId}`,
        { status: 404, errors: [] },
        { status: 404 },
      );
    if (current.account.status !== 'active')
      throw new HhLoginRequired(accountId, current.account.statusReason ?? 'login_required');
    if (current.account.expiresAt.getTime() > Date.now()) return current;
    return this.refresh(accountId, current.account.version, false);
  }

  /** What a refresh stored is what the rest of the step uses. */
  private remember(authorized: Authorized): Authorized {
    stepAccounts.getStore()?.set(authorized.account.id, authorized);
    return authorized;
  }

  /**
   * Refreshes the account's tokens once, whoever asks: refresh tokens are single-use, so callers in
   * every process queue on one Redis lock, re-read the row after locking, and only the first one
   * whose version is still current calls hh.ru; the new pair is stored by compare-and-swap.
   * `force`: hh.ru said token_expired although our clock says the token is still valid.
   */
  private async refresh(accountId: string, staleVersion: number, force: boolean): Promise<Authorized> {
    return this.remember(await this.refreshOnce(accountId, staleVersion, force));
  }

  private async refreshOnce(accountId: string, staleVersion: number, force: boolean): Promise<Authorized> {
    const lease = await this.deps.locks.acquire(`hh:refresh:${accountId}`, REFRESH_LOCK_TTL_MS, {
      waitMs: REFRESH_LOCK_WAIT_MS,
      retryMs: 25,
    });
    if (!lease)
      throw new UnavailableError(
        'hh_refresh_busy',
        `another process is still refreshing hh account ${accountId}`,
        { wait: true, retryAfterMs: 1000 },
      );
    try {
      const current = await this.accounts.withTokens(accountId);
      if (!current)
        throw new HhError(
          HH_ERROR_CODES.notFound,
          `no hh account ${accountId}`,
          { status: 404, errors: [] },
          { status: 404 },
        );
      if (current.account.status !== 'active')
        throw new HhLoginRequired(accountId, current.account.statusReason ?? 'login_required');
      if (current.account.version !== staleVersion) return current;
      if (!force && current.account.expiresAt.getTime() > Date.now()) return current;
      let tokens;
      try {
        // Paced like any call from the address, but briefly: the lock is held meanwhile.
        const egress = this.egressOf(accountId);
        await this.takeToken(accountId, egress, Date.now() + REFRESH_PACE_WAIT_MS);
        tokens = await this.oauth.refresh(current.refreshToken, egress);
      } catch (err) {
        if (err instanceof HhOAuthError && err.description === 'token not expired') {
          // Our clock ran ahead of hh.ru's: the token still works there.
          if (force)
            throw new HhError(
              HH_ERROR_CODES.tokenExpired,
              'hh.ru says the token is both expired and not expired',
              err.details,
              { retryable: true, status: 503 },
            );
          return current;
        }
        if (err instanceof HhOAuthError && err.meansLoginRequired)
          throw await this.loginRequired(current.account, err.description.replace(/\s+/g, '_'));
        throw err;
      }
      const saved = await this.accounts.saveRefreshed(current.account, current.account.version, tokens);
      if (!saved) {
        // Lost the compare-and-swap (a lease expired mid-refresh): whatever is stored now wins.
        const latest = await this.accounts.withTokens(accountId);
        if (!latest)
          throw new HhError(
            HH_ERROR_CODES.notFound,
            `no hh account ${accountId}`,
            { status: 404, errors: [] },
            { status: 404 },
          );
        return latest;
      }
      this.deps.log.info({ account: accountId, version: saved.version }, 'hh tokens refreshed');
      return { account: saved, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
    } finally {
      await lease.release().catch(() => false);
    }
  }

  private async loginRequired(account: HhAccount, reason: string): Promise<HhLoginRequired> {
    stepAccounts.getStore()?.delete(account.id);
    if (await this.accounts.markLoginRequired(account.id, reason)) {
      this.deps.log.warn(
        { account: account.id, memberId: account.memberId, reason },
        'hh account needs a new login',
      );
      await this.hooks.onLoginRequired?.({ ...account, status: 'login_required', statusReason: reason });
    }
    return new HhLoginRequired(account.id, reason);
  }

  /** The shared bucket a call draws from: all calls', the account's, or its egress address's. */
  private bucket(accountId: string, egress: string | undefined): string {
    switch (this.config.rateScope) {
      case 'global':
        return 'hh:global';
      case 'account':
        return `hh:account:${accountId}`;
      case 'egress':
        return `hh:egress:${egress ?? ''}`;
    }
  }

  /** hh.ru's answers by egress address: 0 for no answer (a transport failure). */
  private count(egress: string | undefined, status: number): void {
    const outcome =
      status === 0 ? 'unreachable' : status === 429 ? '429' : `${Math.min(5, Math.floor(status / 100))}xx`;
    this.deps.metrics?.hhRequests.inc({ egress: egress ?? 'default', outcome });
  }

  /** Waits for the shared bucket, or throws RateLimitExceeded when the wait exceeds the caller's budget. */
  private async takeToken(accountId: string, egress: string | undefined, deadline?: number): Promise<void> {
    const maxWaitMs = deadline === undefined ? 10 * 60_000 : Math.max(0, deadline - Date.now());
    await this.deps.limiter.acquire(this.bucket(accountId, egress), this.config.rate, { maxWaitMs });
  }

  /**
   * After a 429 every replica should slow down, not only this caller: each 429 costs one more token
   * of the shared bucket (bounded: at most a second of queue), so the shared pace drops while hh.ru
   * keeps refusing and recovers by itself when it stops.
   */
  private async slowDown(accountId: string, egress: string | undefined): Promise<void> {
    await this.deps.limiter.take(this.bucket(accountId, egress), this.config.rate, 1, {
      reserve: true,
      maxQueueMs: 1000,
    });
  }

  private async backoff(
    accountId: string,
    attempt: number,
    hinted: number | undefined,
    deadline: number | undefined,
    tooLong: (waitMs: number) => Error,
  ): Promise<void> {
    const exp = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 ** (attempt - 1)) * (0.5 + Math.random() * 0.5);
    const delay = Math.max(exp, Math.min(hinted ?? 0, MAX_BACKOFF_MS));
    if (deadline !== undefined && Date.now() + delay > deadline) throw tooLong(delay);
    this.deps.log.debug({ account: accountId, attempt, delay }, 'hh call backs off');
    await waitUnlessStopping(delay, this.deps.stopping, 'backing off from hh.ru');
  }
}

/** What picks the egress address of a login before its account exists: the portal. */
function connectKey(memberId: string): string {
  return `portal:${memberId}`;
}

/**
 * Our work needs paid groups 1 (responses, resumes) and 3 (resumes of responses)
 * (docs/reference/hh-api.md#the-employer-account).
 */
export function hasPaidAccess(items: HhMethodAccess['items']): boolean {
  const needed = items.filter((i) => i.id === '1' || i.id === '3');
  return needed.length > 0
    ? needed.every((i) => i.access.has_access)
    : items.some((i) => i.access.has_access);
}

export interface VacancyQuery {
  managerId?: string;
  page?: number;
  perPage?: number;
}

export interface ActionArguments {
  message?: string;
  send_sms?: boolean;
  address_id?: string;
}

/** The typed methods of one connected hh account. */
export class HhAccountClient {
  constructor(
    private readonly hh: HhClient,
    readonly accountId: string,
  ) {}

  private get(target: string, query?: Query, opts?: CallOptions) {
    return this.hh.json(this.accountId, 'GET', target, { query }, opts);
  }

  private async stored(): Promise<HhAccount> {
    const account = (await this.hh.stepAccount(this.accountId))?.account;
    if (!account)
      throw new HhError(
        HH_ERROR_CODES.notFound,
        `no hh account ${this.accountId}`,
        { status: 404, errors: [] },
        { status: 404 },
      );
    return account;
  }

  me(opts?: CallOptions): Promise<HhMe> {
    return this.get('/me', undefined, opts) as Promise<HhMe>;
  }

  /** Every manager of the employer (all pages, 200 a page: the spec's largest). */
  async managers(opts?: CallOptions): Promise<HhManager[]> {
    const account = await this.stored();
    const all: HhManager[] = [];
    for (let page = 0; ; page++) {
      const p = (await this.get(
        `/employers/${account.employerId}/managers`,
        { page, per_page: 200 },
        opts,
      )) as HhPage<HhManager>;
      all.push(...p.items);
      if (page + 1 >= p.pages) return all;
    }
  }

  activeVacancies(query: VacancyQuery = {}, opts?: CallOptions): Promise<HhPage<HhVacancy>> {
    return this.stored().then(
      (a) =>
        this.get(
          `/employers/${a.employerId}/vacancies/active`,
          { manager_id: query.managerId, page: query.page, per_page: query.perPage },
          opts,
        ) as Promise<HhPage<HhVacancy>>,
    );
  }

  /**
   * Active vacancies of every manager this account may see: all managers' for an admin, its own
   * (and granted managers') otherwise. Visibility is hh.ru's: managers whose `vacancies_count` is
   * null are hidden from this user.
   */
  async visibleVacancies(opts?: CallOptions): Promise<HhVacancy[]> {
    return (await this.listing(opts)).vacancies;
  }

  /**
   * The active vacancies this account may see (as `visibleVacancies`) and the employer's managers
   * read on the way (null: this login may not list them), so one reading keeps both.
   */
  async listing(opts?: CallOptions): Promise<{ vacancies: HhVacancy[]; managers: HhManager[] | null }> {
    const account = await this.stored();
    let managerIds = [account.managerId];
    let managers: HhManager[] | null = null;
    try {
      managers = await this.managers(opts);
      const visible = managers.filter((m) => m.vacancies_count !== null).map((m) => m.id);
      if (visible.length > 0) managerIds = visible;
    } catch (err) {
      // A manager who may not list managers still sees their own vacancies.
      if (
        !(err instanceof HhError) ||
        (err.code !== HH_ERROR_CODES.forbidden && err.code !== HH_ERROR_CODES.notFound)
      )
        throw err;
    }
    const all: HhVacancy[] = [];
    for (const managerId of managerIds) {
      for (let page = 0; ; page++) {
        const p = await this.activeVacancies({ managerId, page, perPage: 50 }, opts);
        all.push(...p.items);
        if (page + 1 >= p.pages) break;
      }
    }
    return { vacancies: all, managers };
  }

  collections(vacancyId: string, opts?: CallOptions): Promise<HhCollections> {
    return this.get('/negotiations', { vacancy_id: vacancyId }, opts) as Promise<HhCollections>;
  }

  /** One page of a collection, by the URL hh.ru gave in `collections[].url` (or `order_types[].url`). */
  collectionPage(
    collectionUrl: string,
    page: number,
    perPage = 50,
    opts?: CallOptions,
  ): Promise<HhPage<HhNegotiation>> {
    return this.get(collectionUrl, { page, per_page: perPage }, opts) as Promise<HhPage<HhNegotiation>>;
  }

  /**
   * Every negotiation of a vacancy: no collection holds them all, so each one is paged through in
   * turn; a negotiation that moves between collections while we page is kept once (by id).
   */
  async allNegotiations(vacancyId: string, opts?: CallOptions): Promise<HhNegotiation[]> {
    const { collections } = await this.collections(vacancyId, opts);
    const byId = new Map<string, HhNegotiation>();
    for (const collection of collections) {
      for (let page = 0; ; page++) {
        const p = await this.collectionPage(collection.url, page, 50, opts);
        for (const n of p.items) byId.set(n.id, n);
        if (page + 1 >= p.pages || p.items.length === 0) break;
      }
    }
    return [...byId.values()];
  }

  negotiation(id: string, opts?: CallOptions): Promise<HhNegotiation> {
    return this.get(`/negotiations/${encodeURIComponent(id)}`, undefined, opts) as Promise<HhNegotiation>;
  }

  /** The first page of a negotiation's messages (oldest first); reading them marks a response viewed. */
  messages(
    negotiation: { id: string; messages_url?: string },
    opts?: CallOptions,
  ): Promise<HhPage<HhMessage>> {
    return this.get(
      negotiation.messages_url ?? `/negotiations/${encodeURIComponent(negotiation.id)}/messages`,
      { page: 0, per_page: 1 },
      opts,
    ) as Promise<HhPage<HhMessage>>;
  }

  /** The full resume through the negotiation's `resume.url` (with topic_id): marks the response viewed, counts a view. */
  resume(resumeUrl: string, opts?: CallOptions): Promise<HhResume> {
    return this.get(resumeUrl, undefined, opts) as Promise<HhResume>;
  }

  /**
   * The PDF from `resume.actions.download.pdf.url`, handed to `write` as it arrives (it is never
   * held whole); returns what `write` returns.
   */
  async resumePdf<T>(
    pdfUrl: string,
    write: (bytes: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) => Promise<T>,
    opts?: CallOptions,
  ): Promise<T> {
    const res = await this.hh.request(this.accountId, 'GET', pdfUrl, { file: true, stream: true }, opts);
    return write(res.stream ?? [res.bytes]);
  }

  /** Runs an action (PUT `actions[].url`, or built from its id): moves the negotiation; 204 on success. */
  async act(
    action: { url: string } | { actionId: string; negotiationId: string },
    args: ActionArguments = {},
    opts?: CallOptions,
  ): Promise<void> {
    const target =
      'url' in action
        ? action.url
        : `/negotiations/${encodeURIComponent(action.actionId)}/${encodeURIComponent(action.negotiationId)}`;
    const form: Record<string, string | undefined> = {
      message: args.message,
      send_sms: args.send_sms === undefined ? undefined : String(args.send_sms),
      address_id: args.address_id,
    };
    await this.hh.request(this.accountId, 'PUT', target, { form }, opts);
  }

  async webhookSubscriptions(opts?: CallOptions): Promise<HhWebhookSubscription[]> {
    return ((await this.get('/webhook/subscriptions', undefined, opts)) as { items: HhWebhookSubscription[] })
      .items;
  }

  async subscribe(url: string, actions: HhWebhookAction[], opts?: CallOptions): Promise<string> {
    const created = await this.hh.json<{ id: string }>(
      this.accountId,
      'POST',
      '/webhook/subscriptions',
      { json: { url, actions } },
      opts,
    );
    return created.id;
  }

  /** `actions`, when given, replace the whole list (hh.ru's rule). */
  async updateSubscription(
    id: string,
    change: { url?: string; actions?: HhWebhookAction[] },
    opts?: CallOptions,
  ): Promise<void> {
    await this.hh.request(
      this.accountId,
      'PUT',
      `/webhook/subscriptions/${encodeURIComponent(id)}`,
      { json: change },
      opts,
    );
  }

  async deleteSubscription(id: string, opts?: CallOptions): Promise<void> {
    await this.hh.request(
      this.accountId,
      'DELETE',
      `/webhook/subscriptions/${encodeURIComponent(id)}`,
      {},
      opts,
    );
  }

  /** Makes sure the one subscription of this user and app points at `url` with exactly `actions`. */
  async ensureSubscription(
    url: string,
    actions: HhWebhookAction[],
    opts?: CallOptions,
  ): Promise<{ id: string; changed: boolean }> {
    const [current] = await this.webhookSubscriptions(opts);
    if (!current) return { id: await this.subscribe(url, actions, opts), changed: true };
    const same =
      current.url === url &&
      JSON.stringify(current.actions.map((a) => a.type).sort()) ===
        JSON.stringify(actions.map((a) => a.type).sort());
    if (!same) await this.updateSubscription(current.id, { url, actions }, opts);
    return { id: current.id, changed: !same };
  }

  async methodAccess(opts?: CallOptions): Promise<HhMethodAccess> {
    const a = await this.stored();
    return this.get(
      `/employers/${a.employerId}/managers/${a.managerId}/method_access`,
      undefined,
      opts,
    ) as Promise<HhMethodAccess>;
  }

  async resumeLimits(opts?: CallOptions): Promise<HhResumeLimits> {
    const a = await this.stored();
    return this.get(
      `/employers/${a.employerId}/managers/${a.managerId}/limits/resume`,
      undefined,
      opts,
    ) as Promise<HhResumeLimits>;
  }

  /** Disconnects: invalidates the token on hh.ru and marks the account as needing a login. */
  async revoke(opts?: CallOptions): Promise<void> {
    try {
      await this.hh.request(this.accountId, 'DELETE', '/oauth/token', {}, opts);
    } catch (err) {
      // Already dead on hh.ru's side: nothing left to revoke.
      if (!(err instanceof HhLoginRequired)) throw err;
    }
    await this.hh.accounts.markLoginRequired(this.accountId, 'disconnected');
  }
}
