import t from 'tap';
import { Bitrix24Error, Keyring, RateLimitExceeded, ValidationError } from '@hhb24/common';
import { b24Harness } from './b24-helpers.js';
import { eventually } from '@hhb24/common/testing';

const codeOf = async (p: Promise<unknown>) => {
  const err = (await p.then(
    () => null,
    (e: unknown) => e,
  )) as (Error & { code?: string; wait?: boolean; retryable?: boolean; retryAfterMs?: number }) | null;
  return err;
};

t.test('call, listAll through batched pages, batch split into 50s with $result inside a chunk', async (t) => {
  const h = await b24Harness(t, { rateLimit: false });
  const { memberId } = await h.installPortal();
  for (let i = 1; i <= 130; i++) h.running.sim.createEntity(memberId, 'lead', { TITLE: `Lead ${i}` });
  const since = Date.now();
  t.match(await h.client.call(memberId, 'profile'), { ID: '1', ADMIN: true });
  const rows = await h.client.listAll<{ ID: string }>(memberId, 'crm.lead.list', {
    select: ['ID'],
    order: { ID: 'ASC' },
  });
  t.equal(rows.length, 130);
  t.same(
    rows.slice(0, 2).map((r) => r.ID),
    ['1', '2'],
  );
  t.equal(new Set(rows.map((r) => r.ID)).size, 130, 'no row twice');
  const requests = h.running.sim.requests(memberId, { since }).filter((r) => r.kind === 'rest');
  t.same(
    requests.map((r) => r.method),
    ['profile', 'crm.lead.list', 'batch'],
    'the pages after the first came in one batch',
  );
  t.same(
    await h.client.listAll(memberId, 'crm.category.list', { entityTypeId: 2 }),
    [{ id: 0, name: 'Общее', sort: 100, entityTypeId: 2, isDefault: 'Y', originId: '', originatorId: '' }],
    'lists wrapped in an object',
  );

  const commands: Record<string, [string, Record<string, unknown>]> = {};
  for (let i = 0; i < 60; i++) {
    commands[`lead${i}`] = [
      'crm.lead.add',
      { fields: { TITLE: `Batch ${i}`, PHONE: [{ VALUE: `+7999${i}`, VALUE_TYPE: 'MOBILE' }] } },
    ];
    if (i === 55)
      commands['note'] = [
        'crm.timeline.comment.add',
        { fields: { ENTITY_TYPE: 'lead', ENTITY_ID: '$result[lead55]', COMMENT: 'added in a batch' } },
      ];
  }
  commands['missing'] = ['crm.lead.get', { id: 99999 }];
  const result = await h.client.batch(memberId, commands);
  t.equal(Object.keys(result.results).length, 61, '60 adds and the comment');
  t.equal(
    h.running.sim.comments(memberId)[0]!.entityId,
    result.results['lead55'],
    '$result reached across the same chunk',
  );
  t.match(
    h.running.sim.entity(memberId, 'lead', result.results['lead59'] as number),
    { PHONE: [{ VALUE: '+799959' }] },
    'nested parameters survive the command encoding',
  );
  t.ok(
    result.errors['missing'] instanceof Bitrix24Error && result.errors['missing'].code === 'b24_not_found',
    'a failing command is classified, the others still run',
  );
  t.equal(
    h.running.sim.requests(memberId, { since }).filter((r) => r.kind === 'rest' && r.method === 'batch')
      .length,
    3,
    '62 commands: two batches (plus the listAll one)',
  );

  const cross: Record<string, [string, Record<string, unknown>]> = {};
  for (let i = 0; i < 51; i++) cross[`c${i}`] = ['profile', {}];
  cross['c50'] = ['crm.lead.get', { id: '$result[c0]' }];
  t.ok(
    (await codeOf(h.client.batch(memberId, cross))) instanceof ValidationError,
    'a reference into another chunk is refused before sending',
  );
});

t.test(
  'errors are classified once: unknown portal, missing method, refused input, deleted portal, 5xx and the breaker',
  async (t) => {
    const h = await b24Harness(t, { rateLimit: false });
    const { memberId } = await h.installPortal({ lang: 'ru' });
    t.match(await codeOf(h.client.call('nobody', 'profile')), {
      code: 'b24_portal_unknown',
      retryable: false,
    });
    t.match(await codeOf(h.client.call(memberId, 'crm.nothing')), {
      code: 'b24_method_not_found',
      retryable: false,
    });
    h.running.sim.setRequired(memberId, 'lead', 'SOURCE_ID');
    const refused = await codeOf(h.client.call(memberId, 'crm.lead.add', { fields: { TITLE: 'x' } }));
    t.match(refused, {
      code: 'b24_rejected',
      retryable: false,
      details: {
        b24Error: '',
        b24Description: 'Не введено значение обязательного поля "Источник"<br>',
        method: 'crm.lead.add',
        httpStatus: 400,
      },
    });

    h.running.sim.injectFault(memberId, { kind: 'http_error', status: 502, count: 1 });
    t.match(await codeOf(h.client.call(memberId, 'profile')), {
      code: 'b24_unavailable',
      retryable: true,
      wait: true,
    });
    h.running.sim.injectFault(memberId, { kind: 'portal_deleted' });
    t.match(await codeOf(h.client.call(memberId, 'profile')), {
      code: 'b24_portal_deleted',
      retryable: false,
    });
    h.running.sim.clearFaults(memberId);

    h.running.sim.injectFault(memberId, { kind: 'http_error', status: 500, count: 30 });
    for (let i = 0; i < 10; i++) await h.client.call(memberId, 'profile').catch(() => undefined);
    const before = h.running.sim.requests(memberId).length;
    const open = await codeOf(h.client.call(memberId, 'profile'));
    t.match(open, { code: 'breaker_open', wait: true }, 'after ten failures the portal’s breaker opens');
    t.equal(h.running.sim.requests(memberId).length, before, 'an open breaker does not call the portal');
    const other = await h.installPortal();
    t.match(await h.client.call(other.memberId, 'profile'), { ID: '1' }, 'another portal is not affected');
  },
);

