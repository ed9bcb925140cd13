/**
 * The simulator's HTTP server: portals' REST (`/portal/{name}/rest/{method}`), the OAuth server
 * (`/oauth-server/...`, the `server_endpoint` host), BX24.js (`/api/v1/`), the web view, and
 * the control API (`/_sim/...`).
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerControlRoutes } from './control-routes.js';
import { registerOAuthRoutes } from './oauth-routes.js';
import { RestDispatcher } from './rest/dispatcher.js';
import { B24Sim, type SimOptions } from './sim.js';
import { registerWebRoutes } from './web/routes.js';

const asset = (name: string) => readFileSync(new URL(`../../assets/${name}`, import.meta.url), 'utf8');

export interface StartOptions extends SimOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The URL the portals announce (client_endpoint, domain...); defaults to http://host:port. */
  publicUrl?: string;
}

export interface RunningSim {
  url: string;
  sim: B24Sim;
  app: FastifyInstance;
  close(): Promise<void>;
}

export function buildServer(sim: B24Sim): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, forceCloseConnections: true });
  // Forms stay raw strings: they are parsed with PHP's bracket rules where they are used.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  // Invalid JSON reaches the portal as no parameters, not as a framework error page.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? {} : JSON.parse(String(body)));
    } catch {
      done(null, {});
    }
  });

  const rest = new RestDispatcher(sim);
  const restHandler = async (req: {
    params: unknown;
    raw: { url?: string };
    body: unknown;
    headers: { authorization?: string };
  }) =>
    rest.handle({
      portalName: (req.params as Record<string, string>)['portal'] ?? '',
      method: (req.params as Record<string, string>)['*'] ?? '',
      query: req.raw.url?.split('?')[1] ?? '',
      body: req.body,
      authorization: req.headers.authorization,
    });
  app.route({
    method: ['GET', 'POST'],
    url: '/portal/:portal/rest/*',
    handler: async (req, reply) => {
      const r = await restHandler(req);
      // Apps call REST from their iframes (BX24.callMethod), so the portal allows any origin.
      reply.header('access-control-allow-origin', '*');
      return reply
        .code(r.status)
        .headers(r.headers ?? {})
        .header('content-type', r.contentType ?? 'application/json; charset=utf-8')
        .send(typeof r.body === 'string' || r.body instanceof Readable ? r.body : JSON.stringify(r.body));
    },
  });
  app.options('/portal/:portal/rest/*', async (_req, reply) =>
    reply
      .header('access-control-allow-origin', '*')
      .header('access-control-allow-methods', 'GET, POST')
      .header('access-control-allow-headers', 'authorization, content-type')
      .code(204)
      .send(),
  );

  const bx24 = asset('bx24.js');
  const layout = asset('app-layout.js');
  const css = asset('portal.css');
  app.get('/api/v1/', async (_req, reply) =>
    reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('access-control-allow-origin', '*')
      .send(bx24),
  );
  app.get('/static/app-layout.js', async (_req, reply) =>
    reply.header('content-type', 'application/javascript; charset=utf-8').send(layout),
  );
  app.get('/static/portal.css', async (_req, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').send(css),
  );

  registerOAuthRoutes(app, sim);
  registerControlRoutes(app, sim);
  registerWebRoutes(app, sim);
  return app;
}

/** Starts a simulator; `url` is its base, e.g. http://127.0.0.1:3102. */
export async function startB24Sim(options: StartOptions = {}): Promise<RunningSim> {
  const sim = new B24Sim(options);
  const app = buildServer(sim);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = (options.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(
    /\/$/,
    '',
  );
  sim.baseUrl = url;
  return {
    url,
    sim,
    app,
    async close() {
      await sim.idle();
      await app.close();
    },
  };
}
