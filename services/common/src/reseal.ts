import type { Knex } from 'knex';
import type { MigrationSet, SealedColumns } from './db/migrations.js';
import type { Keyring } from './secrets.js';

/** What re-sealing found and did in one column. */
export interface ResealReport {
  table: string;
  column: string;
  /** Values sealed again with the current key (with `dryRun`: values that would be). */
  resealed: number;
  /** Rows rewritten by someone else between our read and our write: left as they were written. */
  changed: number;
  /** Values no key of the ring opens: re-sealing cannot help them. */
  unreadable: number;
  /** When the run ended: how many values each key id seals (the current one included). */
  byKey: Record<string, number>;
}

/** The sealed columns of the given owners, each table once. */
export function sealedColumnsOf(sets: MigrationSet[]): SealedColumns[] {
  const byTable = new Map<string, SealedColumns>();
  for (const set of sets) for (const s of set.sealed ?? []) byTable.set(s.table, s);
  return [...byTable.values()];
}

/**
 * Key rotation's middle step: every sealed value that an older key sealed is opened and sealed
 * again with the keyring's current (first) key. Rows are read in key order in batches and each is
 * written back only if it still holds the value that was read (compare-and-swap), so a token
 * refreshed meanwhile is never overwritten with an older one. Values no key opens are counted and
 * left alone. Safe to run while the services run, and again.
 */
export async function resealSealedValues(
  db: Knex,
  keyring: Keyring,
  columns: SealedColumns[],
  options: { dryRun?: boolean; batchSize?: number } = {},
): Promise<ResealReport[]> {
  const batchSize = options.batchSize ?? 500;
  // `_` is a LIKE wildcard and may appear in key ids.
  const current = `v1.${keyring.keyId.replace(/_/g, '\\_')}.%`;
  const reports: ResealReport[] = [];
  for (const spec of columns) {
    for (const column of spec.columns) {
      const report: ResealReport = {
        table: spec.table,
        column,
        resealed: 0,
        changed: 0,
        unreadable: 0,
        byKey: {},
      };
      let after: Knex.Value[] | undefined;
      for (;;) {
        const query = db(spec.table)
          .select([...spec.key, `${column} as sealed_value`])
          .whereNotNull(column)
          .andWhereNot(column, 'like', current)
          .orderBy(spec.key)
          .limit(batchSize);
        if (after)
          query.andWhereRaw(
            `(${spec.key.map(() => '??').join(', ')}) > (${spec.key.map(() => '?').join(', ')})`,
            [...spec.key, ...after],
          );
        const rows = (await query) as Array<Record<string, unknown>>;
        for (const row of rows) {
          const sealed = String(row['sealed_value']);
          let plain: string;
          try {
            plain = keyring.open(sealed);
          } catch {
            report.unreadable++;
            continue;
          }
          if (options.dryRun) {
            report.resealed++;
            continue;
          }
          const where = Object.fromEntries(spec.key.map((k) => [k, row[k]]));
          const updated = await db(spec.table)
            .where(where)
            .andWhere(column, sealed)
            .update({ [column]: keyring.seal(plain) });
          if (updated === 1) report.resealed++;
          else report.changed++;
        }
        if (rows.length < batchSize) break;
        const last = rows[rows.length - 1]!;
        after = spec.key.map((k) => last[k] as Knex.Value);
      }
      const counts = (await db(spec.table)
        .select(db.raw("split_part(??, '.', 2) as key_id", [column]))
        .count({ n: '*' })
        .whereNotNull(column)
        .groupBy('key_id')) as Array<{ key_id: string; n: string | number }>;
      for (const c of counts) report.byKey[c.key_id] = Number(c.n);
      reports.push(report);
    }
  }
  return reports;
}
