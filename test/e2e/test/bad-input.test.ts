/**
 * Bad input at every public endpoint of the gateway, generated property-style (fast-check): more
 * than a thousand malformed, oversized, wrong-tenant, replayed and forged requests against a world
 * with two installed portals, a connected hh.ru account, imported deals with their timeline
 * activities and two-way statuses on. The forgeries include well-formed ones made with everything
 * a portal's employee holds (the portal's real application_token and their own AUTH_ID, as the
 * app's iframe POST shows them): ONAPPUNINSTALL with CLEAN=1, robot calls with a made-up
 * event_token, «Другие отклики» clicks and stage-move events naming another auth[user_id].
 *
 * Each request must meet its oracle (bad-input-probes.ts, `Oracle`): a 4xx, never a 5xx, and never
 * a 2xx that acted. The few that Bitrix24's queue must get a 200 for (a forged event or robot call
 * with the real token: the gateway takes it and the consumer asks the portal) are followed until
 * their consumers are done. After every request: a digest of every table (from
 * information_schema), the message count of every stream, the simulated hh.ru's event log and
 * non-GET requests, and each portal's entities, activities, robot runs and notifications are
 * compared with the picture before it. A failure prints the shrunk request and the seed.
 *
 * BAD_INPUT_SEED=<n> runs another seed; the counts per endpoint are in bad-input-probes.ts.
 */
import t from 'tap';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { HH_ROBOT_CODES } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { PageRoutes } from '@hhb24/settings';
import { DISCARD_WITH_MESSAGE } from '@hhb24/timeline-renderer';
import { type Fixtures, type Probe, bodyText, describe, probeSets } from './bad-input-probes.js';
import { TWO_WAY_DEAL_SETTINGS, World } from './world.js';

const SEED = Number(process.env['BAD_INPUT_SEED'] ?? 16_006);

type Picture = Record<string, string | number>;

const digest = (v: unknown) =>
  createHash('md5')
    .update(
      JSON.stringify(v, (_k, x: unknown) =>
        x instanceof Map
          ? [...x.entries()]
          : x instanceof Set
            ? [...x]
            : Buffer.isBuffer(x)
              ? `${x.length} bytes`
              : x,
      ),
    )
    .digest('hex');

/** Everything a request could change: tables, streams, hh.ru, the portals. */
class Observer {
  private sql = '';
  private bindings: string[] = [];
  private rows = new Map<string, string[]>();
  private previousRows = new Map<string, string[]>();

  constructor(
    private readonly world: World,
    private readonly memberIds: string[],
  ) {}

  async init(): Promise<number> {
    const schema = this.world.testEnv.config.DATABASE_SCHEMA;
    const tables = (
      await this.world.db.raw(
        "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' order by 1",
        [schema],
      )
    ).rows as Array<{ table_name: string }>;
    this.sql = tables
      .map(
        () =>
          // Each row version by where it lives and the transaction that wrote it: any insert, update or
          // delete changes it, and no large value (a resume PDF) is read to tell.
          `select ? as name, count(*)::int as n, md5(coalesce(string_agg(t.ctid::text || t.xmin::text, ',' order by t.ctid), '')) as d, coalesce(array_agg(md5(t.ctid::text || t.xmin::text)), '{}') as rows from ??.?? t`,
      )
      .join(' union all ');
    this.bindings = tables.flatMap(({ table_name: n }) => [n, schema, n]);
    return tables.length;
  }

  async picture(): Promise<Picture> {
    const out: Picture = {};
    this.previousRows = new Map(this.rows);
    const rows = (await this.world.db.raw(this.sql, this.bindings)).rows as Array<{
      name: string;
      n: number;
      d: string;
      rows: string[];
    }>;
    for (const r of rows) {
      out[`table ${r.name}`] = `${r.n} rows ${r.d}`;
      this.rows.set(r.name, r.rows);
    }
    const prefix = `${this.world.naming.prefix.toUpperCase()}_`;
    for await (const s of this.world.nats.jsm.streams.list())
      if (s.config.name.startsWith(prefix))
        out[`stream ${s.config.name.slice(prefix.length)}`] = s.state.messages;
    const hh = this.world.hh.sim;
    out['hh.ru event log'] = hh.events().length;
    out['hh.ru requests other than GET'] = hh.requests().filter((r) => r.method !== 'GET').length;
    out['hh.ru subscriptions'] = hh.webhooks.subscriptions.size;
    for (const m of this.memberIds) {
      const p = this.world.b24.sim.portal(m);
      out[`portal ${m.slice(0, 6)} entities`] = digest([p.leads, p.deals, p.files, p.nextId]);
      out[`portal ${m.slice(0, 6)} activities`] = digest([p.activities, p.comments]);
      out[`portal ${m.slice(0, 6)} notifications`] = digest(p.notifications);
      out[`portal ${m.slice(0, 6)} robot runs`] = digest(p.robotRuns);
      out[`portal ${m.slice(0, 6)} settings`] = digest([
        p.userFields,
        p.placements,
        p.events,
        p.robots,
        p.automation,
        p.users,
      ]);
    }
    return out;
  }

