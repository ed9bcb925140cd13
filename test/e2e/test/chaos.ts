/**
 * The fault matrix: an initial import of `size` negotiations with both simulators' rate limits on,
 * new responses arriving by webhook meanwhile, and one fault thrown in when about a third is loaded.
 * Meanwhile a recruiter moves a few leads to the stage of hh.ru's «Интервью» (the two-way status is
 * on). After each case the run must settle to: every negotiation exactly one lead (fields right), no
 * negotiation, vacancy, import, outbox row or refused write left half-way, no dead letter but the
 * poison message, each recruiter's move on hh.ru once and no other hh.ru action (no echo of our own
 * writes), and the simulators' request logs showing both rate limits kept.
 *
 * Cases that restart or flush a dependency run against private Postgres, Redis and NATS
 * (@hhb24/private-deps); the others against the shared ones, isolated per run as every test is.
 */
import { type Knex, rpc, subjects } from '@hhb24/common';
import { eventually, sleep } from '@hhb24/common/testing';
import { checkPortal } from './expect.js';
import { DEPENDENCY_NAMES, PrivateDeps, locateBinaries } from '@hhb24/private-deps';
import { type ChildService, TWO_WAY_LEAD_SETTINGS, WORKERS, type Worker, World } from './world.js';

/** hh.ru's per-address limit in these runs, and the pace our client keeps (below it). */
const HH_LIMIT = { perSec: 50, burst: 20 };
const HH_CLIENT = { perSec: 45, burst: 10 };
/** Bitrix24's leaky bucket (the simulator's default): 2 requests/s drained, 50 deep. */
const B24_LIMIT = { drainPerSec: 2, burst: 50 };

/** Leads a recruiter moves to «Обработан» (hh.ru's «Интервью») during each case, one a second. */
const RECRUITER_MOVES = 6;

/** Progress on stderr with HHB24_CHAOS_VERBOSE=1 (a long run should show where it is). */
const say = process.env['HHB24_CHAOS_VERBOSE']
  ? (m: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${m}\n`)
  : () => undefined;

export interface Ctx {
  world: World;
  deps: PrivateDeps | null;
  memberId: string;
  /** What the fault did, for the results table. */
  notes: string[];
}

export interface ChaosCase {
  id: string;
  /** What is done, for the results table and docs/reliability.md. */
  fault: string;
  children: ChildService[];
  privateDeps?: boolean;
  /**
   * QUERY_LIMIT_EXCEEDED answers the case may meet: with the shared bucket lost (Redis flushed),
   * the portal's refusal is how the client learns the bucket is full; one per flush, no more.
   */
  portalRefusalsAllowed?: number;
  /** Dead letters the case must leave (the poison message), checked by payload. */
  poison?: boolean;
  /** Replicas of each worker the case starts with (default: the run's, see runCase). */
  replicas?: number;
  /** Thrown in when about a third of the import is loaded. */
  inject(ctx: Ctx): Promise<void>;
  /** After the import finished (e.g. what a person would do about lost webhooks). */
  after?(ctx: Ctx): Promise<void>;
}

const ALL_CHILDREN: ChildService[] = [
  'gateway',
  'settings',
  'hh-connector',
  'crm-writer',
  'timeline-renderer',
];

async function restart(ctx: Ctx, name: ChildService, signal: NodeJS.Signals): Promise<void> {
  const loaded = (await ctx.world.progress(ctx.memberId)).loaded;
  const how = await ctx.world.stopChild(name, signal);
  if (signal === 'SIGTERM' && how.code !== 0)
    throw new Error(`${name} did not stop cleanly on SIGTERM: ${JSON.stringify(how)}`);
  ctx.notes.push(`${name} ${signal} at ${loaded} loaded${signal === 'SIGTERM' ? ' (exit 0)' : ''}`);
  await sleep(1000);
  await ctx.world.startChild(name);
}

/** SIGKILLs a replica of a worker; `restart` starts it again at once. */
async function killReplica(ctx: Ctx, name: Worker, replica: number, restartIt: boolean): Promise<void> {
  const loaded = (await ctx.world.progress(ctx.memberId)).loaded;
  await ctx.world.killChild(name, replica);
  ctx.notes.push(`${name} replica ${replica} SIGKILL at ${loaded} loaded${restartIt ? '' : ' (left down)'}`);
  if (restartIt) await ctx.world.startChild(name, replica);
}

const timed = async (ctx: Ctx, what: string, fn: () => Promise<void>) => {
  const started = Date.now();
  await fn();
  ctx.notes.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)} s`);
};

