/**
 * `npm run demo`: finds Postgres, Redis and NATS, starting its own for each one the machine is not
 * running (dependencies.ts), starts the simulated hh.ru and Bitrix24 with the demo's data, then every
 * service in this one process (the mesh), and prints the one address to open: the portal, with our
 * app ready to install. Ctrl-C stops the services, then the simulators and the demo's own servers,
 * whose temporary folder goes with them.
 *
 * The demo keeps to its own namespace (DEMO_NAMESPACE: database schema, NATS prefix, Redis
 * prefix), emptied at every start because the simulators start afresh too; its secrets are made
 * anew at every start and never printed.
 */
import { randomBytes } from 'node:crypto';
import { baseSchema, configOrExit, launch, setupInfrastructure } from '@hhb24/common';
import { cleanupTestEnv } from '@hhb24/common/testing';
import { buildMesh, schema as meshSchema } from '@hhb24/mesh';
import { DEPENDENCY_NAMES, type Dependency, PrivateDeps, locateBinaries } from '@hhb24/private-deps';
import { demoSchema } from './config.js';
import { describeMissing, describeNotInstalled, describeStarting, planDependencies } from './dependencies.js';
import { describeTaken, takenPorts } from './ports.js';
import { DEMO_APPS, startDemoB24, startDemoHh } from './seed.js';

/** sysexits' EX_UNAVAILABLE: a service the demo needs is not there. */
const EXIT_UNAVAILABLE = 69;

const demo = configOrExit('demo', demoSchema, process.env);
// Only validated here: whether each address was set at all is what planDependencies asks.
configOrExit(
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

const plan = await planDependencies(process.env, {
  DATABASE_URL: demo.DEMO_DEFAULT_DATABASE_URL,
  REDIS_URL: demo.DEMO_DEFAULT_REDIS_URL,
  NATS_URL: demo.DEMO_DEFAULT_NATS_URL,
});
if (plan.missing.length > 0) {
  process.stderr.write(`${describeMissing(plan.missing)}\n`);
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

// The demo's own Postgres, Redis and NATS, for those the machine is not running. From here on,
// whatever stops the demo stops them and removes their folder: Ctrl-C before the services run
// (below), the services' shutdown (launch), or an exit on an error (the 'exit' handler).
let privateDeps: PrivateDeps | null = null;
let stoppingEarly = false;
const stopEarly = (signal: NodeJS.Signals) => {
  if (stoppingEarly) return;
  stoppingEarly = true;
  process.stderr.write(`${signal}: stopping\n`);
  void (privateDeps?.close() ?? Promise.resolve()).finally(() =>
    process.exit(signal === 'SIGINT' ? 130 : 143),
  );
};
process.on('SIGINT', stopEarly);
process.on('SIGTERM', stopEarly);
process.on('exit', () => privateDeps?.closeSync());
/** After a signal: nothing more starts; stopEarly ends the process once the servers are stopped. */
const untilStopped = () => new Promise<never>(() => setInterval(() => undefined, 60_000));

if (plan.start.length > 0) {
  const wanted: Dependency[] = plan.start.map((s) => s.dependency);
  const { binaries, missing } = locateBinaries(wanted, process.env);
  if (missing.length > 0) {
    process.stderr.write(`${describeNotInstalled(plan.start, missing)}\n`);
    process.exit(EXIT_UNAVAILABLE);
  }
  const programs = {
    postgres: binaries.postgres?.label ?? '',
    redis: binaries.redis ?? '',
    nats: `${binaries.nats ?? ''}, JetStream on`,
  };
  privateDeps = PrivateDeps.create({ purpose: 'demo', binaries });
  process.stdout.write(
    `${describeStarting(plan.start, programs)}\nTheir data goes to ${privateDeps.dir}, removed when the demo stops.\n`,
  );
  try {
    await privateDeps.start(wanted);
  } catch (err) {
    // start has stopped what did start and removed the folder.
    if (stoppingEarly) await untilStopped();
    process.stderr.write(`The demo could not start its own servers: ${(err as Error).message}\n`);
    process.exit(EXIT_UNAVAILABLE);
  }
  if (stoppingEarly) await untilStopped();
  const started = privateDeps;
  process.stdout.write(
    `Started: ${wanted.map((d) => `${DEPENDENCY_NAMES[d]} at ${started.address(d)}`).join(', ')}.\n`,
  );
}
const deps = { ...plan.use, ...privateDeps?.env } as Record<
  'DATABASE_URL' | 'REDIS_URL' | 'NATS_URL',
  string
>;

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
  // The person's own choices (LOG_LEVEL, service ports), then what the demo fixes.
  LOG_LEVEL: 'warn',
  ...process.env,
  ...deps,
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
// From here launch's handlers stop the demo. A terminal's Ctrl-C reaches it twice (from the
// terminal, and forwarded by npm run): the second must not end it half-way through the shutdown.
process.off('SIGINT', stopEarly);
process.off('SIGTERM', stopEarly);
if (stoppingEarly) await untilStopped();
const ignoreRepeat = () => undefined;
process.on('SIGINT', ignoreRepeat);
process.on('SIGTERM', ignoreRepeat);
// The services drain first, while the simulators and the demo's own servers still answer them;
// then the simulators stop without waiting for the portal's event deliveries still under way
// (nobody receives them now), and the demo's own servers stop and their folder goes.
await launch(services, {
  host,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  alsoClose: [() => b24.app.close(), () => hh.close(), () => privateDeps?.close() ?? Promise.resolve()],
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
    privateDeps
      ? 'Ctrl-C stops everything and removes the demo’s own servers with their data.'
      : 'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
