import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import oauth2, { type OAuth2Namespace } from '@fastify/oauth2';
import { AppError, type Runtime, type UiSession, rpc } from '@hhb24/common';
import type { AdminRights } from './admin-rights.js';
import type { Config } from './config.js';
import type { Pages } from './pages.js';
import { HhLoginCallbackQuery, HhLoginForm } from './schemas.js';
import type { SessionSigner } from './session.js';
import { type Gateway, asFlatForm } from './validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    hhOAuth2: OAuth2Namespace;
  }
}

const STATE_TTL_SEC = 600;
const STATE_COOKIE = 'hhb24-hh-state';

/**
 * «Войти»: the app page posts its session to /hh/oauth/start in a new window (hh.ru cannot be
 * framed). The gateway keeps a single-use state in Redis bound to the portal and the user who
 * clicked, and sends the window to hh.ru's authorize page (the URL built by @fastify/oauth2, which
 * also binds the state to this browser with a cookie). The callback checks both, consumes the
 * state and hands the code to hh-connector (`rpc.hhConnect`), which exchanges it; the gateway never
 * sees hh.ru tokens. The window then says how it went; the app page notices by polling.
 */
export async function registerHhLogin(
  app: Gateway,
  deps: { runtime: Runtime; config: Config; signer: SessionSigner; pages: Pages; adminRights: AdminRights },
): Promise<void> {
  const { runtime, config } = deps;
  const key = (state: string) => `${config.REDIS_PREFIX}gw:hh-login:${state}`;
  const authorize = new URL('/oauth/authorize', config.HH_OAUTH_URL);

  await app.register(oauth2, {
    name: 'hhOAuth2',
    credentials: {
      // hh-connector holds the secret and exchanges the code; the gateway only builds the authorize URL.
      client: { id: config.HH_CLIENT_ID, secret: '' },
      auth: {
        authorizeHost: authorize.origin,
        authorizePath: authorize.pathname,
        tokenHost: authorize.origin,
        tokenPath: '/oauth/token',
      },
    },
    callbackUri: config.HH_REDIRECT_URI,
    redirectStateCookieName: STATE_COOKIE,
    cookie: { path: '/hh/oauth', secure: config.PUBLIC_URL.startsWith('https:') },
    userAgent: false,
    generateStateFunction: async (request: FastifyRequest) => {
      const session = (request as FastifyRequest & { hhLoginSession?: UiSession }).hhLoginSession;
      if (!session) throw new Error('no session for the hh.ru login');
      const state = randomBytes(24).toString('base64url');
      await runtime.redis.set(key(state), JSON.stringify(session), 'EX', STATE_TTL_SEC, 'NX');
      return state;
    },
    // Not used: the callback below checks and consumes the state itself (it needs what the state is bound to).
    checkStateFunction: async () => false,
  });

  // The window is ours alone (hh.ru's login cannot be framed): no portal may frame these pages.
  const page = (reply: FastifyReply, session: UiSession, status: number, data: Record<string, unknown>) =>
    deps.pages.render(reply, session, 'login/result', { portalOrigin: null, data: { ...data, status } });
  const anonymous = (lang: 'ru' | 'en'): UiSession => ({
    memberId: '',
    userId: 0,
    isAdmin: false,
    crmAccess: false,
    lang,
  });

  /** Whether the settings name this user among those who may manage the app. */
  const namedManager = async (session: UiSession): Promise<boolean> => {
    const settings = await runtime.call(
      rpc.settingsGet,
      { memberId: session.memberId },
      { timeoutMs: 10_000 },
    );
    return (settings?.managerIds ?? []).includes(session.userId);
  };

  // Both answer the window with a page: a request that fails its schema is told as an expired or invalid login.
  app.post(
    '/hh/oauth/start',
    { schema: { body: HhLoginForm }, preValidation: asFlatForm, attachValidation: true },
    async (req, reply) => {
      const session = req.validationError ? null : deps.signer.verify(req.body._session ?? null);
      if (!session) return page(reply, anonymous('ru'), 401, { outcome: 'expired' });
      // Logging in replaces the portal's hh.ru account: a portal admin (asked of the portal again) or
      // a user the settings name in «Кто может управлять приложением», as for every other change.
      const admin = await deps.adminRights.now(session);
      if (!admin.isAdmin && !(await namedManager(session))) {
        req.log.warn(
          { memberId: session.memberId, userId: session.userId, adminCheck: admin.check },
          'hh.ru login refused: the user may not manage the app',
        );
        return page(reply, session, 403, {
          outcome: admin.check === 'unconfirmed' ? 'unconfirmed' : 'forbidden',
        });
      }
      (req as FastifyRequest & { hhLoginSession?: UiSession }).hhLoginSession = session;
      const uri = await app.hhOAuth2.generateAuthorizationUri(req, reply);
      return reply.redirect(uri, 303);
    },
  );

  app.get(
    '/hh/oauth/callback',
    { schema: { querystring: HhLoginCallbackQuery }, attachValidation: true },
    async (req, reply) => {
      if (req.validationError) {
        req.log.warn({ problem: req.validationError.message }, 'hh.ru login callback refused by its schema');
        return page(reply, anonymous('ru'), 400, { outcome: 'invalid' });
      }
      const { state, code, error } = req.query;
      const cookie = req.cookies[STATE_COOKIE];
      reply.clearCookie(STATE_COOKIE, { path: '/hh/oauth' });
      // Single use: the state is gone whatever happens next.
      const stored = state ? await runtime.redis.getdel(key(state)) : null;
      if (!state || !stored || cookie !== state) {
        req.log.warn(
          { hasState: Boolean(state), known: Boolean(stored), sameBrowser: cookie === state },
          'hh.ru login callback refused: unknown, used or foreign state',
        );
        return page(reply, anonymous('ru'), 403, { outcome: 'invalid' });
      }
      const session = JSON.parse(stored) as UiSession;
      if (error) return page(reply, session, 200, { outcome: 'denied' });
      if (code === undefined) return page(reply, session, 400, { outcome: 'invalid' });
      try {
        const account = await runtime.call(
          rpc.hhConnect,
          { memberId: session.memberId, userId: session.userId, code },
          { timeoutMs: 30_000 },
        );
        req.log.info(
          { memberId: session.memberId, userId: session.userId, status: account.status },
          'hh.ru account connected',
        );
        return page(reply, session, 200, { outcome: 'connected', account });
      } catch (err) {
        const e = err instanceof AppError ? err : null;
        req.log.warn({ err, memberId: session.memberId }, 'hh.ru login failed');
        return page(reply, session, e && e.status < 500 ? 400 : 502, {
          outcome: 'failed',
          code: e?.code ?? 'unexpected',
        });
      }
    },
  );
}