export const CASES: ChaosCase[] = [
  ...(['hh-connector', 'crm-writer', 'gateway', 'settings', 'timeline-renderer'] as const).map(
    (name): ChaosCase => ({
      id: `kill-${name}`,
      fault: `SIGKILL ${name}, start it again`,
      children: ALL_CHILDREN,
      inject: (ctx) => restart(ctx, name, 'SIGKILL'),
    }),
  ),
  {
    id: 'restart-nats',
    fault: 'NATS killed (SIGKILL) and started again on its JetStream store, 2 s later',
    children: ALL_CHILDREN,
    privateDeps: true,
    inject: (ctx) =>
      timed(ctx, 'NATS down', async () => {
        await ctx.deps!.stopNats();
        await sleep(2000);
        await ctx.deps!.startNats();
      }),
  },
  {
    id: 'restart-postgres',
    fault: 'Postgres crashed (immediate stop) and started again, 2 s later',
    children: ALL_CHILDREN,
    privateDeps: true,
    inject: (ctx) =>
      timed(ctx, 'Postgres down', async () => {
        await ctx.deps!.stopPostgres('immediate');
        await sleep(2000);
        await ctx.deps!.startPostgres();
      }),
  },
  {
    id: 'flush-redis',
    fault: 'Redis FLUSHALL (locks, rate buckets, caches gone), twice 3 s apart',
    children: ALL_CHILDREN,
    privateDeps: true,
    portalRefusalsAllowed: 2,
    inject: async (ctx) => {
      await ctx.deps!.flushRedis();
      await sleep(3000);
      await ctx.deps!.flushRedis();
      ctx.notes.push('flushed twice');
    },
  },
  {
    id: 'portal-faults',
    fault: 'the portal answers 503 ×15, then 500 ×15, then expired_token for every token, three times',
    children: ALL_CHILDREN,
    inject: async (ctx) => {
      const { sim } = ctx.world.b24;
      sim.injectFault(ctx.memberId, { kind: 'http_error', status: 503, count: 15 });
      await sleep(3000);
      sim.injectFault(ctx.memberId, { kind: 'http_error', status: 500, count: 15 });
      await sleep(3000);
      let expired = 0;
      for (let i = 0; i < 3; i++) {
        expired += sim.expireTokens(ctx.memberId);
        await sleep(1500);
      }
      const errors = sim
        .requests(ctx.memberId)
        .filter(
          (r) =>
            r.status === 500 ||
            (r.status === 503 && r.error !== 'QUERY_LIMIT_EXCEEDED') ||
            r.error === 'expired_token',
        ).length;
      ctx.notes.push(`${errors} error answers, ${expired} tokens expired`);
    },
  },
  {
    id: 'hh-faults',
    fault: 'hh.ru answers 429 ×30 and 502 ×30; 5 webhooks dropped, 10 sent twice; «Новые отклики» afterwards',
    children: ALL_CHILDREN,
    inject: async (ctx) => {
      const { sim } = ctx.world.hh;
      sim.addFault({ kind: 'rate_limit', times: 30 });
      sim.addFault({ kind: 'error', status: 502, times: 30 });
      sim.addFault({ kind: 'drop_webhook', times: 5 });
      sim.addFault({ kind: 'duplicate_webhook', times: 10 });
      // Arrivals right now, so the webhook faults meet them.
      for (let i = 0; i < 16; i++) {
        arrive(ctx, 1000 + i);
        await sleep(100);
      }
    },
    // hh.ru does not send a dropped webhook again: «Новые отклики» (or the next reconciliation) finds them.
    after: async (ctx) => {
      const answer = await ctx.world.call(rpc.hhNewResponses, { memberId: ctx.memberId, repair: true });
      const dropped = ctx.world.hh.sim.deliveries().filter((d) => d.state === 'dropped').length;
      ctx.notes.push(`${dropped} webhooks dropped, «Новые отклики» found ${answer.newCount}`);
    },
  },
  {
    id: 'poison',
    fault: 'a message no consumer can make sense of (wrong types) on hh.negotiation.synced',
    children: ALL_CHILDREN,
    poison: true,
    inject: async (ctx) => {
      // Straight onto the stream: our publishers check payloads against the subject's schema and
      // would refuse it, so the poison stands for a publisher that does not (an older release).
      await ctx.world.nats.js.publish(
        ctx.world.naming.subject(subjects.hhNegotiationSynced),
        JSON.stringify(POISON),
        { msgID: `chaos-poison:${ctx.memberId}` },
      );
      ctx.notes.push('poison published');
    },
  },
  {
    id: 'kill-one-replica',
    fault: 'SIGKILL one replica of two of every worker, left down: the other finishes the import',
    children: ALL_CHILDREN,
    replicas: 2,
    inject: async (ctx) => {
      for (const name of WORKERS) await killReplica(ctx, name, 1, false);
    },
  },
  {
    id: 'kill-each-replica',
    fault: 'SIGKILL each replica of two of every worker in turn, each started again before the next',
    children: ALL_CHILDREN,
    replicas: 2,
    inject: async (ctx) => {
      for (const replica of [1, 2])
        for (const name of WORKERS) {
          await killReplica(ctx, name, replica, true);
          await sleep(1000);
        }
    },
  },
  {
    id: 'scale-1-to-3',
    fault: 'one replica of every worker, scaled to three mid-import',
    children: ALL_CHILDREN,
    replicas: 1,
    inject: async (ctx) => {
      const loaded = (await ctx.world.progress(ctx.memberId)).loaded;
      for (const name of WORKERS) await ctx.world.scale(name, 3);
      ctx.notes.push(`scaled to 3 at ${loaded} loaded`);
    },
  },
  {
    id: 'rolling-restart',
    fault: 'rolling restart of every service: SIGTERM one replica at a time, started again before the next',
    children: ALL_CHILDREN,
    replicas: 2,
    inject: async (ctx) => {
      const loaded = (await ctx.world.progress(ctx.memberId)).loaded;
      for (const name of ALL_CHILDREN)
        for (const replica of ctx.world.replicas(name)) {
          const how = await ctx.world.stopChild(name, 'SIGTERM', replica);
          if (how.code !== 0)
            throw new Error(
              `${name} replica ${replica} did not stop cleanly on SIGTERM: ${JSON.stringify(how)}`,
            );
          await ctx.world.startChild(name, replica);
        }
      ctx.notes.push(`every replica restarted from ${loaded} loaded (each exit 0)`);
    },
  },
  {
    id: 'sigterm',
    fault: 'SIGTERM to hh-connector and crm-writer under load (graceful stop), start again',
    children: ALL_CHILDREN,
    inject: async (ctx) => {
      await restart(ctx, 'hh-connector', 'SIGTERM');
      await restart(ctx, 'crm-writer', 'SIGTERM');
    },
  },
];

