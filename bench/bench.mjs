#!/usr/bin/env node
/**
 * The benchmark (`npm run bench`): the figures of docs/performance.md, each computed from what the
 * two simulators recorded (hh.ru's request and webhook-delivery logs, Bitrix24's request log and the
 * entities and activities it holds), never from the services' own counters.
 *
 * Every service runs as its own process (its main.js, as in a deployment), so each one's peak RSS
 * and CPU time are read from /proc; the simulators run in this process. Postgres, Redis and NATS
 * are the local ones, isolated per run by schema / prefix as the cross-service tests do.
 *
 * Scenarios (all by default; `--scenarios` picks some):
 *   import   one portal, real limits on, at each of --sizes negotiations: pace against the bound
 *   floor    the bare two-hop pipeline on the same Postgres and NATS (bench/floor.mjs), at each of
 *            --floor-sizes items (default: the mesh sizes): the floor of the mesh's own infrastructure
 *   mesh     the same with every limit off, at each of --mesh-sizes: what the services themselves do,
 *            with Postgres statements (counted on the wire, bench/pg-count.mjs), the run's own
 *            database's transaction and row counters, and NATS messages (the streams' counters) per negotiation
 *   latency  --arrivals new responses/invitations by webhook, one every 1/--pace s: webhook → entity (→ activity)
 *   portals  --portals portals importing --per-portal negotiations each at once: total time and fairness
 *   pdf      --pdfs new responses one after another, each with a --pdf-mb MB resume PDF, real limits:
 *            what the file adds to each service's peak RSS (the peak reset before, read after)
 *   egress   --egress-portals portals × --egress-per-portal negotiations at once, hh.ru limiting per
 *            client address as it does, from each of --egress address counts (1: one shared budget,
 *            HH_RATE_SCOPE=global; n > 1: HH_EGRESS_ADDRESSES=127.0.0.1…127.0.0.n, HH_RATE_SCOPE=egress)
 *   analytics one portal seeded with --analytics-size negotiations (default 100,000) and their state
 *            history, written straight into hh-connector's tables before the clock starts; then
 *            «Аналитика» asked --analytics-runs times through the gateway as the page asks it (the
 *            default 30 days by day, and the whole year by week), and its figures (rpc.hh.analytics)
 *            and SQL alone: median and p95 of each. Its CSV files are made in the browser from the
 *            rows the page carries, so the page's answer is the CSV's too
 *
 * Options: --quick (small sizes, to try it), --replicas <n> (processes of each of hh-connector,
 * crm-writer and timeline-renderer, as a deployment scales them; default 1, and with more the
 * figures go to bench/results-replicas-<n>.json unless --out says otherwise), --out <file> (default bench/results.json),
 * --profile <dir> (each service writes a CPU profile there; `node bench/profile.mjs <dir>`),
 * --node-options=<flags> (NODE_OPTIONS of every service; by default the deployment's, from
 * deploy/base/shared.env, and `--node-options=` runs them without). A run replaces only the figures of the
 * scenarios and sizes it ran; the others stay in the file. docs/performance.md reads them.
 */
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { checkPortal, visibleNegotiations } from '../test/e2e/dist/test/expect.js';
import { World } from '../test/e2e/dist/test/world.js';
import knexFactory from 'knex';

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'import,floor,mesh,latency,pdf,portals,egress,analytics' },
    'analytics-size': { type: 'string' },
    'analytics-runs': { type: 'string' },
    sizes: { type: 'string' },
    'mesh-sizes': { type: 'string' },
    'floor-sizes': { type: 'string' },
    'without-pg-count': { type: 'boolean', default: false },
    arrivals: { type: 'string' },
    pace: { type: 'string' },
    portals: { type: 'string' },
    'per-portal': { type: 'string' },
    quick: { type: 'boolean', default: false },
    replicas: { type: 'string', default: '1' },
    out: { type: 'string' },
    profile: { type: 'string' },
    'node-options': { type: 'string' },
    'portals-time-limit': { type: 'string' },
    egress: { type: 'string' },
    'egress-rate': { type: 'string' },
    'egress-portals': { type: 'string' },
    'egress-per-portal': { type: 'string' },
    pdfs: { type: 'string' },
    'pdf-mb': { type: 'string' },
  },
});
const list = (s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const numbers = (s) =>
  list(s).map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive whole number: ${x}`);
    return n;
  });
const REPLICAS = numbers(args.replicas)[0];
args.out ??= new URL(
  REPLICAS > 1 ? `./results-replicas-${REPLICAS}.json` : './results.json',
  import.meta.url,
).pathname;
const scenarios = list(args.scenarios);
for (const s of scenarios)
  if (!['import', 'floor', 'mesh', 'latency', 'portals', 'egress', 'analytics', 'pdf'].includes(s))
    throw new Error(`unknown scenario ${s} (import, floor, mesh, latency, portals, egress, analytics, pdf)`);
const opts = {
  sizes: numbers(args.sizes ?? (args.quick ? '200' : '1000,10000')),
  meshSizes: numbers(args['mesh-sizes'] ?? (args.quick ? '500' : '1000,10000')),
  floorSizes: numbers(args['floor-sizes'] ?? args['mesh-sizes'] ?? (args.quick ? '500' : '1000,10000')),
  arrivals: numbers(args.arrivals ?? (args.quick ? '40' : '200'))[0],
  pace: Number(args.pace ?? 0.5),
  portals: numbers(args.portals ?? (args.quick ? '10' : '100'))[0],
  perPortal: numbers(args['per-portal'] ?? (args.quick ? '20' : '100'))[0],
  egress: numbers(args.egress ?? '1,2'),
  egressRate: numbers(args['egress-rate'] ?? '10')[0],
  egressPortals: numbers(args['egress-portals'] ?? (args.quick ? '4' : '12'))[0],
  egressPerPortal: numbers(args['egress-per-portal'] ?? (args.quick ? '10' : '30'))[0],
  analyticsSize: numbers(args['analytics-size'] ?? (args.quick ? '10000' : '100000'))[0],
  analyticsRuns: numbers(args['analytics-runs'] ?? (args.quick ? '20' : '60'))[0],
  pdfs: numbers(args.pdfs ?? '3')[0],
  pdfMb: numbers(args['pdf-mb'] ?? '5')[0],
};
/** Local addresses for a run with `n` egress addresses: on Linux every 127.x.y.z is the loopback's. */
const egressAddresses = (n) => Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);

/** The simulators' real limits (docs/simulators.md) and the targets of the issue. */
const HH = { perSec: 10, burst: 10 };
/** hh-connector's pace per budget in a deployment (HH_RATE_PER_SEC in deploy/base/hh-connector/service.env). */
const HH_DEPLOYED_SHARE = 0.9;
const B24 = { perSec: 2, burst: 50, batch: 50 };
const TARGET = {
  ofBound: 0.9,
  meshPerSec: 300,
  meshOfFloor: 0.35,
  meshCpuMsPerNegotiation: 4,
  statementsPerNegotiation: 12,
  natsMessagesPerNegotiation: 4,
  rssMb: 120,
  latencyP95Ms: 2000,
  fairness: 1.5,
  portalsOfBound: 1.1,
  analyticsMs: 300,
  /** What one resume PDF may add to a service's peak RSS, in multiples of its size. */
  pdfRssOfSize: 2,
};
/** Every service the mesh is made of, each a process of its own. */
const SERVICES = ['gateway', 'settings', 'hh-connector', 'crm-writer', 'timeline-renderer'];
/** With the limits off our own clients must not hold back either. */
const UNLIMITED_ENV = {
  HH_RATE_PER_SEC: '1000',
  HH_RATE_BURST: '1000',
  B24_RATE_PER_SEC: '100',
  B24_BURST: '1000',
};
const SETTINGS = {
  responsibleUserId: 1,
  entityType: 'lead',
  sourceId: 'WEB',
  stageForResponse: 'NEW',
  stageForInvitation: 'IN_PROCESS',
};
const OWNER_LEAD = 1;
const RESUME_VIEWS_PER_DAY = 100_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, digits = 2) =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits;
const load = () => loadavg().map((x) => round(x));
const say = (line) => process.stderr.write(`${line}\n`);
/** Progress on one line in a terminal; a line every 15 s into a log. */
let lastProgress = 0;
function progress(text, final = false) {
  const tty = process.stderr.isTTY;
  if (!final && Date.now() - lastProgress < (tty ? 200 : 15_000)) return;
  lastProgress = Date.now();
  process.stderr.write(tty ? `\r  ${text}   ${final ? '\n' : ''}` : `  ${text}\n`);
}

// ---- per-process figures from /proc ------------------------------------------------------------

const TICKS = 100; // USER_HZ on Linux
function proc(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return {
      cpuSec: (Number(f[11]) + Number(f[12])) / TICKS,
      rssMb: kb('VmRSS') / 1024,
      peakRssMb: kb('VmHWM') / 1024,
    };
  } catch {
    return null;
  }
}
/** Per service: CPU time of all its replicas together, and the biggest peak RSS of one of them. */
const services = (world) => {
  const out = {};
  for (const [key, c] of world.children) {
    const name = key.split('#')[0];
    const p = proc(c.child.pid);
    if (!p) continue;
    const sum = (out[name] ??= { cpuSec: 0, rssMb: 0, peakRssMb: 0, replicas: 0 });
    sum.cpuSec += p.cpuSec;
    sum.rssMb = Math.max(sum.rssMb, p.rssMb);
    sum.peakRssMb = Math.max(sum.peakRssMb, p.peakRssMb);
    sum.replicas++;
  }
  return out;
};
function selfCpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The NODE_OPTIONS a deployment gives every service (deploy/base/shared.env; docker-compose.yml says the same). */
function deployedNodeOptions() {
  const env = readFileSync(new URL('../deploy/base/shared.env', import.meta.url), 'utf8');
  return /^NODE_OPTIONS=(.*)$/m.exec(env)?.[1]?.trim() ?? '';
}
/** The outbox relay's poll of a deployment (deploy/base/shared.env), not the tests' quicker one. */
function deployedOutboxPollMs() {
  const env = readFileSync(new URL('../deploy/base/shared.env', import.meta.url), 'utf8');
  return /^OUTBOX_POLL_MS=(\d+)$/m.exec(env)?.[1] ?? '200';
}

/** The services' V8 flags: those of a deployment unless --node-options says otherwise, so that their memory is what a deployment's would be. */
const serviceNodeOptions = args['node-options'] ?? deployedNodeOptions();

/** NODE_OPTIONS of every service: the V8 flags above, and the profiler preload with --profile. */
function nodeOptions() {
  const flags = [
    serviceNodeOptions,
    args.profile ? `--import=${new URL('./cpu-profile.mjs', import.meta.url).href}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return {
    ...(flags ? { NODE_OPTIONS: flags } : {}),
    ...(args.profile ? { BENCH_PROFILE_DIR: args.profile } : {}),
  };
}

