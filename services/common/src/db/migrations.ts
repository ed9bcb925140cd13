import type { Knex } from 'knex';

export interface Migration {
  /** Sorts the migrations of one owner: a date-and-sequence prefix, e.g. `20261127_01_outbox`. */
  name: string;
  up: (db: Knex) => Promise<void>;
  down?: (db: Knex) => Promise<void>;
}

/**
 * Columns of one table that hold values sealed with the keyring (`Keyring.seal`). The table's
 * owner declares them next to the migrations that create them, so that `reseal` (key rotation)
 * finds every sealed value without knowing the services.
 */
export interface SealedColumns {
  table: string;
  /** The primary key's columns: rows are re-sealed in key order, each one compare-and-swapped. */
  key: string[];
  /**
   * The columns that name the row's owner (a portal, an account), joined with `/` into the
   * SealContext's `owner`: a value opens only in a row of the same owner (sealedOwner).
   */
  owner: string[];
  columns: string[];
}

/** A row's owner as its SealContext names it: the owner columns' values, joined with `/`. */
export function sealedOwner(values: unknown[]): string {
  return values.map((v) => String(v)).join('/');
}

/** The migrations of one owner (a service, or `common`); each owner keeps its own history table. */
export interface MigrationSet {
  owner: string;
  migrations: Migration[];
  /** Where this owner keeps sealed values (tokens); read by the re-seal command. */
  sealed?: SealedColumns[];
}

function sourceOf(set: MigrationSet): Knex.MigrationSource<Migration> {
  const sorted = [...set.migrations].sort((a, b) => a.name.localeCompare(b.name));
  return {
    getMigrations: async () => sorted,
    getMigrationName: (m) => m.name,
    getMigration: async ({ up, down }) => ({ up, down: down ?? (async () => {}) }),
  };
}

/**
 * Brings the schema up to date. Replicas that start together serialise on a transaction-scoped
 * advisory lock (keyed by schema), so exactly one runs the migrations and the others then find
 * nothing to do; knex's own lock table would make them fail instead of wait.
 */
export async function runMigrations(db: Knex, schema: string, sets: MigrationSet[]): Promise<string[]> {
  const applied: string[] = [];
  await db.raw('create schema if not exists ??', [schema]).catch(async (err: { code?: string }) => {
    // Two replicas creating the schema at once: the loser sees a unique violation; the schema exists.
    if (err.code !== '23505' && err.code !== '42P06') throw err;
  });
  await db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`hhb24:migrate:${schema}`]);
    for (const set of sets) {
      const owner = set.owner.replace(/[^a-z0-9]+/gi, '_').toLowerCase();
      const [, names] = (await db.migrate.latest({
        migrationSource: sourceOf(set),
        tableName: `migrations_${owner}`,
        schemaName: schema,
      })) as [number, string[]];
      applied.push(...names.map((n) => `${set.owner}/${n}`));
    }
  });
  return applied;
}
