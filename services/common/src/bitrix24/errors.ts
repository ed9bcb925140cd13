import { textOf } from '../text.js';
import { AppError, OUTAGE_RETRY_MS } from '../errors.js';

/**
 * Every way a Bitrix24 call can fail, decided once here from the HTTP status and the
 * `{error, error_description}` body, so callers only read `code`, `retryable` and `wait`.
 *
 * | code                       | when                                                            | retry? |
 * |----------------------------|-----------------------------------------------------------------|--------|
 * | b24_rate_limited           | 503 QUERY_LIMIT_EXCEEDED, 503 OVERLOAD_LIMIT                    | wait   |
 * | b24_operation_time_limit   | 429 OPERATION_TIME_LIMIT (method blocked for a while)           | wait   |
 * | b24_expired_token          | 401 expired_token on a user token (callAs: the page must refresh) | no   |
 * | b24_invalid_token          | 401 invalid_token: the token is unknown or revoked              | no     |
 * | b24_reinstall_required     | refresh refused (invalid_grant, invalid_client, PAYMENT_REQUIRED) | no   |
 * | b24_access_denied          | 401/403 access errors: scope, rights, auth type, app not found  | no     |
 * | b24_portal_deleted         | PORTAL_DELETED                                                  | no     |
 * | b24_portal_unknown         | no install stored for that member_id, or it is uninstalled      | no     |
 * | b24_method_not_found       | 404 ERROR_METHOD_NOT_FOUND                                      | no     |
 * | b24_not_found              | the entity asked for does not exist                             | no     |
 * | b24_rejected               | any other 4xx: the portal refused the input (details say why)   | no     |
 * | b24_unavailable            | 5xx, non-JSON answers, network errors, timeouts                 | wait   |
 * | b24_answer_too_large       | the answer passed B24_MAX_RESPONSE_BYTES (reading stopped there) | no     |
 * | b24_redirect_refused       | a 3xx: never followed, the request carries the portal's token   | no     |
 *
 * "wait" means the portal, not the message, is at fault: a consumer hands the message back for later
 * without counting a failed delivery, so an outage of the portal longer than a few retries never
 * sends work to the dead letters (the breaker opens meanwhile and spares the portal).
 */
export type Bitrix24ErrorCode =
  | 'b24_rate_limited'
  | 'b24_operation_time_limit'
  | 'b24_expired_token'
  | 'b24_invalid_token'
  | 'b24_reinstall_required'
  | 'b24_access_denied'
  | 'b24_portal_deleted'
  | 'b24_portal_unknown'
  | 'b24_method_not_found'
  | 'b24_not_found'
  | 'b24_rejected'
  | 'b24_unavailable'
  | 'b24_answer_too_large'
  | 'b24_redirect_refused';

export interface Bitrix24ErrorDetails {
  memberId: string;
  method: string;
  /** HTTP status of the answer (0 when there was none). */
  httpStatus: number;
  /** Bitrix24's own `error` code and `error_description`, as received. */
  b24Error: string;
  b24Description: string;
}

export class Bitrix24Error extends AppError {
  declare readonly code: Bitrix24ErrorCode;
  declare readonly details: Bitrix24ErrorDetails & Record<string, unknown>;

  constructor(
    code: Bitrix24ErrorCode,
    message: string,
    details: Bitrix24ErrorDetails,
    options: { wait?: boolean; retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    if (code === 'b24_unavailable')
      options = { ...options, wait: true, retryAfterMs: options.retryAfterMs ?? OUTAGE_RETRY_MS };
    super(code, message, {
      status:
        code === 'b24_rate_limited' || code === 'b24_operation_time_limit' || code === 'b24_unavailable'
          ? 503
          : 502,
      wait: options.wait,
      retryable: options.retryable ?? options.wait ?? false,
      retryAfterMs: options.retryAfterMs,
      details: { ...details },
      cause: options.cause,
    });
    this.name = 'Bitrix24Error';
  }

  get b24Error(): string {
    return this.details.b24Error;
  }
}

const ACCESS_ERRORS = new Set([
  'ACCESS_DENIED',
  'insufficient_scope',
  'user_access_error',
  'WRONG_AUTH_TYPE',
  'NO_AUTH_FOUND',
  'APPLICATION_NOT_FOUND',
  'METHOD_CONFIRM_WAITING',
  'METHOD_CONFIRM_DENIED',
  'authorization_error',
  'INVALID_CREDENTIALS',
  'ERROR_WRONG_CONTEXT',
]);

/** Turns one REST answer that carries `error` (or is not an answer at all) into a Bitrix24Error. */
export function classifyBitrix24(
  status: number,
  body: unknown,
  context: { memberId: string; method: string; waitMs?: number },
): Bitrix24Error {
  const b = (body && typeof body === 'object' ? body : {}) as {
    error?: unknown;
    error_description?: unknown;
  };
  const b24Error = textOf(b.error);
  const b24Description = typeof b.error_description === 'string' ? b.error_description : '';
  const details: Bitrix24ErrorDetails = {
    memberId: context.memberId,
    method: context.method,
    httpStatus: status,
    b24Error,
    b24Description,
  };
  const text = `Bitrix24 ${context.method}: ${b24Error || `HTTP ${status}`}${b24Description ? ` (${b24Description})` : ''}`;
  const err = (
    code: Bitrix24ErrorCode,
    options: { wait?: boolean; retryable?: boolean; retryAfterMs?: number } = {},
  ) => new Bitrix24Error(code, text, details, options);

  if (b24Error === 'QUERY_LIMIT_EXCEEDED' || b24Error === 'OVERLOAD_LIMIT')
    return err('b24_rate_limited', { wait: true, retryAfterMs: context.waitMs });
  if (b24Error === 'OPERATION_TIME_LIMIT')
    return err('b24_operation_time_limit', { wait: true, retryAfterMs: context.waitMs });
  if (b24Error === 'expired_token') return err('b24_expired_token');
  if (b24Error === 'invalid_token') return err('b24_invalid_token');
  if (b24Error === 'PORTAL_DELETED') return err('b24_portal_deleted');
  if (ACCESS_ERRORS.has(b24Error) || b24Description.startsWith('Access denied'))
    return err('b24_access_denied');
  if (b24Error === 'ERROR_METHOD_NOT_FOUND') return err('b24_method_not_found');
  if (b24Error === 'NOT_FOUND' || b24Error === 'OWNER_NOT_FOUND' || /^not found\.?$/i.test(b24Description))
    return err('b24_not_found');
  if (
    status >= 500 ||
    status === 0 ||
    b24Error === 'INTERNAL_SERVER_ERROR' ||
    b24Error === 'ERROR_UNEXPECTED_ANSWER' ||
    (status >= 400 && !b24Error && !b24Description)
  ) {
    return err('b24_unavailable');
  }
  return err('b24_rejected');
}
