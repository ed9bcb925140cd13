/**
 * One REST request to a portal, in the order the portal treats it: faults switched on by a test,
 * the leaky bucket (503 before anything else), authentication (401), the method (404), its scope,
 * the operating-time block (429), then the method itself; `batch` runs up to 50 sub-calls with
 * `$result[...]` references. Every request and sub-call lands in the request log.
 */
import { Readable } from 'node:stream';
import type { OAuthFault, Portal, Token } from '../model.js';
import { type PhpObject, parsePhpQuery } from '../php-form.js';
import type { B24Sim } from '../sim.js';
import { type CallContext, ListResult, type MethodSpec, type Params, portalTime } from './context.js';
import { TOKEN_ERROR_TEXT } from '../oauth.js';
import { RestError } from './errors.js';
import { METHODS } from './methods/index.js';

export interface RestRequest {
  portalName: string;
  method: string;
  query: string;
  body: unknown;
  authorization?: string;
}

export interface RestResponse {
  status: number;
  /** JSON to serialise, text, or a stream (a `huge_body` fault). */
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

const BATCH_MAX = 50;
const SCOPE_ALIASES: Record<string, string[]> = {
  user_brief: ['user', 'user_basic', 'user_brief'],
  user: ['user', 'user_basic', 'user_brief'],
};

function timeBlock(portal: Portal, startedMs: number): Record<string, unknown> {
  const finished = Date.now();
  const iso = (ms: number) => portalTime(portal, ms);
  const duration = (finished - startedMs) / 1000;
  return {
    start: startedMs / 1000,
    finish: finished / 1000,
    duration,
    processing: duration,
    date_start: iso(startedMs),
    date_finish: iso(finished),
    operating_reset_at: Math.floor(finished / 1000) + 600,
    operating: duration,
  };
}

function methodName(raw: string): string {
  return raw
    .replace(/^\/+/, '')
    .replace(/\.(json|xml)$/i, '')
    .toLowerCase();
}

function hasScope(token: Token, spec: MethodSpec): boolean {
  if (spec.scope === null) return true;
  const accepted = SCOPE_ALIASES[spec.scope] ?? [spec.scope];
  return token.scope.some((s) => accepted.includes(s));
}

/** PHP arrays with keys 0..n-1 print as JSON lists; empty ones as `[]`. */
function phpArray(obj: Record<string, unknown>): unknown {
  const keys = Object.keys(obj);
  if (keys.length === 0) return [];
  return keys.every((k, i) => k === String(i)) ? keys.map((k) => obj[k]) : obj;
}

/** The answer a `huge_body` or `redirect` fault gives instead of the real one. */
export function faultAnswer(f: OAuthFault): RestResponse {
  if (f.kind === 'redirect') return { status: 302, body: '', headers: { location: f.location } };
  return {
    status: 200,
    contentType: 'application/json; charset=utf-8',
    headers: f.declareLength ? { 'content-length': String(f.bytes) } : {},
    body: hugeJson(f.bytes, (n) => (f.served = (f.served ?? 0) + n)),
  };
}

/** `{"result":"xxxx…` for `bytes` bytes, made only as the reader asks for more. */
function hugeJson(bytes: number, served: (n: number) => void): Readable {
  const head = Buffer.from('{"result":"');
  const filler = Buffer.alloc(64 * 1024, 0x78);
  let left = bytes;
  let first = true;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      let chunk = first ? Buffer.concat([head, filler]) : filler;
      first = false;
      if (chunk.length > left) chunk = chunk.subarray(0, left);
      left -= chunk.length;
      served(chunk.length);
      this.push(chunk);
    },
  });
}

export class RestDispatcher {
  constructor(private readonly sim: B24Sim) {}

