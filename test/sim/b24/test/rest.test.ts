import t from 'tap';
import { installedPortal, rest, sim } from './helpers.js';

t.test('envelopes, errors and how a token may be passed', async (t) => {
  const running = await sim(t);
  const { portal, token } = await installedPortal(running);

  const ok = await rest(portal, token, 'profile');
  t.equal(ok.status, 200);
  t.same(Object.keys(ok.body).sort(), ['result', 'time'], 'success envelope: result and time');
  t.match(ok.body['time'], {
    start: Number,
    finish: Number,
    duration: Number,
    date_start: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00$/,
    operating_reset_at: Number,
  });
  t.equal((ok.body.result as { ADMIN: boolean }).ADMIN, true, 'the installing user is an admin');

  const viaQuery = await fetch(`${portal.clientEndpoint}profile?auth=${token}`);
  t.equal(viaQuery.status, 200, 'auth in the query, no .json suffix');
  const viaBearer = await fetch(`${portal.clientEndpoint}PROFILE.json`, {
    headers: { authorization: `Bearer ${token}` },
  });
  t.equal(viaBearer.status, 200, 'Bearer header; method names are case-insensitive');
  const viaForm = await fetch(`${portal.clientEndpoint}crm.lead.add.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `auth=${token}&fields%5BTITLE%5D=From+a+form&fields%5BPHONE%5D%5B0%5D%5BVALUE%5D=%2B79990001122&fields%5BPHONE%5D%5B0%5D%5BVALUE_TYPE%5D=MOBILE`,
  });
  const leadId = ((await viaForm.json()) as { result: number }).result;
  const lead = running.sim.entity(portal.memberId, 'lead', leadId)!;
  t.equal(lead['TITLE'], 'From a form', 'PHP bracket form bodies are understood');
  t.match(lead['PHONE'], [{ VALUE: '+79990001122', VALUE_TYPE: 'MOBILE', TYPE_ID: 'PHONE' }]);

  t.same(
    (await rest(portal, '', 'profile')).body,
    { error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' },
    'no token',
  );
  const bad = await rest(portal, 'nope', 'profile');
  t.same([bad.status, bad.body.error], [401, 'invalid_token']);
  const missing = await rest(portal, token, 'crm.nothing.here');
  t.same(
    [missing.status, missing.body],
    [404, { error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' }],
  );

  running.sim.updateApp('hh-b24-dev', { scopes: ['crm'] });
  const other = running.sim.createPortal();
  const narrow = await running.sim.install(other.memberId);
  const denied = await rest(other, narrow.accessToken, 'im.notify.system.add', { USER_ID: 1, MESSAGE: 'x' });
  t.same(
    [denied.status, denied.body.error],
    [401, 'insufficient_scope'],
    'a method outside the app’s scopes',
  );
  const foreign = await rest(other, token, 'profile');
  t.same(
    [foreign.status, foreign.body.error],
    [401, 'invalid_token'],
    'a token of another portal is not accepted',
  );

  const legacy = await rest(portal, token, 'crm.lead.get', { id: 999 });
  t.same(
    [legacy.status, legacy.body],
    [400, { error: '', error_description: 'Not found' }],
    'legacy crm errors carry an empty code',
  );
});

t.test('lists page by 50 with next and total; start=-1 skips the count', async (t) => {
  const running = await sim(t);
  const { portal, token } = await installedPortal(running);
  for (let i = 1; i <= 120; i++)
    running.sim.createEntity(portal.memberId, 'lead', {
      TITLE: `Lead ${i}`,
      SOURCE_ID: i % 2 ? 'WEB' : 'CALL',
    });
  const first = await rest(portal, token, 'crm.lead.list', { select: ['ID', 'TITLE'] });
  t.equal((first.body.result as unknown[]).length, 50);
  t.same([first.body.next, first.body.total], [50, 120]);
  const last = await rest(portal, token, 'crm.lead.list', { start: 100 });
  t.equal((last.body.result as unknown[]).length, 20);
  t.notOk('next' in last.body, 'the last page has no next');
  const fast = await rest(portal, token, 'crm.lead.list', { start: -1, order: { ID: 'DESC' } });
  t.notOk('total' in fast.body || 'next' in fast.body, 'start=-1: no total, no next');
  t.equal((fast.body.result as Array<{ ID: string }>)[0]!.ID, '120');
  const filtered = await rest(portal, token, 'crm.lead.list', {
    filter: { '=SOURCE_ID': 'WEB', '>ID': 100 },
    select: ['ID', 'SOURCE_ID'],
  });
  t.equal(filtered.body.total, 10);
  t.same(
    Object.keys((filtered.body.result as object[])[0]!).sort(),
    ['ID', 'SOURCE_ID'],
    'select limits the columns',
  );
});

t.test('batch: $result references, per-command errors, at most 50 commands', async (t) => {
  const running = await sim(t);
  const { portal, token } = await installedPortal(running);
  const res = await rest(portal, token, 'batch', {
    halt: 0,
    cmd: {
      lead: 'crm.lead.add?fields[TITLE]=Web%20order',
      note: 'crm.timeline.comment.add?fields[ENTITY_TYPE]=lead&fields[ENTITY_ID]=$result[lead]&fields[COMMENT]=Created',
      back: 'crm.lead.get?id=$result[lead]',
      bad: 'crm.lead.get?id=999',
      inner: 'batch?cmd[x]=profile',
    },
  });
  t.equal(res.status, 200, 'the batch itself succeeds');
  const r = res.body.result as Record<string, Record<string, unknown>>;
  t.equal(typeof r['result']!['lead'], 'number');
  t.equal(
    (r['result']!['back'] as { TITLE: string }).TITLE,
    'Web order',
    '$result[lead] reached the next command',
  );
  t.equal(
    running.sim.comments(portal.memberId)[0]!.entityId,
    r['result']!['lead'],
    'the comment went to the new lead',
  );
  t.same(r['result_error']!['bad'], { error: '', error_description: 'Not found' });
  t.equal((r['result_error']!['inner'] as { error: string }).error, 'ERROR_BATCH_METHOD_NOT_ALLOWED');
  t.same([r['result_total'], r['result_next']], [[], []], 'empty sections are PHP empty arrays');

  const cmd: Record<string, string> = {};
  for (let i = 0; i < 52; i++) cmd[`c${i}`] = 'profile';
  const long = (await rest(portal, token, 'batch', { cmd })).body.result as Record<
    string,
    Record<string, unknown>
  >;
  t.equal(Object.keys(long['result']!).length, 50);
  t.same(long['result_error']!['c51'], {
    error: 'ERROR_BATCH_LENGTH_EXCEEDED',
    error_description: 'Max batch length exceeded',
  });

  const halted = (await rest(portal, token, 'batch', { halt: 1, cmd: ['crm.lead.get?id=999', 'profile'] }))
    .body.result as Record<string, unknown>;
  t.same(halted['result'], [], 'halt stops at the first error');
  t.equal(
    running.sim.requests(portal.memberId).filter((e) => e.kind === 'rest' && e.method === 'batch').length,
    3,
    'each batch is one request',
  );
});

t.test('the leaky bucket: 50 at once, then 2 per second; 503 QUERY_LIMIT_EXCEEDED beyond', async (t) => {
  const running = await sim(t);
  const { portal, token } = await installedPortal(running);
  const started = Date.now();
  const statuses = await Promise.all(
    Array.from({ length: 60 }, () =>
      rest(portal, token, 'profile').then((r) => [r.status, r.body.error] as const),
    ),
  );
  const ok = statuses.filter(([s]) => s === 200).length;
  t.ok(ok >= 50 && ok <= 51, `a burst of 50 goes through (${ok} in ${Date.now() - started} ms)`);
  t.same(
    statuses.find(([s]) => s === 503),
    [503, 'QUERY_LIMIT_EXCEEDED'],
  );
  await new Promise((r) => setTimeout(r, 1000));
  const after = await Promise.all(
    Array.from({ length: 4 }, () => rest(portal, token, 'profile').then((r) => r.status)),
  );
  t.same(after.sort(), [200, 200, 503, 503], 'a second later the bucket drained by two');
  const log = running.sim.requests(portal.memberId);
  t.ok(
    log.every((e) => typeof e.at === 'number' && e.at >= started - 1000),
    'the request log has timestamps',
  );
  t.equal(
    log.filter((e) => e.status === 503).length,
    statuses.filter(([s]) => s === 503).length + 2,
    'refusals are logged',
  );
  const quiet = running.sim.createPortal();
  const q = await running.sim.install(quiet.memberId);
  t.equal((await rest(quiet, q.accessToken, 'profile')).status, 200, 'each portal has its own bucket');
});

t.test('faults: OPERATION_TIME_LIMIT, PORTAL_DELETED, 5xx', async (t) => {
  const running = await sim(t, { rateLimit: false });
  const { portal, token } = await installedPortal(running);
  running.sim.injectFault(portal.memberId, {
    kind: 'operation_time_limit',
    methods: ['crm.lead.list'],
    forMs: 300,
  });
  const blocked = await rest(portal, token, 'crm.lead.list');
  t.same(
    [blocked.status, blocked.body],
    [
      429,
      { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' },
    ],
  );
  t.equal((await rest(portal, token, 'crm.deal.list')).status, 200, 'only the blocked method');
  await new Promise((r) => setTimeout(r, 350));
  t.equal((await rest(portal, token, 'crm.lead.list')).status, 200, 'the block ends');

  running.sim.injectFault(portal.memberId, { kind: 'http_error', status: 502, count: 2 });
  const gateway = await fetch(`${portal.clientEndpoint}profile.json?auth=${token}`);
  t.equal(gateway.status, 502);
  t.match(await gateway.text(), /<html>/, 'a proxy error page, not JSON');
  t.equal((await rest(portal, token, 'profile')).status, 502);
  t.equal((await rest(portal, token, 'profile')).status, 200, 'the fault lasted two requests');

  running.sim.injectFault(portal.memberId, { kind: 'http_error', status: 500, count: 1 });
  t.same((await rest(portal, token, 'profile')).body.error, 'INTERNAL_SERVER_ERROR');

  running.sim.injectFault(portal.memberId, { kind: 'portal_deleted' });
  const deleted = await rest(portal, token, 'profile');
  t.same(
    [deleted.status, deleted.body],
    [403, { error: 'PORTAL_DELETED', error_description: 'Portal was deleted' }],
  );
  running.sim.clearFaults(portal.memberId);
  t.equal((await rest(portal, token, 'profile')).status, 200);
});
