import t from 'tap';
import { SyncStore } from '../src/sync/store.js';
import { startOfDay } from '../src/sync/health.js';
import { harness } from './helpers.js';

t.test('the delivery log keeps its retention and answers per portal, newest first', async (t) => {
  const h = await harness(t, { sim: { generate: false } });
  const store = new SyncStore(h.db);
  const day = 86_400_000;
  await store.logEvents(h.db, [
    {
      memberId: 'a',
      source: 'webhook',
      type: 'NEW_RESPONSE_OR_INVITATION_VACANCY',
      negotiationId: '1',
      outcome: 'processed',
    },
    { memberId: 'a', source: 'reconcile', type: 'found', negotiationId: '2', outcome: 'new' },
    {
      memberId: 'b',
      source: 'webhook',
      type: 'NEGOTIATION_EMPLOYER_STATE_CHANGE',
      negotiationId: '3',
      outcome: 'ignored: no topic_id',
    },
  ]);
  await h
    .db('hh_sync_events')
    .where({ negotiation_id: '1' })
    .update({ at: new Date(Date.now() - 20 * day) });
  t.same(
    (await store.events('a', undefined, 10)).map((e) => [e.negotiationId, e.source]),
    [
      ['2', 'reconcile'],
      ['1', 'webhook'],
    ],
    'newest first, this portal only',
  );
  t.equal(
    await store.pruneEvents(new Date(Date.now() - 14 * day)),
    1,
    'the line older than the retention goes',
  );
  t.same(
    (await store.events('a', undefined, 10)).map((e) => e.negotiationId),
    ['2'],
  );
  t.same(
    (await store.events('b', undefined, 10)).map((e) => e.negotiationId),
    ['3'],
    'the other portal’s recent line stays',
  );
});

t.test('today starts at Moscow midnight', async (t) => {
  t.equal(
    startOfDay(new Date('2026-12-01T20:59:59Z')).toISOString(),
    '2026-11-30T21:00:00.000Z',
    '23:59:59 in Moscow is still that day',
  );
  t.equal(
    startOfDay(new Date('2026-12-01T21:00:00Z')).toISOString(),
    '2026-12-01T21:00:00.000Z',
    'midnight in Moscow starts the next',
  );
});
