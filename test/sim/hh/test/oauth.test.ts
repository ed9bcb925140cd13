import t from 'tap';
import { call, callWithoutUserAgent, cast, simFor } from './helpers.js';

t.test('authorize page: a person picks a manager and allows, or refuses', async (t) => {
  const { url, sim } = await simFor(t);
  const c = cast({ url, sim, close: async () => {} });
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'hh-b24-dev',
    state: 'xyz',
    redirect_uri: 'http://127.0.0.1:3000/hh/oauth/callback',
  });
  const page = await call(`${url}/oauth/authorize?${q}`);
  t.equal(page.status, 200);
  t.match(page.body, /<select id="user_id" name="user_id"/);
  t.match(
    page.body,
    new RegExp(`optgroup label="${c.paid.name.replace(/[«»]/g, '.')}"`),
    'managers grouped by employer',
  );
  const allow = await call(`${url}/oauth/authorize`, {
    form: { ...Object.fromEntries(q), user_id: c.owner.userId, decision: 'allow' },
  });
  t.equal(allow.status, 302);
  const back = new URL(allow.headers.get('location')!);
  t.equal(`${back.origin}${back.pathname}`, 'http://127.0.0.1:3000/hh/oauth/callback');
  t.equal(back.searchParams.get('state'), 'xyz');
  t.match(back.searchParams.get('code'), /^\w{32}$/);
  const deny = await call(`${url}/oauth/authorize`, {
    form: { ...Object.fromEntries(q), user_id: c.owner.userId, decision: 'deny' },
  });
  t.equal(
    new URL(deny.headers.get('location')!).search,
    '?error=access_denied&state=xyz',
    'refusal: access_denied and the state',
  );

  const cookie = allow.headers.get('set-cookie')!.split(';')[0]!;
  const skip = await call(`${url}/oauth/authorize?${q}&skip_choose_account=true`, { headers: { cookie } });
  t.equal(skip.status, 302, 'logged in and granted before: skip_choose_account redirects at once');
  t.ok(new URL(skip.headers.get('location')!).searchParams.get('code'));
  const forced = await call(`${url}/oauth/authorize?${q}&skip_choose_account=true&force_login=true`, {
    headers: { cookie },
  });
  t.equal(forced.status, 200, 'force_login shows the form again');

  const unknown = await call(
    `${url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'nope' })}`,
  );
  t.equal(unknown.status, 400, 'an unknown client gets an error page, not a redirect');
});

t.test('redirect_uri rules (hh.ru’s examples for a saved http://example.com/oauth)', async (t) => {
  const { url, sim } = await simFor(t, {
    settings: {
      apps: [
        {
          clientId: 'app',
          clientSecret: 's',
          redirectUri: 'http://example.com/oauth',
          redirectRule: 'hh',
          name: 'Test',
        },
      ],
    },
  });
  const cases: Array<[string, boolean]> = [
    ['http://www.example.com/oauth', true],
    ['http://www.example.com/oauth/sub/path', true],
    ['http://example.com/oauth?lang=RU', true],
    ['http://www.example.com/oauth/sub/path?lang=RU', true],
    ['https://example.com/oauth', false],
    ['http://wwwexample.com/oauth', false],
    ['http://wwwexample.com/', false],
    ['http://example.com/oauths', false],
    ['http://example.com:80/oauths', false],
    ['http://example.com:8080/oauth', false],
  ];
  for (const [redirect, allowed] of cases) {
    const page = await call(
      `${url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: redirect })}`,
    );
    t.equal(page.status === 200, allowed, `${redirect} ${allowed ? 'allowed' : 'refused'}`);
  }
  // A code issued for a refined redirect_uri must be exchanged with exactly the same one.
  const userId = [...sim.store.managers.values()][0]!.userId;
  const code = sim.authorize({ userId, clientId: 'app', redirectUri: 'http://www.example.com/oauth/cb' });
  const wrong = await call(`${url}/token`, {
    form: {
      grant_type: 'authorization_code',
      client_id: 'app',
      client_secret: 's',
      code,
      redirect_uri: 'http://www.example.com/oauth',
    },
  });
  t.same(wrong.body, { error: 'invalid_request', error_description: 'bad redirect url' });
  const right = await call(`${url}/token`, {
    form: {
      grant_type: 'authorization_code',
      client_id: 'app',
      client_secret: 's',
      code,
      redirect_uri: 'http://www.example.com/oauth/cb',
    },
  });
  t.equal(right.status, 200);
});

