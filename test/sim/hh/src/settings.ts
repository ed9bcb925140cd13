/**
 * Everything the simulator lets a test or an operator tune. Values hh.ru documents are the
 * defaults; values it leaves open (marked "unconfirmed") are choices, made configurable here.
 */
export interface SimApp {
  clientId: string;
  clientSecret: string;
  /** The redirect URI saved in the app's settings (docs/reference/hh-api.md#login-oauth-20). */
  redirectUri: string;
  /**
   * `hh`: a given redirect_uri must match the saved one by hh.ru's rules (same scheme, same host
   * or a subdomain, same path or deeper, no new port, extra query allowed); `any`: every URI is
   * accepted (handy when the callback's port is not known in advance).
   */
  redirectRule: 'hh' | 'any';
  name: string;
}

export interface RateLimitSettings {
  /** `address`: per client address, as hh.ru does; `account`: per hh user (the token's owner), address when there is none; `off`. */
  by: 'address' | 'account' | 'off';
  perSec: number;
  burst: number;
  /** Not documented by hh.ru: an optional, clearly non-official Retry-After header on 429. */
  retryAfterHeader: boolean;
}

export interface SimSettings {
  /** Public base URL written into every URL the API returns. Set by startHhSim from the port. */
  baseUrl: string;
  apps: SimApp[];
  /** Access-token lifetime; hh.ru documents 1 209 600 s (14 days). */
  accessTokenTtlSec: number;
  /** Authorization-code lifetime: only "short" is documented (unconfirmed). */
  authCodeTtlSec: number;
  /** Application tokens may be requested at most this often (5 minutes). */
  appTokenIntervalSec: number;
  rateLimit: RateLimitSettings;
  /** Daily resume views per manager, counted per distinct resume (Moscow day). */
  resumeViewsPerDay: number;
  /** How deep a negotiation list may be paged: page × per_page + per_page ≤ depth (10 000 per a 2015 maintainer answer; unconfirmed). */
  negotiationDepth: number;
  /** Seconds a webhook receiver has to answer (hh.ru: 2 s). */
  webhookTimeoutMs: number;
  /** Delays before each retry of a failed callback; the real schedule is undocumented ("gradually increasing"). */
  webhookRetryScheduleMs: number[];
  /** User-Agents answered with 400 bad_user_agent / blacklisted. */
  blacklistedUserAgents: string[];
}

export const DEFAULT_APP: SimApp = {
  clientId: 'hh-b24-dev',
  clientSecret: 'hh-b24-dev-secret',
  redirectUri: 'http://127.0.0.1:3000/',
  redirectRule: 'hh',
  name: 'hh-b24 (разработка)',
};

export function defaultSettings(baseUrl: string): SimSettings {
  return {
    baseUrl,
    apps: [{ ...DEFAULT_APP }],
    accessTokenTtlSec: 1_209_600,
    authCodeTtlSec: 600,
    appTokenIntervalSec: 300,
    rateLimit: { by: 'address', perSec: 10, burst: 10, retryAfterHeader: false },
    resumeViewsPerDay: 2000,
    negotiationDepth: 10_000,
    webhookTimeoutMs: 2000,
    webhookRetryScheduleMs: [1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000],
    blacklistedUserAgents: [],
  };
}

export type SettingsPatch = Partial<Omit<SimSettings, 'rateLimit'>> & {
  rateLimit?: Partial<RateLimitSettings>;
};

/** Applies a partial change, checking each value: a wrong setting fails loudly instead of silently doing nothing. */
export function applySettings(current: SimSettings, patch: SettingsPatch): SimSettings {
  const next: SimSettings = {
    ...current,
    ...patch,
    rateLimit: { ...current.rateLimit, ...(patch.rateLimit ?? {}) },
  };
  const positive = (name: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new Error(`setting ${name} must be a positive number`);
  };
  positive('accessTokenTtlSec', next.accessTokenTtlSec);
  positive('authCodeTtlSec', next.authCodeTtlSec);
  positive('appTokenIntervalSec', next.appTokenIntervalSec);
  positive('rateLimit.perSec', next.rateLimit.perSec);
  positive('rateLimit.burst', next.rateLimit.burst);
  positive('webhookTimeoutMs', next.webhookTimeoutMs);
  positive('negotiationDepth', next.negotiationDepth);
  if (!Number.isInteger(next.resumeViewsPerDay) || next.resumeViewsPerDay < 0)
    throw new Error('setting resumeViewsPerDay must be a whole number ≥ 0');
  if (!['address', 'account', 'off'].includes(next.rateLimit.by))
    throw new Error('setting rateLimit.by must be address, account or off');
  if (
    !Array.isArray(next.webhookRetryScheduleMs) ||
    next.webhookRetryScheduleMs.some((v) => typeof v !== 'number' || v < 0)
  ) {
    throw new Error('setting webhookRetryScheduleMs must be a list of delays in ms');
  }
  if (!Array.isArray(next.apps) || next.apps.length === 0)
    throw new Error('setting apps must list at least one application');
  for (const app of next.apps) {
    if (!app.clientId || !app.clientSecret || !app.redirectUri)
      throw new Error('each app needs clientId, clientSecret and redirectUri');
    if (!['hh', 'any'].includes(app.redirectRule)) throw new Error('app.redirectRule must be hh or any');
  }
  return next;
}
