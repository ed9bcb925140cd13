import t from 'tap';
import {
  Keyring,
  type MigrationSet,
  type SealContext,
  createDb,
  resealSealedValues,
  runMigrations,
  sealedColumnsOf,
} from '@hhb24/common';
import { createTestEnv, eventually, sealV1 } from '@hhb24/common/testing';

const key = (id: string, fill: number) => `${id}:${Buffer.alloc(32, fill).toString('base64')}`;
// k1 and k2 have ids that an unescaped LIKE pattern would confuse (`_` matches any character).
const [k0, k1, k2] = [key('k0', 9), key('kA2', 1), key('k_2', 2)];

/** A token table as an owner would declare it: a composite key, two sealed columns, nulls allowed. */
const owner: MigrationSet = {
  owner: 'token-owner',
  migrations: [
    {
      name: '20261128_01_test_tokens',
      async up(db) {
        await db.schema.createTable('test_tokens', (tb) => {
          tb.text('portal').notNullable();
          tb.integer('account').notNullable();
          tb.text('access');
          tb.text('refresh');
          tb.primary(['portal', 'account']);
        });
      },
    },
  ],
  sealed: [
    {
      table: 'test_tokens',
      key: ['portal', 'account'],
      owner: ['portal', 'account'],
      columns: ['access', 'refresh'],
    },
  ],
};

const place = (portal: string, account: number, column: 'access' | 'refresh'): SealContext => ({
  table: 'test_tokens',
  column,
  owner: `${portal}/${account}`,
});

t.test(
  're-sealing moves every token to the current key bound to its place, keeps what does not open, and never overwrites a newer write',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const c = env.config;
    const db = createDb({
      url: c.DATABASE_URL,
      schema: c.DATABASE_SCHEMA,
      poolMax: 4,
      applicationName: 'reseal-test',
    });
    t.teardown(() => db.destroy());
    await runMigrations(db, c.DATABASE_SCHEMA, [owner]);

    // Rows as an older release left them: values sealed without their place (v1) with kA2; some
    // sealed with kA2 and bound (a rotation before this upgrade ran on a newer release).
    const old = new Keyring(k1);
    const lost = sealV1(k0, 'sealed with a key nobody has any more');
    const rows = Array.from({ length: 23 }, (_, i) => {
      const portal = `p${i % 3}.bitrix24.ru`;
      return {
        portal,
        account: i,
        access: i % 5 === 0 ? old.seal(`access-${i}`, place(portal, i, 'access')) : sealV1(k1, `access-${i}`),
        refresh: i % 4 === 0 ? null : sealV1(k1, `refresh-${i}`),
      };
    });
    rows[5]!.refresh = lost;
    // Someone with write access to the table copied row 10's bound access token into row 11.
    rows[11]!.access = rows[10]!.access;
    await db('test_tokens').insert(rows);

    const rotated = new Keyring(`${k2},${k1}`);
    const columns = sealedColumnsOf([owner]);
    t.same(columns, owner.sealed, 'the registry is what the owner declared');

    const counted = await resealSealedValues(db, rotated, columns, { dryRun: true, batchSize: 4 });
    t.same(
      counted.map((r) => [r.column, r.resealed, r.bound, r.unreadable, r.byKey, r.unbound]),
      [
        ['access', 22, 17, 1, { kA2: 23 }, 17],
        ['refresh', 16, 16, 1, { kA2: 16, k0: 1 }, 17],
      ],
      'a dry run counts and changes nothing; the moved value does not open in its new row',
    );
    t.equal((await db('test_tokens').where('access', 'like', 'v1.kA2.%')).length, 17);

    // A refresh that holds row p0/0 while the re-seal reaches it, then writes a newer token.
    const refresher = await db.transaction();
    await refresher('test_tokens').where({ portal: 'p0.bitrix24.ru', account: 0 }).forUpdate().first();
    const run = resealSealedValues(db, rotated, columns, { batchSize: 4 });
    await eventually(
      async () => {
        const r = await db.raw(
          `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%update%test_tokens%'`,
        );
        return (r.rows[0] as { n: number }).n > 0;
      },
      { what: 're-seal waiting on the locked row' },
    );
    const newer = rotated.seal('access-0-refreshed', place('p0.bitrix24.ru', 0, 'access'));
    await refresher('test_tokens').where({ portal: 'p0.bitrix24.ru', account: 0 }).update({ access: newer });
    await refresher.commit();
    const reports = await run;

    t.same(
      reports.map((r) => [r.column, r.resealed, r.bound, r.changed, r.unreadable, r.byKey, r.unbound]),
      [
        ['access', 21, 17, 1, 1, { k_2: 22, kA2: 1 }, 0],
        ['refresh', 16, 16, 0, 1, { k_2: 16, k0: 1 }, 1],
      ],
      'every value that opens moved to the current key, bound; the concurrently written one was left as written',
    );
    const after = (await db('test_tokens').orderBy(['portal', 'account'])) as typeof rows;
    for (const row of after) {
      const i = row.account;
      if (i === 11) {
        t.throws(
          () => rotated.open(row.access, place(row.portal, 11, 'access')),
          'row 11: the value moved from row 10 stays unreadable there',
        );
        continue;
      }
      t.equal(
        rotated.open(row.access, place(row.portal, i, 'access')),
        i === 0 ? 'access-0-refreshed' : `access-${i}`,
        `row ${i}: access token unchanged in meaning`,
      );
      t.throws(
        () => rotated.open(row.access, place('p9.bitrix24.ru', i, 'access')),
        `row ${i}: bound to its owner now`,
      );
      if (i === 5) t.equal(row.refresh, lost, 'the unreadable value is kept as it was');
      else if (row.refresh !== null)
        t.equal(
          new Keyring(k2).open(row.refresh, place(row.portal, i, 'refresh')),
          `refresh-${i}`,
          `row ${i}: the new key alone opens it`,
        );
    }

    const again = await resealSealedValues(db, rotated, columns);
    t.same(
      again.map((r) => [r.resealed, r.changed]),
      [
        [0, 0],
        [0, 0],
      ],
      'a second run has nothing to do',
    );
  },
);
