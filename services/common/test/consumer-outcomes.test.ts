import t from 'tap';
import {
  AppError,
  RateLimitExceeded,
  ValidationError,
  ack,
  createService,
  defer,
  retry,
  type Knex,
} from '@hhb24/common';
import { createTestEnv, eventually } from '@hhb24/common/testing';
import { harness, testSpec } from './helpers.js';

type Msg = {
  kind: 'ok' | 'fail-always' | 'fail-twice' | 'defer' | 'rate-limited' | 'invalid' | 'retry-outcome';
  times?: number;
};

t.test(
  'outcomes map to JetStream: ack, retry, defer (not a failure), drop and exhaustion end in the dead-letter table',
  async (t) => {
    const env = createTestEnv({ CONSUMER_MAX_DELIVER: '3' });
    t.teardown(() => env.cleanup());
    const spec = testSpec('outcomes');
    const h = await harness(env, [spec]);
    t.teardown(() => h.close());

    const seen = new Map<string, number>();
    const { app, runtime } = createService({ name: 'outcomes', config: env.config });
    runtime.addConsumer<Msg>({
      spec,
      concurrency: 4,
      handler: async (ctx) => {
        const n = (seen.get(ctx.msgId) ?? 0) + 1;
        seen.set(ctx.msgId, n);
        switch (ctx.data.kind) {
          case 'ok':
            return ack();
          case 'fail-always':
            throw new AppError('downstream_down', 'the downstream keeps failing', {
              retryable: true,
              retryAfterMs: 50,
            });
          case 'fail-twice':
            if (n <= 2) throw new AppError('flaky', 'flaky', { retryable: true, retryAfterMs: 50 });
            return ack();
          case 'retry-outcome':
            return n <= 1 ? retry('not yet', 50) : ack();
          case 'defer':
            // More waits than the failure limit allows failures: waits must not count.
            return n <= (ctx.data.times ?? 0) ? defer('rate limited', 30) : ack();
          case 'rate-limited':
            // A client that meets a shared rate limit throws; that is a wait, not a failure.
            if (n <= 5) throw new RateLimitExceeded('b24:portal', 20);
            return ack();
          case 'invalid':
            throw new ValidationError('vacancy id missing');
        }
      },
    });
    await runtime.start();
    t.teardown(() => app.close());

    await h.publish('ok', { kind: 'ok' });
    await h.publish('fail-always', { kind: 'fail-always', portal: 'p-1' });
    await h.publish('fail-twice', { kind: 'fail-twice' });
    await h.publish('retry-outcome', { kind: 'retry-outcome' });
    await h.publish('defer', { kind: 'defer', times: 6 });
    await h.publish('rate-limited', { kind: 'rate-limited' });
    await h.publish('invalid', { kind: 'invalid' });
    await h.nats.js.publish(h.naming.subject('hh.test.messages'), '{not json', { msgID: 'malformed' });

    await eventually(async () => (await h.unfinished(spec)) === 0, {
      timeoutMs: 20_000,
      what: 'all messages settled',
    });
    const dead: Array<{
      msg_id: string;
      reason: string;
      last_error: string | null;
      deliveries: number;
      portal: string | null;
      payload: string;
    }> = await h.db('dead_letters').orderBy('msg_id');
    t.same(
      dead.map((d) => d.msg_id),
      ['fail-always', 'invalid', 'malformed'],
      'exactly the hopeless messages are dead-lettered',
    );

    const byId = Object.fromEntries(dead.map((d) => [d.msg_id, d]));
    t.equal(byId['fail-always']?.reason, 'too many failures');
    t.match(byId['fail-always']?.last_error, /downstream_down: the downstream keeps failing/);
    t.equal(byId['fail-always']?.deliveries, 3, 'dead-lettered on the third failed delivery');
    t.equal(byId['fail-always']?.portal, 'p-1', 'the portal is kept for the health page');
    t.equal(seen.get('fail-always'), 3);
    t.match(byId['invalid']?.reason, /validation_failed: vacancy id missing/);
    t.equal(seen.get('invalid'), 1, 'a non-retryable error is not retried');
    t.match(byId['malformed']?.reason, /malformed message/);
    t.equal(byId['malformed']?.payload, '{not json', 'the payload is kept as it came');
    t.notOk(seen.has('malformed'), 'the handler never saw the malformed message');

    t.equal(seen.get('ok'), 1);
    t.equal(seen.get('fail-twice'), 3, 'retried until it worked');
    t.equal(seen.get('retry-outcome'), 2);
    t.equal(seen.get('defer'), 7, 'six waits and one success, beyond the failure limit of 3');
    t.equal(seen.get('rate-limited'), 6, 'rate-limit errors are waits too');
    const defers = await h.db('message_defers').count({ n: '*' });
    t.equal(Number(defers[0]?.n), 0, 'wait counters are cleaned up');

    const metrics = (await app.inject('/metrics')).body;
    t.match(
      metrics,
      /hhb24_messages_total\{consumer="HH\/outcomes",outcome="dead_letter",service="outcomes"\} 3/,
    );
  },
);

