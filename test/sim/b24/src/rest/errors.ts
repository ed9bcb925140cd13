/**
 * A REST error as the portal sends it: `{"error": code, "error_description": text}` with the HTTP
 * status the Bitrix source uses (RestException 400, AccessException 403, OAuth 401, unknown method
 * 404). `error` is an empty string for most legacy crm errors and a number for engine argument errors.
 */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | number,
    readonly description: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(description);
    this.name = 'RestError';
  }

  body(): Record<string, unknown> {
    return { error: this.code, error_description: this.description, ...this.extra };
  }
}

/** Legacy crm proxies: `RestException(message)` without a code. */
export const legacy = (description: string) => new RestError(400, '', description);

export const accessDenied = (detail = '') =>
  new RestError(403, 'ACCESS_DENIED', detail ? `Access denied! ${detail}` : 'Access denied!');

export const argumentNull = (argument: string) =>
  new RestError(400, 'ERROR_ARGUMENT', `Argument '${argument}' is null or empty`, { argument });

export const wrongHandlerUrl = () => new RestError(400, 'ERROR_WRONG_HANDLER_URL', 'Wrong handler URL');
export const unsupportedProtocol = () =>
  new RestError(400, 'ERROR_UNSUPPORTED_PROTOCOL', 'Unsupported handler protocol');
