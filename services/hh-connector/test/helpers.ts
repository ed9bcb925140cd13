import {
  BreakerRegistry,
  Keyring,
  type Knex,
  RateLimiter,
  RedisLock,
  commonMigrations,
  createDb,
  createLogger,
  createRedis,
  loadConfig,
  runMigrations,
  type BreakerSettings,
} from '@hhb24/common';
import { createTestEnv, type TestEnv } from '@hhb24/common/testing';
import { type RunningHhSim, type StartOptions, startHhSim } from '@hhb24/sim-hh';
import { schema } from '../src/config.js';
import { HhClient, type HhAccount, type HhClientConfig, hhClientConfig } from '../src/hh/index.js';
import { migrations } from '../src/migrations.js';

export const TEST_UA = 'hhb24-test/1.0 (qa@hhb24.example)';

export interface Harness {
  env: TestEnv;
  running: RunningHhSim;
  hh: HhClient;
  db: Knex;
  /** Environment for a child process using the same schema, Redis prefix and simulator. */
  childEnv: Record<string, string>;
  /** Logs a generated manager in through the simulator (code → tokens → /me) and stores the account. */
  connect(userId: string, memberId?: string): Promise<HhAccount>;
  /** `stopping`: the process's shutdown signal (Runtime.stopping). */
  client(
    overrides?: Partial<HhClientConfig>,
    breaker?: Partial<BreakerSettings>,
    hooks?: ConstructorParameters<typeof HhClient>[2],
    stopping?: AbortSignal,
  ): HhClient;
}

/** A simulator, the test's own schema with hh-connector's tables, Redis, and a client wired to them. */
export async function harness(
  t: { teardown(fn: () => unknown): void },
  options: { sim?: StartOptions; client?: Partial<HhClientConfig> } = {},
): Promise<Harness> {
  const running = await startHhSim({
    ...options.sim,
    settings: { rateLimit: { by: 'off' }, ...(options.sim?.settings ?? {}) },
  });
  t.teardown(() => running.close());
  const app = running.sim.settings.apps[0]!;
  const childEnv = {
    HH_API_URL: running.url,
    HH_OAUTH_URL: running.url,
    HH_CLIENT_ID: app.clientId,
    HH_CLIENT_SECRET: app.clientSecret,
    HH_REDIRECT_URI: `${app.redirectUri}hh/oauth/callback`,
    HH_USER_AGENT: TEST_UA,
    HH_RATE_PER_SEC: '1000',
    HH_RATE_BURST: '1000',
  };
  const env = createTestEnv(childEnv);
  t.teardown(() => env.cleanup());
  const config = loadConfig('hh-connector-test', schema, env.env);
  const db = createDb({
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    poolMax: 4,
    applicationName: 'hh-test',
  });
  t.teardown(() => db.destroy());
  await runMigrations(db, config.DATABASE_SCHEMA, [commonMigrations, migrations]);
  const log = createLogger({ name: 'hh-test', level: 'silent' });
  const redis = createRedis({ url: config.REDIS_URL, name: 'hh-test', log });
  t.teardown(() => redis.disconnect());
  const breakerSets: BreakerRegistry[] = [];
  t.teardown(() => breakerSets.forEach((b) => b.shutdown()));
  const client: Harness['client'] = (overrides = {}, breaker = {}, hooks = {}, stopping) => {
    const breakers = new BreakerRegistry({ log, settings: breaker });
    breakerSets.push(breakers);
    const made = new HhClient(
      { ...hhClientConfig(config), backoffMs: 50, ...options.client, ...overrides },
      {
        db,
        keyring: new Keyring(config.TOKEN_ENCRYPTION_KEYS),
        locks: new RedisLock(redis, config.REDIS_PREFIX),
        limiter: new RateLimiter(redis, config.REDIS_PREFIX, stopping),
        breakers,
        log,
        stopping,
      },
      hooks,
    );
    t.teardown(() => made.close());
    return made;
  };
  const hh = client();
  return {
    env,
    running,
    hh,
    db,
    childEnv: env.env,
    client,
    connect: (userId, memberId = 'portal-1.bitrix24.ru') =>
      hh.connect(memberId, running.sim.authorize({ userId }), config.HH_REDIRECT_URI),
  };
}

/** The generated cast: a paid employer's admin and managers, and the unpaid employer's admin. */
export function people(running: RunningHhSim) {
  const store = running.sim.store;
  const employers = [...store.employers.values()];
  const paid = employers.find((e) => e.paidApiAccess)!;
  const unpaid = employers.find((e) => !e.paidApiAccess)!;
  const of = (eid: string) => [...store.managers.values()].filter((m) => m.employerId === eid);
  const [admin, owner, granted, plain] = of(paid.id);
  return {
    paid,
    unpaid,
    admin: admin!,
    owner: owner!,
    granted: granted!,
    plain: plain!,
    unpaidAdmin: of(unpaid.id)[0]!,
  };
}

/** How many times hh.ru's token endpoint refreshed tokens of this user. */
export function refreshes(running: RunningHhSim, userId: string): number {
  return running.sim
    .events()
    .filter((e) => e.type === 'token.issued' && e.userId === userId && e.grant === 'refresh_token').length;
}