/** With --profile: each service writes its CPU profile on SIGUSR2 (bench/cpu-profile.mjs). */
async function collectProfiles(world) {
  mkdirSync(args.profile, { recursive: true });
  for (const c of world.children.values()) c.child.kill('SIGUSR2');
  await Promise.all(
    [...world.children.values()].map((c) => c.waitForLine(/"msg":"cpu profile written"/, 30_000)),
  );
  say(`CPU profiles in ${args.profile} (summary: node bench/profile.mjs ${args.profile})`);
}

// ---- one world, one portal per hh.ru account -----------------------------------------------------

async function startWorld({ limits, generate, env = {}, hhBy = 'address', hhLimit = HH }) {
  const world = await World.start({
    hhRateLimit: limits ? hhLimit : 'off',
    b24RateLimit: limits,
    generate,
    env: {
      OUTBOX_POLL_MS: deployedOutboxPollMs(),
      ...(limits ? {} : UNLIMITED_ENV),
      ...nodeOptions(),
      ...env,
    },
    children: SERVICES,
    replicas: REPLICAS,
    // As a deployment starts them (`node <main.js>`): without the source maps the tests turn on.
    childNodeArgs: [],
  });
  if (limits && hhBy !== 'address') world.hh.sim.configure({ rateLimit: { by: hhBy } });
  // hh.ru's daily resume views (2,000 per manager in the simulator) would park a 10,000 import
  // for days: the runs measure pace, so the manager here has views enough (docs/performance.md).
  world.hh.sim.configure({ resumeViewsPerDay: RESUME_VIEWS_PER_DAY });
  running = world;
  return world;
}

/** Interrupted: the services are processes of their own, stop them (and drop the run's schema and streams) before leaving. */
let running = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    say(`${signal}: stopping the services`);
    void (running?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

/** A portal connected to the admin of `employer`, with leads as the target; the negotiations it must end up with. */
async function portalFor(world, employer) {
  const admin = [...world.hh.sim.store.managers.values()].find(
    (m) => m.employerId === employer.id && m.isAdmin,
  );
  const memberId = await world.installPortal();
  await world.connect(memberId, admin.userId);
  const settings = await world.saveSettings(memberId, SETTINGS);
  return { memberId, admin, settings, expected: visibleNegotiations(world.hh.sim, admin.id) };
}

const leadsOf = (world, memberId) => world.b24.sim.portal(memberId).leads;

/** Waits until the portal holds as many leads as hh.ru has negotiations for it (the simulator's count, not ours). */
async function waitForLeads(world, portals, { idleMs, onTick, until = Infinity }) {
  let lastCount = -1;
  let lastChange = Date.now();
  for (;;) {
    const count = portals.reduce((s, p) => s + leadsOf(world, p.memberId).size, 0);
    const want = portals.reduce((s, p) => s + p.expected.length, 0);
    if (count !== lastCount) {
      lastCount = count;
      lastChange = Date.now();
      onTick?.(count, want);
    }
    if (count >= want) return true;
    if (Date.now() > until) return false;
    if (Date.now() - lastChange > idleMs)
      throw new Error(`stalled at ${count} of ${want} leads for ${idleMs / 1000} s`);
    await sleep(200);
  }
}

const hhKind = (path) =>
  path.includes('/download/')
    ? 'pdf'
    : path.startsWith('/resumes/')
      ? 'resume'
      : path.endsWith('/messages')
        ? 'messages'
        : path.startsWith('/negotiations')
          ? 'lists'
          : 'other';

/** The most answers of `status` within any one second: a burst, as opposed to a rare refusal. */
function worstSecond(times) {
  const t = [...times].sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0, j = 0; j < t.length; j++) {
    while (t[j] - t[i] >= 1000) i++;
    worst = Math.max(worst, j - i + 1);
  }
  return worst;
}

/**
 * What one portal's import cost and how fast it went, from the simulators' logs: from hh.ru's
 * first request after the import was asked for to the creation time of the last lead.
 */
function importFigures(world, portal, { hhFrom, b24From, limits }) {
  const { hh, b24 } = world;
  const hhLog = hh.sim.requests({ userId: portal.admin.userId }).filter((r) => Date.parse(r.at) >= hhFrom);
  const b24Log = b24.sim.requests(portal.memberId, { since: b24From });
  const leads = [...leadsOf(world, portal.memberId).values()];
  const n = leads.length;
  const started = Math.min(...hhLog.map((r) => Date.parse(r.at)));
  const finished = Math.max(...leads.map((e) => Number(e.fields['DATE_CREATE'])));
  const seconds = (finished - started) / 1000;
  const byKind = {};
  for (const r of hhLog) byKind[hhKind(r.path)] = (byKind[hhKind(r.path)] ?? 0) + 1;
  const b24Requests = b24Log.filter((r) => r.kind === 'rest');
  const b24Commands =
    b24Log.filter((r) => r.kind === 'batch').length + b24Requests.filter((r) => r.method !== 'batch').length;
  const hhPerNegotiation = hhLog.length / n;
  const b24PerNegotiation = b24Commands / n;
  const hhBound = HH.perSec / hhPerNegotiation;
  const b24Bound = (B24.perSec * B24.batch) / b24PerNegotiation;
  const bound = Math.min(hhBound, b24Bound);
  const hh429 = hhLog.filter((r) => r.status === 429).map((r) => Date.parse(r.at));
  const b24Refused = b24Log.filter((r) => r.status === 503 || r.status === 429).map((r) => r.at);
  const check = checkPortal(hh.sim, b24.sim, portal.memberId, portal.admin.id, portal.settings);
  return {
    negotiations: n,
    seconds: round(seconds, 1),
    perSec: round(n / seconds),
    started,
    finished,
    hh: {
      requests: hhLog.length,
      perNegotiation: round(hhPerNegotiation, 3),
      byKind,
      status429: hh429.length,
      worst429PerSecond: worstSecond(hh429),
    },
    bitrix24: {
      requests: b24Requests.length,
      commands: b24Commands,
      perNegotiation: round(b24PerNegotiation, 3),
      status503or429: b24Refused.length,
      worstPerSecond: worstSecond(b24Refused),
    },
    bound: limits ? { hh: round(hhBound), bitrix24: round(b24Bound), perSec: round(bound) } : null,
    ofBound: limits ? round(n / seconds / bound, 3) : null,
    // A few of the wrong fields themselves: a count alone does not say what to look at.
    correct: {
      expected: check.expected,
      leads: check.entities,
      missing: check.missing.length,
      duplicated: check.duplicated.length,
      wrong: check.wrong.length,
      wrongExamples: check.wrong.slice(0, 3),
    },
  };
}

