import type { Test } from 'tap';
import { Redis } from 'ioredis';
import { type RunningSim, type StartOptions, startB24Sim } from '@hhb24/sim-b24';
import {
  BreakerRegistry,
  Bitrix24Client,
  type Bitrix24ClientOptions,
  Keyring,
  commonMigrations,
  createDb,
  runMigrations,
} from '@hhb24/common';
import { type InstalledApp, type TestEnv, createTestEnv, installTestApp } from '@hhb24/common/testing';
import { silentLog } from './helpers.js';

export interface B24Harness {
  env: TestEnv;
  running: RunningSim;
  client: Bitrix24Client;
  redis: Redis;
  db: ReturnType<typeof createDb>;
  /** A client with other settings on the same database and Redis. */
  makeClient(overrides?: Partial<Bitrix24ClientOptions>): Bitrix24Client;
  /** A portal with the app installed and finished, its install recorded in the store. */
  installPortal(options?: { lang?: 'ru' | 'en' }): Promise<InstalledApp>;
}

/** The test's own schema and Redis prefix, a simulator on port 0, and a Bitrix24 client wired to them. */
export async function b24Harness(
  t: Test,
  simOptions: StartOptions = {},
  clientOptions: Partial<Bitrix24ClientOptions> = {},
): Promise<B24Harness> {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const running = await startB24Sim({ port: 0, ...simOptions });
  t.teardown(() => running.close());
  running.sim.updateApp('hh-b24-dev', { installEventUrl: '' });
  const c = env.config;
  const db = createDb({
    url: c.DATABASE_URL,
    schema: c.DATABASE_SCHEMA,
    poolMax: 4,
    applicationName: 'b24-test',
  });
  t.teardown(() => db.destroy());
  await runMigrations(db, c.DATABASE_SCHEMA, [commonMigrations]);
  const redis = new Redis(c.REDIS_URL);
  t.teardown(() => redis.disconnect());
  const breakers = new BreakerRegistry({ log: silentLog });
  t.teardown(() => breakers.shutdown());
  const makeClient = (overrides: Partial<Bitrix24ClientOptions> = {}) =>
    new Bitrix24Client({
      db,
      redis,
      redisPrefix: c.REDIS_PREFIX,
      keyring: new Keyring(c.TOKEN_ENCRYPTION_KEYS),
      breakers,
      log: silentLog,
      clientId: 'hh-b24-dev',
      clientSecret: 'hh-b24-dev-secret',
      ratePerSec: 2,
      burst: 50,
      burstHeadroom: 5,
      timeoutMs: 5000,
      maxResponseBytes: 5_000_000,
      ...clientOptions,
      ...overrides,
    });
  const client = makeClient();
  return {
    env,
    running,
    client,
    redis,
    db,
    makeClient,
    installPortal: (options = {}) =>
      installTestApp(
        running.sim,
        client.store,
        running.sim.createPortal({ lang: options.lang ?? 'ru' }).memberId,
      ),
  };
}
