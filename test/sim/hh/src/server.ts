import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { bodyType, hhError, newRequestId } from './context.js';
import { hugeBody } from './faults.js';
import { controlRoutes } from './routes/control.js';
import { employerRoutes } from './routes/employer.js';
import { negotiationRoutes } from './routes/negotiations.js';
import { oauthRoutes } from './routes/oauth.js';
import { resumeRoutes } from './routes/resumes.js';
import { viewRoutes } from './routes/view.js';
import { webhookRoutes } from './routes/webhooks.js';
import type { HhSim } from './sim.js';

const MAX_LOGGED_REQUESTS = 200_000;

/** Which face of hh.ru a path belongs to: the control API, a page for people, or the API (limits, faults, User-Agent). */
function faceOf(url: string): 'control' | 'page' | 'api' {
  if (url.startsWith('/_sim')) return 'control';
  if (url.startsWith('/oauth/authorize') || url.startsWith('/resume/')) return 'page';
  return 'api';
}

/** Form bodies as hh.ru reads them: repeated keys (topic_id=1&topic_id=2) become arrays. */
function parseForm(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export function buildServer(sim: HhSim): FastifyInstance {
  const ctx = sim.context;
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, parseForm(body as string)),
  );
  app.addHook('onRoute', (route) => {
    if (faceOf(route.url) !== 'api') return;
    for (const method of [route.method].flat())
      if (method !== 'HEAD') ctx.apiRoutes.push({ method, url: route.url });
  });
  app.decorateRequest('hhRequestId', '');
  app.decorateRequest('hhUserId', null);
  app.decorateRequest('hhFault', undefined);
  app.decorateRequest('hhHoldMs', 0);

  const userAgent = (req: FastifyRequest): string | null => {
    const hh = req.headers['hh-user-agent'];
    const plain = req.headers['user-agent'];
    return (typeof hh === 'string' && hh) || (typeof plain === 'string' && plain) || null;
  };

  app.addHook('onRequest', async (req, reply) => {
    req.hhRequestId = newRequestId();
    if (faceOf(req.url) !== 'api') return;
    const settings = sim.settings;
    const ua = userAgent(req);
    if (!ua)
      return hhError(reply, 400, [{ type: 'bad_user_agent', value: 'unset' }], {
        description: 'User-Agent is required',
      });
    if (settings.blacklistedUserAgents.some((b) => ua.startsWith(b)))
      return hhError(reply, 400, [{ type: 'bad_user_agent', value: 'blacklisted' }]);
    const rl = settings.rateLimit;
    if (rl.by !== 'off') {
      let key = `ip:${req.ip}`;
      if (rl.by === 'account') {
        const who = ctx.auth.authenticate(/^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]);
        if (typeof who !== 'string' && who.kind === 'user') key = `user:${who.userId}`;
      }
      if (!ctx.buckets.take(key, rl.perSec, rl.burst, Date.now())) {
        if (rl.retryAfterHeader) reply.header('retry-after', String(Math.max(1, Math.ceil(1 / rl.perSec))));
        // The body of hh.ru's request-rate 429 is not documented: this one follows the common error shape.
        return hhError(reply, 429, [{ type: 'too_many_requests' }], { description: 'Too Many Requests' });
      }
    }
    const path = req.url.split('?')[0]!;
    if (ctx.faults.take('rate_limit', path)) {
      req.hhFault = 'rate_limit';
      return hhError(reply, 429, [{ type: 'too_many_requests' }], { description: 'Too Many Requests' });
    }
    const slow = ctx.faults.take('slow', path);
    if (slow) {
      req.hhFault = 'slow';
      // A stale answer is made now and held in onSend; otherwise the request waits before it is handled.
      if (slow.stale) req.hhHoldMs = slow.delayMs ?? 3000;
      else await new Promise((r) => setTimeout(r, slow.delayMs ?? 3000));
    }
    const huge = ctx.faults.take('huge_body', path);
    if (huge) {
      req.hhFault = 'huge_body';
      const bytes = huge.bytes ?? 50_000_000;
      if (huge.declareLength) reply.header('content-length', String(bytes));
      return reply
        .code(200)
        .type(path.endsWith('.pdf') ? 'application/pdf' : 'application/json; charset=UTF-8')
        .send(hugeBody(path, bytes, (n) => (huge.servedBytes += n)));
    }
    const redirect = ctx.faults.take('redirect', path);
    if (redirect) {
      req.hhFault = 'redirect';
      return reply
        .code(302)
        .header('location', redirect.location ?? '/me')
        .send();
    }
    const failure = ctx.faults.take('error', path);
    if (failure) {
      req.hhFault = 'error';
      const status = failure.status ?? 503;
      // 5xx bodies "may not be valid JSON": 500 answers plain text, 502/503 hh's JSON.
      if (status === 500) return reply.code(500).type('text/plain').send('Internal Server Error');
      const type = status === 502 ? 'bad_gateway' : status === 503 ? 'service_unavailable' : 'internal_error';
      return hhError(reply, status, [{ type }], {
        description: status === 502 ? 'Bad Gateway' : 'Service Unavailable',
      });
    }
  });

  app.addHook('onSend', (req, _reply, payload, done) => {
    if (req.hhHoldMs > 0) setTimeout(() => done(null, payload), req.hhHoldMs);
    else done(null, payload);
  });

  app.addHook('onResponse', async (req, reply) => {
    if (faceOf(req.url) === 'control') return;
    const [path, query = ''] = req.url.split('?') as [string, string?];
    ctx.requests.push({
      at: new Date(sim.clock.now()).toISOString(),
      method: req.method,
      route: req.routeOptions.url ?? null,
      path,
      query,
      status: reply.statusCode,
      ip: req.ip,
      userId: req.hhUserId,
      userAgent: userAgent(req),
      accept: req.headers.accept ?? null,
      contentType: bodyType(req),
      ms: Math.round(reply.elapsedTime),
      ...(req.hhFault ? { fault: req.hhFault } : {}),
    });
    if (ctx.requests.length > MAX_LOGGED_REQUESTS)
      ctx.requests.splice(0, ctx.requests.length - MAX_LOGGED_REQUESTS);
  });

  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'simulator error');
    return hhError(
      reply,
      status >= 400 && status < 500 ? 400 : 500,
      [{ type: status < 500 ? 'bad_request' : 'internal_error' }],
      { description: (err as Error).message },
    );
  });
  app.setNotFoundHandler((req, reply) =>
    hhError(reply, 404, [{ type: 'not_found' }], { description: 'Not Found' }),
  );

  oauthRoutes(app, ctx);
  employerRoutes(app, ctx);
  negotiationRoutes(app, ctx);
  resumeRoutes(app, ctx);
  webhookRoutes(app, ctx);
  controlRoutes(app, sim);
  viewRoutes(app, sim);
  return app;
}
