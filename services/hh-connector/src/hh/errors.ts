import { AppError } from '@hhb24/common';

/** One item of hh.ru's `errors[]` (docs/reference/hh-api.md#errors). */
export interface HhErrorItem {
  type: string;
  value?: string;
  reason?: string;
  [key: string]: unknown;
}

export interface HhErrorDetails {
  status: number;
  errors: HhErrorItem[];
  requestId?: string;
  [key: string]: unknown;
}

/**
 * Every documented hh.ru error, as a stable code (docs/reference/hh-api.md#errors, and the sections it
 * names). Callers branch on `code`, `retryable` and `wait`, never on hh.ru's texts.
 */
export const HH_ERROR_CODES = {
  loginRequired: 'hh_login_required',
  tokenExpired: 'hh_token_expired',
  rateLimited: 'hh_rate_limited',
  viewLimit: 'hh_resume_view_limit',
  paymentRequired: 'hh_payment_required',
  notFound: 'hh_not_found',
  badArgument: 'hh_bad_argument',
  badRequest: 'hh_bad_request',
  badUserAgent: 'hh_bad_user_agent',
  forbidden: 'hh_forbidden',
  captchaRequired: 'hh_captcha_required',
  managerAccount: 'hh_manager_account',
  subscriptionExists: 'hh_subscription_exists',
  badJson: 'hh_bad_json',
  unavailable: 'hh_unavailable',
  invalidClient: 'hh_invalid_client',
  oauthRejected: 'hh_oauth_rejected',
  unexpected: 'hh_unexpected',
  untrustedUrl: 'hh_untrusted_url',
  tooLarge: 'hh_answer_too_large',
  redirected: 'hh_redirect_refused',
} as const;

export type HhErrorCode =
  (typeof HH_ERROR_CODES)[keyof typeof HH_ERROR_CODES] | `hh_negotiations_${string}` | `hh_resumes_${string}`;

export class HhError extends AppError {
  declare readonly details: HhErrorDetails;
  constructor(
    code: HhErrorCode,
    message: string,
    details: HhErrorDetails,
    options: {
      retryable?: boolean;
      wait?: boolean;
      retryAfterMs?: number;
      status?: number;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, {
      status: options.status ?? details.status,
      retryable: options.retryable,
      wait: options.wait,
      retryAfterMs: options.retryAfterMs,
      details,
      cause: options.cause,
    });
    this.name = 'HhError';
  }

  /** The first hh.ru error item, e.g. {type:'negotiations', value:'wrong_state'}. */
  get hh(): HhErrorItem | undefined {
    return this.details.errors[0];
  }
}

/**
 * The hh account's tokens no longer work (password changed, access revoked, app deleted): a person
 * must log in again. Never retried; the account is marked `login_required` before this is thrown.
 */
export class HhLoginRequired extends HhError {
  constructor(
    readonly accountId: string,
    readonly reason: string,
    status = 403,
  ) {
    super(
      HH_ERROR_CODES.loginRequired,
      `hh.ru account ${accountId} needs a new login (${reason})`,
      { status, errors: [], reason, accountId },
      { retryable: false, status: 401 },
    );
    this.name = 'HhLoginRequired';
  }
}

/** The manager's daily resume views are used up: park the work until the limit resets (Moscow midnight). */
export class HhViewLimitExceeded extends HhError {
  constructor(
    readonly resetsAt: Date,
    details: HhErrorDetails,
  ) {
    super(
      HH_ERROR_CODES.viewLimit,
      `hh.ru daily resume-view limit reached; resets at ${resetsAt.toISOString()}`,
      { ...details, resetsAt: resetsAt.toISOString() },
      {
        wait: true,
        retryAfterMs: Math.max(0, resetsAt.getTime() - Date.now()),
        status: 429,
      },
    );
    this.name = 'HhViewLimitExceeded';
  }
}

/** hh.ru asked us to slow down (429) more times than one call waits for: defer, nothing failed. */
export class HhRateLimited extends HhError {
  constructor(details: HhErrorDetails, retryAfterMs: number) {
    super(HH_ERROR_CODES.rateLimited, 'hh.ru keeps answering 429 Too Many Requests', details, {
      wait: true,
      retryAfterMs,
      status: 429,
    });
    this.name = 'HhRateLimited';
  }
}

/** The token endpoint refused (docs/reference/hh-api.md#login-oauth-20): `error` / `error_description`. */
export class HhOAuthError extends HhError {
  constructor(
    readonly error: string,
    readonly description: string,
    status: number,
  ) {
    const code = error === 'invalid_client' ? HH_ERROR_CODES.invalidClient : HH_ERROR_CODES.oauthRejected;
    super(
      code,
      `hh.ru token endpoint: ${error} (${description})`,
      { status, errors: [{ type: error, value: description }] },
      { retryable: false, status: 400 },
    );
    this.name = 'HhOAuthError';
  }

