import t from 'tap';
import { enqueue } from '@hhb24/common';
import { createOutboxRelay, publishableMsgId } from '../src/outbox.js';
import { createTestEnv, eventually, spawnNode } from '@hhb24/common/testing';
import { harness, silentLog, testSpec } from './helpers.js';

const relayWorker = new URL('./fixtures/relay-worker.js', import.meta.url);

async function streamMessages(h: Awaited<ReturnType<typeof harness>>): Promise<number> {
  return (await h.nats.jsm.streams.info(h.naming.stream('HH'))).state.messages;
}

t.test('outbox rows commit with the business rows, or not at all', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const h = await harness(env);
  t.teardown(() => h.close());

  await h.db.transaction(async (trx) => {
    await trx('effects').insert({ msg_id: 'kept' });
    await enqueue(trx, { subject: 'hh.test.messages', msgId: 'kept', payload: { n: 1 } });
  });
  await h.db
    .transaction(async (trx) => {
      await trx('effects').insert({ msg_id: 'rolled-back' });
      await enqueue(trx, { subject: 'hh.test.messages', msgId: 'rolled-back', payload: { n: 2 } });
      throw new Error('business rule failed');
    })
    .catch(() => {});
  t.same(
    (await h.db('outbox').select('msg_id')).map((r) => r.msg_id),
    ['kept'],
  );
  t.same(
    (await h.db('effects').select('msg_id')).map((r) => r.msg_id),
    ['kept'],
  );

  const relay = createOutboxRelay({ db: h.db, nats: h.nats, naming: h.naming, log: silentLog, pollMs: 50 });
  t.same(await relay.relayOnce(), { published: 1, failed: 0 });
  t.equal(await streamMessages(h), 1);
  t.equal((await h.db('outbox').count({ n: '*' }))[0]?.n, '0', 'published rows are removed');
});

t.test(
  'a relay given its service’s subjects publishes only those rows, and leaves the others to theirs',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const h = await harness(env);
    t.teardown(() => h.close());
    await h.db.transaction((trx) =>
      enqueue(trx, [
        {
          subject: 'hh.webhook.received',
          msgId: 'mine',
          payload: {
            accountId: '1',
            receivedAt: new Date().toISOString(),
            body: { id: 'cb-1', action_type: 'NEW_NEGOTIATION_VACANCY', payload: {} },
          },
        },
        {
          subject: 'hh.import.requested',
          msgId: 'theirs',
          payload: {
            memberId: 'm1',
            kind: 'initial',
            requestedBy: null,
            requestedAt: new Date().toISOString(),
          },
        },
      ]),
    );
    const mine = createOutboxRelay({
      db: h.db,
      nats: h.nats,
      naming: h.naming,
      log: silentLog,
      pollMs: 50,
      subjects: ['hh.webhook.received'],
    });
    t.same(await mine.relayOnce(), { published: 1, failed: 0 }, 'its own row');
    t.same(await mine.relayOnce(), { published: 0, failed: 0 }, 'not the other service’s');
    t.same(
      (await h.db('outbox').select('msg_id')).map((r) => r.msg_id),
      ['theirs'],
      'the other row waits for its relay',
    );
    const theirs = createOutboxRelay({
      db: h.db,
      nats: h.nats,
      naming: h.naming,
      log: silentLog,
      pollMs: 50,
      subjects: ['hh.import.requested'],
    });
    t.same(await theirs.relayOnce(), { published: 1, failed: 0 }, 'which takes it');
    t.equal(await streamMessages(h), 2);
  },
);

