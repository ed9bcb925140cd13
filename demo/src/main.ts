/**
 * `npm run demo`: checks Postgres, Redis and NATS, starts the simulated hh.ru and Bitrix24 with the
 * demo's data, then every service in this one process (the mesh), and prints the one address to
 * open: the portal, with our app ready to install. Ctrl-C stops the services, then the simulators.
 *
 * The demo keeps to its own namespace (DEMO_NAMESPACE: database schema, NATS prefix, Redis
 * prefix), emptied at every start because the simulators start afresh too; its secrets are made
 * anew at every start and never printed.
 */
import { randomBytes } from 'node:crypto';
import { baseSchema, configOrExit, launch, setupInfrastructure } from '@hhb24/common';
import { cleanupTestEnv } from '@hhb24/common/testing';
import { buildMesh, schema as meshSchema } from '@hhb24/mesh';
import { demoSchema } from './config.js';
import { describeMissing, missingDependencies } from './dependencies.js';
import { describeTaken, takenPorts } from './ports.js';
import { DEMO_APPS, startDemoB24, startDemoHh } from './seed.js';

/** sysexits' EX_UNAVAILABLE: a service the demo needs is not there. */
const EXIT_UNAVAILABLE = 69;

const demo = configOrExit('demo', demoSchema, process.env);
const deps = configOrExit(
  'demo',
  { DATABASE_URL: baseSchema.DATABASE_URL, REDIS_URL: baseSchema.REDIS_URL, NATS_URL: baseSchema.NATS_URL },
  process.env,
);
const servicePorts = configOrExit(
  'demo',
  {
    HH_CONNECTOR_PORT: meshSchema.HH_CONNECTOR_PORT,
    CRM_WRITER_PORT: meshSchema.CRM_WRITER_PORT,
    TIMELINE_RENDERER_PORT: meshSchema.TIMELINE_RENDERER_PORT,
    SETTINGS_PORT: meshSchema.SETTINGS_PORT,
  },
  process.env,
);

const missing = await missingDependencies(deps);
if (missing.length > 0) {
  process.stderr.write(`${describeMissing(missing)}\n`);
  process.exit(EXIT_UNAVAILABLE);
}

const taken = await takenPorts(
  demo.DEMO_HOST,
  Object.entries({
    GATEWAY_PORT: demo.GATEWAY_PORT,
    HH_SIM_PORT: demo.HH_SIM_PORT,
    B24_SIM_PORT: demo.B24_SIM_PORT,
    ...servicePorts,
  }).map(([variable, port]) => ({ variable, port })),
);
if (taken.length > 0) {
  process.stderr.write(`${describeTaken(taken)}\n`);
  process.exit(EXIT_UNAVAILABLE);
}

const ns = demo.DEMO_NAMESPACE;
const namespace = { DATABASE_SCHEMA: ns, NATS_PREFIX: ns, REDIS_PREFIX: `${ns}:` };
// What a previous demo left refers to portals and hh.ru accounts the fresh simulators never had.
await cleanupTestEnv({ ...deps, ...namespace });

const host = demo.DEMO_HOST;
const urlHost = host.includes(':') ? `[${host}]` : host;
const gatewayUrl = `http://${urlHost}:${demo.GATEWAY_PORT}`;
const hh = await startDemoHh({
  host,
  port: demo.HH_SIM_PORT,
  gatewayUrl,
  seed: demo.DEMO_SEED,
  responses: demo.DEMO_RESPONSES,
  rateLimits: demo.DEMO_RATE_LIMITS,
});
const { b24, portal } = await startDemoB24({
  host,
  port: demo.B24_SIM_PORT,
  gatewayUrl,
  hhUrl: hh.url,
  portal: demo.DEMO_PORTAL,
  rateLimits: demo.DEMO_RATE_LIMITS,
});
const b24Host = new URL(b24.url).host;
const secret = () => randomBytes(32).toString('base64');

const config = configOrExit('mesh', meshSchema, {
  // The person's own choices (LOG_LEVEL, dependency URLs, service ports), then what the demo fixes.
  LOG_LEVEL: 'warn',
  ...process.env,
  NODE_ENV: 'development',
  HTTP_HOST: host,
  ...namespace,
  MIGRATE_ON_START: 'false',
  TOKEN_ENCRYPTION_KEYS: `demo:${secret()}`,
  WEBHOOK_SECRET_KEY: secret(),
  SESSION_SIGNING_KEY: secret(),
  PUBLIC_URL: gatewayUrl,
  GATEWAY_PORT: String(demo.GATEWAY_PORT),
  B24_CLIENT_ID: DEMO_APPS.b24.clientId,
  B24_CLIENT_SECRET: DEMO_APPS.b24.clientSecret,
  B24_PORTAL_HOSTS: b24Host,
  B24_OAUTH_HOSTS: b24Host,
  B24_JS_URL: `${b24.url}/api/v1/`,
  HH_CLIENT_ID: DEMO_APPS.hh.clientId,
  HH_CLIENT_SECRET: DEMO_APPS.hh.clientSecret,
  HH_API_URL: hh.url,
  HH_OAUTH_URL: hh.url,
  HH_REDIRECT_URI: `${gatewayUrl}/hh/oauth/callback`,
  HH_USER_AGENT: 'hh-b24-demo/0.1 (demo@hh-b24.example)',
});
const services = buildMesh(config);
await setupInfrastructure(
  { ...config, MIGRATE_ON_START: true },
  services.map((s) => s.runtime),
);
// The services drain first, while the simulators still answer them; then the simulators stop
// without waiting for the portal's event deliveries still under way (nobody receives them now).
await launch(services, {
  host,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  alsoClose: [() => b24.app.close(), () => hh.close()],
});

const summary = hh.sim.summary();
process.stdout.write(
  [
    '',
    'hh-b24 demo is ready. Open the portal:',
    '',
    `  ${portal.baseUrl}`,
    '',
    `Маркет → install the app, «Войти» on hh.ru (${summary.employers} employer, ${summary.vacancies} vacancies, ${summary.negotiations} responses and invitations),`,
    'choose the settings and watch the import; the portal’s menu links to the simulated hh.ru («Симулировать отклик»).',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
