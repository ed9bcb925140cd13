/**
 * ActivityStore.claimAdd against Postgres: while one process's add of an activity is in flight no
 * other may start one, whatever Redis's locks say (they are gone after a flush or a failover).
 */
import t from 'tap';
import { commonMigrations, createDb, runMigrations } from '@hhb24/common';
import { createTestEnv } from '@hhb24/common/testing';
import type { NegotiationSnapshot } from '@hhb24/common';
import { ActivityStore } from '../src/activities.js';
import { migrations } from '../src/migrations.js';

t.test('one add of an activity in flight at a time, claimed in Postgres', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const db = createDb({
    url: env.config.DATABASE_URL,
    schema: env.id,
    poolMax: 4,
    applicationName: 'tl-test',
  });
  t.teardown(() => db.destroy());
  await runMigrations(db, env.id, [commonMigrations, migrations]);
  const store = new ActivityStore(db);
  const row = (negotiationId: string) => ({
    memberId: 'm1',
    negotiationId,
    entityType: 'lead' as const,
    entityId: 7,
    snapshot: { negotiationId } as unknown as NegotiationSnapshot,
    others: null,
  });

  const both = await Promise.all([store.claimAdd(row('n1'), 60_000), store.claimAdd(row('n1'), 60_000)]);
  t.same(both.sort(), [false, true], 'two processes at once: one claims the add');
  t.equal(await store.claimAdd(row('n1'), 60_000), false, 'nor later, while the claim lasts');
  t.equal((await store.get('m1', 'n1'))!.activityId, 0, 'the row says an add was started');

  await store.releaseAdds('m1', ['n1']);
  t.equal(
    await store.claimAdd(row('n1'), 60_000),
    true,
    'an add the portal refused is claimed again at once',
  );

  await store.save({ ...row('n1'), activityId: 501, version: 3 });
  await store.releaseAdds('m1', ['n1']);
  t.equal((await store.get('m1', 'n1'))!.activityId, 501, 'releasing leaves a recorded activity alone');

  t.equal(await store.claimAdd(row('n2'), 1), true);
  await new Promise((r) => setTimeout(r, 20));
  t.equal(await store.claimAdd(row('n2'), 60_000), true, 'a claim whose process died expires');
});