/** Valid JSON that no consumer can make sense of. */
const POISON = { memberId: 42, negotiationId: null, version: 'poison', snapshot: 'not a snapshot' };

export interface CaseResult {
  id: string;
  fault: string;
  negotiations: number;
  seconds: number;
  notes: string[];
  /** Negotiations without a lead, with more than one, or with a wrong field. */
  missing: number;
  duplicated: number;
  wrong: string[];
  /** The app's timeline activities, and the leads with exactly one. */
  activities: { total: number; leadsWithOne: number };
  limbo: Record<string, number>;
  deadLetters: Array<{ consumer: string; reason: string; payload: string }>;
  /** Replicas of each worker at the start and at the end. */
  replicas: { start: number; end: Record<Worker, number> };
  /** The most import steps of the portal in flight at once, and the window that bounds them. */
  importWindow: { most: number; limit: number };
  /** crm-writer's and timeline-renderer's deliveries per message (1.00: none delivered twice). */
  deliveriesPerMessage: Record<string, number>;
  /**
   * The two-way status: the recruiter's moves, those hh.ru shows, hh.ru actions that succeeded (one
   * per move), and actions tried on negotiations nobody moved in the portal (echoes).
   */
  twoWay: { moved: number; onHh: number; actions: number; echoes: number };
  hh: { requests: number; status429: number; injected429: number; peakPerSec: number; limit: string };
  b24: { requests: number; queryLimitExceeded: number; peakIn10s: number; limit: string };
  ok: boolean;
  failures: string[];
}

