/**
 * The methods the official SDKs' helpers call besides app.info and profile: server.time, the
 * CRM's currencies, and the app's and each user's settings (app.option.*, user.option.*).
 */
import t from 'tap';
import { installedPortal, rest, sim } from './helpers.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/;

t.test('server.time: the portal server’s time in its own zone, for any app', async (t) => {
  const running = await sim(t);
  const { portal, token } = await installedPortal(running);
  const before = Date.now();
  const ru = await rest(portal, token, 'server.time');
  t.equal(ru.status, 200);
  t.same(Object.keys(ru.body).sort(), ['result', 'time']);
  t.match(ru.body.result, ISO);
  t.match(ru.body.result, /\+03:00$/, 'a Russian portal runs on Moscow time');
  const at = Date.parse(ru.body.result as string);
  t.ok(at >= Math.floor(before / 1000) * 1000 - 1000 && at <= Date.now() + 1000, 'now');

  const en = await installedPortal(running, { lang: 'en' });
  t.match((await rest(en.portal, en.token, 'server.time')).body.result, /\+00:00$/);

  running.sim.updateApp('hh-b24-dev', { scopes: ['placement'] });
  const narrow = running.sim.createPortal();
  const install = await running.sim.install(narrow.memberId);
  t.equal(
    (await rest(narrow, install.accessToken, 'server.time')).status,
    200,
    'a basic method: no scope needed',
  );
});

t.test('currencies: the base one, the list in the portal’s language, one with its formats', async (t) => {
  const running = await sim(t);
  const { portal, token } = await installedPortal(running);
  const base = await rest(portal, token, 'crm.currency.base.get');
  t.same([base.status, base.body.result], [200, 'RUB']);

  const list = await rest(portal, token, 'crm.currency.list');
  t.equal(list.status, 200);
  t.equal(list.body.total, 0, 'total is always 0');
  t.notOk('next' in list.body, 'one answer, no paging');
  const rows = list.body.result as Array<Record<string, unknown>>;
  t.same(
    rows.map((r) => r['CURRENCY']),
    ['RUB', 'USD', 'EUR', 'BYN'],
    'by SORT',
  );
  t.same(rows[0], {
    CURRENCY: 'RUB',
    AMOUNT_CNT: '1',
    AMOUNT: '1.0000',
    SORT: '100',
    BASE: 'Y',
    FULL_NAME: 'Российский рубль',
    LID: 'ru',
    FORMAT_STRING: '# &#8381;',
    DEC_POINT: '.',
    THOUSANDS_SEP: '&nbsp;',
    DECIMALS: '2',
    DATE_UPDATE: rows[0]!['DATE_UPDATE'],
  });
  t.match(rows[0]!['DATE_UPDATE'], ISO);
  t.same(
    rows.filter((r) => r['BASE'] === 'Y').map((r) => r['CURRENCY']),
    ['RUB'],
    'one base currency',
  );
  const byCode = await rest(portal, token, 'crm.currency.list', { order: { currency: 'desc' } });
  t.same(
    (byCode.body.result as Array<{ CURRENCY: string }>).map((r) => r.CURRENCY),
    ['USD', 'RUB', 'EUR', 'BYN'],
    'order by any field, either way',
  );

  const usd = await rest(portal, token, 'crm.currency.get', { id: 'USD' });
  t.match(usd.body.result, {
    CURRENCY: 'USD',
    FULL_NAME: 'Доллар США',
    LID: 'ru',
    BASE: 'N',
    LANG: {
      ru: { FULL_NAME: 'Доллар США', FORMAT_STRING: '$#', THOUSANDS_VARIANT: 'C', HIDE_ZERO: 'Y' },
      en: { FULL_NAME: 'United States Dollar', FORMAT_STRING: '$#', DECIMALS: '2' },
    },
  });
  t.same((await rest(portal, token, 'crm.currency.get', { id: 'XYZ' })).body, {
    error: '',
    error_description: 'Not found',
  });

  const en = await installedPortal(running, { lang: 'en' });
  t.match((await rest(en.portal, en.token, 'crm.currency.list')).body.result, [
    { CURRENCY: 'RUB', FULL_NAME: 'Russian Ruble', FORMAT_STRING: '&#8381;#', LID: 'en' },
  ]);

  const outsider = running.sim.addUser(portal.memberId, { crmAccess: false });
  const theirs = running.sim.issueUserToken(portal.memberId, { userId: outsider.ID }).accessToken;
  for (const method of ['crm.currency.list', 'crm.currency.get']) {
    const denied = await rest(portal, theirs, method, { id: 'RUB' });
    t.same(
      [denied.status, denied.body],
      [400, { error: '', error_description: 'Access denied.' }],
      `${method} needs access to the CRM`,
    );
  }
  t.equal(
    (await rest(portal, theirs, 'crm.currency.base.get')).body.result,
    'RUB',
    'the base currency is for any user',
  );

  running.sim.updateApp('hh-b24-dev', { scopes: ['placement'] });
  const narrow = running.sim.createPortal();
  const install = await running.sim.install(narrow.memberId);
  t.equal(
    (await rest(narrow, install.accessToken, 'crm.currency.base.get')).body.error,
    'insufficient_scope',
    'the crm scope is needed',
  );
});

