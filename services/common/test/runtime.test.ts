import t from 'tap';
import { createService } from '@hhb24/common';
import { createTestEnv, eventually, tcpProxy } from '@hhb24/common/testing';

t.test(
  '/livez always answers; /readyz is 503 until started, 200 when ready, 503 while stopping',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const { app, runtime } = createService({ name: 'probe', config: env.config });
    t.equal((await app.inject('/livez')).statusCode, 200);
    const before = await app.inject('/readyz');
    t.equal(before.statusCode, 503);
    t.equal(before.json().state, 'created');
    await runtime.start();
    const ready = await app.inject('/readyz');
    t.equal(ready.statusCode, 200);
    t.same(ready.json().checks, { postgres: true, nats: true, redis: true });
    await runtime.stopWork();
    t.equal((await app.inject('/readyz')).json().state, 'stopping');
    t.equal((await app.inject('/readyz')).statusCode, 503);
    t.equal((await app.inject('/livez')).statusCode, 200, 'liveness does not depend on anything');
    await app.close();
    t.equal(runtime.state, 'stopped');
  },
);

t.test('/readyz follows Postgres and NATS going away and coming back; /livez does not', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const pg = new URL(env.config.DATABASE_URL);
  const nats = new URL(env.config.NATS_URL);
  const pgProxy = await tcpProxy(pg.hostname, Number(pg.port || 5432));
  const natsProxy = await tcpProxy(nats.hostname, Number(nats.port || 4222));
  t.teardown(() => Promise.all([pgProxy.close(), natsProxy.close()]));
  pg.port = String(pgProxy.port);
  const config = {
    ...env.config,
    DATABASE_URL: pg.toString(),
    NATS_URL: `nats://127.0.0.1:${natsProxy.port}`,
  };
  const { app, runtime } = createService({ name: 'flaky-deps', config });
  t.teardown(() => app.close());
  await runtime.start();
  t.equal((await app.inject('/readyz')).statusCode, 200);

  pgProxy.cut();
  const noPg = await eventually(
    async () => {
      const r = await app.inject('/readyz');
      return r.statusCode === 503 ? r.json() : undefined;
    },
    { what: 'not ready without Postgres' },
  );
  t.equal(noPg.checks.postgres, false);
  t.equal((await app.inject('/livez')).statusCode, 200);
  pgProxy.restore();
  await eventually(async () => (await app.inject('/readyz')).statusCode === 200, { what: 'ready again' });

  natsProxy.cut();
  const noNats = await eventually(
    async () => {
      const r = await app.inject('/readyz');
      return r.statusCode === 503 ? r.json() : undefined;
    },
    { what: 'not ready without NATS' },
  );
  t.equal(noNats.checks.nats, false);
  natsProxy.restore();
  await eventually(async () => (await app.inject('/readyz')).statusCode === 200, {
    timeoutMs: 15_000,
    what: 'ready after NATS reconnect',
  });
});

t.test('a service waiting for a dependency at start is live, not ready, and stops when asked', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const deadNats = await tcpProxy('127.0.0.1', 4222);
  deadNats.cut();
  t.teardown(() => deadNats.close());
  const { app, runtime } = createService({
    name: 'waiting',
    config: { ...env.config, NATS_URL: `nats://127.0.0.1:${deadNats.port}` },
  });
  const starting = runtime.start().catch((err: Error) => err);
  await eventually(() => runtime.state === 'starting');
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await app.inject('/livez')).statusCode, 200);
  const r = await app.inject('/readyz');
  t.equal(r.statusCode, 503);
  t.equal(r.json().state, 'starting');
  const closed = Date.now();
  await app.close();
  t.match(String(await starting), /stopped while waiting for NATS/);
  t.ok(Date.now() - closed < 3000, 'stopping does not wait for the dependency');
});