/** The most requests inside any window of `windowMs` (a sliding count over sorted timestamps). */
export function peak(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let from = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[from]! >= windowMs) from++;
    best = Math.max(best, i - from + 1);
  }
  return best;
}

/**
 * A recruiter moving leads of responses to «Обработан», one a second, while the case runs: each move
 * must reach hh.ru as one action. Returns the negotiations moved.
 */
async function recruiterMoves(ctx: Ctx, moves: number, going: () => boolean): Promise<string[]> {
  const { hh, b24 } = ctx.world;
  const moved: string[] = [];
  while (moved.length < moves && going()) {
    const leads = new Map(
      b24.sim
        .entities(ctx.memberId, 'lead')
        .filter((l) => l['ORIGINATOR_ID'] === 'hh-b24' && l['STATUS_ID'] === 'NEW')
        .map((l) => [String(l['ORIGIN_ID']), Number(l['ID'])]),
    );
    const n = [...hh.sim.store.negotiations.values()].find(
      (x) => x.employerState === 'response' && leads.has(x.id) && !moved.includes(x.id),
    );
    if (n) {
      b24.sim.moveStage(ctx.memberId, 'lead', leads.get(n.id)!, 'PROCESSED', { userId: 2 });
      moved.push(n.id);
    }
    await sleep(1000);
  }
  return moved;
}

/** What is left half-way in our tables; all zero once the run settled. */
async function limbo(world: World, memberId: string): Promise<Record<string, number>> {
  const db = world.db;
  const count = async (q: Knex.QueryBuilder) =>
    Number((await q.count<Array<{ n: string | number }>>({ n: '*' }))[0]?.n ?? 0);
  const negotiations = () => db('hh_negotiations').where({ member_id: memberId });
  return {
    negotiationsNotReady: await count(negotiations().whereNot({ status: 'ready' })),
    negotiationsNotWritten: await count(
      negotiations().where((q) => {
        void q
          .whereNull('crm_status')
          .orWhereNot({ crm_status: 'written' })
          .orWhereRaw('crm_version < version');
      }),
    ),
    vacancyStepsPending: await count(
      db('hh_vacancies').where({ member_id: memberId, import_state: 'pending' }),
    ),
    importsUnfinished: await count(db('hh_imports').where({ member_id: memberId }).whereNull('finished_at')),
    webhooksUnprocessed: await count(db('hh_webhook_deliveries').whereNull('processed_at')),
    drawingsWaiting: await count(db('tl_drawings').where({ member_id: memberId })),
    outbox: await count(db('outbox')),
    crmFailures: await count(db('crm_failures')),
  };
}