// ---- the infrastructure's own counters -----------------------------------------------------------

const PG = new URL(process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test');
const adminDb = () => knexFactory({ client: 'pg', connection: PG.href, pool: { min: 0, max: 1 } });

/**
 * A database of the run's own, so that Postgres's per-database counters (pg_stat_database:
 * transactions, rows read and written) are the run's alone on a server others' tests share; and,
 * unless --without-pg-count, the wire counter (bench/pg-count.mjs) between the services and it.
 * Returns the DATABASE_URL the services get and the means to read the counters and to drop it all.
 */
async function countedDatabase() {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const admin = adminDb();
  await admin.raw('create database ??', [name]);
  let counter = null;
  let target = new URL(PG.href);
  if (!args['without-pg-count']) {
    counter = fork(new URL('./pg-count.mjs', import.meta.url), [], {
      env: { ...process.env, PG_COUNT_TARGET: `${PG.hostname}:${PG.port || 5432}` },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const { port } = await new Promise((resolve) => counter.once('message', resolve));
    target.host = `127.0.0.1:${port}`;
  }
  target.pathname = `/${name}`;
  const statements = async () => {
    if (!counter) return null;
    counter.send('count');
    return new Promise((resolve) => counter.once('message', resolve));
  };
  const counters = async () => {
    const [row] = (
      await admin.raw(
        `select xact_commit + xact_rollback as transactions, tup_returned, tup_fetched,
                tup_inserted + tup_updated + tup_deleted as rows_written
           from pg_stat_database where datname = ?`,
        [name],
      )
    ).rows;
    return {
      transactions: Number(row.transactions),
      rowsRead: Number(row.tup_returned) + Number(row.tup_fetched),
      rowsWritten: Number(row.rows_written),
      statements: await statements(),
      counterCpuSec: counter ? proc(counter.pid)?.cpuSec : null,
    };
  };
  return {
    url: target.href,
    counters,
    async drop() {
      await admin.raw('drop database if exists ?? with (force)', [name]).catch(() => undefined);
      await admin.destroy();
      counter?.kill();
    },
  };
}

/** Backends report their counters to pg_stat_database at most once a second: wait for the last report. */
const settleStats = () => sleep(1500);

/** What the run's streams hold, by subject without the run's prefix: every message published, as the streams count them. */
async function streamCounts(world) {
  const jsm = world.nats.jsm;
  const bySubject = {};
  const prefix = world.naming.stream('');
  for await (const stream of jsm.streams.list()) {
    if (!stream.config.name.startsWith(prefix)) continue;
    const info = await jsm.streams.info(stream.config.name, { subjects_filter: '>' });
    for (const [subject, n] of Object.entries(info.state.subjects ?? {}))
      bySubject[world.naming.strip(subject)] = n;
    // Limits retention keeps them all for the run (a week): the last sequence counts the deleted too.
    bySubject[`(${stream.config.name.slice(prefix.length)} published)`] = info.state.last_seq;
  }
  return bySubject;
}
const subtractCounts = (after, before) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)])
      .filter(([, v]) => v > 0),
  );