t.test(
  'callAs: a user’s page token, never refreshed; the address still comes from the install',
  async (t) => {
    const h = await b24Harness(t, { rateLimit: false, accessTokenTtlSec: 1 });
    const { memberId } = await h.installPortal();
    const manager = h.running.sim.addUser(memberId, { NAME: 'Ирина', isAdmin: false });
    const page = h.running.sim.issueUserToken(memberId, { userId: manager.ID });
    t.match(await h.client.callAs(memberId, page.accessToken, 'profile'), {
      ID: String(manager.ID),
      ADMIN: false,
    });
    t.match(
      await codeOf(
        h.client.callAs(memberId, page.accessToken, 'placement.bind', {
          PLACEMENT: 'CRM_LEAD_DETAIL_TAB',
          HANDLER: 'https://app.example.com/tab',
        }),
      ),
      { code: 'b24_access_denied' },
    );
    t.match(await codeOf(h.client.callAs(memberId, 'forged', 'profile')), { code: 'b24_invalid_token' });
    await new Promise((r) => setTimeout(r, 1100));
    t.match(await codeOf(h.client.callAs(memberId, page.accessToken, 'profile')), {
      code: 'b24_expired_token',
      retryable: false,
    });
    t.equal(
      h.running.sim.requests().filter((r) => r.kind === 'oauth').length,
      0,
      'no refresh for a page token',
    );
    t.match(await h.client.call(memberId, 'profile'), { ID: '1' }, 'the stored tokens are refreshed instead');
    t.equal(h.running.sim.requests().filter((r) => r.kind === 'oauth').length, 1);
  },
);

t.test(
  'refresh: on expired_token, rotation stored with compare-and-swap; a refused refresh asks for reinstall',
  async (t) => {
    const h = await b24Harness(t, { rateLimit: false });
    const { memberId } = await h.installPortal();
    const before = (await h.client.store.get(memberId))!;
    h.running.sim.expireTokens(memberId);
    t.match(await h.client.call(memberId, 'profile'), { ID: '1' }, 'the call succeeds after a refresh');
    const after = (await h.client.store.get(memberId))!;
    t.equal(after.version, before.version + 1);
    t.not(after.accessToken, before.accessToken);
    t.not(after.refreshToken, before.refreshToken, 'the rotated refresh token is stored');
    t.ok(after.expiresAt > before.expiresAt);

    // Someone used the stored refresh token behind our back: the next refresh is refused.
    const tokenUrl = `${h.running.url}/oauth-server/oauth/token/?grant_type=refresh_token&client_id=hh-b24-dev&client_secret=hh-b24-dev-secret&refresh_token=${after.refreshToken}`;
    t.equal((await fetch(tokenUrl)).status, 200);
    h.running.sim.expireTokens(memberId);
    t.match(await codeOf(h.client.call(memberId, 'profile')), {
      code: 'b24_reinstall_required',
      retryable: false,
    });
    t.equal((await h.client.store.get(memberId))!.status, 'reinstall_required');
    const calls = h.running.sim.requests(memberId).length;
    t.match(
      await codeOf(h.client.call(memberId, 'profile')),
      { code: 'b24_reinstall_required' },
      'later calls fail at once',
    );
    t.equal(h.running.sim.requests(memberId).length, calls, 'without calling the portal');
  },
);

