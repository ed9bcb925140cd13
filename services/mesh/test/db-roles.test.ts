/**
 * deploy/postgres/roles.sql, on the real Postgres: the committed file is what the migrations and
 * the code make, and applied with psql (twice: it is idempotent) to a schema holding every
 * service's tables it gives each service role its own tables and the shared ones its code uses,
 * and nothing else: the gateway's role can neither read nor write hh-connector's, crm-writer's,
 * timeline-renderer's or settings' tables, and no service role can create a table.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { type MigrationSet, createDb, loadConfig, runMigrations } from '@hhb24/common';
import { createTestEnv } from '@hhb24/common/testing';
import { POSTGRES_ROLES_FILE } from '../src/access-files.js';
import { rolePlan, rolesSql } from '../src/db-roles.js';
import { catalogue, repoPath } from './deployment-facts.js';

const env = createTestEnv();
const url = env.env['DATABASE_URL']!;
const plan = await rolePlan(url);

t.test(
  `${POSTGRES_ROLES_FILE} is what the migrations and the code make (npm run access:generate)`,
  async (t) => {
    t.equal(readFileSync(repoPath(POSTGRES_ROLES_FILE), 'utf8'), rolesSql(plan));
    t.same(
      plan.services.map((s) => s.service),
      catalogue.map((e) => e.name),
      'a role per service',
    );
    const owned = plan.services.flatMap((s) => s.owns);
    t.equal(new Set(owned).size, owned.length, 'no table has two owners');
    t.ok(
      plan.shared.includes('outbox') && plan.shared.includes('b24_portals'),
      'the shared tables are known',
    );
    t.same(
      plan.services.find((s) => s.service === 'gateway')?.owns,
      ['b24_install_steps'],
      'the gateway owns only its install steps',
    );
  },
);

t.test(
  'applied to a schema with every table, each role has its own tables and nothing of the others',
  async (t) => {
    // Roles are the cluster's, not the schema's: this run's own names, dropped at the end.
    const prefix = `hhb24t${randomBytes(4).toString('hex')}`;
    const mine = await rolePlan(url, prefix);
    const db = createDb({ url, schema: env.id, poolMax: 2, applicationName: 'db-roles-test' });
    const built = catalogue.map((entry) =>
      entry.build(loadConfig(entry.name, entry.schema, { ...env.env, DATABASE_SCHEMA: env.id }) as never),
    );
    t.teardown(async () => {
      await db.raw('drop schema if exists ?? cascade', [env.id]);
      for (const s of mine.services) {
        await db.raw('drop owned by ?? cascade', [s.role]).catch(() => {});
        await db.raw('drop role if exists ??', [s.role]);
      }
      await db.destroy();
      for (const b of built) await b.app.close();
    });
    const sets = new Map<string, MigrationSet>(
      built.flatMap((b) => b.runtime.migrationSets().map((s): [string, MigrationSet] => [s.owner, s])),
    );
    await runMigrations(db, env.id, [...sets.values()]);

    const psql = () =>
      execFileSync('psql', [url, '-X', '-q', '-v', `schema=${env.id}`, '-v', 'owner=postgres', '-f', '-'], {
        input: rolesSql(mine),
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    t.doesNotThrow(psql, 'psql applies it');
    t.doesNotThrow(psql, 'and applies it again (after an upgrade)');

    const owners = new Map(
      (
        await db('pg_tables')
          .select<Array<{ tablename: string; tableowner: string }>>('tablename', 'tableowner')
          .where({ schemaname: env.id })
      ).map((r) => [r.tablename, r.tableowner]),
    );
    const all = [...owners.keys()].filter((n) => !n.startsWith('migrations_'));
    const can = async (role: string, table: string, privilege: string) =>
      (
        await db.raw<{ rows: Array<{ ok: boolean }> }>('select has_table_privilege(?, ?, ?) as ok', [
          role,
          `${env.id}.${table}`,
          privilege,
        ])
      ).rows[0]!.ok;

    for (const s of mine.services) {
      for (const table of s.owns) t.equal(owners.get(table), s.role, `${s.service} owns ${table}`);
      for (const table of s.uses)
        t.ok(
          (await can(s.role, table, 'SELECT')) &&
            (await can(s.role, table, 'INSERT')) &&
            (await can(s.role, table, 'DELETE')),
          `${s.service} reads and writes the shared ${table}`,
        );
      const others = all.filter((table) => !s.owns.includes(table) && !s.uses.includes(table));
      const reached = [];
      for (const table of others)
        for (const privilege of ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'])
          if (await can(s.role, table, privilege)) reached.push(`${privilege} ${table}`);
      t.same(reached, [], `${s.service} can do nothing to the ${others.length} other tables`);
    }

    // As the gateway's role, for real: what it needs works, the others' tables are refused.
    const gateway = mine.services.find((s) => s.service === 'gateway')!;
    const asGateway = async (sql: string) =>
      db.transaction(async (trx) => {
        await trx.raw(`set local role ${gateway.role}`);
        await trx.raw(`set local search_path to ${env.id}`);
        return trx.raw(sql);
      });
    await t.resolves(
      asGateway(
        `insert into outbox (subject, msg_id, payload) values ('portal.app.uninstalled', 'roles-test', '{}')`,
      ),
      'the gateway writes its outbox (the sequence included)',
    );
    await t.resolves(asGateway('select count(*) from b24_install_steps'), 'and reads its own table');
    for (const sql of [
      'select * from hh_negotiations limit 1',
      'delete from hh_accounts',
      'delete from crm_links',
      'delete from portal_settings',
      'delete from tl_activities',
      'truncate hh_resumes',
      'create table evil (id int)',
      'drop table crm_links',
    ])
      await t.rejects(
        asGateway(sql),
        /permission denied|must be owner/,
        `the gateway's role is refused: ${sql}`,
      );
    for (const s of mine.services.filter((s) => s.service !== 'gateway'))
      await t.rejects(
        db.transaction(async (trx) => {
          await trx.raw(`set local role ${s.role}`);
          return trx.raw(`create table ${env.id}.evil (id int)`);
        }),
        /permission denied/,
        `${s.service} cannot create a table`,
      );
  },
);