/** The floor: bench/floor.mjs in a process of its own, on the same Postgres and NATS. */
async function floorScenario(items) {
  const child = spawn(process.execPath, [new URL('./floor.mjs', import.meta.url).pathname], {
    env: {
      ...process.env,
      ...nodeOptions(),
      FLOOR_ITEMS: String(items),
      DATABASE_URL: PG.href,
      DATABASE_POOL_MAX: '4',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const before = load();
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`bench/floor.mjs exited with ${code}`);
  const f = JSON.parse(out.trim().split('\n').at(-1));
  return {
    items: f.items,
    concurrency: f.concurrency,
    seconds: round(f.seconds, 2),
    perSec: round(f.perSec, 1),
    cpuMsPerItem: round(f.cpuMsPerItem, 3),
    natsMessages: f.natsMessages,
    rowsWritten: f.rowsWritten,
    load: { before, after: load() },
    at: new Date().toISOString(),
  };
}

// ---- scenarios ---------------------------------------------------------------------------------

async function importScenario(n, limits) {
  const database = await countedDatabase();
  let world;
  try {
    world = await startWorld({
      limits,
      generate: { seed: 11, employers: 1, unpaidEmployers: 0, negotiations: n },
      env: { DATABASE_URL: database.url },
    });
  } catch (err) {
    await database.drop();
    throw err;
  }
  try {
    const employer = [...world.hh.sim.store.employers.values()][0];
    const portal = await portalFor(world, employer);
    // Both buckets fill up again after the setup's calls: the run starts from a quiet portal.
    await sleep(1500);
    // What the services send to Postgres with nothing to do (each relay's outbox poll, the
    // housekeeping timers): at a slow pace it is a good part of the statements per negotiation.
    const idleFrom = { at: Date.now(), db: await database.counters() };
    await sleep(3000);
    const before = {
      services: services(world),
      self: selfCpu(),
      at: Date.now(),
      load: load(),
      db: await database.counters(),
      streams: await streamCounts(world),
    };
    const hhFrom = Date.now();
    await world.requestImport(portal.memberId);
    const t0 = Date.now();
    await waitForLeads(world, [portal], {
      idleMs: 120_000,
      onTick: (count, want) =>
        progress(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${count} of ${want} leads`, count >= want),
    });
    const after = { services: services(world), self: selfCpu(), load: load() };
    await settleStats();
    after.db = await database.counters();
    after.streams = await streamCounts(world);
    const figures = importFigures(world, portal, { hhFrom, b24From: hhFrom, limits });
    const per = (x) => (x === null || x === undefined ? null : round(x / figures.negotiations, 2));
    const statements = after.db.statements
      ? {
          total: after.db.statements.total - before.db.statements.total,
          byKind: subtractCounts(after.db.statements.byKind, before.db.statements.byKind),
          ...(after.db.statements.byText
            ? { byText: subtractCounts(after.db.statements.byText, before.db.statements.byText ?? {}) }
            : {}),
        }
      : null;
    const idleSec = (before.at - idleFrom.at) / 1000;
    const idlePerSec = statements
      ? (before.db.statements.total - idleFrom.db.statements.total) / idleSec
      : null;
    const nats = subtractCounts(after.streams, before.streams);
    const published = Object.entries(nats)
      .filter(([k]) => k.endsWith(' published)'))
      .reduce((a, [, v]) => a + v, 0);
    // JetStream's deliveries per message of every consumer that had any (1: none delivered twice).
    const deliveries = Object.fromEntries(
      (await world.deliveries())
        .filter((d) => d.messages > 0)
        .map((d) => [d.consumer.split('_').pop(), round(d.deliveries / d.messages, 3)]),
    );
    const perService = {};
    let meshCpu = 0;
    for (const name of SERVICES) {
      const a = after.services[name];
      const b = before.services[name];
      const cpuSec = a && b ? a.cpuSec - b.cpuSec : null;
      meshCpu += cpuSec ?? 0;
      perService[name] = {
        cpuSec: round(cpuSec),
        cpuMsPerNegotiation: round(((cpuSec ?? NaN) / figures.negotiations) * 1000, 2),
        peakRssMb: round(a?.peakRssMb, 1),
      };
    }
    if (args.profile) await collectProfiles(world);
    return {
      ...figures,
      limits: limits
        ? {
            hh: `${HH.perSec}/s per address, burst ${HH.burst}`,
            bitrix24: `${B24.perSec}/s per portal, burst ${B24.burst}`,
          }
        : 'off',
      replicas: REPLICAS,
      deliveriesPerMessage: deliveries,
      services: perService,
      nodeOptions: serviceNodeOptions || null,
      cpuSecPerNegotiation: round(meshCpu / figures.negotiations, 4),
      cpuMsPerNegotiation: round((meshCpu / figures.negotiations) * 1000, 2),
      cpuSecOfSimulators: round(after.self - before.self),
      simulatorsCpuMsPerNegotiation: round(((after.self - before.self) / figures.negotiations) * 1000, 2),
      postgres: {
        how: statements
          ? "statements counted on the wire between the services and Postgres (bench/pg-count.mjs: every simple query and every extended-protocol execution, BEGIN and COMMIT included, as pg_stat_statements counts calls); transactions and rows from pg_stat_database of the run's own database"
          : "transactions and rows from pg_stat_database of the run's own database (--without-pg-count: statements not counted)",
        statementsPerNegotiation: statements ? per(statements.total) : null,
        idleStatementsPerSec: round(idlePerSec, 1),
        // The same less what the services send when idle, for as long as the import took: what the work itself costs.
        statementsPerNegotiationBeyondIdle: statements
          ? per(statements.total - idlePerSec * figures.seconds)
          : null,
        statementsByKindPerNegotiation: statements
          ? Object.fromEntries(Object.entries(statements.byKind).map(([k, v]) => [k, per(v)]))
          : null,
        ...(statements?.byText
          ? {
              statementsByTextPerNegotiation: Object.fromEntries(
                Object.entries(statements.byText)
                  .sort((a, b) => b[1] - a[1])
                  .map(([k, v]) => [k, per(v)]),
              ),
            }
          : {}),
        transactionsPerNegotiation: per(after.db.transactions - before.db.transactions),
        rowsReadPerNegotiation: per(after.db.rowsRead - before.db.rowsRead),
        rowsWrittenPerNegotiation: per(after.db.rowsWritten - before.db.rowsWritten),
        counterCpuSec:
          after.db.counterCpuSec === null ? null : round(after.db.counterCpuSec - before.db.counterCpuSec),
      },
      nats: {
        how: "the run's streams' counters: messages published into each stream (last sequence) and stored per subject, during the import",
        messagesPerNegotiation: per(published),
        bySubjectPerNegotiation: Object.fromEntries(
          Object.entries(nats)
            .filter(([k]) => !k.endsWith(' published)'))
            .map(([k, v]) => [k, per(v)]),
        ),
      },
      cpuUtilisation: round((meshCpu + after.self - before.self) / figures.seconds, 2),
      load: { before: before.load, after: after.load },
      at: new Date().toISOString(),
    };
  } finally {
    await world.close();
    await database.drop();
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const spread = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return {
    count: s.length,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s.at(-1) ?? null,
  };
};

async function latencyScenario(arrivals, pace) {
  const world = await startWorld({
    limits: true,
    generate: {
      seed: 5,
      employers: 1,
      managersPerEmployer: 1,
      vacanciesPerManager: 6,
      unpaidEmployers: 0,
      negotiations: 30,
    },
  });
  try {
    const { hh, b24 } = world;
    const employer = [...hh.sim.store.employers.values()][0];
    const portal = await portalFor(world, employer);
    await world.requestImport(portal.memberId);
    await waitForLeads(world, [portal], { idleMs: 60_000 });
    const vacancies = [...hh.sim.store.vacancies.values()].filter(
      (v) => v.employerId === employer.id && !v.archived,
    );
    await sleep(3000);
    const before = load();
    const hhFrom = Date.now();
    const made = [];
    for (let i = 0; i < arrivals; i++) {
      const vacancy = vacancies[i % vacancies.length];
      made.push(
        i % 7 === 6 ? hh.sim.invite({ vacancyId: vacancy.id }) : hh.sim.respond({ vacancyId: vacancy.id }),
      );
      portal.expected.push(made.at(-1));
      progress(`${i + 1} of ${arrivals} arrivals`, i + 1 === arrivals);
      await sleep(1000 / pace);
    }
    await waitForLeads(world, [portal], { idleMs: 30_000 });
    // Activities come after the entity: give them a few seconds more before calling one missing.
    const activityOf = (lead) =>
      Math.min(
        ...b24.sim
          .activities(portal.memberId, { ownerTypeId: OWNER_LEAD, ownerId: lead.id })
          .map((a) => a.createdAt),
      );
    const leadByNegotiation = new Map(
      [...leadsOf(world, portal.memberId).values()].map((e) => [e.fields['ORIGIN_ID'], e]),
    );
    const deadline = Date.now() + 10_000;
    while (
      Date.now() < deadline &&
      made.some((n) => !Number.isFinite(activityOf(leadByNegotiation.get(n.id))))
    )
      await sleep(250);
    const firstAttempt = new Map();
    for (const d of hh.sim.deliveries()) {
      const id = d.body.payload?.topic_id;
      if (!id || d.attempts.length === 0) continue;
      const at = Date.parse(d.attempts[0].at);
      if (!firstAttempt.has(id) || at < firstAttempt.get(id)) firstAttempt.set(id, at);
    }
    const hhLog = hh.sim.requests({ userId: portal.admin.userId }).filter((r) => Date.parse(r.at) >= hhFrom);
    const toEntity = [];
    const toActivity = [];
    // Where the time goes, from hh.ru's request log: until hh-connector first reads the negotiation
    // (gateway, NATS, the consumer), until its last read for it (the resume and its PDF), until the lead.
    const stages = { toFirstRead: [], reading: [], toLead: [] };
    let unannounced = 0;
    for (const n of made) {
      const t0 = firstAttempt.get(n.id);
      const lead = leadByNegotiation.get(n.id);
      if (t0 === undefined) {
        unannounced++;
        continue;
      }
      const created = Number(lead.fields['DATE_CREATE']);
      toEntity.push(created - t0);
      const a = activityOf(lead);
      if (Number.isFinite(a)) toActivity.push(a - t0);
      const reads = hhLog
        .filter(
          (r) =>
            r.path === `/negotiations/${n.id}` || (n.resumeId && r.path.startsWith(`/resumes/${n.resumeId}`)),
        )
        .map((r) => Date.parse(r.at));
      if (reads.length > 0) {
        stages.toFirstRead.push(Math.min(...reads) - t0);
        stages.reading.push(Math.max(...reads) - Math.min(...reads));
        stages.toLead.push(created - Math.max(...reads));
      }
    }
    const b24Log = b24.sim.requests(portal.memberId, { since: hhFrom });
    if (args.profile) await collectProfiles(world);
    return {
      arrivals,
      pacePerSec: pace,
      withoutWebhook: unannounced,
      webhookToEntityMs: spread(toEntity),
      stagesMs: {
        webhookToFirstRead: spread(stages.toFirstRead),
        hhReads: spread(stages.reading),
        lastReadToLead: spread(stages.toLead),
      },
      webhookToActivityMs:
        toActivity.length === 0
          ? 'n/a (no activity written)'
          : { ...spread(toActivity), missing: toEntity.length - toActivity.length },
      hh: { requests: hhLog.length, status429: hhLog.filter((r) => r.status === 429).length },
      bitrix24: {
        requests: b24Log.filter((r) => r.kind === 'rest').length,
        status503or429: b24Log.filter((r) => r.status === 503 || r.status === 429).length,
      },
      correct: (() => {
        const c = checkPortal(hh.sim, b24.sim, portal.memberId, portal.admin.id, portal.settings);
        return {
          expected: c.expected,
          leads: c.entities,
          missing: c.missing.length,
          duplicated: c.duplicated.length,
          wrong: c.wrong.length,
        };
      })(),
      load: { before, after: load() },
      at: new Date().toISOString(),
    };
  } finally {
    await world.close();
  }
}

/**
 * What a big resume PDF costs the services in memory. After a small import (every service warm),
 * each service's peak RSS is reset (`/proc/<pid>/clear_refs` 5, Linux ≥ 4.0) and its RSS read;
 * then `count` new responses arrive one after another, each with a PDF of `mb` MB (the simulated
 * hh.ru's `huge_body` fault on that resume's download), each waited for until its lead holds the
 * file. The figure per service: the peak after minus the RSS before, an upper bound of what the
 * files added (anything else the service did meanwhile counts too).
 */
async function pdfScenario(count, mb) {
  const bytes = mb * 1024 * 1024;
  const world = await startWorld({
    limits: true,
    generate: {
      seed: 5,
      employers: 1,
      managersPerEmployer: 1,
      vacanciesPerManager: 2,
      unpaidEmployers: 0,
      negotiations: 30,
    },
  });
  try {
    const { hh, b24 } = world;
    const employer = [...hh.sim.store.employers.values()][0];
    const portal = await portalFor(world, employer);
    await world.requestImport(portal.memberId);
    await waitForLeads(world, [portal], { idleMs: 60_000 });
    const vacancy = [...hh.sim.store.vacancies.values()].find(
      (v) => v.employerId === employer.id && !v.archived,
    );
    await sleep(5000);
    const before = load();
    const rssBefore = {};
    for (const [key, c] of world.children) {
      writeFileSync(`/proc/${c.child.pid}/clear_refs`, '5');
      rssBefore[key.split('#')[0]] = Math.max(rssBefore[key.split('#')[0]] ?? 0, proc(c.child.pid).rssMb);
    }
    const started = Date.now();
    const files = [];
    for (let i = 0; i < count; i++) {
      const resume = hh.sim.addResume({});
      hh.sim.addFault({
        kind: 'huge_body',
        match: `/resumes/${resume.id}/download/`,
        bytes,
        declareLength: true,
        times: 1,
      });
      const n = hh.sim.respond({ vacancyId: vacancy.id, resumeId: resume.id });
      portal.expected.push(n);
      let lead;
      const deadline = Date.now() + 300_000;
      while (Date.now() < deadline) {
        lead = [...leadsOf(world, portal.memberId).values()].find((e) => e.fields['ORIGIN_ID'] === n.id);
        if (lead?.uf['UF_CRM_HH_RESUME']) break;
        await sleep(250);
      }
      // File fields hold the id of the file the portal stored.
      const file = lead?.uf['UF_CRM_HH_RESUME']
        ? b24.sim.file(portal.memberId, lead.uf['UF_CRM_HH_RESUME'])
        : undefined;
      files.push({ negotiationId: n.id, leadHasFile: Boolean(file), bytes: file?.content.length ?? 0 });
      progress(`${i + 1} of ${count} PDFs of ${mb} MB`, i + 1 === count);
    }
    const after = services(world);
    const added = Object.fromEntries(
      Object.entries(after).map(([name, s]) => [name, round(s.peakRssMb - rssBefore[name], 1)]),
    );
    return {
      pdfs: count,
      pdfMb: mb,
      seconds: round((Date.now() - started) / 1000, 1),
      files,
      rssBeforeMb: Object.fromEntries(Object.entries(rssBefore).map(([k, v]) => [k, round(v, 1)])),
      peakRssMb: Object.fromEntries(Object.entries(after).map(([k, v]) => [k, round(v.peakRssMb, 1)])),
      addedMb: added,
      worstAddedOfSize: round(Math.max(...Object.values(added)) / mb, 2),
      target: `≤ ${TARGET.pdfRssOfSize} × the file (${TARGET.pdfRssOfSize * mb} MB)`,
      load: { before, after: load() },
      at: new Date().toISOString(),
    };
  } finally {
    await world.close();
  }
}

/**
 * `addresses` undefined: hh.ru limits per account (the `portals` scenario). A number: hh.ru limits
 * per client address as it does, and hh-connector calls from that many addresses (`egress`).
 */
async function portalsScenario(count, perPortal, { addresses, rate = HH.perSec } = {}) {
  // hh.ru counts per client address; in `portals` every portal stands for its own hh.ru account,
  // which in real life would call from the deployment's address(es) too — see docs/performance.md
  // for why that run limits per account. `egress` limits per address, from one address or several.
  const byAddress = addresses !== undefined;
  const limit = byAddress ? { perSec: rate, burst: rate } : HH;
  const world = await startWorld({
    limits: true,
    hhLimit: limit,
    hhBy: byAddress ? 'address' : 'account',
    // Limited per address, hh-connector keeps the deployment's margin under the limit: 90 %, rounded
    // down (HH_RATE_PER_SEC=9 under hh.ru's 10/s in deploy/base/hh-connector/service.env).
    env: !byAddress
      ? { HH_RATE_SCOPE: 'account' }
      : {
          HH_RATE_PER_SEC: String(Math.max(1, Math.floor(rate * HH_DEPLOYED_SHARE))),
          ...(addresses > 1
            ? { HH_RATE_SCOPE: 'egress', HH_EGRESS_ADDRESSES: egressAddresses(addresses).join(',') }
            : { HH_RATE_SCOPE: 'global' }),
        },
    generate: {
      seed: 21,
      employers: count,
      managersPerEmployer: 1,
      vacanciesPerManager: 4,
      negotiations: count * perPortal,
      heavyApplicantResponses: 0,
      tombstones: 0,
      unpaidEmployers: 0,
    },
  });
  try {
    const portals = [];
    for (const employer of world.hh.sim.store.employers.values()) {
      portals.push(
        await portalFor(world, employer).catch((err) => {
          // What hh.ru saw last says why a login failed (a 429, a refused token…).
          for (const r of world.hh.sim.requests({}).slice(-20))
            say(`  hh.ru ${r.at} ${r.ip} ${r.method} ${r.path} ${r.status}${r.fault ? ` (${r.fault})` : ''}`);
          throw err;
        }),
      );
      progress(`${portals.length} of ${count} portals installed and connected`, portals.length === count);
    }
    await sleep(3000);
    const before = { services: services(world), load: load() };
    const hhFrom = Date.now();
    await Promise.all(portals.map((p) => world.requestImport(p.memberId)));
    const t0 = Date.now();
    const limitSec = args['portals-time-limit'] ? numbers(args['portals-time-limit'])[0] : Infinity;
    const complete = await waitForLeads(world, portals, {
      // 100 imports list 400 vacancies before the first lead: on a busy machine that alone takes minutes.
      idleMs: 600_000,
      until: t0 + limitSec * 1000,
      onTick: (c, want) =>
        progress(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${c} of ${want} leads`, c >= want),
    });
    const after = { services: services(world), load: load() };
    if (!complete) {
      // Out of time: what the portals reached by then, each from its simulated portal.
      const done = portals.map((p) => leadsOf(world, p.memberId).size);
      const reached = done.reduce((a, b) => a + b, 0);
      const seconds = (Date.now() - hhFrom) / 1000;
      return {
        portals: count,
        finished: false,
        timeLimitSeconds: limitSec,
        negotiations: portals.reduce((a, p) => a + p.expected.length, 0),
        leadsWritten: reached,
        seconds: round(seconds, 1),
        perSec: round(reached / seconds),
        portalsComplete: portals.filter((p, i) => done[i] >= p.expected.length).length,
        perPortalLeadsAtCutoff: { min: Math.min(...done), max: Math.max(...done) },
        perPortalNegotiations: {
          min: Math.min(...portals.map((p) => p.expected.length)),
          max: Math.max(...portals.map((p) => p.expected.length)),
        },
        load: { before: before.load, after: after.load },
        at: new Date().toISOString(),
      };
    }
    const each = portals.map((p) => importFigures(world, p, { hhFrom, b24From: hhFrom, limits: true }));
    const started = Math.min(...each.map((f) => f.started));
    const finished = Math.max(...each.map((f) => f.finished));
    const seconds = (finished - started) / 1000;
    // Each portal has budgets of its own (hh.ru per account here, Bitrix24 per portal): together they take as long as the slowest one's bound.
    let boundSeconds = Math.max(...each.map((f) => f.negotiations / f.bound.perSec));
    // Limited per address: each address's budget is shared by its portals; together they take as
    // long as the address with the most requests needs for them (or a portal's own Bitrix24 bound).
    let addressFigures;
    if (byAddress) {
      const hhAll = world.hh.sim.requests({ sinceMs: hhFrom });
      addressFigures = {};
      for (const r of hhAll) {
        const a = (addressFigures[r.ip] ??= { portals: 0, negotiations: 0, requests: 0, status429: 0 });
        a.requests++;
        if (r.status === 429) a.status429++;
      }
      portals.forEach((p, i) => {
        const ip = hhAll.find((r) => r.userId === p.admin.userId)?.ip;
        if (!ip) return;
        addressFigures[ip].portals++;
        addressFigures[ip].negotiations += each[i].negotiations;
      });
      for (const a of Object.values(addressFigures)) a.boundSeconds = round(a.requests / limit.perSec, 1);
      boundSeconds = Math.max(
        ...Object.values(addressFigures).map((a) => a.requests / limit.perSec),
        ...each.map((f) => f.negotiations / f.bound.bitrix24),
      );
    }
    const durations = each.map((f) => f.seconds);
    const negotiations = each.reduce((s, f) => s + f.negotiations, 0);
    const perService = {};
    for (const name of SERVICES)
      perService[name] = {
        cpuSec: round(after.services[name]?.cpuSec - before.services[name]?.cpuSec),
        peakRssMb: round(after.services[name]?.peakRssMb, 1),
      };
    if (args.profile) await collectProfiles(world);
    return {
      portals: count,
      replicas: REPLICAS,
      ...(byAddress ? { addresses, hhRateScope: addresses > 1 ? 'egress' : 'global' } : {}),
      finished: true,
      negotiations,
      seconds: round(seconds, 1),
      perSec: round(negotiations / seconds),
      boundSeconds: round(boundSeconds, 1),
      ofBound: round(seconds / boundSeconds, 3),
      slowestSeconds: round(Math.max(...durations), 1),
      fastestSeconds: round(Math.min(...durations), 1),
      slowestToFastest: round(Math.max(...durations) / Math.min(...durations), 2),
      perPortalNegotiations: {
        min: Math.min(...each.map((f) => f.negotiations)),
        max: Math.max(...each.map((f) => f.negotiations)),
      },
      hh: {
        limit: `${limit.perSec}/s per ${byAddress ? 'client address' : 'account'}, burst ${limit.burst}`,
        ...(byAddress ? { ourPacePerAddress: Math.max(1, Math.floor(rate * HH_DEPLOYED_SHARE)) } : {}),
        // Refused for the address's limit, hh.ru answers before it reads the token: count those by address.
        status429: byAddress
          ? Object.values(addressFigures).reduce((s, a) => s + a.status429, 0)
          : each.reduce((s, f) => s + f.hh.status429, 0),
        perNegotiation: round(each.reduce((s, f) => s + f.hh.requests, 0) / negotiations, 3),
        ...(byAddress ? { byAddress: addressFigures } : {}),
      },
      bitrix24: { status503or429: each.reduce((s, f) => s + f.bitrix24.status503or429, 0) },
      correct: {
        missing: each.reduce((s, f) => s + f.correct.missing, 0),
        duplicated: each.reduce((s, f) => s + f.correct.duplicated, 0),
        wrong: each.reduce((s, f) => s + f.correct.wrong, 0),
      },
      services: perService,
      load: { before: before.load, after: after.load },
      at: new Date().toISOString(),
    };
  } finally {
    await world.close();
  }
}

// ---- «Аналитика» on a seeded portal ---------------------------------------------------------------

/** The funnel's states and how often the seeded negotiations end in each (a hiring year's mix). */
const SEED_STATES = [
  ['response', 30],
  ['consider', 12],
  ['phone_interview', 8],
  ['assessment', 4],
  ['interview', 8],
  ['offer', 3],
  ['hired', 2],
  ['discard_by_employer', 28],
  ['discard_by_applicant', 5],
];
const SEED_VACANCIES = 40;
const SEED_MANAGERS = 8;

/**
 * One portal's year of hiring written straight into hh-connector's tables, as its sync leaves them
 * (hh_vacancies, hh_negotiations with their snapshots, hh_state_history: «Отклик», then each later
 * state with hh.ru's time), then the rollup (hh_analytics) brought up to date by hh-connector's own
 * refreshAnalytics. All in SQL, before any clock starts.
 */
async function seedAnalytics(world, memberId, n) {
  const { db } = world;
  const { id: accountId } = await db('hh_accounts').where({ member_id: memberId }).first('id');
  await db('hh_vacancies')
    .insert(
      Array.from({ length: SEED_VACANCIES }, (_, i) => ({
        member_id: memberId,
        vacancy_id: `9${String(i + 1).padStart(7, '0')}`,
        account_id: accountId,
        name: `Вакансия ${i + 1}`,
        manager_id: String(1000 + (i % SEED_MANAGERS)),
        manager_name: `Менеджер ${(i % SEED_MANAGERS) + 1}`,
      })),
    )
    .onConflict(['member_id', 'vacancy_id'])
    .ignore();
  const weights = SEED_STATES.flatMap(([state, w]) => Array(w).fill(state));
  // hh.ru's times carry their offset: Moscow's.
  const hhTime = (col) =>
    `to_char(${col} at time zone 'Europe/Moscow', 'YYYY-MM-DD"T"HH24:MI:SS') || '+0300'`;
  await db.raw(
    `
    insert into hh_negotiations (member_id, negotiation_id, account_id, vacancy_id, collection_id,
      employer_state_id, applicant_state_id, updated_at_hh, item, kind, status, version, snapshot,
      first_seen_at, entity_type, entity_id, crm_status)
    select :memberId, g.id, :accountId, g.vacancy_id, g.state, g.state,
      case when g.state like 'discard%' and g.i % 3 <> 0 then 'discard' else 'response' end,
      ${hhTime('g.moved')}, '{}'::jsonb, g.kind, 'ready', 1,
      jsonb_build_object('createdAt', ${hhTime('g.created')}, 'updatedAt', ${hhTime('g.moved')},
        'state', jsonb_build_object('id', g.state)),
      g.created, 'lead', g.i, 'written'
    from (
      select i, (3000000000 + i)::text as id,
        '9' || lpad((1 + (i * 7) % ${SEED_VACANCIES})::text, 7, '0') as vacancy_id,
        case when i % 12 = 0 then 'invitation' else 'response' end as kind,
        (:states::text[])[1 + (i * 31) % :stateCount] as state,
        now() - ((i * 365.0 / :n) * interval '1 day') as created,
        now() - ((i * 365.0 / :n) * interval '1 day') + ((i * 13) % 200) * interval '1 hour' as moved
      from generate_series(1, :n) i
    ) g
    on conflict do nothing`,
    { memberId, accountId, n, states: weights, stateCount: weights.length },
  );
  // Their history: «Отклик» when created (a response), then the state they are in when moved.
  await db.raw(
    `
    insert into hh_state_history (member_id, negotiation_id, state_id, state_name, at)
    select n.member_id, n.negotiation_id, 'response', 'Отклик', n.snapshot->>'createdAt'
      from hh_negotiations n where n.member_id = :memberId and n.kind = 'response'
    union all
    select n.member_id, n.negotiation_id, n.employer_state_id, n.employer_state_id, n.updated_at_hh
      from hh_negotiations n where n.member_id = :memberId and n.employer_state_id <> 'response'
    on conflict do nothing`,
    { memberId },
  );
  const { refreshAnalytics } = await import('../services/hh-connector/dist/src/sync/analytics.js');
  return refreshAnalytics(db, memberId, null);
}

/** Timings in ms: median, p95, the fastest and slowest. */
const timings = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50), 1),
    p95: round(percentile(sorted, 95), 1),
    min: round(sorted[0], 1),
    max: round(sorted.at(-1), 1),
  };
};

