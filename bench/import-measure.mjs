#!/usr/bin/env node
/**
 * Measures an initial import against the simulators with their real limits on (hh.ru: 10
 * requests/s per client address, burst 10; Bitrix24: 2 requests/s per portal, burst 50, 50
 * commands per batch) and compares its pace with the bound those limits allow:
 *
 *   bound = min(hh rate / hh requests per negotiation, Bitrix24 rate × 50 / Bitrix24 commands per negotiation)
 *
 * where both "per negotiation" figures are counted from the simulators' request logs of this run.
 * Usage (after `npx tsc -b`): node bench/import-measure.mjs [negotiations=1000] [hh rate our client uses=10]
 * Prints the figures and writes them to bench/results/import-<negotiations>-hh<rate>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { World } from '../test/e2e/dist/test/world.js';

const negotiations = Number(process.argv[2] ?? 1000);
const clientRate = Number(process.argv[3] ?? 10);
const HH_RATE = 10;
const B24_RATE = 2;
const BATCH = 50;

const world = await World.start({
  hhRateLimit: { perSec: HH_RATE, burst: 10 },
  generate: { seed: 11, employers: 1, unpaidEmployers: 0, negotiations },
  env: { HH_RATE_PER_SEC: String(clientRate), HH_RATE_BURST: '5' },
});
try {
  const { hh, b24 } = world;
  const admin = [...hh.sim.store.managers.values()].find((m) => m.isAdmin);
  const memberId = await world.installPortal();
  await world.connect(memberId, admin.userId);
  await world.saveSettings(memberId, { responsibleUserId: 1, entityType: 'lead', sourceId: 'WEB', stageForResponse: 'NEW', stageForInvitation: 'IN_PROCESS' });
  // Let both buckets fill up again after the setup's calls: the run starts from a quiet portal.
  await new Promise((r) => setTimeout(r, 3000));
  const hhBefore = hh.sim.requests().length;
  const b24Before = b24.sim.requests(memberId).length;
  const started = Date.now();
  await world.requestImport(memberId);
  let last = 0;
  let done;
  for (;;) {
    const p = await world.progress(memberId);
    if (p.imported !== last) {
      last = p.imported;
      process.stdout.write(`\r${((Date.now() - started) / 1000).toFixed(1)} s: found ${p.found}, loaded ${p.loaded}, imported ${p.imported}   `);
    }
    if (p.state === 'finished') {
      done = p;
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write('\n');
  const hhRequests = hh.sim.requests().slice(hhBefore);
  const kindOf = (path) =>
    path.includes('/download/') ? 'pdf' : path.startsWith('/resumes/') ? 'resume' : path.endsWith('/messages') ? 'messages' : path.startsWith('/negotiations') ? 'lists' : 'vacancies';
  const byKind = {};
  for (const r of hhRequests) byKind[kindOf(r.path)] = (byKind[kindOf(r.path)] ?? 0) + 1;
  const b24Log = b24.sim.requests(memberId).slice(b24Before);
  const b24Requests = b24Log.filter((r) => r.kind === 'rest');
  const b24Commands = b24Log.filter((r) => r.kind === 'batch').length + b24Requests.filter((r) => r.method !== 'batch').length;
  const n = done.imported;
  const hhPerNegotiation = hhRequests.length / n;
  const b24PerNegotiation = b24Commands / n;
  const hhBound = HH_RATE / hhPerNegotiation;
  const b24Bound = (B24_RATE * BATCH) / b24PerNegotiation;
  const bound = Math.min(hhBound, b24Bound);
  const rate = n / seconds;
  // The design's bound (DESIGN §5): one resume and one PDF per negotiation plus list pages, no message reads.
  const idealPerNegotiation = (hhRequests.length - (byKind.messages ?? 0)) / n;
  const figures = {
    negotiations: n,
    seconds: Math.round(seconds * 10) / 10,
    entitiesPerSecond: Math.round(rate * 100) / 100,
    hh: { limitPerSec: HH_RATE, clientRatePerSec: clientRate, requests: hhRequests.length, perNegotiation: Math.round(hhPerNegotiation * 1000) / 1000, byKind, status429: hhRequests.filter((r) => r.status === 429).length },
    bitrix24: { limitPerSec: B24_RATE, requests: b24Requests.length, commands: b24Commands, perNegotiation: Math.round(b24PerNegotiation * 1000) / 1000, status503: b24Log.filter((r) => r.status === 503).length },
    bound: { hh: Math.round(hhBound * 100) / 100, bitrix24: Math.round(b24Bound * 100) / 100, entitiesPerSecond: Math.round(bound * 100) / 100, withoutMessageReads: Math.round((HH_RATE / idealPerNegotiation) * 100) / 100 },
    ofBound: `${Math.round((rate / bound) * 1000) / 10} %`,
    progress: done,
    at: new Date().toISOString(),
  };
  console.log(JSON.stringify(figures, null, 2));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`./results/import-${negotiations}-hh${clientRate}.json`, import.meta.url), `${JSON.stringify(figures, null, 2)}\n`);
} finally {
  await world.close();
}
