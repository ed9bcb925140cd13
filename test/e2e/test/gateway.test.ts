/**
 * The gateway against the simulated Bitrix24, over HTTP as Bitrix24 and browsers reach it: the
 * install and its «Готово» steps (failure, retry, nothing twice), the uninstall, robots, and every
 * way a request may be forged (application_token, member_id, DOMAIN, SERVER_ENDPOINT, CSRF):
 * each refused, nothing changed, and no request ever sent to an address a request chose.
 */
import { createServer } from 'node:http';
import t, { type Test } from 'tap';
import { subjects } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { type Stack, framePost, sessionOf, startStack } from './stack.js';

async function evilServer(t: Test): Promise<{ host: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { host: `127.0.0.1:${(server.address() as { port: number }).port}`, hits };
}

const gatewayOf = (stack: Stack) => stack.services.at(-1)!.runtime;
const settingsOf = (stack: Stack) => stack.services[0]!.runtime;
const portalRow = (stack: Stack, memberId: string) =>
  gatewayOf(stack).db('b24_portals').where({ member_id: memberId }).first();

/** Messages published on a stream's subject (the outbox relay runs in the gateway). */
async function published(stack: Stack, stream: string, subject: string): Promise<unknown[]> {
  const runtime = gatewayOf(stack);
  const name = runtime.naming.stream(stream);
  const info = await runtime.nats.jsm.streams.info(name);
  const out: unknown[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await runtime.nats.jsm.streams.getMessage(name, { seq }).catch(() => null);
    if (m?.subject === runtime.naming.subject(subject)) out.push(m.json());
  }
  return out;
}

/** Installs the app the way the installer page does, and runs «Готово». */
async function install(stack: Stack, name: string): Promise<{ memberId: string; token: string }> {
  const portal = stack.b24.sim.createPortal({ name, lang: 'ru' });
  await stack.b24.sim.install(portal.memberId);
  const page = await framePost(stack, name, '/b24/install');
  if (page.status !== 200) throw new Error(`install page answered ${page.status}`);
  const token = sessionOf(page.html);
  const run = await fetch(`${stack.gatewayUrl}/ui/install/run`, {
    method: 'POST',
    headers: { 'x-hhb24-session': token },
  });
  if (!(await run.text()).includes('data-install-complete'))
    throw new Error('install steps did not complete');
  stack.b24.sim.finishInstall(portal.memberId);
  return { memberId: portal.memberId, token };
}

t.test(
  'install: only allowed hosts are ever called, the OAuth server decides which portal the tokens belong to, only an admin installs',
  async (t) => {
    const stack = await startStack(t, { hh: 'fixture' });
    const { sim } = stack.b24;
    const evil = await evilServer(t);
    const a = sim.createPortal({ name: 'alpha' });
    const b = sim.createPortal({ name: 'beta' });
    await sim.install(a.memberId);
    await sim.install(b.memberId);
    const oauthCalls = () => sim.requests().filter((r) => r.kind === 'oauth').length;

    const foreignDomain = await framePost(stack, 'alpha', '/b24/install', {
      domain: `${evil.host}/portal/alpha`,
    });
    t.equal(foreignDomain.status, 403, 'a DOMAIN on a host not allowed is refused');
    t.match(foreignDomain.html, /не входит в список разрешённых/);
    const foreignOAuth = await framePost(stack, 'alpha', '/b24/install', {
      serverEndpoint: `http://${evil.host}/rest/`,
    });
    t.equal(foreignOAuth.status, 403, 'a SERVER_ENDPOINT not allowed is refused');
    t.same(evil.hits, [], 'the gateway never called the address the requests named');
    t.equal(oauthCalls(), 0, 'nor asked the OAuth server about them');

    const otherMember = await framePost(stack, 'alpha', '/b24/install', { memberId: b.memberId });
    t.equal(
      otherMember.status,
      403,
      'alpha’s tokens with beta’s member_id: the OAuth server names alpha, refused',
    );
    const otherDomain = await framePost(stack, 'alpha', '/b24/install', { domain: b.domain });
    t.equal(otherDomain.status, 403, 'alpha’s tokens claimed for beta’s address: refused');
    const junk = await framePost(stack, 'alpha', '/b24/install', { refreshId: 'not-a-refresh-token' });
    t.equal(junk.status, 401, 'a refresh token the OAuth server does not know: refused');
    const clerk = sim.addUser(a.memberId, { NAME: 'Клерк', isAdmin: false });
    const notAdmin = await framePost(stack, 'alpha', '/b24/install', { userId: clerk.ID });
    t.equal(notAdmin.status, 403, 'a user who is not an admin cannot install');
    t.match(notAdmin.html, /только администратор портала/);
    t.equal(await portalRow(stack, a.memberId), undefined, 'nothing stored for alpha');
    t.equal(await portalRow(stack, b.memberId), undefined, 'nor for beta');

    const ok = await framePost(stack, 'alpha', '/b24/install');
    t.equal(ok.status, 200, 'the real installer POST is accepted');
    const row = await portalRow(stack, a.memberId);
    t.match(
      row,
      { domain: a.domain, client_endpoint: a.clientEndpoint, status: 'installed' },
      'the portal is stored with the address the OAuth server confirmed',
    );
    t.notMatch(JSON.stringify(row), /access_token":"[0-9a-f]{16}/, 'tokens are sealed');
    t.equal(
      ok.headers.get('content-security-policy')?.match(/frame-ancestors ([^;]+)/)?.[1],
      new URL(a.baseUrl).origin,
      'only the portal may frame the page',
    );
  },
);