async function analyticsScenario(n, runs) {
  const world = await startWorld({
    limits: false,
    generate: {
      seed: 22,
      employers: 1,
      unpaidEmployers: 0,
      managersPerEmployer: 1,
      vacanciesPerManager: 1,
      negotiations: 0,
      heavyApplicantResponses: 0,
      tombstones: 0,
    },
  });
  try {
    const employer = [...world.hh.sim.store.employers.values()][0];
    const portal = await portalFor(world, employer);
    const { memberId } = portal;
    const seedStarted = Date.now();
    const rollup = await seedAnalytics(world, memberId, n);
    const history = Number(
      (await world.db('hh_state_history').where({ member_id: memberId }).count({ c: '*' }))[0].c,
    );
    const seedSeconds = round((Date.now() - seedStarted) / 1000, 1);
    say(`  seeded ${n} negotiations, ${history} history rows, ${rollup} rollup rows in ${seedSeconds} s`);
    await world.db.raw('analyze hh_negotiations, hh_state_history, hh_analytics, hh_vacancies');

    // The page's session, as the portal's app page gives it to the admin (framed /b24/app).
    const { framePost, sessionOf } = await import('../test/e2e/dist/test/stack.js');
    const stack = { b24: world.b24, gatewayUrl: world.env.PUBLIC_URL };
    const token = sessionOf((await framePost(stack, memberId, '/b24/app', { userId: 1 })).html);
    const day = (ms) => new Date(ms + 3 * 3600_000).toISOString().slice(0, 10);
    const views = {
      // What the tab shows first: the last 30 days, by day, every vacancy.
      month: { from: day(Date.now() - 29 * 86_400_000), to: day(Date.now()), bucket: 'day' },
      // The whole seeded year, by week: every negotiation counted.
      year: { from: day(Date.now() - 365 * 86_400_000), to: day(Date.now()), bucket: 'week' },
    };
    const hhRequestsBefore = world.hh.sim.requests().length;
    const b24RequestsBefore = world.b24.sim.requests(memberId).length;
    const { analyticsView } = await import('../services/hh-connector/dist/src/sync/analytics.js');
    const { rpc } = await import('../services/common/dist/src/index.js');
    const out = { negotiations: n, historyRows: history, seedSeconds, runs, views: {} };
    const before = { load: load(), services: services(world) };
    for (const [name, filter] of Object.entries(views)) {
      const query = new URLSearchParams(filter).toString();
      const page = [];
      const figures = [];
      const sql = [];
      let bytes = 0;
      // One answer first, not counted: the processes' first call compiles what it runs.
      await fetch(`${world.env.PUBLIC_URL}/ui/tab/analytics?${query}`, {
        headers: { 'x-hhb24-session': token },
      });
      for (let i = 0; i < runs; i++) {
        let t0 = performance.now();
        const res = await fetch(`${world.env.PUBLIC_URL}/ui/tab/analytics?${query}`, {
          headers: { 'x-hhb24-session': token },
        });
        const html = await res.text();
        page.push(performance.now() - t0);
        if (res.status !== 200 || !html.includes('data-testid="analytics-panel"'))
          throw new Error(`«Аналитика» answered ${res.status}: ${html.slice(0, 300)}`);
        bytes = html.length;
        const req = { memberId, ...filter, vacancyIds: [] };
        t0 = performance.now();
        await world.call(rpc.hhAnalytics, req);
        figures.push(performance.now() - t0);
        t0 = performance.now();
        await analyticsView(world.db, req);
        sql.push(performance.now() - t0);
        progress(`${name}: ${i + 1} of ${runs}`, i + 1 === runs);
      }
      out.views[name] = {
        filter,
        pageMs: timings(page),
        figuresRpcMs: timings(figures),
        sqlMs: timings(sql),
        pageBytes: bytes,
      };
    }
    const after = { load: load(), services: services(world) };
    out.hhRequests = world.hh.sim.requests().length - hhRequestsBefore;
    out.bitrix24Requests = world.b24.sim.requests(memberId).length - b24RequestsBefore;
    out.targetMs = TARGET.analyticsMs;
    out.load = { before: before.load, after: after.load };
    out.services = after.services;
    out.at = new Date().toISOString();
    if (args.profile) await collectProfiles(world);
    return out;
  } finally {
    await world.close();
  }
}

