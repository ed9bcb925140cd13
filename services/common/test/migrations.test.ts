import t from 'tap';
import { type MigrationSet, commonMigrations, createDb, runMigrations } from '@hhb24/common';
import { createTestEnv } from '@hhb24/common/testing';

t.test('replicas migrating at once: each migration runs once, all end up current', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  let runs = 0;
  const service: MigrationSet = {
    owner: 'some-service',
    migrations: [
      {
        name: '20261127_01_things',
        async up(db) {
          runs++;
          await new Promise((r) => setTimeout(r, 200));
          await db.schema.createTable('things', (tb) => tb.increments('id'));
        },
      },
    ],
  };
  const c = env.config;
  const pools = [1, 2, 3].map((i) =>
    createDb({ url: c.DATABASE_URL, schema: c.DATABASE_SCHEMA, poolMax: 2, applicationName: `replica-${i}` }),
  );
  t.teardown(() => Promise.all(pools.map((p) => p.destroy())));
  const applied = await Promise.all(
    pools.map((db) => runMigrations(db, c.DATABASE_SCHEMA, [commonMigrations, service])),
  );
  t.equal(runs, 1, 'the migration body ran once');
  t.same(
    applied.flat().sort(),
    [...commonMigrations.migrations.map((m) => `common/${m.name}`), 'some-service/20261127_01_things'].sort(),
    'one replica applied, the others found nothing to do',
  );
  const tables = await pools[0]!.raw(
    `select table_name from information_schema.tables where table_schema = ? order by 1`,
    [c.DATABASE_SCHEMA],
  );
  const names = (tables.rows as Array<{ table_name: string }>).map((r) => r.table_name);
  for (const name of [
    'outbox',
    'inbox',
    'dead_letters',
    'message_defers',
    'b24_portals',
    'portal_uninstalls',
    'portal_erasures',
    'things',
    'migrations_common',
    'migrations_some_service',
  ]) {
    t.ok(names.includes(name), `${name} exists in the test's own schema`);
  }
  t.same(
    await runMigrations(pools[1]!, c.DATABASE_SCHEMA, [commonMigrations, service]),
    [],
    'a later start applies nothing',
  );
});
