/**
 * Replicas, as a deployment runs them: two processes each of hh-connector, crm-writer and
 * timeline-renderer on the same durable consumers, Postgres and Redis, importing one portal with
 * both simulators' limits on. The import must come out exactly once (one lead and one activity per
 * negotiation), keep the portal's import window across the replicas, deliver each message once
 * (nothing waits on a redelivery), and draw the timeline in batches as one process would.
 */
import t from 'tap';
import { eventually } from '@hhb24/common/testing';
import type { RequestLogEntry } from '@hhb24/sim-b24';
import { checkPortal } from './expect.js';
import { LEAD_SETTINGS, oneManager, World } from './world.js';

const NEGOTIATIONS = 60;
const WINDOW = 8;

t.test('an import with two replicas of each worker', async (t) => {
  const world = await World.forTest(t, {
    children: ['hh-connector', 'crm-writer', 'timeline-renderer'],
    replicas: 2,
    hhRateLimit: { perSec: 50, burst: 20 },
    generate: oneManager(11, { vacanciesPerManager: 2, negotiations: NEGOTIATIONS }),
    env: { HH_RATE_PER_SEC: '45', HH_RATE_BURST: '10', HH_IMPORT_WINDOW: String(WINDOW) },
  });
  t.same(
    [...world.children.keys()].sort(),
    [
      'crm-writer',
      'crm-writer#2',
      'hh-connector',
      'hh-connector#2',
      'timeline-renderer',
      'timeline-renderer#2',
    ],
    'two processes of each worker',
  );
  const { hh, b24, admin } = world;
  const { memberId, settings } = await world.connectedPortal(LEAD_SETTINGS);
  const window = world.watchImportWindow(memberId);
  const done = await world.importAll(memberId, 240_000);
  const mostInFlight = await window.stop();
  t.equal(done.failed, 0, 'nothing failed');

  // Settled: every lead has its activity (drawn just after the import's last write).
  const ours = () => b24.sim.activities(memberId).filter((a) => a.clientId === 'hh-b24-dev');
  const leads = () => b24.sim.entities(memberId, 'lead').filter((l) => l['ORIGINATOR_ID'] === 'hh-b24');
  await eventually(
    () => leads().length > 0 && leads().every((l) => ours().some((a) => a.ownerId === Number(l['ID']))),
    { timeoutMs: 30_000, what: 'every lead to have its activity' },
  );
  const check = checkPortal(hh.sim, b24.sim, memberId, admin.id, settings);
  t.same(check.missing, [], 'every negotiation has its lead');
  t.same(check.duplicated, [], 'none has two');
  t.same(check.wrong, [], 'every field right');
  const perLead = new Map<number, number>();
  for (const a of ours()) perLead.set(a.ownerId, (perLead.get(a.ownerId) ?? 0) + 1);
  t.ok(
    leads().every((l) => perLead.get(Number(l['ID'])) === 1),
    'exactly one activity per lead',
  );
  t.ok(
    mostInFlight > 0 && mostInFlight <= WINDOW,
    `import steps in flight at most ${mostInFlight} ≤ ${WINDOW}`,
  );

  const refused = b24.sim.requests(memberId).filter((r) => r.error === 'QUERY_LIMIT_EXCEEDED');
  t.equal(refused.length, 0, 'the portal never refused a request for its limit');
  const hh429 = hh.sim.requests().filter((r) => r.status === 429);
  t.same(
    hh429.map((r) => `${r.at} ${r.path}`),
    [],
    'nor hh.ru',
  );

  // The activities went out in batches across the replicas: one process draws a portal's queue.
  // Each write request's entities are announced together; a replica drawing only the messages it
  // holds drew them in more requests than they were written in.
  const log = b24.sim.requests(memberId);
  const writes = batchesWith(log, 'crm.lead.add');
  const drawings = batchesWith(log, 'crm.activity.configurable.add');
  t.comment(
    `${log.filter((r) => r.kind === 'rest').length} portal requests, ${writes} writing leads, ${drawings} drawing activities`,
  );
  t.ok(
    drawings <= writes,
    `${ours().length} activities drawn in ${drawings} requests, leads written in ${writes}`,
  );

  const deliveries = await world.deliveries();
  for (const d of deliveries.filter((x) => x.messages > 0)) {
    t.ok(
      d.deliveries <= Math.ceil(d.messages * 1.02),
      `${d.consumer}: ${d.deliveries} deliveries for ${d.messages} messages`,
    );
  }
});

/**
 * The portal's batch requests with a command of `method`. The simulator logs a batch's commands,
 * then the request itself: the commands since the previous request are the batch's.
 */
function batchesWith(log: RequestLogEntry[], method: string): number {
  let n = 0;
  let commands: string[] = [];
  for (const r of [...log].sort((a, b) => a.seq - b.seq)) {
    if (r.kind === 'batch') commands.push(r.method);
    else {
      if (r.method === 'batch' && commands.includes(method)) n++;
      commands = [];
    }
  }
  return n;
}