/** A new response (or every fourth, an invitation) on one of the admin's vacancies: a webhook. */
function arrive(ctx: Ctx, i: number): void {
  const { sim } = ctx.world.hh;
  const vacancies = [...sim.store.vacancies.values()].filter(
    (v) => !v.archived && sim.store.managers.get(v.managerId)?.isAdmin,
  );
  const vacancyId = vacancies[i % vacancies.length]!.id;
  if (i % 4 === 3) sim.invite({ vacancyId });
  else sim.respond({ vacancyId });
}

/** Postgres, Redis and NATS of the case's own, from this machine's programs. */
async function startPrivateDeps(): Promise<PrivateDeps> {
  const { binaries, missing } = locateBinaries(['postgres', 'redis', 'nats']);
  if (missing.length > 0)
    throw new Error(
      `the fault matrix starts its own servers: ${missing.map((m) => `${DEPENDENCY_NAMES[m.dependency]}: ${m.problem} (${m.install})`).join('; ')}`,
    );
  const deps = PrivateDeps.create({ purpose: 'chaos', binaries });
  await deps.start(['postgres', 'redis', 'nats']);
  return deps;
}

/** The import window of these runs (hh-connector's default). */
const IMPORT_WINDOW = 32;

/** `replicas`: of each worker, for cases that do not name their own. */
export async function runCase(c: ChaosCase, size: number, replicas = 1, seed = 7): Promise<CaseResult> {
  say(`${c.id}: starting`);
  const deps = c.privateDeps ? await startPrivateDeps() : null;
  let world: World | null = null;
  try {
    world = await World.start({
      children: c.children,
      replicas: c.replicas ?? replicas,
      hhRateLimit: HH_LIMIT,
      generate: {
        seed,
        employers: 1,
        unpaidEmployers: 0,
        managersPerEmployer: 2,
        vacanciesPerManager: Math.max(2, Math.ceil(size / 150)),
        negotiations: size,
        heavyApplicantResponses: 5,
        tombstones: 2,
      },
      env: {
        ...deps?.env,
        HH_RATE_PER_SEC: String(HH_CLIENT.perSec),
        HH_RATE_BURST: String(HH_CLIENT.burst),
        SHUTDOWN_TIMEOUT_MS: '8000',
        HH_IMPORT_WINDOW: String(IMPORT_WINDOW),
        // A move whose event was lost (the gateway down) is found by the stage check: within the settling wait.
        CRM_STAGE_CHECK_SEC: '15',
      },
    });
    return await drive(c, world, deps, size, c.replicas ?? replicas);
  } finally {
    await world?.close().catch(() => undefined);
    await deps?.close();
  }
}

