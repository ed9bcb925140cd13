import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Auth, Caller } from './auth.js';
import type { Buckets, Faults } from './faults.js';
import type { Manager } from './model.js';
import type { PdfPool } from './pdf-pool.js';
import type { Renderer } from './render.js';
import type { Store } from './store.js';
import type { Webhooks } from './webhooks.js';

export interface RequestRecord {
  at: string;
  method: string;
  /** The route pattern that answered (e.g. /negotiations/:x), or null when none did. */
  route: string | null;
  path: string;
  query: string;
  status: number;
  ip: string;
  /** The hh user behind the bearer token, when there was a valid one. */
  userId: string | null;
  /** The User-Agent hh.ru would use: HH-User-Agent when both are sent. */
  userAgent: string | null;
  /** The Accept header as sent (the simulator answers the same whatever it says, as hh.ru documents no negotiation). */
  accept: string | null;
  /** The media type of the request's body (`application/x-www-form-urlencoded`, `application/json`), null without one. */
  contentType: string | null;
  /** From arrival to answer; `at` is the answer's time. */
  ms: number;
  /** The fault that answered instead of hh.ru's own logic (rate_limit, error, slow), if one did. */
  fault?: string;
}

/** Everything a route needs: the data, OAuth, webhooks, faults, limits and the request log. */
export interface SimContext {
  store: Store;
  auth: Auth;
  webhooks: Webhooks;
  faults: Faults;
  buckets: Buckets;
  render: Renderer;
  pdfs: PdfPool;
  requests: RequestRecord[];
  /** The API routes the server answers (method and pattern), for the conformance walk. */
  apiRoutes: Array<{ method: string; url: string }>;
}

declare module 'fastify' {
  interface FastifyRequest {
    hhRequestId: string;
    hhUserId: string | null;
    hhFault: string | undefined;
    /** A `stale` slow fault: the answer, already made, is held this long before it is sent. */
    hhHoldMs: number;
  }
}

export type Errors = Array<Record<string, unknown>>;

/** hh.ru's error body: `errors[]` and a `request_id` (also in X-Request-Id). */
export function hhError(
  reply: FastifyReply,
  status: number,
  errors: Errors,
  extra: Record<string, unknown> = {},
): FastifyReply {
  const requestId = reply.request.hhRequestId;
  return reply
    .code(status)
    .header('x-request-id', requestId)
    .type('application/json; charset=utf-8')
    .send({ errors, request_id: requestId, ...extra });
}

export const notFound = (reply: FastifyReply) =>
  hhError(reply, 404, [{ type: 'not_found' }], { description: 'Not Found' });
export const badArgument = (reply: FastifyReply, name: string, extra: Record<string, unknown> = {}) =>
  hhError(reply, 400, [{ type: 'bad_argument', value: name }], {
    bad_argument: name,
    bad_arguments: [{ name, description: `bad ${name}` }],
    ...extra,
  });

const OAUTH_DASHED: Record<string, string> = {
  token_expired: 'token-expired',
  token_revoked: 'token-revoked',
  bad_authorization: 'bad-auth-type',
};

export function newRequestId(): string {
  return randomBytes(16).toString('hex');
}

/** The caller behind the bearer token, or an hh.ru 403 already sent. */
export function caller(ctx: SimContext, req: FastifyRequest, reply: FastifyReply): Caller | null {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  const who = ctx.auth.authenticate(m?.[1]);
  if (typeof who === 'string') {
    hhError(reply, 403, [{ type: 'oauth', value: who }], {
      oauth_error: OAUTH_DASHED[who],
      description: who === 'bad_authorization' ? 'Unrecognized authorization' : 'Forbidden',
    });
    return null;
  }
  if (who.kind === 'user') req.hhUserId = who.userId;
  return who;
}

/** An employer manager's user token; application tokens get `user_auth_expected`. */
export function manager(ctx: SimContext, req: FastifyRequest, reply: FastifyReply): Manager | null {
  const who = caller(ctx, req, reply);
  if (!who) return null;
  if (who.kind !== 'user') {
    hhError(reply, 403, [{ type: 'oauth', value: 'user_auth_expected' }], { description: 'Forbidden' });
    return null;
  }
  const m = ctx.store.managersByUser.get(who.userId);
  if (!m) {
    hhError(reply, 403, [{ type: 'forbidden' }], { description: 'Forbidden' });
    return null;
  }
  return m;
}

/** Paid API access (method_access groups 1 and 3) for negotiations and resumes. */
export function paid(ctx: SimContext, m: Manager, reply: FastifyReply): boolean {
  if (ctx.store.employers.get(m.employerId)!.paidApiAccess) return true;
  hhError(reply, 403, [{ type: 'api_access_payment', value: 'action_must_be_payed' }], {
    description: 'Forbidden',
  });
  return false;
}

/** A non-negative whole number from the query, or undefined when absent, or NaN when malformed. */
export function intParam(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const s = Array.isArray(value) ? String(value.at(-1)) : String(value);
  return /^\d{1,9}$/.test(s) ? Number(s) : Number.NaN;
}

/** The last value of a repeated query parameter (hh.ru: the last one wins). */
export function lastParam(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? String(value.at(-1)) : String(value);
}

/** The media type of a request's body (`application/json`, …), or null when it came without one. */
export function bodyType(req: FastifyRequest): string | null {
  const header = req.headers['content-type'];
  return header ? header.split(';')[0]!.trim().toLowerCase() : null;
}

export const FORM = 'application/x-www-form-urlencoded';

/**
 * The fields of a form body, where hh.ru reads its arguments from `application/x-www-form-urlencoded`
 * only (the token endpoint, negotiation actions, «read»). A request without a body has no fields;
 * a body of another type is not read: `null`, and the route answers as hh.ru does to that.
 */
export function formFields(req: FastifyRequest): Record<string, unknown> | null {
  const type = bodyType(req);
  if (type === null) return {};
  if (type !== FORM) return null;
  const body = req.body;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

/**
 * 400 for a body hh.ru does not read where it expects form fields: the spec's «Ошибка в теле
 * запроса» (ErrorsCommonBadRequestErrors, `bad_request`), the 400 these operations document.
 */
export const notAForm = (reply: FastifyReply) =>
  hhError(reply, 400, [{ type: 'bad_request' }], {
    description: `arguments are read from an ${FORM} body`,
  });

export function paginate<T>(items: T[], page: number, perPage: number) {
  return {
    found: items.length,
    pages: Math.max(1, Math.ceil(items.length / perPage)),
    page,
    per_page: perPage,
    items: items.slice(page * perPage, page * perPage + perPage),
  };
}