  async handle(req: RestRequest): Promise<RestResponse> {
    const started = Date.now();
    const portal = this.sim.findPortal(req.portalName);
    if (!portal)
      return {
        status: 404,
        body: { error: 'PORTAL_NOT_FOUND', error_description: 'No such portal in the simulator' },
      };
    const method = methodName(req.method);
    const log = (status: number, extra: { error?: string; token?: Token } = {}) =>
      this.sim.logRequest({
        at: started,
        kind: 'rest',
        memberId: portal.memberId,
        clientId: extra.token?.clientId ?? null,
        userId: extra.token?.userId ?? null,
        method,
        status,
        error: extra.error,
      });
    const fail = (err: RestError, token?: Token): RestResponse => {
      log(err.status, { error: String(err.code), token });
      return { status: err.status, body: err.body() };
    };

    for (const active of this.sim.activeFaults(portal)) {
      const f = active.fault;
      if (f.kind === 'portal_deleted')
        return fail(new RestError(403, 'PORTAL_DELETED', 'Portal was deleted'));
      if (f.kind === 'latency' && (!f.methods || f.methods.includes(method)))
        await new Promise((r) => setTimeout(r, f.ms));
      if ((f.kind === 'huge_body' || f.kind === 'redirect') && (!f.methods || f.methods.includes(method))) {
        active.remaining--;
        log(f.kind === 'redirect' ? 302 : 200, { error: f.kind.toUpperCase() });
        return faultAnswer(f);
      }
      if (f.kind === 'http_error' && (!f.methods || f.methods.includes(method))) {
        active.remaining--;
        log(f.status, { error: `HTTP_${f.status}` });
        if (f.status === 500)
          return {
            status: 500,
            body: { error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' },
          };
        return {
          status: f.status,
          contentType: 'text/html; charset=utf-8',
          body: `<html><head><title>${f.status}</title></head><body><center><h1>${f.status}</h1></center><hr><center>nginx</center></body></html>`,
        };
      }
    }

    const limit = this.sim.rateLimit;
    if (limit) {
      const b = portal.bucket;
      b.level = Math.max(0, b.level - ((started - b.at) * limit.drainPerSec) / 1000);
      b.at = started;
      if (b.level + 1 > limit.burst)
        return fail(new RestError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests'));
      b.level += 1;
    }

    const params: Params = {
      ...parsePhpQuery(req.query),
      ...(typeof req.body === 'string'
        ? parsePhpQuery(req.body)
        : ((req.body as PhpObject | undefined) ?? {})),
    };
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.authorization ?? '')?.[1];
    const accessToken =
      bearer ??
      (typeof params['auth'] === 'string' ? params['auth'] : undefined) ??
      (typeof params['access_token'] === 'string' ? params['access_token'] : undefined);
    delete params['auth'];
    delete params['access_token'];
    if (!accessToken) return fail(new RestError(401, 'NO_AUTH_FOUND', 'Wrong authorization data'));
    const check = this.sim.tokens.check(accessToken);
    if (!check.ok || check.token.memberId !== portal.memberId) {
      const error = check.ok ? 'invalid_token' : check.error;
      return fail(new RestError(401, error, TOKEN_ERROR_TEXT[error]));
    }
    const token = check.token;
    const install = portal.installs.get(token.clientId);
    const user = portal.users.get(token.userId);
    if (!install || !user)
      return fail(new RestError(401, 'APPLICATION_NOT_FOUND', 'Application not found'), token);
    const ctx: CallContext = {
      sim: this.sim,
      portal,
      app: this.sim.app(token.clientId),
      token,
      user,
      install,
    };

    try {
      const result =
        method === 'batch' ? await this.batch(ctx, params) : await this.call(ctx, method, params);
      log(200, { token });
      const body: Record<string, unknown> =
        result instanceof ListResult ? { result: result.rows } : { result };
      if (result instanceof ListResult) {
        if (result.next !== undefined) body['next'] = result.next;
        if (result.total !== undefined) body['total'] = result.total;
      }
      body['time'] = timeBlock(portal, started);
      return { status: 200, body };
    } catch (err) {
      if (err instanceof RestError) return fail(err, token);
      this.sim.logRequest({
        at: started,
        kind: 'rest',
        memberId: portal.memberId,
        clientId: token.clientId,
        userId: token.userId,
        method,
        status: 500,
        error: 'ERROR_CORE',
      });
      return {
        status: 500,
        body: { error: 'INTERNAL_SERVER_ERROR', error_description: (err as Error).message },
      };
    }
  }

  private async call(ctx: CallContext, method: string, params: Params): Promise<unknown> {
    const spec = METHODS[method];
    if (!spec) throw new RestError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
    if (!hasScope(ctx.token, spec))
      throw new RestError(
        401,
        'insufficient_scope',
        'The request requires higher privileges than provided by the access token',
      );
    for (const active of this.sim.activeFaults(ctx.portal)) {
      const f = active.fault;
      if (f.kind === 'operation_time_limit' && (!f.methods || f.methods.includes(method))) {
        throw new RestError(429, 'OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.');
      }
    }
    return spec.handler(ctx, params);
  }

  private async batch(ctx: CallContext, params: Params): Promise<unknown> {
    const cmd = params['cmd'];
    const commands: Array<[string, unknown]> = Array.isArray(cmd)
      ? cmd.map((c, i) => [String(i), c])
      : cmd && typeof cmd === 'object'
        ? Object.entries(cmd)
        : [];
    const halt = ['1', 'true', 'Y'].includes(String(params['halt'] ?? '0'));
    const result: Record<string, unknown> = {};
    const errors: Record<string, unknown> = {};
    const totals: Record<string, unknown> = {};
    const nexts: Record<string, unknown> = {};
    const times: Record<string, unknown> = {};
    for (let i = 0; i < commands.length; i++) {
      const [key, raw] = commands[i]!;
      const subStarted = Date.now();
      const logSub = (method: string, status: number, error?: string) =>
        this.sim.logRequest({
          at: subStarted,
          kind: 'batch',
          memberId: ctx.portal.memberId,
          clientId: ctx.token.clientId,
          userId: ctx.token.userId,
          method,
          status,
          error,
        });
      if (i >= BATCH_MAX) {
        errors[key] = {
          error: 'ERROR_BATCH_LENGTH_EXCEEDED',
          error_description: 'Max batch length exceeded',
        };
        continue;
      }
      const text = String(raw ?? '');
      const q = text.indexOf('?');
      const method = methodName(q < 0 ? text : text.slice(0, q));
      const subParams = resolveRefs(parsePhpQuery(q < 0 ? '' : text.slice(q + 1)), {
        result,
        result_error: errors,
        result_total: totals,
        result_next: nexts,
        result_time: times,
      }) as Params;
      delete subParams['auth'];
      try {
        if (method === 'batch')
          throw new RestError(405, 'ERROR_BATCH_METHOD_NOT_ALLOWED', 'Method is not allowed for batch usage');
        const value = await this.call(ctx, method, subParams);
        if (value instanceof ListResult) {
          result[key] = value.rows;
          if (value.total !== undefined) totals[key] = value.total;
          if (value.next !== undefined) nexts[key] = value.next;
        } else result[key] = value;
        logSub(method, 200);
      } catch (err) {
        const e = err instanceof RestError ? err : new RestError(500, 'ERROR_CORE', (err as Error).message);
        errors[key] = e.body();
        logSub(method, e.status, String(e.code));
        if (halt) break;
      } finally {
        times[key] = timeBlock(ctx.portal, subStarted);
      }
    }
    return {
      result: phpArray(result),
      result_error: phpArray(errors),
      result_total: phpArray(totals),
      result_next: phpArray(nexts),
      result_time: phpArray(times),
    };
  }
}

const REF = /\$(result_error|result_total|result_next|result_time|result)\[([^\]]+)\]((?:\[[^\]]*\])*)/g;

/** `$result[lead]`, `$result[list][0][ID]`: earlier answers of the same batch. */
function resolveRefs(value: unknown, sections: Record<string, Record<string, unknown>>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, sections));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, sections)]));
  if (typeof value !== 'string' || !value.includes('$result')) return value;
  const lookup = (section: string, key: string, path: string): unknown => {
    let node: unknown = sections[section]?.[key];
    for (const m of path.matchAll(/\[([^\]]*)\]/g))
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[m[1]!] : undefined;
    return node;
  };
  const whole = new RegExp(`^${REF.source}$`).exec(value);
  if (whole) return lookup(whole[1]!, whole[2]!, whole[3] ?? '') ?? '';
  return value.replace(REF, (_m, section: string, key: string, path: string) => {
    const v = lookup(section, key, path ?? '');
    return v === undefined || v === null || typeof v === 'object' ? '' : String(v);
  });
}
