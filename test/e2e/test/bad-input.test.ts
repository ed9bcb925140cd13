/**
 * Bad input at every public endpoint of the gateway: a generated set of malformed, oversized,
 * wrong-tenant and replayed requests against a world with two installed portals, a connected
 * hh.ru account and an imported negotiation. Each must get a 4xx (a replay of a genuine hh.ru
 * callback a 2xx, as hh.ru expects), never a 5xx; the gateway must stay up; and nothing stored
 * may change: every table of the run, the messages on every stream, the portals' entities and
 * hh.ru's subscriptions are compared before and after. A correctly signed callback of an action
 * type we do not know is not in the set: it is accepted on purpose (hh.ru may add types).
 */
import t from 'tap';
import type { Nats } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { World } from './world.js';

interface Probe {
  endpoint: string;
  kind: 'malformed' | 'oversized' | 'wrong-tenant' | 'forged' | 'replayed';
  what: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** A replay of what the sender really sent: accepted again (2xx), changing nothing. */
  replay?: boolean;
}

const FORM = 'application/x-www-form-urlencoded';
const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
const big = (bytes: number) => `x=${'a'.repeat(bytes)}`;

/** Everything the run stored: a digest per table, messages per stream, the simulators' side. */
async function stored(world: World, memberIds: string[]): Promise<Record<string, unknown>> {
  const schema = world.testEnv.config.DATABASE_SCHEMA;
  const tables = (
    await world.db.raw('select table_name from information_schema.tables where table_schema = ? order by 1', [
      schema,
    ])
  ).rows as Array<{ table_name: string }>;
  const out: Record<string, unknown> = {};
  for (const { table_name: name } of tables) {
    const row = (
      await world.db.raw(
        `select count(*)::int as n, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest from ??.?? t`,
        [schema, name],
      )
    ).rows[0];
    out[`table ${name}`] = row;
  }
  const nats: Nats = world.nats;
  for await (const s of nats.jsm.streams.list()) {
    if (s.config.name.startsWith(`${world.naming.prefix.toUpperCase()}_`))
      out[`stream ${s.config.name}`] = s.state.messages;
  }
  for (const m of memberIds) {
    out[`portal ${m} leads`] = world.b24.sim.entities(m, 'lead').length;
    out[`portal ${m} events bound`] = world.b24.sim.eventBindings(m).length;
  }
  out['hh.ru subscriptions'] = world.hh.sim.webhooks.subscriptions.size;
  return out;
}