t.test(
  'tokens: codes are single-use and short-lived; refresh only after expiry and only once; 14-day tokens',
  async (t) => {
    const { url, sim } = await simFor(t);
    const userId = [...sim.store.managers.values()][1]!.userId;
    const token = (form: Record<string, string>, path = '/token') => call(`${url}${path}`, { form });
    const exchange = (code: string) =>
      token({
        grant_type: 'authorization_code',
        client_id: 'hh-b24-dev',
        client_secret: 'hh-b24-dev-secret',
        code,
      });

    const first = await exchange(sim.authorize({ userId }));
    t.equal(first.status, 200);
    t.match(first.body, {
      token_type: 'bearer',
      expires_in: 1_209_600,
      access_token: /\S{20,}/,
      refresh_token: /\S{20,}/,
    });
    const code = sim.authorize({ userId });
    t.equal(
      (
        await token(
          {
            grant_type: 'authorization_code',
            client_id: 'hh-b24-dev',
            client_secret: 'hh-b24-dev-secret',
            code,
          },
          '/oauth/token',
        )
      ).status,
      200,
      'the legacy hh.ru endpoint works too',
    );
    t.same((await exchange(code)).body, {
      error: 'invalid_grant',
      error_description: 'code has already been used',
    });
    const unread = sim.authorize({ userId });
    const fields = {
      grant_type: 'authorization_code',
      client_id: 'hh-b24-dev',
      client_secret: 'hh-b24-dev-secret',
      code: unread,
    };
    for (const path of ['/token', '/oauth/token']) {
      const json = await call(`${url}${path}`, { json: fields });
      t.same(
        [json.status, json.body],
        [400, { error: 'unsupported_grant_type', error_description: 'unsupported grant_type' }],
        `${path}: a JSON body is not read (hh.ru reads form fields), so there is no grant_type`,
      );
    }
    t.equal((await token(fields)).status, 200, 'the code the JSON bodies carried was not spent');
    const late = sim.authorize({ userId });
    sim.clock.advance(601_000);
    t.same((await exchange(late)).body, { error: 'invalid_grant', error_description: 'code expired' });
    t.same((await exchange('unknown')).body, {
      error: 'invalid_request',
      error_description: 'code not found',
    });
    t.same(
      (
        await token({
          grant_type: 'authorization_code',
          client_id: 'hh-b24-dev',
          client_secret: 'bad',
          code: 'x',
        })
      ).body,
      { error: 'invalid_client', error_description: 'client_id or client_secret not found' },
    );
    t.same((await token({ grant_type: 'password' })).body, {
      error: 'unsupported_grant_type',
      error_description: 'unsupported grant_type',
    });

    const pair = first.body as { access_token: string; refresh_token: string };
    t.equal((await call(`${url}/me`, { token: pair.access_token })).status, 200);
    t.same((await token({ grant_type: 'refresh_token', refresh_token: pair.refresh_token })).body, {
      error: 'invalid_grant',
      error_description: 'token not expired',
    });
    t.same((await token({ grant_type: 'refresh_token' })).body, {
      error: 'invalid_request',
      error_description: 'token is empty',
    });
    t.same((await token({ grant_type: 'refresh_token', refresh_token: 'nope' })).body, {
      error: 'invalid_request',
      error_description: 'token not found',
    });
    sim.clock.advance(14 * 86_400_000);
    const expired = await call(`${url}/me`, { token: pair.access_token });
    t.equal(expired.status, 403, 'API calls with a bad token answer 403, not 401');
    t.match(expired.body, {
      errors: [{ type: 'oauth', value: 'token_expired' }],
      oauth_error: 'token-expired',
    });
    const next = await token({ grant_type: 'refresh_token', refresh_token: pair.refresh_token });
    t.equal(next.status, 200);
    t.notSame(next.body.access_token, pair.access_token, 'a brand-new pair');
    t.same((await token({ grant_type: 'refresh_token', refresh_token: pair.refresh_token })).body, {
      error: 'invalid_grant',
      error_description: 'token has already been refreshed',
    });
    t.equal((await call(`${url}/me`, { token: next.body.access_token })).status, 200);
    t.match((await call(`${url}/me`, { token: 'never-issued' })).body, {
      errors: [{ type: 'oauth', value: 'bad_authorization' }],
    });

    const app = {
      grant_type: 'client_credentials',
      client_id: 'hh-b24-dev',
      client_secret: 'hh-b24-dev-secret',
    };
    const appToken = await token(app);
    t.same(
      Object.keys(appToken.body).sort(),
      ['access_token', 'token_type'],
      'application tokens have no expiry and no refresh token',
    );
    const again = await token(app);
    t.equal(again.status, 403);
    t.same(again.body, { error: 'forbidden', error_description: 'app token refresh too early' });
    t.match((await call(`${url}/employers/1/managers`, { token: appToken.body.access_token })).body, {
      errors: [{ type: 'oauth', value: 'user_auth_expected' }],
    });
  },
);

