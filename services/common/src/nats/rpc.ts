import type { Subscription } from '@nats-io/nats-core';
import { AppError, OUTAGE_RETRY_MS, classifyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { type Checker, type Static, type TSchema, compileSchema } from '../schema.js';
import type { Nats } from './connection.js';
import { type Naming, streams } from './topology.js';

/**
 * Request/reply between services, for queries that need an answer now (a page asking how far the
 * import is). Durable work goes through JetStream instead. A contract names the subject and the
 * schemas of the request and the reply, compiled once; both sides import one definition and both
 * check: the caller its request before sending and the reply on arrival, the server the request.
 */
export interface RpcContract<Req, Res> {
  readonly subject: string;
  readonly request: Checker<Req>;
  readonly reply: Checker<Res>;
}

export function defineRpc<Req extends TSchema, Res extends TSchema>(
  subject: string,
  request: Req,
  reply: Res,
): RpcContract<Static<Req>, Static<Res>> {
  // A stream would store the request and its publish ack would be taken for the answer.
  const captured = streams
    .flatMap((s) => s.subjects)
    .find((pattern) => subject.startsWith(pattern.replace(/>$/, '')));
  if (captured)
    throw new Error(
      `rpc subject ${subject} is captured by the stream subjects ${captured}: use rpc.<service>.<verb>`,
    );
  return {
    subject,
    request: compileSchema(request, `${subject} request`),
    reply: compileSchema(reply, `${subject} reply`),
  };
}

type Reply<Res> =
  | { ok: true; result: Res }
  | { ok: false; error: { code: string; message: string; retryable: boolean; status: number } };

/** Serves a contract in a queue group named after the service: replicas share the requests. */
export function serveRpc<Req, Res>(
  deps: { nats: Nats; naming: Naming; log: Logger; queue: string },
  contract: RpcContract<Req, Res>,
  handler: (req: Req) => Promise<Res>,
): Subscription {
  const encoder = new TextEncoder();
  return deps.nats.nc.subscribe(deps.naming.subject(contract.subject), {
    queue: deps.queue,
    callback: (err, msg) => {
      if (err) return deps.log.warn({ err, subject: contract.subject }, 'rpc subscription error');
      void (async () => {
        let reply: Reply<Res>;
        try {
          const raw: unknown = JSON.parse(new TextDecoder().decode(msg.data));
          const req = contract.request.decode(raw);
          reply = { ok: true, result: await handler(req) };
        } catch (e) {
          const error =
            e instanceof SyntaxError
              ? new AppError('bad_request', 'request is not JSON', { status: 400 })
              : classifyError(e);
          if (error.status >= 500)
            deps.log.error({ err: e, subject: contract.subject }, 'rpc handler failed');
          reply = {
            ok: false,
            error: {
              code: error.code,
              message: error.message,
              retryable: error.retryable,
              status: error.status,
            },
          };
        }
        msg.respond(encoder.encode(JSON.stringify(reply)));
      })();
    },
  });
}

/** Calls a contract; a remote failure comes back as an AppError with the remote code. */
export async function callRpc<Req, Res>(
  deps: { nats: Nats; naming: Naming },
  contract: RpcContract<Req, Res>,
  req: Req,
  options: { timeoutMs?: number } = {},
): Promise<Res> {
  // A malformed request is the caller's own mistake: told here, before anything is sent.
  contract.request.decode(req);
  let data: Uint8Array;
  try {
    const msg = await deps.nats.nc.request(deps.naming.subject(contract.subject), JSON.stringify(req), {
      timeout: options.timeoutMs ?? 5000,
    });
    data = msg.data;
  } catch (err) {
    // Nobody answered (the service is down or restarting): an outage, as the portal's are.
    throw new AppError('rpc_unavailable', `${contract.subject}: ${(err as Error).message}`, {
      wait: true,
      retryAfterMs: OUTAGE_RETRY_MS,
      status: 503,
      cause: err,
    });
  }
  const reply = JSON.parse(new TextDecoder().decode(data)) as Reply<Res>;
  if (!reply.ok)
    throw new AppError(reply.error.code, reply.error.message, {
      retryable: reply.error.retryable,
      status: reply.error.status,
    });
  if (!contract.reply.check(reply.result))
    throw new AppError('rpc_bad_reply', contract.reply.explain(reply.result), { status: 502 });
  return reply.result;
}