t.test(
  'malformed, oversized, wrong-tenant, forged and replayed requests at every public endpoint',
  async (t) => {
    const world = await World.start({
      generate: {
        seed: 9,
        employers: 1,
        unpaidEmployers: 0,
        managersPerEmployer: 1,
        vacanciesPerManager: 1,
        negotiations: 3,
        heavyApplicantResponses: 0,
        tombstones: 0,
      },
    });
    t.teardown(() => world.close());
    const { hh, b24 } = world;
    const admin = [...hh.sim.store.managers.values()][0]!;
    const mine = await world.installPortal();
    const theirs = await world.installPortal();
    const account = await world.connect(mine, admin.userId);
    await world.saveSettings(mine, {
      responsibleUserId: 1,
      entityType: 'lead',
      sourceId: 'WEB',
      stageForResponse: 'NEW',
      stageForInvitation: 'IN_PROCESS',
    });
    await world.requestImport(mine);
    await world.waitForImport(mine, 60_000);
    // One genuine hh.ru callback, delivered and handled: the replays below repeat it.
    const vacancy = [...hh.sim.store.vacancies.values()][0]!;
    const arrived = hh.sim.respond({ vacancyId: vacancy.id });
    await eventually(() => b24.sim.entities(mine, 'lead').some((l) => l['ORIGIN_ID'] === arrived.id), {
      timeoutMs: 20_000,
      what: 'the webhook’s lead',
    });
    const delivery = hh.sim.deliveries().find((d) => d.state === 'delivered')!;
    const hook = new URL(delivery.url);
    const hookPath = hook.pathname;
    const [accountId] = hookPath.split('/').at(-1)!.split('.');
    t.equal(accountId, account.accountId, 'the callback URL names the account');
    // Let the reconciliation pass that follows the import, the outbox and the last messages settle
    // before the "before" picture.
    await eventually(
      async () =>
        Boolean(
          (await world.db('hh_accounts').where({ member_id: mine }).first('reconciled_at'))?.reconciled_at,
        ),
      { timeoutMs: 30_000, what: 'the reconciliation after the import' },
    );
    await eventually(async () => Number((await world.db('outbox').count({ n: '*' }))[0]!['n']) === 0, {
      what: 'the outbox drained',
    });
    await new Promise((r) => setTimeout(r, 1000));

    const mineInfo = b24.sim.portalInfo(mine);
    const theirsInfo = b24.sim.portalInfo(theirs);
    const mineToken = mineInfo.installs[0]!.applicationToken;
    const theirsToken = theirsInfo.installs[0]!.applicationToken;
    const userTokens = b24.sim.issueUserToken(mine, { userId: 1 });
    const frame = (o: Record<string, string>) =>
      form({
        AUTH_ID: userTokens.accessToken,
        AUTH_EXPIRES: '3600',
        REFRESH_ID: userTokens.refreshToken,
        SERVER_ENDPOINT: mineInfo.serverEndpoint,
        APPLICATION_TOKEN: mineToken,
        member_id: mine,
        status: 'L',
        PLACEMENT: 'DEFAULT',
        PLACEMENT_OPTIONS: '{}',
        ...o,
      });
    const frameQuery = (domain = mineInfo.domain) =>
      `?${new URLSearchParams({ DOMAIN: domain, PROTOCOL: '0', LANG: 'ru', APP_SID: 'a'.repeat(32) })}`;
    const event = (o: Record<string, string>) =>
      form({
        event: 'ONCRMLEADUPDATE',
        'data[FIELDS][ID]': '1',
        ts: '1700000000',
        event_handler_id: '1',
        'auth[member_id]': mine,
        'auth[application_token]': mineToken,
        'auth[domain]': mineInfo.domain,
        ...o,
      });
    const robot = (o: Record<string, string>) =>
      form({
        code: 'hh_status_refresh',
        'document_id[0]': 'crm',
        'document_id[1]': 'CCrmDocumentLead',
        'document_id[2]': 'LEAD_1',
        event_token: 'e'.repeat(20),
        'auth[member_id]': mine,
        'auth[application_token]': mineToken,
        ...o,
      });
    const hookBody = JSON.stringify(delivery.body);
    const otherHook = `${hookPath.slice(0, hookPath.lastIndexOf('/') + 1)}${account.accountId}.${'0'.repeat(64)}`;

    const probes: Probe[] = [];
    // The portal's pages (install, app, placement): each refusal a page load could be forged with.
    for (const path of ['/b24/install', '/b24/app', '/b24/placement']) {
      probes.push(
        {
          endpoint: path,
          kind: 'malformed',
          what: 'empty body',
          method: 'POST',
          path,
          body: '',
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'malformed',
          what: 'broken percent-encoding and brackets',
          method: 'POST',
          path: `${path}${frameQuery()}`,
          body: 'AUTH_ID=%ZZ&member_id[[[=1&&&=',
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'malformed',
          what: 'JSON instead of a form',
          method: 'POST',
          path: `${path}${frameQuery()}`,
          body: '{"member_id": [1, {"a": null}]',
          contentType: 'application/json',
        },
        {
          endpoint: path,
          kind: 'malformed',
          what: 'member_id an array',
          method: 'POST',
          path: `${path}${frameQuery()}`,
          body: `${frame({})}&member_id[]=x&member_id[]=y`,
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'oversized',
          what: '2 MB form',
          method: 'POST',
          path: `${path}${frameQuery()}`,
          body: big(2 * 1024 * 1024),
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'oversized',
          what: '100 kB AUTH_ID',
          method: 'POST',
          path: `${path}${frameQuery()}`,
          body: frame({ AUTH_ID: 'a'.repeat(100_000) }),
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'wrong-tenant',
          what: "another portal's application token",
          method: 'POST',
          path: `${path}${frameQuery()}`,
          body: frame({ APPLICATION_TOKEN: theirsToken }),
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'wrong-tenant',
          what: "another portal's DOMAIN",
          method: 'POST',
          path: `${path}${frameQuery(theirsInfo.domain)}`,
          body: frame({}),
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'wrong-tenant',
          what: 'an unknown member_id',
          method: 'POST',
          path: `${path}${frameQuery()}`,
          body: frame({ member_id: 'f'.repeat(32) }),
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'forged',
          what: 'an AUTH_ID the portal never issued',
          method: 'POST',
          path: `${path}${frameQuery()}`,
          body: frame({ AUTH_ID: 'b'.repeat(32), REFRESH_ID: 'c'.repeat(32) }),
          contentType: FORM,
        },
      );
    }
    // The installer must not trust the address it is given (the page loads use the stored one).
    probes.push({
      endpoint: '/b24/install',
      kind: 'forged',
      what: 'a SERVER_ENDPOINT of our choosing',
      method: 'POST',
      path: `/b24/install${frameQuery()}`,
      body: frame({ SERVER_ENDPOINT: 'http://127.0.0.1:1/rest/' }),
      contentType: FORM,
    });
    for (const path of ['/b24/app', '/b24/placement']) {
      probes.push({
        endpoint: path,
        kind: 'malformed',
        what: 'PLACEMENT_OPTIONS not JSON, with a bogus placement',
        method: 'POST',
        path: `${path}${frameQuery()}`,
        body: frame({ APPLICATION_TOKEN: 'x', PLACEMENT: '<script>', PLACEMENT_OPTIONS: '{"ID":' }),
        contentType: FORM,
      });
    }
    // Bitrix24's event and robot callbacks.
    for (const path of ['/b24/events', '/b24/events/install', '/b24/robot']) {
      const body = path === '/b24/robot' ? robot : event;
      probes.push(
        {
          endpoint: path,
          kind: 'malformed',
          what: 'empty body',
          method: 'POST',
          path,
          body: '',
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'malformed',
          what: 'brackets gone wrong',
          method: 'POST',
          path,
          body: 'auth[member_id][[]=1&auth]=2&data[FIELDS[ID]=3&%%%',
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'malformed',
          what: 'a JSON body',
          method: 'POST',
          path,
          body: '{"auth":{"member_id":1}}',
          contentType: 'application/json',
        },
        {
          endpoint: path,
          kind: 'malformed',
          what: 'text/plain',
          method: 'POST',
          path,
          body: body({ 'auth[application_token]': 'x' }),
          contentType: 'text/plain',
        },
        {
          endpoint: path,
          kind: 'oversized',
          what: '2 MB form',
          method: 'POST',
          path,
          body: big(2 * 1024 * 1024),
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'wrong-tenant',
          what: "another portal's application token",
          method: 'POST',
          path,
          body: body({ 'auth[application_token]': theirsToken }),
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'wrong-tenant',
          what: 'an unknown member_id',
          method: 'POST',
          path,
          body: body({ 'auth[member_id]': 'e'.repeat(32) }),
          contentType: FORM,
        },
        {
          endpoint: path,
          kind: 'forged',
          what: 'no application token',
          method: 'POST',
          path,
          body: body({ 'auth[application_token]': '' }),
          contentType: FORM,
        },
      );
    }
    probes.push(
      {
        endpoint: '/b24/events',
        kind: 'forged',
        what: 'ONAPPUNINSTALL with a guessed token',
        method: 'POST',
        path: '/b24/events',
        body: event({
          event: 'ONAPPUNINSTALL',
          'data[CLEAN]': '1',
          'auth[application_token]': 'f'.repeat(32),
        }),
        contentType: FORM,
      },
      {
        endpoint: '/b24/events',
        kind: 'wrong-tenant',
        what: "ONAPPUNINSTALL of this portal with the other's token",
        method: 'POST',
        path: '/b24/events',
        body: event({ event: 'ONAPPUNINSTALL', 'auth[application_token]': theirsToken }),
        contentType: FORM,
      },
      {
        endpoint: '/b24/robot',
        kind: 'malformed',
        what: 'a valid token, an unknown robot and document',
        method: 'POST',
        path: '/b24/robot',
        body: robot({ code: 'rm -rf', 'document_id[2]': 'CONTACT_1' }),
        contentType: FORM,
      },
    );
    // The app pages' own requests (htmx) and the hh.ru login.
    const sessionHeaders = (session: string) => ({
      'x-hhb24-session': session,
      origin: world.env['PUBLIC_URL']!,
    });
    for (const route of [
      '/ui/settings',
      '/ui/import/progress',
      '/ui/install/run',
      '/ui/card/pdf',
      '/ui/../../etc/passwd',
    ]) {
      probes.push(
        {
          endpoint: '/ui/*',
          kind: 'forged',
          what: `${route} without a session`,
          method: 'POST',
          path: route,
          body: '',
          contentType: FORM,
          headers: { origin: world.env['PUBLIC_URL']! },
        },
        {
          endpoint: '/ui/*',
          kind: 'forged',
          what: `${route} with a tampered session`,
          method: 'POST',
          path: route,
          body: 'a=1',
          contentType: FORM,
          headers: sessionHeaders('eyJtIjoiMSJ9.' + 'A'.repeat(43)),
        },
        {
          endpoint: '/ui/*',
          kind: 'oversized',
          what: `${route} with a 100 kB session header`,
          method: 'GET',
          path: route,
          headers: sessionHeaders('x'.repeat(100_000)),
        },
      );
    }
    probes.push(
      {
        endpoint: '/hh/oauth/start',
        kind: 'forged',
        what: 'no session',
        method: 'POST',
        path: '/hh/oauth/start',
        body: '',
        contentType: FORM,
      },
      {
        endpoint: '/hh/oauth/start',
        kind: 'forged',
        what: 'a tampered session',
        method: 'POST',
        path: '/hh/oauth/start',
        body: form({ _session: 'abc.def' }),
        contentType: FORM,
      },
      {
        endpoint: '/hh/oauth/start',
        kind: 'oversized',
        what: '2 MB form',
        method: 'POST',
        path: '/hh/oauth/start',
        body: big(2 * 1024 * 1024),
        contentType: FORM,
      },
      {
        endpoint: '/hh/oauth/callback',
        kind: 'malformed',
        what: 'no state, no code',
        method: 'GET',
        path: '/hh/oauth/callback',
      },
      {
        endpoint: '/hh/oauth/callback',
        kind: 'malformed',
        what: 'state and code arrays',
        method: 'GET',
        path: '/hh/oauth/callback?state=a&state=b&code[]=1',
      },
      {
        endpoint: '/hh/oauth/callback',
        kind: 'forged',
        what: 'an unknown state with a code',
        method: 'GET',
        path: `/hh/oauth/callback?state=${'A'.repeat(32)}&code=${hh.sim.authorize({ userId: admin.userId })}`,
        headers: { cookie: `hhb24_hh_state=${'A'.repeat(32)}` },
      },
      {
        endpoint: '/hh/oauth/callback',
        kind: 'oversized',
        what: 'an 8 kB code',
        method: 'GET',
        path: `/hh/oauth/callback?state=${'B'.repeat(32)}&code=${'c'.repeat(8000)}`,
      },
      {
        endpoint: '/hh/oauth/callback',
        kind: 'forged',
        what: 'error=access_denied with a made-up state',
        method: 'GET',
        path: `/hh/oauth/callback?error=access_denied&state=${'C'.repeat(20)}`,
      },
    );
    // hh.ru's callbacks.
    probes.push(
      {
        endpoint: '/hh/webhook',
        kind: 'forged',
        what: 'the right account, a wrong signature',
        method: 'POST',
        path: otherHook,
        body: hookBody,
        contentType: 'application/json',
      },
      {
        endpoint: '/hh/webhook',
        kind: 'wrong-tenant',
        what: 'an unknown account',
        method: 'POST',
        path: `/hh/webhook/00000000-0000-4000-8000-000000000000.${'1'.repeat(64)}`,
        body: hookBody,
        contentType: 'application/json',
      },
      {
        endpoint: '/hh/webhook',
        kind: 'malformed',
        what: 'no token in the path',
        method: 'POST',
        path: '/hh/webhook/',
        body: hookBody,
        contentType: 'application/json',
      },
      {
        endpoint: '/hh/webhook',
        kind: 'malformed',
        what: 'broken JSON',
        method: 'POST',
        path: hookPath,
        body: '{"id": "1", "payload": {',
        contentType: 'application/json',
      },
      {
        endpoint: '/hh/webhook',
        kind: 'malformed',
        what: 'JSON of the wrong shape',
        method: 'POST',
        path: hookPath,
        body: JSON.stringify({
          id: 42,
          action_type: ['NEW_NEGOTIATION_VACANCY'],
          payload: 'x',
          subscription_id: null,
        }),
        contentType: 'application/json',
      },
      {
        endpoint: '/hh/webhook',
        kind: 'malformed',
        what: 'an action type that is no identifier',
        method: 'POST',
        path: hookPath,
        body: JSON.stringify({ ...delivery.body, id: 'new-id-1', action_type: "x'; drop table" }),
        contentType: 'application/json',
      },
      {
        endpoint: '/hh/webhook',
        kind: 'malformed',
        what: 'a callback id of 300 characters',
        method: 'POST',
        path: hookPath,
        body: JSON.stringify({ ...delivery.body, id: 'i'.repeat(300) }),
        contentType: 'application/json',
      },
      {
        endpoint: '/hh/webhook',
        kind: 'malformed',
        what: 'a form instead of JSON',
        method: 'POST',
        path: hookPath,
        body: 'id=1&action_type=NEW_NEGOTIATION_VACANCY',
        contentType: FORM,
      },
      {
        endpoint: '/hh/webhook',
        kind: 'oversized',
        what: '200 kB JSON',
        method: 'POST',
        path: hookPath,
        body: JSON.stringify({ ...delivery.body, pad: 'x'.repeat(200_000) }),
        contentType: 'application/json',
      },
      {
        endpoint: '/hh/webhook',
        kind: 'replayed',
        what: 'the genuine callback again (same id)',
        method: 'POST',
        path: hookPath,
        body: hookBody,
        contentType: 'application/json',
        replay: true,
      },
      {
        endpoint: '/hh/webhook',
        kind: 'replayed',
        what: 'the genuine callback a third time',
        method: 'POST',
        path: hookPath,
        body: hookBody,
        contentType: 'application/json',
        replay: true,
      },
    );

    const before = await stored(world, [mine, theirs]);
    const answers: Array<{ probe: Probe; status: number }> = [];
    for (const probe of probes) {
      const res = await fetch(`${world.env['PUBLIC_URL']}${probe.path}`, {
        method: probe.method,
        headers: { ...(probe.contentType ? { 'content-type': probe.contentType } : {}), ...probe.headers },
        body: probe.method === 'POST' ? probe.body : undefined,
        redirect: 'manual',
      }).catch((err: Error) => ({ status: 0, text: async () => err.message }));
      await res.text();
      answers.push({ probe, status: res.status });
    }
    const wrong = answers.filter(({ probe, status }) =>
      probe.replay ? status < 200 || status >= 300 : status < 400 || status >= 500,
    );
    t.same(
      wrong.map(({ probe, status }) => `${probe.endpoint} ${probe.kind} (${probe.what}): ${status}`),
      [],
      `${answers.length} requests: each refused with a 4xx (replays of hh.ru's callback accepted again)`,
    );
    const kinds = new Set(answers.map((a) => `${a.probe.endpoint}:${a.probe.kind}`));
    t.ok(
      ['/b24/install', '/b24/app', '/b24/placement', '/b24/events', '/b24/robot', '/hh/webhook'].every(
        (e) => kinds.has(`${e}:malformed`) && kinds.has(`${e}:oversized`),
      ),
      'every endpoint got malformed and oversized requests',
    );
    t.equal((await fetch(`${world.env['PUBLIC_URL']}/livez`)).status, 200, 'the gateway is still up');

    // A moment for anything a request might have set off (outbox, consumers) to show.
    await new Promise((r) => setTimeout(r, 1500));
    const after = await stored(world, [mine, theirs]);
    const changed = Object.keys({ ...before, ...after }).filter(
      (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
    );
    t.same(
      changed.map((k) => `${k}: ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`),
      [],
      `nothing stored changed (${Object.keys(before).length} tables, streams and simulator records compared)`,
    );
    t.equal(
      b24.sim.entities(mine, 'lead').filter((l) => l['ORIGIN_ID'] === arrived.id).length,
      1,
      'the replayed callback made no second lead',
    );
  },
);