t.test(
  'a message whose deliveries keep crashing is dead-lettered before the handler runs again',
  async (t) => {
    const env = createTestEnv({ CONSUMER_MAX_DELIVER: '2' });
    t.teardown(() => env.cleanup());
    const spec = testSpec('crashy', 300);
    const h = await harness(env, [spec]);
    t.teardown(() => h.close());
    await h.publish('poison', { kind: 'ok' });

    // Two consumers that take the message and never answer, as crashed processes would.
    for (let i = 0; i < 2; i++) {
      const consumer = await h.nats.js.consumers.get(h.naming.stream('HH'), spec.durable);
      const m = await consumer.next({ expires: 5000 });
      t.ok(m, `delivery ${i + 1} taken and abandoned`);
      await new Promise((r) => setTimeout(r, 400));
    }
    let called = 0;
    const { app, runtime } = createService({ name: 'crashy', config: env.config });
    runtime.addConsumer({ spec, concurrency: 1, handler: async () => (called++, ack()) });
    await runtime.start();
    t.teardown(() => app.close());
    const row = await eventually(async () => h.db('dead_letters').first(), { what: 'dead letter' });
    t.equal(called, 0, 'the handler was not given a third chance to crash');
    t.match(row.reason, /gave up after 2 deliveries \(2 failed\)/);
  },
);

t.test('shutdown while messages are in flight loses nothing and finishes within the deadline', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const spec = testSpec('draining', 5000);
  const h = await harness(env, [spec]);
  t.teardown(() => h.close());

  const handler = (slowMs: number, db: () => Knex) => async (ctx: { msgId: string }) => {
    await new Promise((r) => setTimeout(r, slowMs));
    await db()('effects').insert({ msg_id: ctx.msgId });
    return ack();
  };
  const first = createService({ name: 'draining-1', config: env.config });
  first.runtime.addConsumer({ spec, concurrency: 2, handler: handler(1500, () => first.runtime.db) });
  await first.runtime.start();
  for (let i = 0; i < 10; i++) await h.publish(`m-${i}`, { n: i });
  await eventually(
    async () => (await h.nats.jsm.consumers.info(h.naming.stream('HH'), spec.durable)).num_ack_pending > 0,
    { what: 'work in flight' },
  );

  const started = Date.now();
  await first.app.close();
  const tookMs = Date.now() - started;
  t.ok(tookMs < 10_000, `graceful shutdown took ${tookMs} ms`);
  const afterFirst = (await h.db('effects').select('msg_id')).map((r) => r.msg_id);
  t.ok(
    afterFirst.length >= 1 && afterFirst.length < 10,
    `in-flight work finished before exit (${afterFirst.length} done)`,
  );
  t.equal(first.runtime.state, 'stopped');

  const second = createService({ name: 'draining-2', config: env.config });
  second.runtime.addConsumer({ spec, concurrency: 5, handler: handler(10, () => second.runtime.db) });
  await second.runtime.start();
  t.teardown(() => second.app.close());
  await eventually(async () => (await h.unfinished(spec)) === 0, {
    timeoutMs: 20_000,
    what: 'the rest to be processed',
  });
  const all = (await h.db('effects').select('msg_id')).map((r) => r.msg_id).sort();
  t.same(all, Array.from({ length: 10 }, (_, i) => `m-${i}`).sort(), 'every message processed exactly once');
});
