import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { type ErrorCode, Refusal, type SchemaIssue, describeIssues } from '@hhb24/common';
import { rawBody } from './http.js';
import { parsePhpForm } from './php-form.js';

/** The parts of a request a route's schema describes, as fastify names them. */
type Part = 'params' | 'querystring' | 'body' | 'headers';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The catalogue's code a request that fails this route's schema is refused with, per part
     * (`invalid_request` when unnamed): an unknown path stays a 404, a malformed hh.ru callback the
     * webhook's own 400.
     */
    invalid?: Partial<Record<Part, ErrorCode>>;
  }
}

/** The gateway with its routes' types derived from their schemas. */
export type Gateway = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** `preValidation` of the routes Bitrix24 posts to: the PHP-style form as nested objects, for the body's schema. */
export async function asPhpForm(req: FastifyRequest): Promise<void> {
  req.body = parsePhpForm(rawBody(req));
}

/** `preValidation` of the pages' own posts: a flat form (`a=1&a=2` → ['1','2']), for the body's schema. */
export async function asFlatForm(req: FastifyRequest): Promise<void> {
  req.body = flatForm(rawBody(req));
}

/** A flat form; at most 500 fields are read. */
export function flatForm(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  let n = 0;
  for (const [k, v] of new URLSearchParams(raw)) {
    if (++n > 500) break;
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * What a request that does not fit its route's schema is refused with: the route's code for that
 * part (the catalogue's status and text), and the schema's words naming the field (`problem`).
 */
export function schemaRefusal(
  err: { validation?: readonly SchemaIssue[]; validationContext?: string },
  req: FastifyRequest,
): Refusal {
  const part = (err.validationContext ?? 'body') as Part;
  const problem = `${part}: ${describeIssues(err.validation ?? [])}`;
  return new Refusal(req.routeOptions.config.invalid?.[part] ?? 'invalid_request', { problem });
}

/**
 * Every route is checked with TypeBox's compiler (the NATS messages' too, services/common/src/schema.ts).
 * A request that fails is answered with the route's refusal as JSON, the schema's words included
 * (they name the field, never echo its value); the pages that must answer with HTML take the
 * failure themselves (`attachValidation`).
 */
export function useSchemas(app: FastifyInstance): Gateway {
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (!err.validation) throw err;
    const refusal = schemaRefusal(err, req);
    req.log.info(
      { code: refusal.code, path: req.routeOptions.url, ...refusal.details },
      'request refused by its schema',
    );
    return reply
      .code(refusal.status)
      .send({ error: refusal.code, message: refusal.texts.en, problem: refusal.details?.['problem'] });
  });
  return app.withTypeProvider<TypeBoxTypeProvider>();
}