async function drive(
  c: ChaosCase,
  world: World,
  deps: PrivateDeps | null,
  size: number,
  replicas: number,
): Promise<CaseResult> {
  const { hh, b24 } = world;
  // hh.ru's 2,000 resume views a day would park an import of a few thousand (correctly, but the
  // matrix is about faults, not about waiting for tomorrow's views).
  hh.sim.configure({ resumeViewsPerDay: Math.max(2000, size * 2) });
  const { admin } = world;
  const { memberId, settings } = await world.connectedPortal(TWO_WAY_LEAD_SETTINGS);
  // The installer's event bindings, robots and placements: the portal tells us of a person's moves.
  await world.registerHandlers(memberId);
  const ctx: Ctx = { world, deps, memberId, notes: [] };
  const started = Date.now();
  const hhFrom = hh.sim.requests().length;
  const window = world.watchImportWindow(memberId);
  await world.requestImport(memberId);
  say(`${c.id}: import requested`);

  // New responses and invitations by webhook all through the import, the fault included.
  const arrivals = Math.max(30, Math.round(size / 20));
  let arriving = true;
  const arriver = (async () => {
    for (let i = 0; i < arrivals && arriving; i++) {
      arrive(ctx, i);
      await sleep(400);
    }
  })();

  // Generous: after the portal's fault bursts the writers wait out an open breaker (15 s) and their
  // retry back-off, and CI runs other files beside this one. The checks below are what matters.
  const timeout = 240_000 + size * 400;
  await eventually(async () => (await world.progress(memberId)).loaded >= Math.round(size / 3), {
    timeoutMs: timeout,
    intervalMs: 200,
    what: 'a third of the import loaded',
  });
  say(`${c.id}: injecting`);
  let moving = true;
  const mover = recruiterMoves(ctx, RECRUITER_MOVES, () => moving);
  await c.inject(ctx);
  say(`${c.id}: injected ${ctx.notes.join('; ')}`);
  await eventually(async () => (await world.progress(memberId).catch(() => null))?.state === 'finished', {
    timeoutMs: timeout,
    intervalMs: 500,
    what: 'the import to finish',
  });
  say(`${c.id}: import finished`);
  const mostInFlight = await window.stop();
  arriving = false;
  moving = false;
  await arriver;
  const moved = await mover;
  await c.after?.(ctx);

  // Settled: every negotiation hh.ru shows has its lead with its activity and nothing is left
  // half-way (webhooks still on their way and retries after the fault need a moment).
  const activitiesDrawn = () => {
    const owners = new Set(
      b24.sim
        .activities(memberId)
        .filter((a) => a.clientId === 'hh-b24-dev')
        .map((a) => a.ownerId),
    );
    return b24.sim
      .entities(memberId, 'lead')
      .every((l) => l['ORIGINATOR_ID'] !== 'hh-b24' || owners.has(Number(l['ID'])));
  };
  const settled = await eventually(
    async () => {
      const check = checkPortal(hh.sim, b24.sim, memberId, admin.id, settings);
      const left = await limbo(world, memberId);
      const onHh = moved.every((id) => hh.sim.store.negotiations.get(id)?.employerState === 'interview');
      return check.missing.length === 0 &&
        Object.values(left).every((n) => n === 0) &&
        activitiesDrawn() &&
        onHh
        ? { check, left }
        : null;
    },
    { timeoutMs: 60_000, intervalMs: 1000, what: 'the run to settle' },
  ).catch(async () => ({
    check: checkPortal(hh.sim, b24.sim, memberId, admin.id, settings),
    left: await limbo(world, memberId),
  }));
  const seconds = (Date.now() - started) / 1000;
  // A moment more: nothing must arrive twice late.
  await sleep(1500);
  const check = checkPortal(hh.sim, b24.sim, memberId, admin.id, settings);

  const leads = b24.sim.entities(memberId, 'lead').filter((r) => r['ORIGINATOR_ID'] === 'hh-b24');
  const acts = b24.sim.activities(memberId).filter((a) => a.clientId === 'hh-b24-dev');
  const perLead = new Map<number, number>();
  for (const a of acts) perLead.set(a.ownerId, (perLead.get(a.ownerId) ?? 0) + 1);
  const leadsWithOne = leads.filter((l) => perLead.get(Number(l['ID'])) === 1).length;

  const deadLetters = await world
    .db('dead_letters')
    .select<CaseResult['deadLetters']>('consumer', 'reason', 'payload');
  const hhLog = hh.sim.requests().slice(hhFrom);
  const perMessage = Object.fromEntries(
    (await world.deliveries().catch(() => []))
      .filter((d) => /_(HH\/crm-writer|CRM\/timeline-renderer)$/.test(d.consumer) && d.messages > 0)
      .map((d) => [d.consumer.split('_').pop()!, Math.round((d.deliveries / d.messages) * 100) / 100]),
  );
  const b24Log = b24.sim.requests(memberId).filter((r) => r.kind !== 'batch');
  // hh.ru's negotiation actions are PUTs on /negotiations/{action}/{id}.
  const actions = hhLog.filter((r) => r.method === 'PUT');
  const actionOn = (r: (typeof actions)[number]) => r.path.split('/').pop()!;
  const result: CaseResult = {
    id: c.id,
    fault: c.fault,
    negotiations: check.expected,
    seconds: Math.round(seconds),
    notes: ctx.notes,
    missing: check.missing.length,
    duplicated: check.duplicated.length,
    wrong: check.wrong,
    activities: { total: acts.length, leadsWithOne },
    replicas: {
      start: replicas,
      end: Object.fromEntries(WORKERS.map((w) => [w, world.replicas(w).length])) as Record<Worker, number>,
    },
    importWindow: { most: mostInFlight, limit: IMPORT_WINDOW },
    deliveriesPerMessage: perMessage,
    twoWay: {
      moved: moved.length,
      onHh: moved.filter((id) => hh.sim.store.negotiations.get(id)?.employerState === 'interview').length,
      actions: actions.filter((r) => r.status < 300).length,
      echoes: actions.filter((r) => !moved.includes(actionOn(r))).length,
    },
    limbo: settled.left,
    deadLetters,
    hh: {
      requests: hhLog.length,
      status429: hhLog.filter((r) => r.status === 429).length,
      // Injected 429s are the fault, not our pace: the simulator's log marks them.
      injected429: hhLog.filter((r) => r.status === 429 && r.fault === 'rate_limit').length,
      // By arrival (the answer's time less its duration), as the simulator's bucket judges them:
      // answers can leave together (PDFs drawn one after another) and fill one second by `at`.
      peakPerSec: peak(
        hhLog.filter((r) => r.status !== 429).map((r) => Date.parse(r.at) - r.ms),
        1000,
      ),
      limit: `${HH_LIMIT.perSec}/s, burst ${HH_LIMIT.burst}`,
    },
    b24: {
      requests: b24Log.length,
      queryLimitExceeded: b24Log.filter((r) => r.error === 'QUERY_LIMIT_EXCEEDED').length,
      peakIn10s: peak(
        b24Log.filter((r) => r.kind === 'rest' && r.error !== 'QUERY_LIMIT_EXCEEDED').map((r) => r.at),
        10_000,
      ),
      limit: `${B24_LIMIT.drainPerSec}/s, burst ${B24_LIMIT.burst}`,
    },
    ok: false,
    failures: [],
  };
  const f = result.failures;
  if (result.missing)
    f.push(`${result.missing} negotiations without a lead: ${check.missing.slice(0, 5).join(', ')}`);
  if (result.duplicated)
    f.push(
      `${result.duplicated} negotiations with more than one lead: ${check.duplicated.slice(0, 5).join(', ')}`,
    );
  if (check.foreign.length) f.push(`${check.foreign.length} leads of negotiations the account does not see`);
  if (result.wrong.length) f.push(`wrong fields: ${result.wrong.slice(0, 3).join('; ')}`);
  if (leadsWithOne !== leads.length)
    f.push(`${leads.length - leadsWithOne} leads without exactly one activity`);
  for (const [k, n] of Object.entries(result.limbo)) if (n) f.push(`limbo: ${k} = ${n}`);
  const { twoWay } = result;
  if (twoWay.moved < RECRUITER_MOVES)
    f.push(`the recruiter found ${twoWay.moved} of ${RECRUITER_MOVES} leads to move`);
  if (twoWay.onHh !== twoWay.moved || twoWay.actions !== twoWay.moved)
    f.push(
      `two-way: ${twoWay.moved} moved in the portal, ${twoWay.onHh} on hh.ru, ${twoWay.actions} hh.ru actions succeeded`,
    );
  if (twoWay.echoes)
    f.push(
      `two-way: ${twoWay.echoes} hh.ru actions on negotiations nobody moved: ${actions
        .filter((r) => !moved.includes(actionOn(r)))
        .slice(0, 3)
        .map((r) => `${r.path} ${r.status}`)
        .join(', ')}`,
    );
  if (mostInFlight > IMPORT_WINDOW)
    f.push(`${mostInFlight} import steps in flight at once, the window is ${IMPORT_WINDOW}`);
  const poison = deadLetters.filter((d) => JSON.parse(d.payload)?.version === 'poison');
  if (c.poison ? poison.length !== 1 || deadLetters.length !== 1 : deadLetters.length !== 0) {
    f.push(
      `dead letters: ${JSON.stringify(deadLetters.map((d) => ({ consumer: d.consumer, reason: d.reason, payload: d.payload.slice(0, 80) })))}`,
    );
  }
  if (result.hh.status429 > result.hh.injected429)
    f.push(`hh.ru answered 429 ${result.hh.status429} times, ${result.hh.injected429} injected`);
  if (result.hh.peakPerSec > HH_LIMIT.perSec + HH_LIMIT.burst)
    f.push(`hh.ru: ${result.hh.peakPerSec} requests in one second`);
  if (result.b24.queryLimitExceeded > (c.portalRefusalsAllowed ?? 0))
    f.push(`the portal answered QUERY_LIMIT_EXCEEDED ${result.b24.queryLimitExceeded} times`);
  if (result.b24.peakIn10s > B24_LIMIT.burst + B24_LIMIT.drainPerSec * 10)
    f.push(`the portal: ${result.b24.peakIn10s} requests in 10 s`);
  result.ok = f.length === 0;
  return result;
}