t.test(
  '«Готово»: a failing step says what to do, the retry finishes only what is missing, nothing is created twice',
  async (t) => {
    const stack = await startStack(t, { hh: 'fixture' });
    const { sim } = stack.b24;
    const portal = sim.createPortal({ name: 'gamma' });
    await sim.install(portal.memberId);
    // A field left from an earlier install is found, not created again.
    const leftover = sim.issueUserToken(portal.memberId);
    await fetch(`${portal.clientEndpoint}crm.lead.userfield.add.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: leftover.accessToken,
        fields: { FIELD_NAME: 'UF_CRM_NH_STATUS', USER_TYPE_ID: 'string' },
      }),
    });
    const page = await framePost(stack, 'gamma', '/b24/install');
    const token = sessionOf(page.html);
    sim.injectFault(portal.memberId, {
      kind: 'operation_time_limit',
      forMs: 60_000,
      methods: ['bizproc.robot.add'],
    });
    const run = async () =>
      (
        await fetch(`${stack.gatewayUrl}/ui/install/run`, {
          method: 'POST',
          headers: { 'x-hhb24-session': token },
        })
      ).text();

    const first = await run();
    t.notMatch(first, /data-install-complete/, 'not complete');
    t.match(first, /data-step="robot:hh_status_refresh" data-state="failed"/, 'the robot steps failed');
    t.match(first, /data-step="robot:hh_status_change" data-state="failed"/);
    t.match(first, /Портал временно не ответил\. Нажмите «Повторить» через минуту\./, 'with what to do');
    t.match(first, />Повторить</, 'and a retry button');
    t.equal((first.match(/data-state="done"/g) ?? []).length, 17, 'every other step is done');

    sim.clearFaults(portal.memberId);
    const since = sim.requests(portal.memberId).length;
    const second = await run();
    t.match(second, /data-install-complete="true"/, 'the retry completes the install');
    const commands = sim
      .requests(portal.memberId)
      .slice(since)
      .filter((r) => r.kind === 'batch')
      .map((r) => r.method);
    t.same(
      commands,
      ['bizproc.robot.list', 'bizproc.robot.list', 'bizproc.robot.add', 'bizproc.robot.add'],
      'the retry checked and added only the robots',
    );
    const before = sim.requests(portal.memberId).length;
    const third = await run();
    t.match(third, /data-install-complete="true"/);
    t.equal(sim.requests(portal.memberId).length, before, 'a repeat does not call the portal at all');
    const fields = sim.userFields(portal.memberId).map((u) => `${u.ENTITY_ID}:${u.FIELD_NAME}`);
    t.equal(fields.length, 10, 'five fields on leads, five on deals');
    t.equal(new Set(fields).size, 10, 'none twice');
  },
);

t.test(
  'forged page loads: application_token, another portal’s member_id, a DOMAIN of another host; each refused',
  async (t) => {
    const stack = await startStack(t, { hh: 'fixture' });
    const { sim } = stack.b24;
    const a = await install(stack, 'delta');
    const b = await install(stack, 'epsilon');
    const good = await framePost(stack, 'delta', '/b24/app');
    t.equal(good.status, 200, 'the portal’s own page load');
    t.match(good.html, /data-testid="auth-panel"/);

    const forged = await framePost(stack, 'delta', '/b24/app', { applicationToken: 'f'.repeat(32) });
    t.equal(forged.status, 401, 'a forged APPLICATION_TOKEN');
    t.match(forged.html, /не установлено на этом портале/);
    t.notMatch(forged.html, /data-session/, 'no session handed out');
    const otherPortal = await framePost(stack, 'delta', '/b24/app', { memberId: b.memberId });
    t.equal(otherPortal.status, 401, 'delta’s application token with epsilon’s member_id');
    const bToken = sim.portalInfo('epsilon').installs[0]!.applicationToken;
    const crossed = await framePost(stack, 'delta', '/b24/app', {
      memberId: b.memberId,
      applicationToken: bToken,
      domain: sim.portalInfo('epsilon').domain,
    });
    t.equal(
      crossed.status,
      401,
      'epsilon’s member_id and application token with delta’s AUTH_ID: the portal does not know the token',
    );
    const foreignDomain = await framePost(stack, 'delta', '/b24/app', { domain: 'evil.example.com' });
    t.equal(foreignDomain.status, 403, 'a DOMAIN naming another host');
    const stale = await framePost(stack, 'delta', '/b24/app', { authId: 'expired-or-invented' });
    t.equal(stale.status, 401, 'an AUTH_ID the portal does not know');
    t.ok(a.memberId);
  },
);

t.test(
  'CSRF: the pages’ requests need the page’s signed session, from our own origin; nothing changes otherwise',
  async (t) => {
    const stack = await startStack(t, { hh: 'fixture' });
    const { memberId } = await install(stack, 'zeta');
    stack.fixture!.account = {
      status: 'active',
      accountId: 'a1',
      employerName: 'E',
      managerName: 'M',
      isAdmin: true,
      connectedAt: null,
      loginRequiredReason: null,
    };
    const token = sessionOf((await framePost(stack, 'zeta', '/b24/app')).html);
    const form = new URLSearchParams({
      responsibleUserId: '1',
      entityType: 'lead',
      stageForResponse: 'NEW',
      stageForInvitation: 'IN_PROCESS',
      action: 'save',
    });
    const post = (headers: Record<string, string>, body: URLSearchParams = form) =>
      fetch(`${stack.gatewayUrl}/ui/settings/save`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    const saved = () => settingsOf(stack).db('portal_settings').where({ member_id: memberId }).first();

    t.equal((await post({})).status, 401, 'no session: refused');
    const [body, mac] = token.split('.');
    const tampered = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), memberId: 'other' })).toString('base64url')}.${mac}`;
    t.equal(
      (await post({ 'x-hhb24-session': tampered })).status,
      401,
      'a session changed by the client: refused',
    );
    t.equal(
      (await post({ 'x-hhb24-session': token, origin: 'https://evil.example.com' })).status,
      403,
      'posted from another site: refused',
    );
    t.equal(
      (await post({}, new URLSearchParams([...form, ['_session', 'x.y']]))).status,
      401,
      'a made-up session field: refused',
    );
    t.equal(await saved(), undefined, 'nothing was saved');

    const ok = await post({ 'x-hhb24-session': token, origin: stack.gatewayUrl });
    t.equal(ok.status, 200, 'the page’s own request');
    t.match(await saved(), { settings: { entityType: 'lead', stageForResponse: 'NEW' } }, 'saved');
    const noResponsible = await (
      await post(
        { 'x-hhb24-session': token },
        new URLSearchParams({
          entityType: 'lead',
          stageForResponse: 'NEW',
          stageForInvitation: 'NEW',
          action: 'save',
        }),
      )
    ).text();
    t.match(
      noResponsible,
      /data-testid="error-responsibleUserId">Выберите ответственного/,
      'parseSettings’ messages are shown next to the fields',
    );
    const foreignStage = await (
      await post(
        { 'x-hhb24-session': token },
        new URLSearchParams({
          responsibleUserId: '1',
          entityType: 'deal',
          categoryId: '0',
          stageForResponse: 'C7:NEW',
          stageForInvitation: 'NEW',
          action: 'save',
        }),
      )
    ).text();
    t.match(
      foreignStage,
      /data-field="stageForResponse">Выберите стадию/,
      'a stage that is not in the chosen pipeline is named',
    );
    t.match(await saved(), { settings: { entityType: 'lead' } }, 'the refused forms changed nothing');
  },
);

t.test(
  'events and robots: forged calls change nothing; the portal’s uninstall (CLEAN) erases and closes the hh.ru connection; a robot run is recorded',
  async (t) => {
    const stack = await startStack(t, { hh: 'fixture', logs: true });
    const { sim } = stack.b24;
    const { memberId, token } = await install(stack, 'eta');
    await fetch(`${stack.gatewayUrl}/ui/feedback/send`, {
      method: 'POST',
      headers: { 'x-hhb24-session': token, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'message=hello',
    });
    const forgedUninstall = await fetch(`${stack.gatewayUrl}/b24/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        event: 'ONAPPUNINSTALL',
        'data[CLEAN]': '1',
        'auth[member_id]': memberId,
        'auth[application_token]': 'f'.repeat(32),
      }),
    });
    t.equal(forgedUninstall.status, 401, 'a forged ONAPPUNINSTALL');
    t.equal((await portalRow(stack, memberId))?.status, 'installed', 'changed nothing');

    // An employee who holds everything the browser sees (the iframe POST of a page load: their own
    // AUTH_ID, the portal's APPLICATION_TOKEN, member_id, DOMAIN) forges the uninstall with CLEAN=1.
    const info = sim.portalInfo(memberId);
    const employee = sim.issueUserToken(memberId, { userId: 2 });
    const stepsBefore = (await gatewayOf(stack).db('b24_install_steps').where({ member_id: memberId }))
      .length;
    const forgedByEmployee = await fetch(`${stack.gatewayUrl}/b24/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.7' },
      body: new URLSearchParams({
        event: 'ONAPPUNINSTALL',
        'data[LANGUAGE_ID]': 'ru',
        'data[CLEAN]': '1',
        ts: String(Math.floor(Date.now() / 1000)),
        'auth[access_token]': employee.accessToken,
        'auth[domain]': info.domain,
        'auth[server_endpoint]': info.serverEndpoint,
        'auth[client_endpoint]': info.clientEndpoint,
        'auth[member_id]': memberId,
        'auth[application_token]': info.installs[0]!.applicationToken,
      }),
    });
    t.equal(forgedByEmployee.status, 403, 'the portal says the app is installed: refused');
    t.match(await forgedByEmployee.json(), { error: 'b24_uninstall_unconfirmed' });
    t.match(await portalRow(stack, memberId), { status: 'installed' }, 'the portal’s record is intact');
    t.equal(
      (await settingsOf(stack).db('feedback').where({ member_id: memberId })).length,
      1,
      'its data in settings is intact',
    );
    t.equal(
      (await gatewayOf(stack).db('b24_install_steps').where({ member_id: memberId })).length,
      stepsBefore,
      'its install steps are intact',
    );
    t.same(
      (await published(stack, 'PORTAL', subjects.portalUninstalled)).length,
      0,
      'no portal.app.uninstalled went out',
    );
    await new Promise((r) => setTimeout(r, 500));
    t.notOk(
      stack.fixture!.calls.some((c) => c.contract === 'hhDisconnect'),
      'the hh.ru login is intact (nobody asked hh-connector to close it)',
    );
    const logged = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    t.match(
      logged.find((l) => /ONAPPUNINSTALL refused/.test(String(l['msg']))),
      {
        level: 40,
        memberId,
        clean: true,
        verdict: 'installed',
        from: /^127\.0\.0\.1 \(x-forwarded-for: 203\.0\.113\.7\)$/,
      },
      'logged with the caller’s address',
    );
    t.notMatch(stack.logs.join(''), employee.accessToken, 'the employee’s token is not in the log');

    const lead = sim.createEntity(memberId, 'lead', { TITLE: 'Кандидат' });
    sim.runRobot(memberId, { entityType: 'lead', entityId: Number(lead['ID']), code: 'hh_status_refresh' });
    await sim.idle();
    const runs = await eventually(
      async () => {
        const r = await published(stack, 'PORTAL', subjects.portalRobotInvoked);
        return r.length > 0 ? r : undefined;
      },
      { what: 'portal.robot.invoked' },
    );
    t.match(
      runs,
      [
        {
          memberId,
          code: 'hh_status_refresh',
          entityType: 'lead',
          entityId: Number(lead['ID']),
          eventToken: /\S+/,
        },
      ],
      'the robot run, authenticated, recorded for its worker',
    );
    t.notMatch(JSON.stringify(runs), /access_token|application_token/, 'without the portal’s tokens');
    const forgedRobot = await fetch(`${stack.gatewayUrl}/b24/robot`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        code: 'hh_status_refresh',
        'document_id[2]': 'LEAD_1',
        'auth[member_id]': memberId,
        'auth[application_token]': 'nope',
      }),
    });
    t.equal(forgedRobot.status, 401, 'a forged robot call');
    t.equal((await published(stack, 'PORTAL', subjects.portalRobotInvoked)).length, 1, 'recorded nothing');

    await sim.uninstall(memberId, { clean: true });
    await sim.idle();
    t.match(
      sim.deliveries(memberId).at(-1),
      { name: 'ONAPPUNINSTALL', status: 200 },
      'the gateway took the portal’s ONAPPUNINSTALL',
    );
    t.equal(await portalRow(stack, memberId), undefined, 'CLEAN: the portal’s record is gone');
    await eventually(
      async () =>
        stack.fixture!.calls.some(
          (c) => c.contract === 'hhDisconnect' && (c.request as { memberId: string }).memberId === memberId,
        ),
      { what: 'hh-connector asked to close the connection' },
    );
    await eventually(
      async () => (await settingsOf(stack).db('feedback').where({ member_id: memberId })).length === 0,
      { what: 'settings erased the portal’s feedback' },
    );
    t.same(
      await gatewayOf(stack).db('b24_install_steps').where({ member_id: memberId }),
      [],
      'the install steps are forgotten (a reinstall registers everything again)',
    );
    const after = await framePost(stack, 'eta', '/b24/app', { applicationToken: 'x'.repeat(32) });
    t.equal(after.status, 401, 'the uninstalled portal’s pages are refused');
  },
);

