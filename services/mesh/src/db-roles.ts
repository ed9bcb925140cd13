/**
 * A Postgres role per service: it owns the tables its migrations create, and of the tables every
 * service shares (the common migrations: inbox, dead letters, deferrals, erasures, the portals'
 * tokens) it may read and write those the common runtime uses for it: the outbox only if it
 * publishes, the portals' tokens only if it calls Bitrix24. Nothing of another service's tables. The schema's owner (the setup job's role)
 * keeps the schema, the shared tables and the migration history, and may act as each service role
 * so that later migrations can still change their tables.
 *
 * Which tables a service's migrations create is read from a real Postgres: the migrations run in
 * a scratch schema one owner at a time. `npm run access:generate` writes deploy/postgres/roles.sql
 * from it; services/mesh/test/db-roles.test.ts checks the file and applies it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Knex, type MigrationSet, createDb, loadConfig, runMigrations } from '@hhb24/common';
import { catalogue } from './catalogue.js';

export interface ServiceTables {
  service: string;
  /** The role it connects as. */
  role: string;
  /** Tables its own migrations create: it owns them. */
  owns: string[];
  /** Shared tables it reads and writes. */
  uses: string[];
}

export interface RolePlan {
  /** Tables of the common migrations (owned by the schema's owner). */
  shared: string[];
  services: ServiceTables[];
}

export function roleName(service: string, prefix = 'hhb24'): string {
  return `${prefix}_${service.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}`;
}

const root = new URL('../../../../', import.meta.url).pathname;

/** A workspace's TypeScript sources (the generator runs from a checkout). */
function sourceOf(workspace: string): string {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) =>
      statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : [],
    );
  return walk(join(root, workspace, 'src'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

async function tablesOf(db: Knex, schema: string): Promise<Set<string>> {
  const rows = await db('pg_tables')
    .select<Array<{ tablename: string }>>('tablename')
    .where({ schemaname: schema });
  return new Set(rows.map((r) => r.tablename).filter((n) => !n.startsWith('migrations_')));
}

/**
 * Runs every migration set in a scratch schema of the Postgres at `databaseUrl`, one owner at a
 * time, and returns whose tables are whose; the schema is dropped again.
 */
export async function rolePlan(databaseUrl: string, prefix = 'hhb24'): Promise<RolePlan> {
  const built = catalogue.map((entry) => {
    const config = loadConfig(entry.name, entry.schema, { NODE_ENV: 'development', LOG_LEVEL: 'silent' });
    return { entry, ...entry.build(config as never) };
  });
  const schema = `roles_${randomBytes(5).toString('hex')}`;
  const db = createDb({ url: databaseUrl, schema, poolMax: 2, applicationName: 'access-generate' });
  try {
    const common = built[0]!.runtime.migrationSets().find((s) => s.owner === 'common')!;
    await runMigrations(db, schema, [common]);
    const shared = await tablesOf(db, schema);
    const services: ServiceTables[] = [];
    for (const { entry, runtime } of built) {
      const own = runtime.migrationSets().filter((s: MigrationSet) => s.owner !== 'common');
      const before = await tablesOf(db, schema);
      await runMigrations(db, schema, own);
      const owns = [...(await tablesOf(db, schema))].filter((t) => !before.has(t)).sort();
      const usage = runtime.natsUsage();
      // The shared tables are the common runtime's (inbox, dead letters, deferrals, erasures,
      // the portals' tokens), which every service runs; the outbox only for those that publish,
      // the file store only for those that read or write files.
      const uses = [...shared].filter(
        (t) =>
          (t !== 'outbox' || usage.publishes.length > 0) &&
          (t !== 'b24_portals' || /\bBitrix24Client\b/.test(sourceOf(entry.workspace))) &&
          (t !== 'stored_files' || /\bFileStore\b/.test(sourceOf(entry.workspace))),
      );
      services.push({ service: entry.name, role: roleName(entry.name, prefix), owns, uses: uses.sort() });
    }
    return { shared: [...shared].sort(), services };
  } finally {
    await db.raw('drop schema if exists ?? cascade', [schema]).catch(() => {});
    await db.destroy();
    for (const b of built) await b.app.close();
  }
}

/**
 * The SQL that creates the roles (LOGIN, no password: set one with ALTER ROLE) and gives each its
 * tables and grants. Idempotent: run it again after each upgrade, after the setup job, so that a
 * new table goes to its service. psql variables: `schema` (default hhb24), `owner` (default
 * hhb24, the role of the setup job, which owns the schema).
 */
export function rolesSql(plan: RolePlan): string {
  const roles = plan.services.map((s) => s.role);
  const list = roles.join(', ');
  const lines = [
    '-- Generated by `npm run access:generate` (services/mesh/src/db-roles.ts) from the services’',
    '-- migrations and what their code uses: do not edit. Run it as the schema’s owner with',
    '-- CREATEROLE (or a superuser), after the setup job, at the first install and after each upgrade:',
    '--   psql "$ADMIN_DATABASE_URL" -v schema=hhb24 -v owner=hhb24 -f deploy/postgres/roles.sql',
    '-- then give each role its password: ALTER ROLE hhb24_gateway PASSWORD …; (docs/operations.md,',
    '-- «Postgres roles»).',
    '\\set ON_ERROR_STOP on',
    '\\if :{?schema}',
    '\\else',
    '  \\set schema hhb24',
    '\\endif',
    '\\if :{?owner}',
    '\\else',
    '  \\set owner hhb24',
    '\\endif',
    'BEGIN;',
    '',
    '-- A role per service, and the owner (the setup job) may act as each, so that migrations can',
    '-- still alter the tables the services own.',
    `SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY[${roles.map((r) => `'${r}'`).join(', ')}]) AS r`,
    '  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \\gexec',
    `GRANT ${list} TO :"owner";`,
    `GRANT USAGE ON SCHEMA :"schema" TO ${list};`,
    '',
    '-- Each service owns its tables (taking ownership needs CREATE on the schema for a moment).',
    `GRANT CREATE ON SCHEMA :"schema" TO ${list};`,
  ];
  for (const s of plan.services) {
    lines.push(`-- ${s.service}`);
    for (const table of s.owns) lines.push(`ALTER TABLE :"schema".${table} OWNER TO ${s.role};`);
  }
  lines.push(
    `REVOKE CREATE ON SCHEMA :"schema" FROM ${list};`,
    '',
    '-- The shared tables stay the owner’s; each service reads and writes those its code uses, and',
    '-- nothing else (its grants are given again from scratch).',
  );
  for (const table of plan.shared) {
    lines.push(`REVOKE ALL ON :"schema".${table} FROM ${list};`);
    const users = plan.services.filter((s) => s.uses.includes(table)).map((s) => s.role);
    if (users.length > 0)
      lines.push(`GRANT SELECT, INSERT, UPDATE, DELETE ON :"schema".${table} TO ${users.join(', ')};`);
  }
  lines.push(
    '-- Their serial columns’ sequences, to insert rows.',
    ...plan.services
      .filter((s) => s.uses.length > 0)
      .map(
        (s) =>
          `SELECT format('GRANT USAGE, SELECT ON SEQUENCE %s TO ${s.role}', c.oid::regclass)` +
          ` FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND c.relkind = 'S'` +
          ` WHERE d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')` +
          ` AND d.refobjid IN (${s.uses.map((t) => `to_regclass(:'schema' || '.${t}')`).join(', ')}) \\gexec`,
      ),
    'COMMIT;',
    '',
  );
  return lines.join('\n');
}