/** The results as docs/reliability.md shows them. */
export function resultsTable(results: CaseResult[], size: number): string {
  const rows = results.map((r) => {
    const limbo = Object.values(r.limbo).reduce((a, b) => a + b, 0);
    const end = Object.values(r.replicas.end);
    const replicas = end.every((n) => n === r.replicas.start)
      ? String(r.replicas.start)
      : `${r.replicas.start} → ${end.join('/')}`;
    const perMessage = Object.entries(r.deliveriesPerMessage)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ');
    return `| ${r.id} | ${r.ok ? 'pass' : 'FAIL'} | ${replicas} | ${r.negotiations} | ${r.seconds} | ${r.missing} / ${r.duplicated} | ${limbo} | ${r.deadLetters.length} | ${r.activities.total} | ${r.importWindow.most} / ${r.importWindow.limit} | ${perMessage} | ${r.twoWay.moved} → ${r.twoWay.onHh} / ${r.twoWay.actions} / ${r.twoWay.echoes} | ${r.hh.status429} (${r.hh.injected429} injected), peak ${r.hh.peakPerSec}/s | ${r.b24.queryLimitExceeded}, peak ${r.b24.peakIn10s}/10 s | ${r.notes.join('; ')}${r.failures.length ? ` — ${r.failures.join('; ')}` : ''} |`;
  });
  return [
    `Import of ${size} generated negotiations per case (plus new ones by webhook during it); hh.ru limited to ${HH_LIMIT.perSec}/s per address (burst ${HH_LIMIT.burst}), the portal to ${B24_LIMIT.drainPerSec}/s (burst ${B24_LIMIT.burst}). «replicas»: processes of each worker (hh-connector, crm-writer, timeline-renderer; start → end when the case changed them); «steps in flight»: the most import steps of the portal queued at once, against its window; «deliveries / message»: JetStream's deliveries of crm-writer's and timeline-renderer's messages per message; «two-way»: leads a recruiter moved to «Обработан» → negotiations hh.ru shows at «Интервью» / hh.ru actions that succeeded / actions on negotiations nobody moved (echoes).`,
    '',
    '| case | verdict | replicas | negotiations | seconds | missing / duplicated | limbo rows | dead letters | activities | steps in flight / window | deliveries / message | two-way | hh.ru 429 | portal QUERY_LIMIT_EXCEEDED | what happened |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