t.test('app.option: the app’s settings on one portal, shared by its users, written by admins', async (t) => {
  const running = await sim(t);
  const { portal, token } = await installedPortal(running);
  t.same((await rest(portal, token, 'app.option.get')).body.result, [], 'nothing saved: []');
  t.equal((await rest(portal, token, 'app.option.get', { option: 'mode' })).body.result, null);

  const set = await rest(portal, token, 'app.option.set', {
    options: { mode: 'digest', limit: 5, on: true, list: [1, 2], nested: { a: 'b' } },
  });
  t.same([set.status, set.body.result], [200, true]);
  t.same(
    (await rest(portal, token, 'app.option.get')).body.result,
    { mode: 'digest', limit: 5, on: true, list: [1, 2], nested: { a: 'b' } },
    'a JSON body keeps its types',
  );
  t.equal((await rest(portal, token, 'app.option.get', { option: 'limit' })).body.result, 5);

  const form = await fetch(`${portal.clientEndpoint}app.option.set.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `auth=${token}&options%5Blimit%5D=7&options%5Bextra%5D=x`,
  });
  t.equal(form.status, 200);
  t.match(
    (await rest(portal, token, 'app.option.get')).body.result,
    { mode: 'digest', limit: '7', extra: 'x', on: true },
    'a form writes strings; only the keys given change',
  );

  await rest(portal, token, 'app.option.set', { data: 'value' });
  t.equal(
    (await rest(portal, token, 'app.option.get', { option: 'data' })).body.result,
    'value',
    'without options the parameters themselves are the settings',
  );
  for (const empty of [{}, { options: {} }, { options: 'text' }]) {
    const refused = await rest(portal, token, 'app.option.set', empty);
    t.same(
      [refused.status, refused.body],
      [
        400,
        {
          error: 'ERROR_ARGUMENT',
          error_description: "Argument 'options' is null or empty",
          argument: 'options',
        },
      ],
      `nothing to save (${JSON.stringify(empty)})`,
    );
  }

  await rest(portal, token, 'app.option.set', { options: { next: 'n', total: 't' } });
  const all = await rest(portal, token, 'app.option.get');
  t.match(all.body, { next: 'n', total: 't' }, 'settings named next and total come beside result');
  t.notOk('next' in (all.body.result as object) || 'total' in (all.body.result as object));
  t.equal((await rest(portal, token, 'app.option.get', { option: 'next' })).body.result, 'n');

  const employee = running.sim.addUser(portal.memberId, { isAdmin: false });
  const theirs = running.sim.issueUserToken(portal.memberId, { userId: employee.ID }).accessToken;
  t.equal(
    (await rest(portal, theirs, 'app.option.get', { option: 'mode' })).body.result,
    'digest',
    'every user reads them',
  );
  const denied = await rest(portal, theirs, 'app.option.set', { options: { mode: 'instant' } });
  t.same(
    [denied.status, denied.body],
    [
      403,
      { error: 'ACCESS_DENIED', error_description: 'Access denied! Administrator authorization required' },
    ],
    'only an administrator writes them',
  );

  const other = await installedPortal(running);
  t.same((await rest(other.portal, other.token, 'app.option.get')).body.result, [], 'per portal');
  running.sim.registerApp({ clientId: 'other-app', clientSecret: 's' });
  const otherApp = await running.sim.install(portal.memberId, { clientId: 'other-app' });
  t.same((await rest(portal, otherApp.accessToken, 'app.option.get')).body.result, [], 'per app');
});

t.test('user.option: each user’s own settings for the app on one portal', async (t) => {
  const running = await sim(t);
  const { portal, token } = await installedPortal(running);
  const employee = running.sim.addUser(portal.memberId, { isAdmin: false });
  const theirs = running.sim.issueUserToken(portal.memberId, { userId: employee.ID }).accessToken;

  t.same((await rest(portal, theirs, 'user.option.get')).body.result, []);
  t.same(
    (await rest(portal, theirs, 'user.option.set', { options: { tab: 'deals', size: 20 } })).body.result,
    true,
    'any user writes their own',
  );
  t.same((await rest(portal, theirs, 'user.option.get')).body.result, { tab: 'deals', size: 20 });
  t.equal((await rest(portal, theirs, 'user.option.get', { option: 'size' })).body.result, 20);
  t.equal((await rest(portal, theirs, 'user.option.get', { option: 'other' })).body.result, null);
  t.same(
    (await rest(portal, token, 'user.option.get')).body.result,
    [],
    'the token’s user only: another user sees none of them',
  );
  await rest(portal, token, 'user.option.set', { options: { tab: 'leads' } });
  t.equal((await rest(portal, theirs, 'user.option.get', { option: 'tab' })).body.result, 'deals');
  t.equal((await rest(portal, token, 'user.option.get', { option: 'tab' })).body.result, 'leads');
  t.equal((await rest(portal, theirs, 'user.option.set', { options: [] })).body.error, 'ERROR_ARGUMENT');

  running.sim.registerApp({ clientId: 'other-app', clientSecret: 's' });
  await running.sim.install(portal.memberId, { clientId: 'other-app' });
  const sameUserOtherApp = running.sim.issueUserToken(portal.memberId, {
    userId: employee.ID,
    clientId: 'other-app',
  }).accessToken;
  t.same((await rest(portal, sameUserOtherApp, 'user.option.get')).body.result, [], 'per app');
  const other = await installedPortal(running);
  t.same((await rest(other.portal, other.token, 'user.option.get')).body.result, [], 'per portal');
});

t.test('in one batch, as the JS SDK’s helper loads them', async (t) => {
  const running = await sim(t);
  const { portal, token } = await installedPortal(running);
  await rest(portal, token, 'app.option.set', { options: { first_run: 'N' } });
  await rest(portal, token, 'user.option.set', { options: { theme: 'dark' } });
  const batch = await rest(portal, token, 'batch', {
    halt: 1,
    cmd: {
      get_app: 'app.info',
      get_profile: 'profile',
      get_currency_0: 'crm.currency.base.get',
      get_currency_1: 'crm.currency.list',
      get_appOptions: 'app.option.get',
      get_userOptions: 'user.option.get',
      time: 'server.time',
    },
  });
  const result = batch.body.result as {
    result: Record<string, unknown>;
    result_error: unknown;
    result_total: Record<string, unknown>;
  };
  t.same(result.result_error, [], 'no command failed');
  t.equal(result.result['get_currency_0'], 'RUB');
  t.equal((result.result['get_currency_1'] as unknown[]).length, 4);
  t.equal(result.result_total['get_currency_1'], 0);
  t.same(result.result['get_appOptions'], { first_run: 'N' });
  t.same(result.result['get_userOptions'], { theme: 'dark' });
  t.match(result.result['time'], ISO);
  t.match(
    running.sim
      .requests(portal.memberId)
      .filter((r) => r.kind === 'batch')
      .map((r) => r.method),
    [
      'app.info',
      'profile',
      'crm.currency.base.get',
      'crm.currency.list',
      'app.option.get',
      'user.option.get',
      'server.time',
    ],
  );
});

t.test(
  'user.admin: true for a portal admin’s token, false for any other user’s, no scope needed',
  async (t) => {
    const running = await sim(t);
    const { portal, token } = await installedPortal(running);
    const admin = await rest(portal, token, 'user.admin');
    t.same([admin.status, admin.body.result], [200, true], 'the installing admin (user 1)');
    const employee = running.sim.issueUserToken(portal.memberId, { userId: 2 });
    const plain = await rest(portal, employee.accessToken, 'user.admin');
    t.same([plain.status, plain.body.result], [200, false], 'a seeded employee (user 2) is not an admin');
    const promoted = running.sim.addUser(portal.memberId, { NAME: 'Вера', isAdmin: true });
    const second = running.sim.issueUserToken(portal.memberId, { userId: promoted.ID });
    t.equal((await rest(portal, second.accessToken, 'user.admin')).body.result, true, 'another admin');
    const unknown = await rest(portal, 'not-a-token', 'user.admin');
    t.equal(unknown.status, 401, 'an unknown token is refused as for any method');
  },
);
