import t from 'tap';
import {
  type ConsumerSpec,
  type HhNegotiationSynced,
  type NegotiationSnapshot,
  ValidationError,
  ack,
  createService,
  enqueue,
  messageSchemas,
  subjects,
} from '@hhb24/common';
import { createTestEnv, eventually } from '@hhb24/common/testing';
import { harness } from './helpers.js';

const snapshot: NegotiationSnapshot = {
  memberId: 'portal-1',
  accountId: '77',
  negotiationId: '1001',
  version: 3,
  kind: 'response',
  vacancy: { id: '5', name: 'Повар', url: null },
  state: { id: 'response', name: 'Отклик' },
  createdAt: '2026-03-01T10:00:00+03:00',
  updatedAt: '2026-03-01T10:00:00+03:00',
  personId: 'r-1',
  applicant: {
    resumeId: 'r-1',
    fullName: 'Иван Петров',
    phones: ['+79990000000'],
    email: null,
    city: 'Москва',
    hidden: { name: false, phones: false, email: false },
  },
  resume: null,
};

t.test('every subject of the mesh has a schema', async (t) => {
  t.same(Object.keys(messageSchemas).sort(), Object.values(subjects).sort());
});

t.test(
  'a consumed message that does not fit its subject goes to the dead letters with the schema words, the consumer goes on',
  async (t) => {
    const env = createTestEnv({ CONSUMER_MAX_DELIVER: '3' });
    t.teardown(() => env.cleanup());
    const spec: ConsumerSpec = {
      stream: 'HH',
      durable: 'schemas',
      filterSubject: subjects.hhNegotiationSynced,
      ackWaitMs: 1500,
      maxAckPending: 20,
    };
    const h = await harness(env, [spec]);
    t.teardown(() => h.close());
    const seen: string[] = [];
    const { app, runtime } = createService({ name: 'schemas', config: env.config });
    runtime.addConsumer<HhNegotiationSynced>({
      spec,
      concurrency: 2,
      handler: async (ctx) => (seen.push(ctx.data.snapshot.negotiationId), ack()),
    });
    await runtime.start();
    t.teardown(() => app.close());

    const publish = (id: string, payload: unknown) =>
      h.nats.js.publish(h.naming.subject(subjects.hhNegotiationSynced), JSON.stringify(payload), {
        msgID: id,
      });
    await publish('bad-id', { snapshot: { ...snapshot, negotiationId: 'abc' } });
    await publish('no-phones', {
      snapshot: {
        ...snapshot,
        negotiationId: '1002',
        applicant: { ...snapshot.applicant, phones: undefined },
      },
    });
    await publish('bad-kind', { snapshot: { ...snapshot, negotiationId: '1003', kind: 'letter' } });
    await publish('good', { snapshot });

    await eventually(async () => (await h.unfinished(spec)) === 0, { timeoutMs: 20_000, what: 'settled' });
    t.same(seen, ['1001'], 'the handler saw only the message that fits');
    const dead: Array<{ msg_id: string; reason: string; portal: string | null; deliveries: number }> = await h
      .db('dead_letters')
      .orderBy('msg_id');
    const reasons = Object.fromEntries(dead.map((d) => [d.msg_id, d.reason]));
    t.same(Object.keys(reasons), ['bad-id', 'bad-kind', 'no-phones']);
    t.match(
      reasons['bad-id'],
      /^malformed message: hh\.negotiation\.synced: snapshot\.negotiationId: must match pattern/,
    );
    t.equal(
      reasons['no-phones'],
      'malformed message: hh.negotiation.synced: snapshot.applicant.phones: is required',
    );
    t.equal(
      reasons['bad-kind'],
      'malformed message: hh.negotiation.synced: snapshot.kind: must be one of "response", "invitation"',
    );
    t.ok(
      dead.every((d) => d.deliveries === 1),
      'dead-lettered on the first delivery, not retried',
    );

    // The consumer is still there.
    await publish('good-2', { snapshot: { ...snapshot, negotiationId: '1004' } });
    await eventually(async () => seen.includes('1004'), { timeoutMs: 10_000, what: 'next message handled' });
  },
);

t.test('a publisher cannot put a malformed message into the outbox', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const h = await harness(env);
  t.teardown(() => h.close());
  const err = await h.db
    .transaction((trx) =>
      enqueue(trx, {
        subject: subjects.hhNegotiationSynced,
        msgId: 'x',
        payload: { snapshot: { ...snapshot, version: 'three' } },
      }),
    )
    .catch((e: unknown) => e);
  t.type(err, ValidationError);
  t.equal((err as ValidationError).message, 'hh.negotiation.synced: snapshot.version: must be integer');
  t.equal((await h.db('outbox').count({ n: '*' }))[0]?.n, '0', 'nothing was stored');
  await h.db.transaction((trx) =>
    enqueue(trx, { subject: subjects.hhNegotiationSynced, msgId: 'y', payload: { snapshot } }),
  );
  t.equal((await h.db('outbox').count({ n: '*' }))[0]?.n, '1');
});
