import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import RedisStore from '@fastify/rate-limit/store/RedisStore.js';
import { type Bitrix24Client, type Redis, Refusal, type Runtime, verifyHhWebhookToken } from '@hhb24/common';
import { hostAllowed, portalAddress } from './allowed-hosts.js';
import type { Config } from './config.js';
import { errorPage, sendHtml, sendRefusal } from './http.js';
import type { Pages } from './pages.js';
import { type FormObject, field } from './php-form.js';
import type { SessionSigner } from './session.js';

/**
 * The public routes in three groups, each with a limit per client address and per portal:
 * - `install`: the installer post, which makes us ask the Bitrix24 OAuth server (and the portal);
 * - `pages`: what people's browsers ask for (app pages, card tabs, /ui/, the hh.ru login, static files);
 * - `callbacks`: what Bitrix24's and hh.ru's servers send (events, robot calls, webhooks).
 * Health and metrics are not public (and not limited).
 */
export type LimitGroup = 'install' | 'pages' | 'callbacks';

export function groupOf(url: string): LimitGroup | null {
  const path = url.split('?')[0]!;
  if (path === '/b24/install') return 'install';
  if (path.startsWith('/b24/events') || path === '/b24/robot' || path.startsWith('/hh/webhook/'))
    return 'callbacks';
  if (/^\/(b24|ui|hh|static)\//.test(path)) return 'pages';
  return null;
}

/** Pages that Bitrix24 frames: a refusal is a readable page there, not JSON. */
const FRAMED = new Set(['/b24/install', '/b24/app', '/b24/placement']);

/** How long a limiter may wait for Redis before letting the request through (Redis slow or down). */
const REDIS_WAIT_MS = 500;

interface Deps {
  runtime: Runtime;
  config: Config;
  signer: SessionSigner;
  pages: Pages;
  client: () => Bitrix24Client;
}

/**
 * Per-address and per-portal request limits on every public route, counted in Redis so that every
 * replica shares them (@fastify/rate-limit and its Redis store: a counter per key and window).
 *
 * The address is counted on arrival (before the body is read). The portal is counted once the
 * request has shown it belongs to that portal, cheaply and before the route runs: a page's signed
 * session, a Bitrix24 call's application_token, an hh.ru webhook URL's HMAC; only the installer
 * counts the portal it names, since that is what it asks the OAuth server about. So nobody can use
 * up another portal's budget with forged requests. A request over a limit is answered 429 with
 * Retry-After (the seconds left in the window) and changes nothing. When Redis does not answer
 * within half a second the request goes through: the limits protect, they must not take the
 * gateway down with Redis.
 */
export function registerRateLimits(app: FastifyInstance, deps: Deps): void {
  const { config, runtime } = deps;
  const windowMs = config.GATEWAY_RATE_WINDOW_SEC * 1000;
  const limits: Record<LimitGroup, { address: number; portal: number }> = {
    install: {
      address: config.GATEWAY_RATE_INSTALL_PER_ADDRESS,
      portal: config.GATEWAY_RATE_INSTALL_PER_PORTAL,
    },
    pages: { address: config.GATEWAY_RATE_PAGES_PER_ADDRESS, portal: config.GATEWAY_RATE_PAGES_PER_PORTAL },
    callbacks: {
      address: config.GATEWAY_RATE_CALLBACKS_PER_ADDRESS,
      portal: config.GATEWAY_RATE_CALLBACKS_PER_PORTAL,
    },
  };
  const keys = new WeakMap<FastifyRequest, { group: LimitGroup; portal?: string }>();

  app.register(rateLimit, {
    // No route is limited by the plugin's own hook: the two hooks below call the limiters.
    global: false,
    store: sharedStore(() => runtime.redis, `${config.REDIS_PREFIX}gw:rate:`),
    skipOnError: true,
    timeWindow: windowMs,
  });
  type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
  const limiters: { address?: Limiter; portal?: Limiter } = {};
  // The plugin's decorator exists once it has loaded (at ready), before any request.
  app.addHook('onReady', async () => {
    for (const per of ['address', 'portal'] as const)
      limiters[per] = app.createRateLimit({
        timeWindow: windowMs,
        max: (req) => limits[keys.get(req)!.group][per],
        keyGenerator: (req) => {
          const k = keys.get(req)!;
          return per === 'address' ? `${k.group}:a:${normalizeIP(req.ip)}` : `${k.group}:p:${k.portal}`;
        },
      });
  });

  const refuse = (req: FastifyRequest, reply: FastifyReply, per: 'address' | 'portal', seconds: number) => {
    const group = keys.get(req)!.group;
    runtime.metrics.rateLimited.inc({ group, per });
    logOnce(req, group, per);
    const refusal = new Refusal('rate_limited');
    reply.header('retry-after', String(Math.max(1, seconds)));
    const path = req.url.split('?')[0]!;
    if (!FRAMED.has(path)) return sendRefusal(reply, refusal);
    const q = req.query as Record<string, string>;
    const claimed = portalAddress(q['PROTOCOL'] ?? '', q['DOMAIN'] ?? '');
    const origin = claimed && hostAllowed(claimed.host, config.B24_PORTAL_HOSTS) ? claimed.origin : null;
    return sendHtml(
      reply,
      refusal.status,
      errorPage(refusal.status, refusal.texts),
      deps.pages.policy(origin),
    );
  };

  app.addHook('onRequest', async (req, reply) => {
    const group = groupOf(req.url);
    if (!group) return;
    keys.set(req, { group });
    const r = await limiters.address!(req);
    if (!r.isAllowed && r.isExceeded) return refuse(req, reply, 'address', r.ttlInSeconds);
  });

  app.addHook('preHandler', async (req, reply) => {
    const k = keys.get(req);
    if (!k) return;
    k.portal = (await portalOf(req, deps)) ?? undefined;
    if (!k.portal) return;
    const r = await limiters.portal!(req);
    if (!r.isAllowed && r.isExceeded) return refuse(req, reply, 'portal', r.ttlInSeconds);
  });
}

const MEMBER_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The portal (or hh.ru account) a request has shown it belongs to, or null when it has not. Its
 * form is parsed by now (validation.ts); a page load's may have failed its schema (the page says
 * so), hence no field is trusted to be there.
 */
