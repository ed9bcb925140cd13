/**
 * Typed errors with a stable code and a retryable flag. Errors are classified once, at the
 * boundary where they enter our code (an HTTP client, a driver), so the rest of the code only
 * asks `retryable` and never parses messages.
 */
export interface AppErrorOptions {
  retryable?: boolean;
  /**
   * Nothing failed: the caller must only wait (a shared rate limit, an open breaker, a parked
   * account). Consumers defer such work instead of counting a failure.
   */
  wait?: boolean;
  /** HTTP status to answer with when this error reaches an HTTP boundary. */
  status?: number;
  /** How long the caller should wait before trying again, when the source said so. */
  retryAfterMs?: number;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly wait: boolean;
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.wait = options.wait ?? false;
    this.retryable = options.retryable ?? this.wait;
    this.status = options.status ?? 500;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

/** Input from outside failed validation: never retried, answered with 4xx. */
export class ValidationError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('validation_failed', message, { status: 400, retryable: false, details });
    this.name = 'ValidationError';
  }
}

/**
 * How long a consumer's message waits when a party it depends on does not answer (the portal, or
 * another of our services): the outage is not the message's fault, so it waits without counting a
 * failed delivery (`wait`), and this often it looks again.
 */
export const OUTAGE_RETRY_MS = 2000;

/**
 * The process is shutting down while a call waited its turn (a rate limit, a back-off): the wait is
 * given up so in-flight work ends within the shutdown budget, and the message goes back to be
 * handled again (here after a restart, or by another replica) without counting a failure.
 */
export class ShuttingDown extends AppError {
  constructor(what: string) {
    super('shutting_down', `shutting down while ${what}`, {
      wait: true,
      status: 503,
      retryAfterMs: OUTAGE_RETRY_MS,
    });
    this.name = 'ShuttingDown';
  }
}

/** Sleeps `ms`, or throws ShuttingDown as soon as `stopping` is aborted (no wait, no throw). */
export async function waitUnlessStopping(
  ms: number,
  stopping: AbortSignal | undefined,
  what: string,
): Promise<void> {
  if (ms <= 0) return;
  if (stopping?.aborted) throw new ShuttingDown(what);
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ShuttingDown(what));
    };
    const timer = setTimeout(() => {
      stopping?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    stopping?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A downstream (hh.ru, Bitrix24, Postgres, NATS) is unavailable for now: retry later. */
export class UnavailableError extends AppError {
  constructor(code: string, message: string, options: Omit<AppErrorOptions, 'retryable'> = {}) {
    super(code, message, { status: 503, ...options, retryable: true });
    this.name = 'UnavailableError';
  }
}

/** Driver error codes that mean "try again", not "this will never work". */
const RETRYABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
/** Postgres SQLSTATE classes that are transient: connection, serialization, deadlock, shutdown. */
const RETRYABLE_PG_STATES = /^(08|40|53|57P)/;

/** Turns anything thrown into an AppError, deciding once whether it is worth retrying. */
export function classifyError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (RETRYABLE_NODE_CODES.has(code)) {
        return new UnavailableError(code.toLowerCase(), err.message, { cause: err });
      }
      if (/^[0-9A-Z]{5}$/.test(code)) {
        return new AppError(`pg_${code}`, err.message, {
          retryable: RETRYABLE_PG_STATES.test(code),
          cause: err,
        });
      }
    }
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      return new UnavailableError('timeout', err.message, { cause: err });
    }
    // Unknown errors are retried: a bounded number of deliveries ends in the dead-letter table,
    // which is safer than dropping work because of a bug we have not classified yet.
    return new AppError('unexpected', err.message, { retryable: true, cause: err });
  }
  return new AppError('unexpected', String(err), { retryable: true });
}
