import {
  ActingUserTokens,
  Bitrix24Client,
  type Launchable,
  type Logger,
  createService,
  rpc,
  subjects,
} from '@hhb24/common';
import { AdminRights } from './admin-rights.js';
import { registerB24Routes } from './b24-routes.js';
import type { Config } from './config.js';
import { registerHhLogin } from './hh-login.js';
import { registerHhWebhook } from './hh-webhook.js';
import { InstallVerifier } from './install.js';
import { Installer } from './install-steps.js';
import { migrations } from './migrations.js';
import { Pages } from './pages.js';
import { PortalAuth } from './portal-auth.js';
import { SessionSigner } from './session.js';
import { registerRateLimits } from './rate-limits.js';
import { registerStaticAssets } from './static-assets.js';
import { registerUiRoutes } from './ui-routes.js';
import { addAppUpdates } from './app-update.js';
import { addUninstallCheckConsumer, addUnsubscribeConsumer } from './uninstall.js';
import { useSchemas } from './validation.js';

export { schema, rateLimitSchema, type Config } from './config.js';
export { groupOf } from './rate-limits.js';
export { SESSION_FIELD, SESSION_HEADER } from './ui-routes.js';
export { field, parsePhpForm } from './php-form.js';
export { installSteps } from './install-steps.js';

/**
 * The path prefixes the outside world reaches (the public Ingress routes exactly these; health
 * and metrics stay inside the cluster): Bitrix24's POSTs, the pages' own requests, the hh.ru login
 * and webhooks, and the pages' static files.
 */
export const PUBLIC_PATH_PREFIXES = ['/b24/', '/ui/', '/hh/', '/static/'] as const;

/** Builds gateway: the only HTTP ingress: Bitrix24 install, pages, placements, robots and events; hh.ru OAuth callback and webhooks. */
export function buildGateway(config: Config, options: { log?: Logger } = {}): Launchable {
  const { app, runtime } = createService({
    name: 'gateway',
    config,
    migrations,
    log: options.log,
    trustedProxies: config.GATEWAY_TRUSTED_PROXIES,
    publishes: [
      subjects.hhWebhookReceived,
      subjects.portalEventReceived,
      subjects.portalRobotInvoked,
      subjects.portalAppUpdate,
      subjects.portalUninstallClaimed,
      subjects.portalUninstalled,
    ],
    calls: [rpc.hhConnect, rpc.hhDisconnect, rpc.hhCard, rpc.hhPdf, rpc.settingsUi, rpc.settingsGet],
  });
  runtime.useOutboxRelay();
  addUnsubscribeConsumer(runtime);
  // The install steps and, once uninstalled, the portal's record (with its sealed tokens). A clean
  // uninstall deletes the record at once (recordUninstall); an uninstall without CLEAN keeps it
  // for HH_DATA_RETENTION_DAYS. A reinstalled portal's record is never touched here.
  runtime.erasesPortalData({
    tables: ['b24_install_steps', { table: 'b24_portals', where: { status: 'uninstalled' } }],
  });

  let b24: Bitrix24Client | undefined;
  const client = () => (b24 ??= Bitrix24Client.fromRuntime(runtime, config));
  const signer = new SessionSigner(config.SESSION_SIGNING_KEY);
  const pages = new Pages(runtime, config, signer);
  const installer = new Installer(() => runtime.db, client, config.PUBLIC_URL, runtime.log);
  addUninstallCheckConsumer(runtime, client, installer);
  addAppUpdates(runtime, client, installer);
  let actingUsers: ActingUserTokens | undefined;
  const adminRights = new AdminRights(
    () => runtime.redis,
    config.REDIS_PREFIX,
    runtime.keyring,
    client,
    runtime.log,
  );

  // Bitrix24 and the pages post forms; each route parses the raw body the way its sender writes it.
  // No sender writes a NUL into a form, and no text column takes one: refused here with a 400
  // rather than failing (500) where the value is stored.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    (body as string).includes('%00') || (body as string).includes(String.fromCharCode(0))
      ? done(Object.assign(new Error('a form field holds a NUL character'), { statusCode: 400 }), undefined)
      : done(null, body),
  );
  // Nobody sends us text/plain: without this, fastify's own parser would hand such a body to the
  // routes that read a raw form (415 instead).
  app.removeContentTypeParser('text/plain');
  // Before the routes: every public route below is counted per address and per portal.
  registerRateLimits(app, { runtime, config, signer, pages, client });
  registerStaticAssets(app);
  // Every route below declares its input's schema (schemas.ts); its handler's types come from it.
  const routes = useSchemas(app);
  registerB24Routes(routes, {
    runtime,
    client,
    config,
    auth: new PortalAuth(client, runtime.log),
    verifier: new InstallVerifier(config, client, runtime.log),
    installer,
    pages,
    actingUsers: () =>
      (actingUsers ??= new ActingUserTokens(runtime.redis, config.REDIS_PREFIX, runtime.keyring)),
    adminRights,
  });
  registerUiRoutes(routes, { runtime, config, signer, pages, installer, client, adminRights });
  routes.register(async (scope) => registerHhLogin(scope, { runtime, config, signer, pages, adminRights }));
  registerHhWebhook(routes, runtime, config);
  return { app, runtime, port: config.GATEWAY_PORT };
}
