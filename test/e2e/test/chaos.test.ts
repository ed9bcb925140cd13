/**
 * The fault matrix (chaos.ts). `npm test` runs a representative subset at a small size (a
 * dependency restart, the portal's faults, hh.ru's faults, the poison message); `npm run test:chaos`
 * runs every case at 500 negotiations (HHB24_CHAOS_SIZE for more) and writes the results table that
 * docs/reliability.md shows (HHB24_CHAOS=full; HHB24_CHAOS_SIZE, HHB24_CHAOS_CASES=id,id to narrow).
 * The full matrix runs two replicas of each worker, the subset one (HHB24_REPLICAS for another
 * number); the replica cases name their own.
 */
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { CASES, type CaseResult, resultsTable, runCase } from './chaos.js';

const full = process.env['HHB24_CHAOS'] === 'full';
const size = Number(process.env['HHB24_CHAOS_SIZE'] ?? (full ? 500 : 80));
const chosen =
  process.env['HHB24_CHAOS_CASES']?.split(',') ??
  (full ? CASES.map((c) => c.id) : ['restart-nats', 'portal-faults', 'hh-faults', 'poison']);
const replicas = Number(process.env['HHB24_REPLICAS'] ?? (full ? 2 : 1));
const results: CaseResult[] = [];
// Each case is a whole import: the subset needs more than the usual per-file limit on a busy machine.
t.setTimeout(full ? 0 : 480_000);

for (const c of CASES.filter((x) => chosen.includes(x.id))) {
  t.test(`${c.id}: ${c.fault}`, { timeout: 0 }, async (t) => {
    const r = await runCase(c, size, replicas);
    results.push(r);
    t.comment(JSON.stringify({ ...r, wrong: r.wrong.slice(0, 3) }));
    t.same(
      r.failures,
      [],
      `${r.negotiations} negotiations in ${r.seconds} s: one lead each, nothing half-way, dead letters ${r.deadLetters.length}, both rate limits kept`,
    );
    t.equal(r.missing + r.duplicated, 0);
    // Written after every case, so a long run that is stopped keeps what it found.
    if (full)
      writeFileSync(
        new URL('../../../../docs/reliability-results.md', import.meta.url).pathname,
        `${resultsTable(results, size)}\n`,
      );
  });
}
