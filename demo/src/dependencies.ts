/**
 * Before anything starts: where the demo finds Postgres, Redis and NATS (with JetStream).
 *
 * An address the person set (DATABASE_URL, REDIS_URL, NATS_URL) is used as it is: if nothing usable
 * answers there, the demo names it with the command that starts it and stops. A dependency with no
 * address set is looked for at its default (DEMO_DEFAULT_*: the services' own defaults); if nothing
 * usable answers there, the demo starts a private one (@hhb24/private-deps). So a machine running
 * all three uses them as before, and a fresh one needs only their programs installed.
 */
import { existsSync, readdirSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { DEPENDENCY_NAMES, type Dependency, type MissingBinary } from '@hhb24/private-deps';
import { Redis } from 'ioredis';
import pg from 'pg';

const TIMEOUT_MS = 3000;

export const VARIABLES = {
  postgres: 'DATABASE_URL',
  redis: 'REDIS_URL',
  nats: 'NATS_URL',
} as const satisfies Record<Dependency, string>;

export type Addresses = Record<(typeof VARIABLES)[Dependency], string>;

/** A dependency the demo cannot use where it was told to look. */
export interface Missing {
  dependency: Dependency;
  /** host:port, never the URL (it may carry a password). */
  address: string;
  problem: string;
  /** What to type to start it (or where to point the demo instead). */
  fix: string;
}

/** A dependency with no address set that does not answer at its default: the demo starts its own. */
export interface ToStart {
  dependency: Dependency;
  address: string;
  problem: string;
}

const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function address(raw: string, defaultPort: number): { port: number; text: string; local: boolean } {
  const first = raw.split(',')[0]!.trim();
  const u = new URL(first.includes('://') ? first : `nats://${first}`);
  const port = Number(u.port || defaultPort);
  return { port, text: `${u.hostname}:${port}`, local: LOCAL.has(u.hostname) };
}

const DEFAULT_PORTS: Record<Dependency, number> = { postgres: 5432, redis: 6379, nats: 4222 };

function reason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ECONNREFUSED' || /connection refused/i.test(e.message ?? ''))
    return 'nothing listens there';
  if (e.code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? '')) return 'no answer in time';
  return (e.message ?? String(err)).split('\n')[0]!.replace(/\.$/, '').slice(0, 200);
}

async function probePostgres(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return reason(err);
  } finally {
    await client.end().catch(() => {});
  }
}

async function probeRedis(url: string): Promise<string | null> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis reports the socket's error as an event and rejects with a generic "Connection is closed".
  let socketError: unknown;
  redis.on('error', (err) => (socketError ??= err));
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (err) {
    return reason(socketError ?? err);
  } finally {
    redis.disconnect();
  }
}

async function probeNats(servers: string): Promise<string | null> {
  let nc;
  try {
    nc = await connectNats({
      servers: servers.split(',').map((s) => s.trim()),
      timeout: TIMEOUT_MS,
      reconnect: false,
    });
  } catch (err) {
    return reason(err);
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: TIMEOUT_MS });
    await jsm.getAccountInfo();
    return null;
  } catch {
    return 'answers, but without JetStream';
  } finally {
    await nc.close().catch(() => {});
  }
}

/** Why the dependency at `url` cannot be used, or null when it answers as the services need. */
function probe(dependency: Dependency, url: string): Promise<string | null> {
  return dependency === 'postgres'
    ? probePostgres(url)
    : dependency === 'redis'
      ? probeRedis(url)
      : probeNats(url);
}

function postgresStart(port: number): string {
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql').sort() : [];
  const version = versions.at(-1);
  const start = version
    ? `sudo pg_ctlcluster ${version} main start`
    : 'sudo apt-get install -y postgresql && sudo pg_ctlcluster $(ls /etc/postgresql) main start';
  return port === 5432 ? start : `${start}   (it must listen on port ${port}, or set DATABASE_URL)`;
}

function fixFor(dependency: Dependency, a: { port: number; local: boolean }, problem: string): string {
  const variable = VARIABLES[dependency];
  if (!a.local)
    return dependency === 'nats' && /JetStream/.test(problem)
      ? 'enable JetStream on that server'
      : `check ${variable}`;
  const start = {
    postgres: postgresStart(a.port),
    redis: `redis-server --daemonize yes --port ${a.port}`,
    nats: `nats-server --jetstream --port ${a.port} --store_dir /tmp/nats-js &`,
  }[dependency];
  const restart =
    dependency === 'nats' && /JetStream/.test(problem) ? `restart it with JetStream: ${start}` : start;
  return `${restart}   (or unset ${variable}: the demo then starts its own)`;
}

export interface Plan {
  /** Where the services find each dependency that answers (set or default). */
  use: Partial<Addresses>;
  /** Not set and not at the default: started by the demo. */
  start: ToStart[];
  /** Set, but nothing usable answers there: the demo stops. */
  missing: Missing[];
}

/**
 * Looks at all three at once. `env` is the person's environment (is an address set?), `defaults`
 * where to look otherwise.
 */
export async function planDependencies(
  env: Record<string, string | undefined>,
  defaults: Addresses,
): Promise<Plan> {
  const plan: Plan = { use: {}, start: [], missing: [] };
  const dependencies = Object.keys(VARIABLES) as Dependency[];
  const looked = await Promise.all(
    dependencies.map(async (dependency) => {
      const variable = VARIABLES[dependency];
      const set = env[variable] !== undefined && env[variable] !== '';
      const url = set ? env[variable]! : defaults[variable];
      return { dependency, variable, set, url, problem: await probe(dependency, url) };
    }),
  );
  for (const { dependency, variable, set, url, problem } of looked) {
    const a = address(url, DEFAULT_PORTS[dependency]);
    if (problem === null) plan.use[variable] = url;
    else if (set)
      plan.missing.push({ dependency, address: a.text, problem, fix: fixFor(dependency, a, problem) });
    else plan.start.push({ dependency, address: a.text, problem });
  }
  return plan;
}

export function describeMissing(missing: Missing[]): string {
  return [
    `The demo needs ${missing.map((m) => DEPENDENCY_NAMES[m.dependency]).join(', ')}:`,
    ...missing.flatMap((m) => [
      `  ${DEPENDENCY_NAMES[m.dependency]} at ${m.address} (${VARIABLES[m.dependency]}): ${m.problem}.`,
      `    start it: ${m.fix}`,
    ]),
    'Then run npm run demo again.',
  ].join('\n');
}

/** One line per dependency the demo starts: why, and which program. */
export function describeStarting(toStart: ToStart[], programs: Record<Dependency, string>): string {
  return toStart
    .map(
      (s) =>
        `${DEPENDENCY_NAMES[s.dependency]} at ${s.address}: ${s.problem}; the demo starts its own (${programs[s.dependency]}).`,
    )
    .join('\n');
}

/** The programs the demo would start are not installed: one install line for each. */
export function describeNotInstalled(toStart: ToStart[], missing: MissingBinary[]): string {
  const names = missing.map((m) => DEPENDENCY_NAMES[m.dependency]);
  return [
    `The demo needs ${names.join(' and ')}: none answers on this machine, and the demo cannot start its own.`,
    ...missing.flatMap((m) => {
      const looked = toStart.find((s) => s.dependency === m.dependency)!;
      return [
        `  ${DEPENDENCY_NAMES[m.dependency]} at ${looked.address}: ${looked.problem}; ${m.problem}.`,
        `    Install it: ${m.install}`,
      ];
    }),
    `Then run npm run demo again (or set ${missing.map((m) => VARIABLES[m.dependency]).join(', ')} to running ones).`,
  ].join('\n');
}