  /** The rows of a table that the last picture has and the one before did not (what a failure shows). */
  async newRows(table: string): Promise<string[]> {
    const before = new Set(this.previousRows.get(table) ?? []);
    const added = (this.rows.get(table) ?? []).filter((h) => !before.has(h));
    if (added.length === 0) return [];
    const schema = this.world.testEnv.config.DATABASE_SCHEMA;
    const rows = (
      await this.world.db.raw(
        'select left(t::text, 400) as r from ??.?? t where md5(t.ctid::text || t.xmin::text) = any(?)',
        [schema, table, added],
      )
    ).rows as Array<{ r: string }>;
    return rows.map((x) => x.r);
  }

  /** Waits until what a request set off is over: outbox relayed, every consumer of every stream idle, the portal idle. */
  async settled(): Promise<void> {
    const { world } = this;
    const prefix = `${world.naming.prefix.toUpperCase()}_`;
    await eventually(
      async () => {
        const outbox = Number((await world.db('outbox').count({ n: '*' }))[0]!['n']);
        if (outbox > 0) return false;
        for await (const s of world.nats.jsm.streams.list()) {
          if (!s.config.name.startsWith(prefix)) continue;
          for await (const c of world.nats.jsm.consumers.list(s.config.name))
            if (c.num_pending > 0 || c.num_ack_pending > 0) return false;
        }
        const defers = Number((await world.db('message_defers').count({ n: '*' }))[0]!['n']);
        return defers === 0;
      },
      { timeoutMs: 10_000, intervalMs: 20, what: 'the forged call’s consumers to finish' },
    );
    await world.b24.sim.idle();
  }
}

function changes(before: Picture, after: Picture, allow: (key: string, b: unknown, a: unknown) => boolean) {
  return Object.keys({ ...before, ...after })
    .filter((k) => before[k] !== after[k] && !allow(k, before[k], after[k]))
    .map((k) => `${k}: ${String(before[k])} → ${String(after[k])}`);
}

/**
 * A well-formed forgery whose fields a schema refuses (gateway/src/schemas.ts: an `expires_in` that
 * is no number, an event name of 300 characters): a 400 that names the field, instead of the 200
 * the queue would otherwise get. Never a 5xx, and nothing may change either way.
 */
function refusedBySchema(answer: { status: number; text: string }): boolean {
  return answer.status === 400 && /"problem":"body: [^"]+: /.test(answer.text);
}

async function send(base: string, p: Probe): Promise<{ status: number; text: string }> {
  const headers = { ...p.headers };
  const bare = headers['x-no-content-type'] !== undefined;
  delete headers['x-no-content-type'];
  const text = bodyText(p.body);
  try {
    const res = await fetch(`${base}${p.path}`, {
      method: p.method,
      headers,
      body: text === undefined ? undefined : bare ? Buffer.from(text) : text,
      redirect: 'manual',
      signal: AbortSignal.timeout(20_000),
    });
    return { status: res.status, text: (await res.text()).slice(0, 300) };
  } catch (err) {
    return { status: 0, text: `no answer: ${(err as Error).message} ${String((err as Error).cause ?? '')}` };
  }
}

