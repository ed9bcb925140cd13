/**
 * The per-service NATS users of deploy/nats/users.conf, on a nats-server of this test's own started
 * with that configuration (generated from the code, each password given): the setup job creates
 * the streams and consumers as its user; every service, started for real as its user (and as its
 * Postgres role of deploy/postgres/roles.sql), pulls from
 * its consumers, answers its requests, asks the ones it calls and publishes its outbox; and each
 * service is refused every subject it does not use (publishing `portal.app.uninstalled` or asking
 * `rpc.hh.pdf` as timeline-renderer), other services' replies and consumers, and JetStream's
 * management API.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import knexFactory from 'knex';
import {
  AppError,
  type Launchable,
  Naming,
  type RpcContract,
  connectNats,
  createLogger,
  loadConfig,
  rpc,
  setupInfrastructure,
  subjects,
} from '@hhb24/common';
import { cleanupTestEnv, createTestEnv, eventually } from '@hhb24/common/testing';
import { catalogue, natsServerConfig, natsUsers, rolePlan, rolesSql } from '@hhb24/mesh/access';
import { PrivateDeps, locateBinaries } from '@hhb24/private-deps';

const { binaries, missing } = locateBinaries(['nats']);
if (missing.length > 0) {
  t.fail(`nats-server is needed: ${missing.map((m) => `${m.problem} (${m.install})`).join('; ')}`);
  process.exit(1);
}

const users = await natsUsers();
const passwords = Object.fromEntries(users.map((u) => [u.user, randomBytes(12).toString('hex')]));
const userOf = (service: string) => users.find((u) => u.service === service)!;
const deps = PrivateDeps.create({
  purpose: 'nats-users',
  binaries,
  natsConfig: natsServerConfig(users, passwords),
});
t.teardown(() => deps.close());
await deps.start(['nats']);
const natsUrl = deps.env.NATS_URL!;
// Postgres and Redis are the shared test ones, in a schema and under a prefix of this file's own;
// NATS has no prefix: the users are made for an installation without one.
const test = createTestEnv({ NATS_URL: natsUrl, NATS_PREFIX: '' });
t.teardown(() => cleanupTestEnv({ ...test.env, NATS_URL: 'nats://127.0.0.1:4222', NATS_PREFIX: test.id }));
const naming = new Naming('');
// Postgres roles are the cluster's: this run's own names (the local Postgres trusts them), dropped at the end.
const roles = await rolePlan(test.env['DATABASE_URL']!, `hhb24t${randomBytes(4).toString('hex')}`);
t.teardown(async () => {
  const db = knexFactory({ client: 'pg', connection: test.env['DATABASE_URL'], pool: { min: 0, max: 1 } });
  await db.raw('drop schema if exists ?? cascade', [test.id]);
  for (const s of roles.services) {
    await db.raw('drop owned by ?? cascade', [s.role]).catch(() => {});
    await db.raw('drop role if exists ??', [s.role]);
  }
  await db.destroy();
});
const silentLog = createLogger({ name: 'nats-users-test', level: 'silent' });

const asUser = (service: string) => ({
  NATS_USER: userOf(service).user,
  NATS_PASSWORD: passwords[userOf(service).user]!,
});
const connectAs = (service: string) =>
  connectNats({
    servers: natsUrl,
    name: service,
    log: silentLog,
    user: userOf(service).user,
    password: passwords[userOf(service).user],
  });

t.test('nobody connects without a password, or with another user’s', async (t) => {
  await t.rejects(connectNats({ servers: natsUrl, name: 'anonymous', log: silentLog }), /Authorization/i);
  await t.rejects(
    connectNats({
      servers: natsUrl,
      name: 'gateway',
      log: silentLog,
      user: userOf('gateway').user,
      password: passwords[userOf('settings').user],
    }),
    /Authorization/i,
  );
});

const built = new Map<string, Launchable>();
t.teardown(async () => {
  for (const s of built.values()) await s.app.close();
});

t.test('the setup job creates the streams and every consumer as its own user', async (t) => {
  const planning = catalogue.map((entry) =>
    entry.build(loadConfig(entry.name, entry.schema, { ...test.env, MIGRATE_ON_START: 'false' }) as never),
  );
  t.teardown(async () => {
    for (const p of planning) await p.app.close();
  });
  const setupConfig = loadConfig('setup', catalogue[0]!.schema, { ...test.env, ...asUser('setup') });
  const result = await setupInfrastructure(
    setupConfig as never,
    planning.map((e) => e.runtime),
  );
  t.ok(result.consumers.length >= 10, `${result.consumers.length} consumers created`);
  // And each service's own Postgres role (deploy/postgres/roles.sql), so that the services below
  // run as they would in a cluster: as their NATS users and their database roles.
  execFileSync(
    'psql',
    [test.env['DATABASE_URL']!, '-X', '-q', '-v', `schema=${test.id}`, '-v', 'owner=postgres', '-f', '-'],
    { input: rolesSql(roles), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] },
  );
  for (const entry of catalogue) {
    const databaseUrl = new URL(test.env['DATABASE_URL']!);
    databaseUrl.username = roles.services.find((s) => s.service === entry.name)!.role;
    databaseUrl.password = '';
    const config = loadConfig(entry.name, entry.schema, {
      ...test.env,
      ...asUser(entry.name),
      DATABASE_URL: databaseUrl.href,
      MIGRATE_ON_START: 'false',
    });
    built.set(entry.name, entry.build(config as never));
  }
});

t.test(
  'as its user, each service publishes its subjects, pulls from its consumers and acknowledges',
  async (t) => {
    const connections = new Map<string, Awaited<ReturnType<typeof connectAs>>>();
    for (const entry of catalogue) connections.set(entry.name, await connectAs(entry.name));
    t.teardown(() => Promise.all([...connections.values()].map((n) => n.nc.close())));
    for (const [name, service] of built) {
      for (const subject of service.runtime.natsUsage().publishes) {
        const ack = await connections.get(name)!.js.publish(naming.subject(subject), '{}');
        t.ok(ack.seq > 0, `${name} publishes ${subject} (stored in ${ack.stream})`);
      }
    }
    for (const [name, service] of built) {
      const { js } = connections.get(name)!;
      for (const c of service.runtime.natsUsage().consumers) {
        const consumer = await js.consumers.get(naming.stream(c.stream), c.durable);
        const msg = await consumer.next({ expires: 5000 });
        t.ok(msg, `${name} pulls a message from ${c.stream}/${c.durable}`);
        t.equal(await msg?.ackAck(), true, `${name} acknowledges it, and the server confirms`);
      }
    }
  },
);

t.test(
  'every service starts as its NATS user and its database role: its consumers and its answers run',
  async (t) => {
    for (const [name, service] of built) {
      await service.runtime.start();
      const ready = await service.runtime.readiness();
      t.ok(
        ready.ready && ready.checks['nats'] && ready.checks['postgres'],
        `${name} is ready, connected to NATS as ${userOf(name).user} and to Postgres as ${roles.services.find((s) => s.service === name)!.role}`,
      );
    }
  },
);

t.test('every service asks what it calls, and the serving service answers', async (t) => {
  for (const [name, service] of built) {
    for (const subject of service.runtime.natsUsage().calls) {
      const contract = Object.values(rpc).find((c) => c.subject === subject) as RpcContract<unknown, unknown>;
      // An empty request: the serving side answers it (a validation error is an answer), so the
      // request went out as this user and the reply came back through its inbox.
      const outcome = await service.runtime.call(contract, {}, { timeoutMs: 5000 }).then(
        () => 'answered',
        (err: unknown) =>
          err instanceof AppError && err.code !== 'rpc_unavailable' ? 'answered' : String(err),
      );
      t.equal(outcome, 'answered', `${name} asks ${subject} and gets the answer`);
    }
  }
});

t.test('every service publishes its outbox subjects, and only its relay takes them', async (t) => {
  const db = knexFactory({ client: 'pg', connection: test.env['DATABASE_URL'], pool: { min: 0, max: 1 } });
  t.teardown(() => db.destroy());
  const setup = await connectAs('setup');
  t.teardown(() => setup.nc.close());
  const before = new Map<string, number>();
  for (const s of ['HH', 'CRM', 'PORTAL']) before.set(s, (await setup.jsm.streams.info(s)).state.messages);
  let expected = 0;
  const rows = [];
  for (const [name, service] of built) {
    for (const subject of service.runtime.natsUsage().publishes) {
      rows.push({ subject, msg_id: `nats-users-${name}-${subject}`, payload: JSON.stringify({}) });
      expected++;
    }
  }
  await db.withSchema(test.id).table('outbox').insert(rows);
  for (const service of built.values()) service.runtime.wakeOutbox();
  const left = await eventually(
    async () => {
      const n = Number((await db.withSchema(test.id).table('outbox').count({ n: '*' }))[0]!.n);
      return n === 0 ? 'empty' : undefined;
    },
    { timeoutMs: 15_000 },
  ).catch(async () => db.withSchema(test.id).table('outbox').select('subject', 'attempts', 'last_error'));
  t.equal(left, 'empty', `the ${expected} outbox rows were published by the services' relays`);
  let after = 0;
  for (const s of ['HH', 'CRM', 'PORTAL'])
    after += (await setup.jsm.streams.info(s)).state.messages - before.get(s)!;
  t.equal(after, expected, 'and stored in the streams');
  // Every consumer's subjects are among them: each service's runner pulls as its user.
  for (const [name, service] of built) {
    for (const c of service.runtime.natsUsage().consumers) {
      const pulled = await eventually(
        async () =>
          (await setup.jsm.consumers.info(naming.stream(c.stream), c.durable)).delivered.consumer_seq > 0,
        { timeoutMs: 15_000 },
      ).catch(() => false);
      t.ok(pulled, `${name}'s consumer runner pulled from ${c.stream}/${c.durable}`);
    }
  }
});

t.test('each service is refused every subject it does not use', async (t) => {
  const setup = await connectAs('setup');
  t.teardown(() => setup.nc.close());
  const count = async () => {
    let n = 0;
    for (const s of ['HH', 'CRM', 'PORTAL']) n += (await setup.jsm.streams.info(s)).state.messages;
    return n;
  };
  const stored = await count();
  let refused = 0;
  for (const entry of catalogue) {
    const usage = built.get(entry.name)!.runtime.natsUsage();
    const nats = await connectAs(entry.name);
    t.teardown(() => nats.nc.close());
    for (const subject of Object.values(subjects)) {
      if (usage.publishes.includes(subject)) continue;
      await t.rejects(
        nats.js.publish(naming.subject(subject), '{}', { timeout: 3000 }),
        /Permissions Violation for Publish/,
        `${entry.name} may not publish ${subject}`,
      );
      refused++;
    }
    for (const contract of Object.values(rpc)) {
      if (usage.calls.includes(contract.subject)) continue;
      await t.rejects(
        nats.nc.request(naming.subject(contract.subject), '{}', { timeout: 3000 }),
        /Permissions Violation for Publish/,
        `${entry.name} may not ask ${contract.subject}`,
      );
      refused++;
    }
    // Replies to others, requests it does not answer, another service's consumer, stream management.
    const other = catalogue.find((e) => e.name !== entry.name)!.name;
    for (const subject of [`_INBOX.${other}.>`, '_INBOX.>', '>', 'rpc.>']) {
      const sub = nats.nc.subscribe(subject);
      const closed = await Promise.race([
        sub.closed.then((err) => String(err)),
        new Promise((r) => setTimeout(() => r('still open'), 3000)),
      ]);
      t.match(closed, /Permissions Violation for Subscription/, `${entry.name} may not read ${subject}`);
      refused++;
    }
    const foreign = catalogue
      .filter((e) => e.name !== entry.name)
      .flatMap((e) => built.get(e.name)!.runtime.natsUsage().consumers)
      .find((c) => !usage.consumers.some((own) => own.durable === c.durable))!;
    await t.rejects(
      nats.js.consumers.get(naming.stream(foreign.stream), foreign.durable),
      /Permissions Violation for Publish/,
      `${entry.name} may not pull ${foreign.stream}/${foreign.durable}`,
    );
    await t.rejects(
      nats.jsm.streams.delete('PORTAL'),
      /Permissions Violation/,
      `${entry.name} may not delete a stream`,
    );
    await t.rejects(
      nats.jsm.streams.purge('HH'),
      /Permissions Violation/,
      `${entry.name} may not purge a stream`,
    );
    refused += 3;
  }
  t.equal(await count(), stored, `after ${refused} refused attempts, not one message more in the streams`);
  t.ok(refused > 100, `${refused} refusals checked`);
});
