/**
 * Before anything starts: are the local Postgres, Redis and NATS (with JetStream) there? Each
 * missing one is named with the command that starts it, so a newcomer is not left with a stack
 * trace from deep inside a service.
 */
import { existsSync, readdirSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import pg from 'pg';

const TIMEOUT_MS = 3000;

export interface Dependencies {
  DATABASE_URL: string;
  REDIS_URL: string;
  NATS_URL: string;
}

export interface Missing {
  name: 'Postgres' | 'Redis' | 'NATS';
  /** host:port, never the URL (it may carry a password). */
  address: string;
  problem: string;
  /** What to type to start it (or where to point the demo instead). */
  fix: string;
}

const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function address(
  raw: string,
  defaultPort: number,
): { host: string; port: number; text: string; local: boolean } {
  const u = new URL(raw);
  const port = Number(u.port || defaultPort);
  return { host: u.hostname, port, text: `${u.hostname}:${port}`, local: LOCAL.has(u.hostname) };
}

function reason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ECONNREFUSED') return 'nothing listens there';
  if (e.code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? '')) return 'no answer in time';
  return (e.message ?? String(err)).split('\n')[0]!.replace(/\.$/, '').slice(0, 200);
}

function postgresStart(port: number): string {
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql').sort() : [];
  const version = versions.at(-1);
  const start = version
    ? `sudo pg_ctlcluster ${version} main start`
    : 'sudo apt-get install -y postgresql && sudo pg_ctlcluster $(ls /etc/postgresql) main start';
  return port === 5432 ? start : `${start}   (it must listen on port ${port}, or set DATABASE_URL)`;
}

async function checkPostgres(url: string): Promise<Missing | null> {
  const a = address(url, 5432);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return {
      name: 'Postgres',
      address: a.text,
      problem: reason(err),
      fix: a.local ? postgresStart(a.port) : 'check DATABASE_URL',
    };
  } finally {
    await client.end().catch(() => {});
  }
}

async function checkRedis(url: string): Promise<Missing | null> {
  const a = address(url, 6379);
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
    return {
      name: 'Redis',
      address: a.text,
      problem: reason(socketError ?? err),
      fix: a.local ? `redis-server --daemonize yes --port ${a.port}` : 'check REDIS_URL',
    };
  } finally {
    redis.disconnect();
  }
}

async function checkNats(servers: string): Promise<Missing | null> {
  const first = servers.split(',')[0]!.trim();
  const a = address(first.includes('://') ? first : `nats://${first}`, 4222);
  const start = `nats-server --jetstream --port ${a.port} --store_dir /tmp/nats-js &`;
  let nc;
  try {
    nc = await connectNats({
      servers: servers.split(',').map((s) => s.trim()),
      timeout: TIMEOUT_MS,
      reconnect: false,
    });
  } catch (err) {
    return { name: 'NATS', address: a.text, problem: reason(err), fix: a.local ? start : 'check NATS_URL' };
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: TIMEOUT_MS });
    await jsm.getAccountInfo();
    return null;
  } catch {
    return {
      name: 'NATS',
      address: a.text,
      problem: 'answers, but without JetStream',
      fix: a.local ? `restart it with JetStream: ${start}` : 'enable JetStream on that server',
    };
  } finally {
    await nc.close().catch(() => {});
  }
}

/** Every dependency that is not there, all checked at once. */
export async function missingDependencies(deps: Dependencies): Promise<Missing[]> {
  const results = await Promise.all([
    checkPostgres(deps.DATABASE_URL),
    checkRedis(deps.REDIS_URL),
    checkNats(deps.NATS_URL),
  ]);
  return results.filter((m): m is Missing => m !== null);
}

export function describeMissing(missing: Missing[]): string {
  return [
    `The demo needs ${missing.map((m) => m.name).join(', ')}:`,
    ...missing.flatMap((m) => [`  ${m.name} at ${m.address}: ${m.problem}.`, `    start it: ${m.fix}`]),
    'Then run npm run demo again.',
  ].join('\n');
}