t.test(
  'generated bad input at every public endpoint: 4xx, never 5xx, never a 2xx that acted; nothing changes',
  { timeout: 600_000 },
  async (t) => {
    const world = await World.start({
      b24RateLimit: false,
      allowSimHosts: true,
      env: {
        // The limits have their own tests; here they would answer 429 before the checks under test.
        GATEWAY_RATE_INSTALL_PER_ADDRESS: '100000',
        GATEWAY_RATE_INSTALL_PER_PORTAL: '100000',
        B24_RATE_PER_SEC: '100',
        B24_BURST: '500',
      },
      generate: {
        seed: 9,
        employers: 1,
        unpaidEmployers: 0,
        managersPerEmployer: 1,
        vacanciesPerManager: 2,
        negotiations: 4,
        heavyApplicantResponses: 3,
        tombstones: 0,
      },
    });
    t.teardown(() => world.close());
    const { hh, b24 } = world;
    const base = world.env['PUBLIC_URL']!;
    const admin = [...hh.sim.store.managers.values()][0]!;
    const mine = await world.installPortal();
    const theirs = await world.installPortal();
    const account = await world.connect(mine, admin.userId);
    await world.saveSettings(mine, TWO_WAY_DEAL_SETTINGS);
    await world.requestImport(mine);
    await world.waitForImport(mine, 60_000);
    // One genuine hh.ru callback, delivered and handled: the replays repeat it.
    const vacancy = [...hh.sim.store.vacancies.values()][0]!;
    const arrived = hh.sim.respond({ vacancyId: vacancy.id });
    await eventually(() => b24.sim.entities(mine, 'deal').some((d) => d['ORIGIN_ID'] === arrived.id), {
      timeoutMs: 20_000,
      what: 'the webhook’s deal',
    });
    const deals = b24.sim.entities(mine, 'deal');
    await eventually(() => b24.sim.activities(mine).length >= deals.length, {
      timeoutMs: 30_000,
      what: 'an activity on every deal',
    });
    // hh.ru's callback for it, delivered, and no other on its way.
    const delivery = await eventually(
      () =>
        hh.sim.deliveries().every((d) => d.state !== 'pending') &&
        hh.sim
          .deliveries()
          .find(
            (d) =>
              d.state === 'delivered' &&
              (d.body['payload'] as Record<string, unknown> | undefined)?.['topic_id'] === arrived.id,
          ),
      { timeoutMs: 30_000, what: 'hh.ru’s callback for the new response, delivered' },
    );
    const hookPath = new URL(delivery.url).pathname;
    const [accountId, mac] = hookPath.split('/').at(-1)!.split('.');
    t.equal(accountId, account.accountId, 'the callback URL names the account');

    // The employee: CRM access at the «own» level, owns none of the deals (they are the admin's).
    const employeeId = 2;
    b24.sim.portal(mine).users.get(employeeId)!.crmOwnOnly = true;
    const employee = b24.sim.issueUserToken(mine, { userId: employeeId });
    const adminTokens = b24.sim.issueUserToken(mine, { userId: 1 });
    const stranger = b24.sim.issueUserToken(theirs, { userId: 1 });
    const mineInfo = b24.sim.portalInfo(mine);
    const theirsInfo = b24.sim.portalInfo(theirs);
    const sessionOf = async (accessToken: string) => {
      const res = await fetch(
        `${base}/b24/app?${new URLSearchParams({ DOMAIN: mineInfo.domain, PROTOCOL: '0', LANG: 'ru' })}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            AUTH_ID: accessToken,
            AUTH_EXPIRES: '3600',
            member_id: mine,
            APPLICATION_TOKEN: mineInfo.installs[0]!.applicationToken,
            PLACEMENT: 'DEFAULT',
            PLACEMENT_OPTIONS: '{}',
          }),
        },
      );
      const m = /data-session="([^"]+)"/.exec(await res.text());
      if (!m) throw new Error(`no session for the page load (${res.status})`);
      return m[1]!;
    };
    const fx: Fixtures = {
      mine: {
        memberId: mine,
        domain: mineInfo.domain,
        appToken: mineInfo.installs[0]!.applicationToken,
        serverEndpoint: mineInfo.serverEndpoint,
      },
      theirs: {
        memberId: theirs,
        domain: theirsInfo.domain,
        appToken: theirsInfo.installs[0]!.applicationToken,
        serverEndpoint: theirsInfo.serverEndpoint,
      },
      employee: {
        userId: employeeId,
        accessToken: employee.accessToken,
        refreshToken: employee.refreshToken,
      },
      stranger: { accessToken: stranger.accessToken, refreshToken: stranger.refreshToken },
      adminSession: await sessionOf(adminTokens.accessToken),
      employeeSession: await sessionOf(employee.accessToken),
      publicOrigin: new URL(base).origin,
      dealIds: deals.map((d) => Number(d['ID'])),
      activityIds: b24.sim.activities(mine).map((a) => a.id),
      negotiationIds: deals.map((d) => String(d['ORIGIN_ID'])),
      hook: { path: hookPath, accountId: accountId!, mac: mac!, body: delivery.body },
      hhCodes: [1, 2, 3].map(() => hh.sim.authorize({ userId: admin.userId })),
      // The table only: no handler runs.
      uiRoutes: new PageRoutes({} as never).routes.map((r) => ({
        method: r.method,
        path: r.path,
        access: r.access,
      })),
      staticFiles: ['app.js', 'app.css', 'htmx.min.js'],
      robotCodes: HH_ROBOT_CODES,
      discardWithMessage: DISCARD_WITH_MESSAGE,
    };

    // Let the reconciliation after the import, the outbox and the last messages settle first.
    await eventually(
      async () =>
        Boolean(
          (await world.db('hh_accounts').where({ member_id: mine }).first('reconciled_at'))?.reconciled_at,
        ),
      { timeoutMs: 30_000, what: 'the reconciliation after the import' },
    );
    const observer = new Observer(world, [mine, theirs]);
    const tables = await observer.init();
    await observer.settled();
    await new Promise((r) => setTimeout(r, 1000));
    let last = await observer.picture();
    const streamKey = 'stream PORTAL';

    const sets = probeSets(fx);
    const split: string[] = [];
    const statuses = new Map<number, number>();
    let total = 0;
    const started = Date.now();
    const only = process.env['BAD_INPUT_ONLY'];
    for (const [i, set] of sets.entries()) {
      const seed = SEED + i;
      if (only && !set.endpoint.includes(only)) continue;
      const setStarted = Date.now();
      let runs = 0;
      const result = await fc.check(
        fc.asyncProperty(set.arbitrary, async (probe) => {
          runs++;
          const answer = await send(base, probe);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const expected =
            probe.oracle === 'refused'
              ? answer.status >= 400 && answer.status < 500
              : probe.oracle === 'taken' || probe.oracle === 'noop'
                ? answer.status === 200 || refusedBySchema(answer)
                : probe.oracle === 'replay'
                  ? answer.status === 202
                  : (answer.status >= 200 && answer.status < 300) ||
                    (answer.status >= 400 && answer.status < 500);
          if (probe.oracle !== 'refused') await observer.settled();
          const now = await observer.picture();
          const changed = changes(
            last,
            now,
            (key, b, a) =>
              // A taken call is one message on the PORTAL stream (none when JetStream took it for a duplicate).
              probe.oracle === 'taken' &&
              key === streamKey &&
              Number(a) - Number(b) <= 1 &&
              Number(a) >= Number(b),
          );
          last = now;
          const rowsAdded: string[] = [];
          for (const c of changed)
            if (c.startsWith('table '))
              for (const r of await observer.newRows(c.slice(6, c.indexOf(':'))))
                rowsAdded.push(`${c.slice(6, c.indexOf(':'))}: ${r}`);
          if (!expected || changed.length > 0) {
            // Judge the next request on its own: whatever this one set off is over before the next picture.
            await observer.settled().catch(() => undefined);
            last = await observer.picture();
          }
          if (!expected)
            throw new Error(`answered ${answer.status} (expected ${probe.oracle}): ${answer.text}`);
          if (changed.length > 0)
            throw new Error(
              `answered ${answer.status}, and it changed: ${changed.join('; ')}${
                rowsAdded.length ? `; rows now: ${rowsAdded.join(' | ')}` : ''
              }`,
            );
        }),
        {
          seed,
          numRuns: set.runs,
          includeErrorInReport: true,
          // A failure shrinks, each step a request and its checks: bounded so that the report comes in time.
          interruptAfterTimeLimit: 120_000,
          markInterruptAsFailure: true,
        },
      );
      total += set.runs;
      split.push(
        `${set.endpoint}: ${set.runs} (seed ${seed}, ${((Date.now() - setStarted) / 1000).toFixed(1)} s)`,
      );
      t.notOk(
        result.failed,
        result.failed
          ? `${set.endpoint}: ${fc.defaultReportMessage(result) ?? ''}`
          : `${set.endpoint}: ${set.runs} generated requests met their oracle (${runs} sent)`,
      );
    }
    const seconds = (Date.now() - started) / 1000;
    t.comment(
      `bad input: ${total} generated requests, seed ${SEED}, ${seconds.toFixed(1)} s, ${tables} tables compared`,
    );
    for (const line of split) t.comment(`  ${line}`);
    t.comment(
      `  statuses: ${[...statuses.entries()]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')}`,
    );
    if (!only) t.ok(total >= 1000, `at least 1,000 requests (${total})`);
    t.notOk(
      [...statuses.keys()].some((s) => s >= 500 || s === 0),
      'no 5xx and no dropped connection',
    );
    t.equal((await fetch(`${base}/livez`)).status, 200, 'the gateway is still up');
    t.equal(
      b24.sim.entities(mine, 'deal').filter((d) => d['ORIGIN_ID'] === arrived.id).length,
      1,
      'the replayed callback made no second deal',
    );
    void describe;
  },
);
