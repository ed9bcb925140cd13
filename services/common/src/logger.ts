import { type DestinationStream, pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values are secrets wherever they appear (two levels deep covers our log objects). */
const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'cookie',
  'password',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'accessToken',
  'refreshToken',
  'client_secret',
  'clientSecret',
  'application_token',
  'applicationToken',
  'AUTH_ID',
  'REFRESH_ID',
  'APPLICATION_TOKEN',
  'event_token',
  'webhookSecret',
  'encryptionKey',
  'client_id_secret',
];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.Authorization',
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

/** Strips the query string and any path segment that follows a secret-bearing prefix. */
export function safeUrl(raw: string | undefined): string | undefined {
  if (!raw) return raw;
  const path = raw.split('?')[0] ?? raw;
  return path.replace(/\/(webhook|hooks?)\/[^/]+/gi, '/$1/***');
}

/** A pino logger with secrets redacted; `destination` (stdout by default) lets a test read the lines. */
export function createLogger(
  options: { name: string; level: string } & LoggerOptions,
  destination?: DestinationStream,
): Logger {
  const settings: LoggerOptions = {
    ...options,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: pino.stdSerializers.err,
      // Request logs carry the method and a URL without its query and secret path parts.
      req: (req: { method?: string; url?: string; id?: string }) => ({
        id: req.id,
        method: req.method,
        url: safeUrl(req.url),
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  };
  return destination ? pino(settings, destination) : pino(settings);
}
