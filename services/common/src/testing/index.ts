/**
 * Helpers for tests across the workspaces: each test gets its own database schema, NATS prefix
 * and Redis prefix, so test files run in parallel and leave nothing behind.
 */
import { spawn } from 'node:child_process';
import { createServer, connect as connectTcp } from 'node:net';
import { createCipheriv, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import knexFactory from 'knex';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { loadConfig } from '../config.js';
import { baseSchema } from '../base-config.js';
import type { BaseConfig } from '../runtime.js';
import type { Bitrix24PortalStore } from '../bitrix24/portal-store.js';

export interface TestEnv {
  id: string;
  /** Environment variables for a service under test (also for child processes). */
  env: Record<string, string>;
  config: BaseConfig;
  cleanup(): Promise<void>;
}

/** Where the test dependencies are: the local defaults, or TEST_* variables when CI moves them. */
const deps = {
  DATABASE_URL: process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
  REDIS_URL: process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
  NATS_URL: process.env['TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222',
};

export function createTestEnv(overrides: Record<string, string> = {}): TestEnv {
  const id = `t${randomBytes(5).toString('hex')}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    ...deps,
    DATABASE_SCHEMA: id,
    DATABASE_POOL_MAX: '4',
    REDIS_PREFIX: `${id}:`,
    NATS_PREFIX: id,
    OUTBOX_POLL_MS: '50',
    ...overrides,
  };
  return {
    id,
    env,
    config: loadConfig('test', baseSchema, env),
    cleanup: () => cleanupTestEnv(env),
  };
}

export async function cleanupTestEnv(env: Record<string, string>): Promise<void> {
  const db = knexFactory({ client: 'pg', connection: env['DATABASE_URL'], pool: { min: 0, max: 1 } });
  try {
    await db.raw('drop schema if exists ?? cascade', [env['DATABASE_SCHEMA']!]);
  } finally {
    await db.destroy();
  }
  const nc = await connect({ servers: env['NATS_URL']!.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    const prefix = `${env['NATS_PREFIX']!.toUpperCase()}_`;
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(prefix)) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
  const redis = new Redis(env['REDIS_URL']!, { lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${env['REDIS_PREFIX']}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls until `check` returns a truthy value or the time is up. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Exclude<T, undefined | null | false | 0 | ''>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${options.what ?? 'a condition'}${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface SpawnedNode {
  child: import('node:child_process').ChildProcess;
  /** Lines printed on stdout so far. */
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * Runs a Node script in a child process (a second replica, a process to kill). Stack traces point
 * into the TypeScript sources unless `nodeArgs` says otherwise (the benchmark runs a service as a
 * deployment does: source maps cost each process several MB).
 */
export function spawnNode(
  script: string | URL,
  env: Record<string, string>,
  args: string[] = [],
  nodeArgs: string[] = ['--enable-source-maps'],
): SpawnedNode {
  const path = script instanceof URL ? script.pathname : script;
  const child = spawn(process.execPath, [...nodeArgs, path, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let i: number;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs = 15_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`),
            ),
          timeoutMs,
        );
        waiters.push({ pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(() =>
          setTimeout(
            () =>
              reject(new Error(`process exited before printing ${pattern}; stderr: ${stderr.slice(-2000)}`)),
            50,
          ),
        );
      });
    },
  };
}

export interface TcpProxy {
  port: number;
  /** Cuts every connection and refuses new ones, as a dependency that went away. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP forwarder in front of a real dependency, so a test can make it disappear and come back. */
export async function tcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<import('node:net').Socket>();
  let up = true;
  const server = createServer((client) => {
    if (!up) return void client.destroy();
    const upstream = connectTcp(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as import('node:net').AddressInfo).port,
    cut() {
      up = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      up = true;
    },
    async close() {
      up = false;
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * A value as releases before bound sealing wrote it (`v1`: AES-256-GCM without associated data),
 * for the tests of the upgrade. `keySpec` is one `id:base64` key of TOKEN_ENCRYPTION_KEYS.
 */
export function sealV1(keySpec: string, plain: string): string {
  const [id, b64] = keySpec.split(',')[0]!.split(':') as [string, string];
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(b64, 'base64'), iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [
    'v1',
    id,
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    body.toString('base64url'),
  ].join('.');
}

/**
 * What installTestApp asks of the simulated Bitrix24 (B24Sim in test/sim/b24), written out here so
 * that common's code does not depend on the simulator.
 */
export interface PortalInstaller {
  portalInfo(memberId: string): {
    memberId: string;
    domain: string;
    clientEndpoint: string;
    serverEndpoint: string;
    lang: string;
  };
  install(memberId: string): Promise<{
    accessToken: string;
    refreshToken: string;
    expiresIn: number;
    applicationToken: string;
    userId: number;
  }>;
  finishInstall(memberId: string): void;
}

export interface InstalledApp {
  memberId: string;
  applicationToken: string;
  clientEndpoint: string;
  accessToken: string;
}

/**
 * The app installed and finished on a portal of the simulated Bitrix24 (again, on a portal that
 * removed it), the install recorded in `store` as the gateway records it (the install event's
 * endpoints and tokens).
 */
export async function installTestApp(
  sim: PortalInstaller,
  store: Bitrix24PortalStore,
  memberId: string,
): Promise<InstalledApp> {
  const portal = sim.portalInfo(memberId);
  const install = await sim.install(memberId);
  sim.finishInstall(memberId);
  await store.upsertFromInstall({
    memberId,
    domain: portal.domain,
    clientEndpoint: portal.clientEndpoint,
    serverEndpoint: portal.serverEndpoint,
    accessToken: install.accessToken,
    refreshToken: install.refreshToken,
    expiresIn: install.expiresIn,
    applicationToken: install.applicationToken,
    scope: 'crm,placement,bizproc,im,user_brief',
    language: portal.lang,
    userId: install.userId,
  });
  return {
    memberId,
    applicationToken: install.applicationToken,
    clientEndpoint: portal.clientEndpoint,
    accessToken: install.accessToken,
  };
}