// ---- the run -----------------------------------------------------------------------------------

/** What this run measured; saved into the file over what it holds, re-read each time so that runs of other scenarios at the same time keep theirs. */
const results = {};
const readSaved = () => (existsSync(args.out) ? JSON.parse(readFileSync(args.out, 'utf8')) : null);
function save() {
  const file = readSaved() ?? {};
  for (const [key, value] of Object.entries(results))
    file[key] = ['import', 'floor', 'mesh', 'egress'].includes(key) ? { ...file[key], ...value } : value;
  file.machine = { cpus: cpus().length, node: process.version };
  file.targets = TARGET;
  writeFileSync(args.out, `${JSON.stringify(file, null, 2)}\n`);
}
const runStarted = Date.now();

if (scenarios.includes('import')) {
  for (const n of opts.sizes) {
    say(`import, real limits, ${n} negotiations`);
    (results.import ??= {})[n] = await importScenario(n, true);
    save();
  }
}
if (scenarios.includes('floor')) {
  for (const n of opts.floorSizes) {
    say(`floor: the bare two-hop pipeline, ${n} items`);
    (results.floor ??= {})[n] = await floorScenario(n);
    save();
  }
}
if (scenarios.includes('mesh')) {
  for (const n of opts.meshSizes) {
    say(`import, limits off (the mesh alone), ${n} negotiations`);
    const f = await importScenario(n, false);
    // Against the floor measured in this run at the same size (or the one of the run before).
    const floor = results.floor?.[n] ?? readSaved()?.floor?.[n];
    f.floor = floor
      ? { perSec: floor.perSec, at: floor.at, meshOfFloor: round(f.perSec / floor.perSec, 3) }
      : null;
    (results.mesh ??= {})[n] = f;
    save();
  }
}
if (scenarios.includes('latency')) {
  say(`webhook latency, ${opts.arrivals} arrivals at ${opts.pace}/s`);
  results.latency = await latencyScenario(opts.arrivals, opts.pace);
  save();
}
if (scenarios.includes('pdf')) {
  say(`${opts.pdfs} resume PDFs of ${opts.pdfMb} MB, one after another, real limits`);
  results.pdf = await pdfScenario(opts.pdfs, opts.pdfMb);
  save();
}
if (scenarios.includes('portals')) {
  say(`${opts.portals} portals × ${opts.perPortal} negotiations at once`);
  results.portals = await portalsScenario(opts.portals, opts.perPortal);
  save();
}
if (scenarios.includes('egress')) {
  for (const n of opts.egress) {
    say(
      `${opts.egressPortals} portals × ${opts.egressPerPortal} negotiations at once, hh.ru limiting to ${opts.egressRate}/s per address, from ${n} address${n > 1 ? 'es' : ''}`,
    );
    (results.egress ??= {})[`${n}@${opts.egressRate}`] = await portalsScenario(
      opts.egressPortals,
      opts.egressPerPortal,
      { addresses: n, rate: opts.egressRate },
    );
    save();
  }
}
if (scenarios.includes('analytics')) {
  say(
    `«Аналитика»: one portal of ${opts.analyticsSize} negotiations, ${opts.analyticsRuns} answers of each view`,
  );
  results.analytics = await analyticsScenario(opts.analyticsSize, opts.analyticsRuns);
  save();
}
results.lastRun = {
  scenarios,
  options: opts,
  seconds: round((Date.now() - runStarted) / 1000, 0),
  at: new Date().toISOString(),
};
save();
printTable(results, scenarios);