t.test('a password change revokes every token of the user; DELETE /oauth/token kills one pair', async (t) => {
  const { url, sim } = await simFor(t);
  const [a, b] = [...sim.store.managers.values()];
  const one = sim.issueTokens(a!.userId);
  const two = sim.issueTokens(a!.userId);
  const other = sim.issueTokens(b!.userId);
  const pending = sim.authorize({ userId: a!.userId });
  t.equal(sim.changePassword(a!.userId), 2);
  for (const p of [one, two])
    t.match((await call(`${url}/me`, { token: p.access_token })).body, {
      errors: [{ type: 'oauth', value: 'token_revoked' }],
    });
  t.equal((await call(`${url}/me`, { token: other.access_token })).status, 200, 'other users keep theirs');
  sim.clock.advance(15 * 86_400_000);
  t.same(
    (await call(`${url}/token`, { form: { grant_type: 'refresh_token', refresh_token: one.refresh_token } }))
      .body,
    { error: 'invalid_grant', error_description: 'token deactivated' },
  );
  t.same(
    (
      await call(`${url}/token`, {
        form: {
          grant_type: 'authorization_code',
          client_id: 'hh-b24-dev',
          client_secret: 'hh-b24-dev-secret',
          code: pending,
        },
      })
    ).body,
    { error: 'invalid_grant', error_description: 'code was revoke' },
  );

  sim.clock.reset();
  const three = sim.issueTokens(b!.userId);
  t.equal((await call(`${url}/oauth/token`, { method: 'DELETE', token: three.access_token })).status, 204);
  t.match((await call(`${url}/me`, { token: three.access_token })).body, {
    errors: [{ value: 'token_revoked' }],
  });
  sim.clock.advance(15 * 86_400_000);
  t.same(
    (
      await call(`${url}/token`, {
        form: { grant_type: 'refresh_token', refresh_token: three.refresh_token },
      })
    ).body,
    { error: 'invalid_grant', error_description: 'token was revoked' },
  );
});

t.test(
  'User-Agent or HH-User-Agent is required; HH-User-Agent wins; blacklisted ones are refused',
  async (t) => {
    const { url, sim } = await simFor(t, { settings: { blacklistedUserAgents: ['python-requests'] } });
    const token = sim.issueTokens([...sim.store.managers.values()][0]!.userId).access_token;
    t.same((await callWithoutUserAgent(`${url}/me`)).body.errors, [
      { type: 'bad_user_agent', value: 'unset' },
    ]);
    const plain = await call(`${url}/me`, {
      token,
      headers: { 'hh-user-agent': '', 'user-agent': 'Plain/1.0' },
    });
    t.equal(plain.status, 200, 'User-Agent alone is enough');
    t.match(
      (
        await call(`${url}/me`, {
          token,
          headers: { 'hh-user-agent': 'python-requests/2.31', 'user-agent': 'Fine/1.0' },
        })
      ).body,
      { errors: [{ type: 'bad_user_agent', value: 'blacklisted' }] },
    );
    t.equal(
      (
        await call(`${url}/me`, {
          token,
          headers: { 'hh-user-agent': 'Fine/1.0', 'user-agent': 'python-requests/2.31' },
        })
      ).status,
      200,
      'only HH-User-Agent counts when both are sent',
    );
    t.equal(
      sim.requests({ path: '/me' }).at(-1)!.userAgent,
      'Fine/1.0',
      'the request log shows the User-Agent hh.ru uses',
    );
    t.equal(
      (
        await call(`${url}/token`, {
          form: { grant_type: 'x' },
          headers: { 'hh-user-agent': 'python-requests/1' },
        })
      ).status,
      400,
      'the token endpoint checks it too',
    );
  },
);