  /**
   * The refresh token can never be used again: the person must log in
   * (docs/reference/hh-api.md#login-oauth-20).
   */
  get meansLoginRequired(): boolean {
    return (
      (this.error === 'invalid_grant' &&
        ['token has already been refreshed', 'token was revoked', 'bad token', 'token deactivated'].includes(
          this.description,
        )) ||
      (this.error === 'invalid_request' &&
        ['token not found', 'password invalidated', 'account is locked', 'login not verified'].includes(
          this.description,
        ))
    );
  }
}

/** Next midnight in Moscow, when hh.ru's daily limits start over (an assumption: hh.ru does not say). */
export function nextMoscowMidnight(now = Date.now()): Date {
  const msk = 3 * 3600_000;
  return new Date((Math.floor((now + msk) / 86_400_000) + 1) * 86_400_000 - msk);
}

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Classifies a non-2xx API answer once (the token-related 403s are handled by the client first).
 * 5xx bodies may not be JSON: the status decides.
 */
export function apiError(status: number, body: unknown, headers: Headers): HhError {
  const b = (body && typeof body === 'object' ? body : {}) as {
    errors?: HhErrorItem[];
    request_id?: string;
    description?: string;
  };
  const errors = Array.isArray(b.errors) ? b.errors : [];
  const details: HhErrorDetails = {
    status,
    errors,
    requestId: b.request_id ?? headers.get('x-request-id') ?? undefined,
  };
  const first = errors[0] ?? { type: '' };
  const what = `${first.type}${first.value ? `/${first.value}` : ''}`;
  if (status >= 500)
    return new HhError(HH_ERROR_CODES.unavailable, `hh.ru answered ${status}`, details, {
      retryable: true,
      status: 503,
    });
  if (status === 429) {
    if (first.type === 'resumes' && first.value === 'view_limit_exceeded')
      return new HhViewLimitExceeded(nextMoscowMidnight(), details);
    return new HhRateLimited(details, retryAfter(headers.get('retry-after')) ?? 1000);
  }
  if (first.type === 'oauth')
    return new HhError(HH_ERROR_CODES.tokenExpired, `hh.ru refused the token: ${what}`, details, {
      status: 401,
    });
  if (first.type === 'api_access_payment')
    return new HhError(
      HH_ERROR_CODES.paymentRequired,
      'hh.ru: the employer has no paid API access for this method',
      details,
      { status: 402 },
    );
  if (first.type === 'bad_user_agent')
    return new HhError(
      HH_ERROR_CODES.badUserAgent,
      `hh.ru refused our User-Agent (${first.value ?? '?'}): set HH_USER_AGENT`,
      details,
      { status: 500 },
    );
  if (first.type === 'captcha_required')
    return new HhError(HH_ERROR_CODES.captchaRequired, 'hh.ru asks for a CAPTCHA', details, { status: 403 });
  if (first.type === 'manager_extra_accounts' || first.type === 'manager_accounts')
    return new HhError(HH_ERROR_CODES.managerAccount, `hh.ru: ${what}`, details, { status: 403 });
  if (first.type === 'notifications' && first.value === 'already_exist')
    return new HhError(
      HH_ERROR_CODES.subscriptionExists,
      'hh.ru: a webhook subscription already exists for this user and app',
      details,
      { status: 409 },
    );
  if (first.type === 'negotiations' || first.type === 'resumes') {
    return new HhError(
      `hh_${first.type}_${first.value ?? 'error'}` as HhErrorCode,
      `hh.ru: ${what}`,
      details,
      { status: status === 404 ? 404 : 409 },
    );
  }
  if (status === 404)
    return new HhError(
      HH_ERROR_CODES.notFound,
      'hh.ru: not found (or not visible to this manager)',
      details,
      { status: 404 },
    );
  if (first.type === 'bad_json_data')
    return new HhError(
      HH_ERROR_CODES.badJson,
      `hh.ru rejected the body: ${first.value ?? ''} ${first.reason ?? ''}`.trim(),
      details,
      { status: 400 },
    );
  if (first.type === 'bad_argument')
    return new HhError(
      HH_ERROR_CODES.badArgument,
      `hh.ru rejected the argument ${first.value ?? ''}`.trim(),
      details,
      { status: 400 },
    );
  if (status === 400)
    return new HhError(HH_ERROR_CODES.badRequest, `hh.ru: bad request (${what || 'no details'})`, details, {
      status: 400,
    });
  if (status === 403)
    return new HhError(HH_ERROR_CODES.forbidden, `hh.ru: forbidden (${what || 'no details'})`, details, {
      status: 403,
    });
  return new HhError(HH_ERROR_CODES.unexpected, `hh.ru answered ${status}`, details, { status: 502 });
}