t.test(
  'an uninstall the portal cannot confirm at once (it answers 503): nothing is erased until it can, then the uninstall goes through',
  async (t) => {
    const stack = await startStack(t, { hh: 'fixture', logs: true });
    const { sim } = stack.b24;
    const { memberId } = await install(stack, 'theta');
    sim.injectFault(memberId, { kind: 'http_error', status: 503, methods: ['app.info'] });
    await sim.uninstall(memberId, { clean: true });
    await sim.idle();
    t.match(
      sim.deliveries(memberId).at(-1),
      { name: 'ONAPPUNINSTALL', status: 202 },
      'taken for later, not refused',
    );
    await new Promise((r) => setTimeout(r, 3000));
    t.match(await portalRow(stack, memberId), { status: 'installed' }, 'nothing erased while in doubt');
    t.notOk(
      stack.fixture!.calls.some((c) => c.contract === 'hhDisconnect'),
      'the hh.ru connection stays while in doubt',
    );
    t.ok(
      sim.requests(memberId).filter((r) => r.method === 'app.info' && r.status === 503).length >= 2,
      'the portal was asked again',
    );

    sim.clearFaults(memberId);
    await eventually(async () => (await portalRow(stack, memberId)) === undefined, {
      timeoutMs: 30_000,
      what: 'the uninstall confirmed and the portal’s record erased',
    });
    await eventually(
      async () =>
        stack.fixture!.calls.some(
          (c) => c.contract === 'hhDisconnect' && (c.request as { memberId: string }).memberId === memberId,
        ),
      { what: 'hh-connector asked to close the connection' },
    );
    t.match(
      sim
        .requests(memberId)
        .filter((r) => r.method === 'app.info')
        .at(-1),
      { status: 401, error: 'APPLICATION_NOT_FOUND' },
      'on the portal’s word: the app is not found there',
    );
  },
);