async function portalOf(req: FastifyRequest, deps: Deps): Promise<string | null> {
  const path = req.url.split('?')[0]!;
  const form = typeof req.body === 'object' && req.body !== null ? (req.body as FormObject) : undefined;
  if (path === '/b24/install') {
    // Counted as named: the install is what asks the OAuth server whether the name is true.
    const memberId = field(form, 'member_id');
    return MEMBER_ID.test(memberId) ? memberId : null;
  }
  if (path.startsWith('/hh/webhook/')) {
    const account = verifyHhWebhookToken(path.slice('/hh/webhook/'.length), deps.config.WEBHOOK_SECRET_KEY);
    return account ? `hh:${account}` : null;
  }
  if (path.startsWith('/ui/') || path === '/hh/oauth/start') {
    const header = req.headers['x-hhb24-session'];
    const token =
      typeof header === 'string' ? header : req.method === 'POST' ? field(form, '_session') : null;
    return deps.signer.verify(token)?.memberId ?? null;
  }
  if (path.startsWith('/b24/')) {
    // Bitrix24's queue posts carry auth[...]; a page load the iframe's own fields.
    const memberId = field(form, 'auth', 'member_id') || field(form, 'member_id');
    const token = field(form, 'auth', 'application_token') || field(form, 'APPLICATION_TOKEN');
    if (!MEMBER_ID.test(memberId) || !token) return null;
    try {
      return (await deps.client().store.verifyApplicationToken(memberId, token)) ? memberId : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** One log line per key and window, not one per refused request (a flood would flood the log too). */
const logged = new Map<string, number>();
function logOnce(req: FastifyRequest, group: LimitGroup, per: 'address' | 'portal'): void {
  const window = Math.floor(Date.now() / 60_000);
  const key = `${group}:${per}:${per === 'address' ? req.ip : ''}`;
  if (logged.get(key) === window) return;
  logged.set(key, window);
  if (logged.size > 10_000) logged.delete(logged.keys().next().value!);
  req.log.warn(
    { group, per, address: req.ip, path: req.routeOptions.url },
    'rate limit exceeded: answered 429',
  );
}

/**
 * The plugin's Redis store on the service's own Redis connection, which exists only once the
 * runtime has started (the routes are built before): created on first use. A Redis that does not
 * answer in REDIS_WAIT_MS counts as an error, and the plugin (skipOnError) lets the request go.
 */
function sharedStore(redis: () => Redis, prefix: string) {
  return class SharedRedisStore {
    private inner?: InstanceType<typeof RedisStore>;

    incr(
      key: string,
      cb: (err: Error | null, res?: { current: number; ttl: number }) => void,
      timeWindow: number,
      max: number,
    ) {
      let done = false;
      const finish = (err: Error | null, res?: { current: number; ttl: number }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        cb(err, res);
      };
      const timer = setTimeout(() => finish(new Error('redis did not answer in time')), REDIS_WAIT_MS);
      try {
        this.inner ??= new RedisStore(false, false, redis(), prefix);
        this.inner.incr(key, finish, timeWindow, max);
      } catch (err) {
        finish(err as Error);
      }
    }

    /** One key space for every limiter: the keys carry their group and dimension. */
    child() {
      return this;
    }
  };
}
