import type { Knex } from 'knex';
import { type MigrationSet, type SealedColumns, sealedOwner } from './db/migrations.js';
import type { Keyring, SealContext } from './secrets.js';

/** What re-sealing found and did in one column. */
export interface ResealReport {
  table: string;
  column: string;
  /** Values sealed again with the current key, bound to their place (with `dryRun`: values that would be). */
  resealed: number;
  /** Of those, values that were sealed before values were bound to their place (`v1`). */
  bound: number;
  /** Rows rewritten by someone else between our read and our write: left as they were written. */
  changed: number;
  /** Values that do not open: sealed with a key no longer in the ring, or moved from another row. */
  unreadable: number;
  /** When the run ended: how many values each key id seals (the current one included). */
  byKey: Record<string, number>;
  /** When the run ended: values still not bound to their place (unreadable ones only, after a run). */
  unbound: number;
}

/** The sealed columns of the given owners, each table once. */
export function sealedColumnsOf(sets: MigrationSet[]): SealedColumns[] {
  const byTable = new Map<string, SealedColumns>();
  for (const set of sets) for (const s of set.sealed ?? []) byTable.set(s.table, s);
  return [...byTable.values()];
}

/**
 * Key rotation's middle step, and the upgrade to values bound to their place: every sealed value
 * that an older key sealed, or that was sealed without its place (`v1`), is opened and sealed again
 * with the keyring's current (first) key, bound to its table, column and owner. Rows are read in
 * key order in batches and each is written back only if it still holds the value that was read
 * (compare-and-swap), so a token refreshed meanwhile is never overwritten with an older one. Values
 * that do not open (a key already dropped, a value moved from another owner's row) are counted and
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
  const current = `v2.${keyring.keyId.replace(/_/g, '\\_')}.%`;
  const reports: ResealReport[] = [];
  for (const spec of columns) {
    for (const column of spec.columns) {
      const report: ResealReport = {
        table: spec.table,
        column,
        resealed: 0,
        bound: 0,
        changed: 0,
        unreadable: 0,
        byKey: {},
        unbound: 0,
      };
      const place = (row: Record<string, unknown>): SealContext => ({
        table: spec.table,
        column,
        owner: sealedOwner(spec.owner.map((c) => row[`owner_${c}`])),
      });
      let after: Knex.Value[] | undefined;
      for (;;) {
        const query = db(spec.table)
          .select([...spec.key, ...spec.owner.map((c) => `${c} as owner_${c}`), `${column} as sealed_value`])
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
            plain = keyring.open(sealed, place(row));
          } catch {
            report.unreadable++;
            continue;
          }
          const legacy = keyring.isLegacy(sealed);
          if (options.dryRun) {
            report.resealed++;
            if (legacy) report.bound++;
            continue;
          }
          const where = Object.fromEntries(spec.key.map((k) => [k, row[k]]));
          const updated = await db(spec.table)
            .where(where)
            .andWhere(column, sealed)
            .update({ [column]: keyring.seal(plain, place(row)) });
          if (updated === 1) {
            report.resealed++;
            if (legacy) report.bound++;
          } else report.changed++;
        }
        if (rows.length < batchSize) break;
        const last = rows[rows.length - 1]!;
        after = spec.key.map((k) => last[k] as Knex.Value);
      }
      const counts = await db(spec.table)
        .select(db.raw("split_part(??, '.', 2) as key_id", [column]))
        .select(db.raw("split_part(??, '.', 1) = 'v1' as legacy", [column]))
        .count<Array<{ key_id: string; legacy: boolean; n: string | number }>>({ n: '*' })
        .whereNotNull(column)
        .groupBy('key_id', 'legacy');
      for (const c of counts) {
        report.byKey[c.key_id] = (report.byKey[c.key_id] ?? 0) + Number(c.n);
        if (c.legacy) report.unbound += Number(c.n);
      }
      reports.push(report);
    }
  }
  return reports;
}