t.test(
  'the shared budget: a call that would wait past maxWaitMs throws RateLimitExceeded; 503 and 429 mean wait',
  async (t) => {
    const h = await b24Harness(t, {}, { burst: 3, burstHeadroom: 0, ratePerSec: 1 });
    const { memberId } = await h.installPortal();
    for (let i = 0; i < 3; i++) await h.client.call(memberId, 'profile', {}, { maxWaitMs: 0 });
    const started = Date.now();
    const err = await codeOf(h.client.call(memberId, 'profile', {}, { maxWaitMs: 200 }));
    t.ok(err instanceof RateLimitExceeded, 'the fourth call would have to wait a second');
    t.match(err, { wait: true, code: 'rate_limited' });
    t.ok(Date.now() - started < 150, 'it did not sleep');

    // Another client of the same portal filled the portal's own bucket: our budget has room, the portal answers 503.
    const other = await h.installPortal();
    const generous = h.makeClient({ burst: 50, burstHeadroom: 0, ratePerSec: 2 });
    const o = (await h.client.store.get(other.memberId))!;
    await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${o.clientEndpoint}profile.json?auth=${o.accessToken}`)),
    );
    t.match(
      await generous.call(other.memberId, 'profile'),
      { ID: '1' },
      'after a 503 the client waits a drain step and succeeds',
    );
    const statuses = h.running.sim
      .requests(other.memberId)
      .slice(-2)
      .map((r) => r.status);
    t.same(statuses, [503, 200]);
    const sameBudget = h.makeClient({ burst: 50, burstHeadroom: 0, ratePerSec: 2 });
    t.ok(
      (await codeOf(sameBudget.call(other.memberId, 'profile', {}, { maxWaitMs: 0 }))) instanceof
        RateLimitExceeded,
      'the 503 emptied the shared budget: another process sharing it waits instead of meeting a 503 of its own',
    );
    await new Promise((r) => setTimeout(r, 1100)); // our budget has two tokens again; the portal's bucket is filled up once more
    await Promise.all(
      Array.from({ length: 10 }, () => fetch(`${o.clientEndpoint}profile.json?auth=${o.accessToken}`)),
    );
    const hurried = await codeOf(generous.call(other.memberId, 'profile', {}, { maxWaitMs: 100 }));
    t.match(
      hurried,
      { code: 'b24_rate_limited', wait: true, retryAfterMs: 500 },
      'a caller that cannot wait gets the 503 as a wait, with the drain step',
    );

    h.running.sim.injectFault(memberId, {
      kind: 'operation_time_limit',
      methods: ['crm.lead.list'],
      forMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 1100));
    const blocked = await codeOf(h.client.call(memberId, 'crm.lead.list', {}, { maxWaitMs: 5000 }));
    t.match(blocked, { code: 'b24_operation_time_limit', wait: true, retryable: true });
    const reset = (blocked?.retryAfterMs ?? 0) / 1000;
    t.ok(
      reset > 590 && reset <= 600,
      `the wait is until the operating_reset_at the portal last reported (${reset} s)`,
    );
  },
);

t.test('waits for a portal’s budget are counted per portal for the last hour («Состояние»)', async (t) => {
  const h = await b24Harness(t, {}, { burst: 1, burstHeadroom: 0, ratePerSec: 5 });
  const busy = await h.installPortal();
  const quiet = await h.installPortal();
  // Four at once against a budget of one: the first goes, three wait, however slow the machine is.
  await Promise.all(
    Array.from({ length: 4 }, () => h.client.call(busy.memberId, 'profile', {}, { maxWaitMs: 5000 })),
  );
  await h.client.call(quiet.memberId, 'profile', {}, { maxWaitMs: 2000 });
  await eventually(async () => (await h.client.waitsLastHour(busy.memberId)) === 3, {
    what: 'three of four calls waited for the bucket',
  });
  t.equal(await h.client.waitsLastHour(quiet.memberId), 0, 'another portal’s count is its own');
});

t.test(
  'appInfo asks the portal whatever our record says: installed, refused tokens renewed, removed (APPLICATION_NOT_FOUND, PAYMENT_REQUIRED)',
  async (t) => {
    const h = await b24Harness(t, { rateLimit: false });
    const { memberId } = await h.installPortal();
    t.match(await h.client.appInfo(memberId), { CODE: 'hhb24.recruiting', INSTALLED: true });

    // A portal whose tokens were refused before, and whose access token has expired since: asked anyway.
    await h.client.store.setStatus(memberId, 'reinstall_required');
    h.running.sim.expireTokens(memberId);
    t.match(await h.client.appInfo(memberId), { INSTALLED: true }, 'renewed once and asked');
    t.match(
      await codeOf(h.client.call(memberId, 'profile')),
      { code: 'b24_reinstall_required' },
      'ordinary calls still stop at the recorded status',
    );
    await h.client.store.setStatus(memberId, 'installed');

    await h.running.sim.uninstall(memberId);
    t.match(
      await codeOf(h.client.appInfo(memberId)),
      { code: 'b24_access_denied', details: { b24Error: 'APPLICATION_NOT_FOUND', method: 'app.info' } },
      'the portal no longer knows the app',
    );

    // The portal does not recognise the stored token at all: the renewal at the OAuth server answers.
    await h
      .db('b24_portals')
      .where({ member_id: memberId })
      .update({
        access_token_sealed: new Keyring(h.env.config.TOKEN_ENCRYPTION_KEYS).seal('not-a-token', {
          table: 'b24_portals',
          column: 'access_token_sealed',
          owner: memberId,
        }),
      });
    t.match(
      await codeOf(h.client.appInfo(memberId)),
      { code: 'b24_reinstall_required', details: { b24Error: 'PAYMENT_REQUIRED' } },
      'the OAuth server will not renew the tokens of a removed app',
    );
    t.equal((await h.client.store.get(memberId))?.status, 'reinstall_required');
  },
);
