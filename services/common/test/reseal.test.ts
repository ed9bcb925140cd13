import t from 'tap';
import {
  Keyring,
  type MigrationSet,
  createDb,
  resealSealedValues,
  runMigrations,
  sealedColumnsOf,
} from '@hhb24/common';
import { createTestEnv, eventually } from '@hhb24/common/testing';

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
  sealed: [{ table: 'test_tokens', key: ['portal', 'account'], columns: ['access', 'refresh'] }],
};

t.test(
  're-sealing moves every token to the current key, keeps what it cannot open, and never overwrites a newer write',
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

    const old = new Keyring(k1);
    const lost = new Keyring(k0).seal('sealed with a key nobody has any more');
    const rows = Array.from({ length: 23 }, (_, i) => ({
      portal: `p${i % 3}.bitrix24.ru`,
      account: i,
      access: old.seal(`access-${i}`),
      refresh: i % 4 === 0 ? null : old.seal(`refresh-${i}`),
    }));
    rows[5]!.refresh = lost;
    await db('test_tokens').insert(rows);

    const rotated = new Keyring(`${k2},${k1}`);
    const columns = sealedColumnsOf([owner]);
    t.same(columns, owner.sealed, 'the registry is what the owner declared');

    const counted = await resealSealedValues(db, rotated, columns, { dryRun: true, batchSize: 4 });
    t.same(
      counted.map((r) => [r.column, r.resealed, r.unreadable, r.byKey]),
      [
        ['access', 23, 0, { kA2: 23 }],
        ['refresh', 16, 1, { kA2: 16, k0: 1 }],
      ],
      'a dry run counts and changes nothing',
    );
    t.equal((await db('test_tokens').where('access', 'like', 'v1.kA2.%')).length, 23);

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
    const newer = rotated.seal('access-0-refreshed');
    await refresher('test_tokens').where({ portal: 'p0.bitrix24.ru', account: 0 }).update({ access: newer });
    await refresher.commit();
    const reports = await run;

    t.same(
      reports.map((r) => [r.column, r.resealed, r.changed, r.unreadable, r.byKey]),
      [
        ['access', 22, 1, 0, { k_2: 23 }],
        ['refresh', 16, 0, 1, { k_2: 16, k0: 1 }],
      ],
      'every readable value moved to the current key; the concurrently written one was left as written',
    );
    const after = await db('test_tokens').orderBy(['portal', 'account']);
    for (const row of after as typeof rows) {
      const i = row.account;
      t.equal(
        rotated.open(row.access!),
        i === 0 ? 'access-0-refreshed' : `access-${i}`,
        `row ${i}: access token unchanged in meaning`,
      );
      if (i === 5) t.equal(row.refresh, lost, 'the unreadable value is kept as it was');
      else if (row.refresh !== null)
        t.equal(new Keyring(k2).open(row.refresh), `refresh-${i}`, `row ${i}: the new key alone opens it`);
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