function printTable(r, ran) {
  const rows = [];
  const ok = (pass) => (pass === null ? '' : pass ? 'ok' : 'MISSED');
  const mb = (services) =>
    Object.entries(services)
      .map(([k, v]) => `${k} ${v.peakRssMb}`)
      .join(', ');
  if (ran.includes('import')) {
    for (const [n, f] of Object.entries(r.import ?? {})) {
      rows.push([
        `import ${n}, limits on`,
        `${f.perSec}/s of bound ${f.bound.perSec}/s (${round(f.ofBound * 100, 1)} %)`,
        '≥ 90 % of bound',
        ok(f.ofBound >= TARGET.ofBound),
      ]);
      rows.push([
        `  429 / 503 met`,
        `hh.ru ${f.hh.status429} (worst second ${f.hh.worst429PerSecond}), Bitrix24 ${f.bitrix24.status503or429}`,
        'no burst',
        ok(f.hh.worst429PerSecond <= 1 && f.bitrix24.worstPerSecond <= 1),
      ]);
    }
  }
  if (ran.includes('floor')) {
    for (const [n, f] of Object.entries(r.floor ?? {}))
      rows.push([
        `floor ${n}`,
        `${f.perSec}/s, ${f.cpuMsPerItem} ms CPU/item, load ${f.load.after[0]}`,
        '',
        '',
      ]);
  }
  if (ran.includes('pdf') && r.pdf) {
    rows.push([
      `${r.pdf.pdfs} PDFs of ${r.pdf.pdfMb} MB: added peak RSS`,
      Object.entries(r.pdf.addedMb)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      `≤ ${TARGET.pdfRssOfSize * r.pdf.pdfMb} MB each`,
      ok(r.pdf.worstAddedOfSize <= TARGET.pdfRssOfSize && r.pdf.files.every((f) => f.leadHasFile)),
    ]);
  }
  if (ran.includes('mesh')) {
    for (const [n, f] of Object.entries(r.mesh ?? {})) {
      rows.push([
        `mesh ${n}, limits off`,
        `${f.perSec}/s, load ${f.load.after[0]}`,
        '≥ 300/s',
        ok(f.perSec >= TARGET.meshPerSec),
      ]);
      if (f.floor)
        rows.push([
          `  of the floor`,
          `${f.floor.meshOfFloor} (floor ${f.floor.perSec}/s)`,
          '≥ 0.35',
          ok(f.floor.meshOfFloor >= TARGET.meshOfFloor),
        ]);
      rows.push([
        `  CPU per negotiation`,
        `services ${f.cpuMsPerNegotiation} ms, simulators ${f.simulatorsCpuMsPerNegotiation} ms`,
        '≤ 4 ms; simulators ≤ services',
        ok(
          f.cpuMsPerNegotiation <= TARGET.meshCpuMsPerNegotiation &&
            f.simulatorsCpuMsPerNegotiation <= f.cpuMsPerNegotiation,
        ),
      ]);
      rows.push([
        `  Postgres per negotiation`,
        `${f.postgres.statementsPerNegotiation ?? '?'} statements (${f.postgres.statementsPerNegotiationBeyondIdle ?? '?'} beyond the idle ${f.postgres.idleStatementsPerSec}/s), ${f.postgres.transactionsPerNegotiation} transactions`,
        '≤ 12 statements',
        f.postgres.statementsPerNegotiation === null
          ? ''
          : ok(f.postgres.statementsPerNegotiation <= TARGET.statementsPerNegotiation),
      ]);
      rows.push([
        `  NATS messages per negotiation`,
        `${f.nats.messagesPerNegotiation}`,
        '≤ 4',
        ok(f.nats.messagesPerNegotiation <= TARGET.natsMessagesPerNegotiation),
      ]);
      const peak = Math.max(...Object.values(f.services).map((s) => s.peakRssMb ?? 0));
      rows.push([`  peak RSS MB`, mb(f.services), '≤ 120 MB each', ok(peak <= TARGET.rssMb)]);
    }
  }
  if (ran.includes('latency') && r.latency) {
    const l = r.latency;
    rows.push([
      `webhook → lead`,
      `p50 ${l.webhookToEntityMs.p50} / p95 ${l.webhookToEntityMs.p95} / p99 ${l.webhookToEntityMs.p99} ms (${l.webhookToEntityMs.count})`,
      'p95 ≤ 2000 ms',
      ok(l.webhookToEntityMs.p95 <= TARGET.latencyP95Ms),
    ]);
    const a = l.webhookToActivityMs;
    rows.push([
      `webhook → activity`,
      typeof a === 'string' ? a : `p50 ${a.p50} / p95 ${a.p95} / p99 ${a.p99} ms (${a.count})`,
      'p95 ≤ 2000 ms',
      typeof a === 'string' ? 'n/a' : ok(a.p95 <= TARGET.latencyP95Ms),
    ]);
  }
  if (ran.includes('portals') && r.portals?.finished === false) {
    const p = r.portals;
    rows.push([
      `${p.portals} portals × ${p.perPortalNegotiations.max}`,
      `unfinished after ${p.seconds} s: ${p.leadsWritten} of ${p.negotiations} leads (${p.perSec}/s)`,
      '≤ 1.1 × bound',
      'MISSED',
    ]);
    rows.push([
      `  leads per portal then`,
      `${p.perPortalLeadsAtCutoff.min} to ${p.perPortalLeadsAtCutoff.max}; ${p.portalsComplete} portals complete`,
      '≤ 1.5',
      '',
    ]);
  } else if (ran.includes('portals') && r.portals) {
    const p = r.portals;
    rows.push([
      `${p.portals} portals × ${p.perPortalNegotiations.max}`,
      `${p.seconds} s, bound ${p.boundSeconds} s (× ${p.ofBound})`,
      '≤ 1.1 × bound',
      ok(p.ofBound <= TARGET.portalsOfBound),
    ]);
    rows.push([
      `  slowest / fastest`,
      `${p.slowestSeconds} s / ${p.fastestSeconds} s = ${p.slowestToFastest}`,
      '≤ 1.5',
      ok(p.slowestToFastest <= TARGET.fairness),
    ]);
  }
  if (ran.includes('egress')) {
    // Keyed `<addresses>@<limit per address>`: each run beside the one-address run at its limit.
    for (const [key, p] of Object.entries(r.egress ?? {})) {
      const [n, rate] = key.split('@');
      const one = r.egress[`1@${rate}`];
      if (!p.finished) {
        rows.push([
          `${p.portals} portals, ${n} address(es), ${rate}/s each`,
          `unfinished after ${p.seconds} s`,
          '',
          'MISSED',
        ]);
        continue;
      }
      const split = Object.entries(p.hh.byAddress)
        .map(([ip, a]) => `${ip} ${a.portals} portals ${a.requests} req`)
        .join(', ');
      rows.push([
        `${p.portals} portals × ${p.perPortalNegotiations.max}, ${n} address${n === '1' ? '' : 'es'}, ${rate}/s each`,
        `${p.seconds} s (${p.perSec}/s), bound ${p.boundSeconds} s, 429 ${p.hh.status429}` +
          (one?.finished && n !== '1' ? `, ${round(one.seconds / p.seconds)} × one address's pace` : ''),
        'faster with more addresses',
        '',
      ]);
      rows.push([`  by address`, split, '', '']);
    }
  }
  if (ran.includes('analytics') && r.analytics) {
    const a = r.analytics;
    for (const [name, v] of Object.entries(a.views))
      rows.push([
        `«Аналитика» ${name} (${a.negotiations})`,
        `page p50 ${v.pageMs.p50} / p95 ${v.pageMs.p95} ms; figures ${v.figuresRpcMs.p50} ms, SQL ${v.sqlMs.p50} ms`,
        '≤ 300 ms',
        ok(v.pageMs.p95 <= TARGET.analyticsMs),
      ]);
    rows.push([
      `  asked of hh.ru / the portal`,
      `${a.hhRequests} / ${a.bitrix24Requests}, load ${a.load.after[0]}`,
      '0 / 0',
      ok(a.hhRequests === 0 && a.bitrix24Requests === 0),
    ]);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => String(row[i]).length)));
  for (const row of rows) console.log(row.map((c, i) => String(c).padEnd(widths[i])).join('  '));
  console.log(`(${round((Date.now() - runStarted) / 1000, 0)} s; figures in ${args.out})`);
}