t.test(
  'ids built from what a caller sent (a line break, 100 kB) are published under a digest: the relay is not stopped, duplicates still drop',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const h = await harness(env);
    t.teardown(() => h.close());
    const odd = ['event:m:X:\r\nSet-Cookie: x=1:0:{}', `robot:m:${'w'.repeat(100_000)}`, 'event:m:a b'];
    for (const msgId of [...odd, ...odd, 'plain:1'])
      await enqueue(h.db, { subject: 'hh.test.messages', msgId, payload: { n: 1 } });
    const ids = (await h.db('outbox').orderBy('id').select('msg_id')).map(
      (r: { msg_id: string }) => r.msg_id,
    );
    t.match(ids[0], /^event:sha256:[0-9a-f]{64}$/, 'a line break: the kind and a digest');
    t.match(ids[1], /^robot:sha256:[0-9a-f]{64}$/, 'too long: the same');
    t.equal(ids[3], ids[0], 'the same input, the same id');
    t.equal(ids[6], 'plain:1', 'an ordinary id is kept as it is');
    t.equal(publishableMsgId('hh-webhook:a:B:c'), 'hh-webhook:a:B:c');
    const relay = createOutboxRelay({ db: h.db, nats: h.nats, naming: h.naming, log: silentLog, pollMs: 50 });
    t.same(await relay.relayOnce(), { published: 7, failed: 0 }, 'every row published');
    t.equal(await streamMessages(h), 4, 'each repeated id dropped by JetStream');
  },
);

t.test('a relay killed between publish and commit makes no duplicate', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const spec = testSpec('after-relay-crash');
  const h = await harness(env, [spec]);
  t.teardown(() => h.close());

  // The relay deletes rows after publishing; a slow trigger holds it right there.
  await h.db.raw(
    `create function stall() returns trigger language plpgsql as $$ begin perform pg_sleep(60); return old; end $$`,
  );
  await h.db.raw(`create trigger stall_delete before delete on outbox for each row execute function stall()`);
  await h.db.transaction((trx) =>
    enqueue(
      trx,
      [1, 2, 3].map((n) => ({ subject: 'hh.test.messages', msgId: `fact-${n}`, payload: { n } })),
    ),
  );

  const doomed = spawnNode(relayWorker, env.env);
  await doomed.waitForLine(/^relaying/);
  await eventually(async () => (await streamMessages(h)) === 3, { what: 'the first publish' });
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  // The server would notice the dead client only when pg_sleep ends; end its transaction now.
  await h.db.raw(
    `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'relay-crash-test'`,
  );
  await eventually(async () => Number((await h.db('outbox').count({ n: '*' }))[0]?.n) === 3, {
    what: 'rows back after rollback',
  });
  await h.db.raw('drop trigger stall_delete on outbox');

  const relay = createOutboxRelay({ db: h.db, nats: h.nats, naming: h.naming, log: silentLog, pollMs: 50 });
  t.same(await relay.relayOnce(), { published: 3, failed: 0 }, 'the rows were published again');
  t.equal(await streamMessages(h), 3, 'JetStream dropped the copies (same Nats-Msg-Id)');
  t.equal(Number((await h.db('outbox').count({ n: '*' }))[0]?.n), 0);

  const consumer = await h.nats.js.consumers.get(h.naming.stream('HH'), spec.durable);
  const ids: string[] = [];
  const batch = await consumer.fetch({ max_messages: 10, expires: 1000 });
  for await (const m of batch) {
    ids.push(m.headers?.get('Nats-Msg-Id') ?? '');
    m.ack();
  }
  t.same(ids.sort(), ['fact-1', 'fact-2', 'fact-3'], 'each fact delivered once');
});

t.test('relays of several processes share rows without publishing any twice', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const h = await harness(env);
  t.teardown(() => h.close());
  const total = 600;
  await h.db.transaction((trx) =>
    enqueue(
      trx,
      Array.from({ length: total }, (_, n) => ({
        subject: 'hh.test.messages',
        msgId: `bulk-${n}`,
        payload: { n },
      })),
    ),
  );
  const relays = [1, 2, 3].map(() =>
    createOutboxRelay({
      db: h.db,
      nats: h.nats,
      naming: h.naming,
      log: silentLog,
      pollMs: 20,
      batchSize: 50,
    }),
  );
  let published = 0;
  await Promise.all(
    relays.map(async (r) => {
      for (;;) {
        const pass = await r.relayOnce();
        published += pass.published;
        if (pass.published === 0) return;
      }
    }),
  );
  t.equal(published, total, 'every row published by exactly one relay');
  t.equal(await streamMessages(h), total);
});
