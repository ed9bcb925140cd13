import t from 'tap';
import { sealV1, spawnNode } from '@hhb24/common/testing';
import { HH_ERROR_CODES, HhLoginRequired, type HhAccount, type HhTokens } from '../src/hh/index.js';
import { harness, people, refreshes } from './helpers.js';

const caller = new URL('./fixtures/hh-caller.js', import.meta.url);

t.test(
  'login through the authorize page: the code becomes a stored account with sealed tokens',
  async (t) => {
    const h = await harness(t);
    const { admin, paid } = people(h.running);
    const state = 'csrf-state-42';
    const authorizeUrl = h.hh.oauth.authorizeUrl({ state });
    t.match(
      authorizeUrl,
      new RegExp(
        `^${h.running.url}/oauth/authorize\\?response_type=code&client_id=hh-b24-dev&state=${state}&redirect_uri=`,
      ),
    );
    const page = await fetch(authorizeUrl);
    const html = await page.text();
    t.equal(page.status, 200);
    t.match(html, /Разрешить/, 'the login form lets a person pick a manager and confirm');
    t.ok(html.includes(`value="${admin.userId}"`), 'the admin manager is one of the choices');
    const form = new URLSearchParams({
      response_type: 'code',
      client_id: 'hh-b24-dev',
      state,
      redirect_uri: h.env.env['HH_REDIRECT_URI']!,
      user_id: admin.userId,
      decision: 'allow',
    });
    const back = await fetch(`${h.running.url}/oauth/authorize`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
    });
    t.equal(back.status, 302);
    const location = new URL(back.headers.get('location')!);
    t.equal(location.searchParams.get('state'), state, 'state comes back');
    const account = await h.hh.connect('portal-1.bitrix24.ru', location.searchParams.get('code')!);
    t.match(account, {
      memberId: 'portal-1.bitrix24.ru',
      hhUserId: admin.userId,
      employerId: paid.id,
      managerId: admin.id,
      isAdmin: true,
      status: 'active',
      version: 1,
    });
    t.ok(account.expiresAt.getTime() > Date.now() + 13 * 86_400_000, 'the 14-day lifetime is stored');
    const [pair] = h.running.sim.auth.tokensOf(admin.userId);
    const rows = await h
      .db('hh_accounts')
      .select<Array<{ access_token: string; refresh_token: string }>>('access_token', 'refresh_token');
    t.notOk(
      rows[0]!.access_token.includes(pair!.accessToken) ||
        rows[0]!.refresh_token.includes(pair!.refreshToken),
      'tokens are not stored in clear',
    );
    t.match(rows[0]!.access_token, /^v2\./, 'sealed by the keyring, bound to its place');

    const denied = await fetch(`${h.running.url}/oauth/authorize`, {
      method: 'POST',
      body: new URLSearchParams({ ...Object.fromEntries(form), decision: 'deny' }),
      redirect: 'manual',
    });
    const deniedAt = new URL(denied.headers.get('location')!);
    t.equal(deniedAt.searchParams.get('error'), 'access_denied', 'refusing sends access_denied back');
    t.equal(deniedAt.searchParams.get('state'), state);
    const again = await h.hh.connect(
      'portal-1.bitrix24.ru',
      h.running.sim.authorize({ userId: admin.userId }),
      h.env.env['HH_REDIRECT_URI'],
    );
    t.equal(again.id, account.id, 'logging in again updates the same account');
    t.equal(again.version, 2);
    const adopted = await h.hh.adoptTokens(
      'portal-1.bitrix24.ru',
      h.running.sim.issueTokens(admin.userId) as HhTokens,
    );
    t.match(
      adopted,
      { id: account.id, version: 3, status: 'active' },
      'tokens exchanged elsewhere (the gateway) are adopted the same way',
    );
    t.equal((await h.hh.account(account.id).me()).id, admin.userId);
  },
);

t.test(
  '20 concurrent callers in two processes meet an expired token: exactly one refresh, all calls succeed',
  async (t) => {
    const h = await harness(t, { sim: { settings: { accessTokenTtlSec: 2 } } });
    const { plain } = people(h.running);
    const account = await h.connect(plain.userId);
    t.equal(refreshes(h.running, plain.userId), 0);
    const startAt = Date.now() + 3500;
    const callers = [0, 1].map(() => spawnNode(caller, h.childEnv, [account.id, String(startAt), '10']));
    const outcomes = await Promise.all(
      callers.map(async (c) => {
        const exit = await c.exited;
        return exit.code === 0
          ? (JSON.parse(c.lines.at(-1) ?? '{}') as { ok: number; errors: string[] })
          : { ok: 0, errors: [exit.stderr] };
      }),
    );
    t.ok(Date.now() > account.expiresAt.getTime(), 'the callers started after the token expired');
    t.same(
      outcomes.flatMap((o) => o.errors),
      [],
      'no caller failed',
    );
    t.equal(outcomes[0]!.ok + outcomes[1]!.ok, 20, 'all 20 calls succeeded');
    t.equal(refreshes(h.running, plain.userId), 1, 'hh.ru saw exactly one refresh');
    const stored = (await h.hh.accounts.get(account.id))!;
    t.equal(stored.version, 2, 'the account was updated once (compare-and-swap)');
    const bad = h.running.sim.requests({ userId: plain.userId }).filter((r) => r.status !== 200);
    t.same(bad, [], 'no call was sent with a dead token after the refresh');
  },
);

t.test(
  'hh.ru says token_expired before our clock does: one refresh for ten concurrent callers, then the calls go through',
  async (t) => {
    const h = await harness(t);
    const { owner } = people(h.running);
    const account = await h.connect(owner.userId);
    h.running.sim.expireAccessTokens(owner.userId);
    const results = await Promise.all(Array.from({ length: 10 }, () => h.hh.account(account.id).me()));
    t.ok(
      results.every((me) => me.id === owner.userId),
      'every caller got /me',
    );
    t.equal(refreshes(h.running, owner.userId), 1, 'one refresh');
  },
);

t.test(
  'a password change: the client reports "login needed", marks the account and stops calling hh.ru',
  async (t) => {
    const h = await harness(t);
    const { granted } = people(h.running);
    const changed: HhAccount[] = [];
    const hh = h.client({}, {}, { onLoginRequired: (a) => void changed.push(a) });
    const account = await hh.connect(
      'portal-2.bitrix24.ru',
      h.running.sim.authorize({ userId: granted.userId }),
      h.env.env['HH_REDIRECT_URI'],
    );
    await hh.account(account.id).me();
    h.running.sim.changePassword(granted.userId);
    const err = await hh
      .account(account.id)
      .me()
      .catch((e: unknown) => e);
    t.type(err, HhLoginRequired);
    t.match(err, { code: HH_ERROR_CODES.loginRequired, retryable: false, reason: 'token_revoked' });
    const stored = (await hh.accounts.get(account.id))!;
    t.match(stored, { status: 'login_required', statusReason: 'token_revoked' });
    t.equal(changed.length, 1, 'the login-required hook ran once');
    const before = h.running.sim.requests().length;
    for (let i = 0; i < 5; i++) await t.rejects(hh.account(account.id).resumeLimits(), HhLoginRequired);
    t.equal(h.running.sim.requests().length, before, 'no further request reached hh.ru');
    t.equal(changed.length, 1, 'and nobody was told twice');

    await t.test(
      'an expired token after a password change: the refresh says "token deactivated" → login needed',
      async (t) => {
        const { plain } = people(h.running);
        const second = await h.connect(plain.userId);
        h.running.sim.expireAccessTokens(plain.userId);
        await h
          .db('hh_accounts')
          .where({ id: second.id })
          .update({ expires_at: new Date(Date.now() - 1000) });
        h.running.sim.changePassword(plain.userId);
        await t.rejects(h.hh.account(second.id).me(), {
          code: HH_ERROR_CODES.loginRequired,
          reason: 'token_deactivated',
        });
        t.equal((await h.hh.accounts.get(second.id))!.status, 'login_required');
      },
    );

    await t.test('a new login brings the account back', async (t) => {
      const back = await hh.connect(
        'portal-2.bitrix24.ru',
        h.running.sim.authorize({ userId: granted.userId }),
        h.env.env['HH_REDIRECT_URI'],
      );
      t.equal(back.id, account.id);
      t.equal(back.status, 'active');
      t.equal((await hh.account(account.id).me()).id, granted.userId);
    });
  },
);

t.test('disconnecting revokes the token on hh.ru and marks the account', async (t) => {
  const h = await harness(t);
  const { admin } = people(h.running);
  const account = await h.connect(admin.userId);
  await h.hh.account(account.id).revoke();
  t.match(await h.hh.accounts.get(account.id), { status: 'login_required', statusReason: 'disconnected' });
  t.ok(
    h.running.sim.events().some((e) => e.type === 'token.revoked' && e.userId === admin.userId),
    'hh.ru saw DELETE /oauth/token',
  );
  await t.rejects(h.hh.account(account.id).me(), HhLoginRequired);
});

t.test(
  'an account’s sealed tokens open only in its own row; tokens sealed before binding open once and are bound',
  async (t) => {
    const h = await harness(t);
    const { admin, plain } = people(h.running);
    const victim = await h.connect(admin.userId, 'victim.bitrix24.ru');
    const attacker = await h.connect(plain.userId, 'attacker.bitrix24.ru');
    const row = async (id: string) =>
      (await h.db('hh_accounts').where({ id }).first()) as { access_token: string; refresh_token: string };
    const stolen = await row(victim.id);
    await h
      .db('hh_accounts')
      .where({ id: attacker.id })
      .update({ access_token: stolen.access_token, refresh_token: stolen.refresh_token });
    const calls = h.running.sim.requests({ userId: admin.userId }).length;
    await t.rejects(
      h.hh.account(attacker.id).me(),
      { code: 'secret_unreadable', message: /hh_accounts\.access_token of attacker\.bitrix24\.ru\// },
      'another portal’s account tokens do not open in this row',
    );
    t.equal(
      h.running.sim.requests({ userId: admin.userId }).length,
      calls,
      'hh.ru never saw the victim’s token used for the attacker’s portal',
    );

    // The victim's row as the release before binding left it.
    const keys = h.env.config.TOKEN_ENCRYPTION_KEYS;
    const tokens = (await h.hh.accounts.withTokens(victim.id))!;
    await h
      .db('hh_accounts')
      .where({ id: victim.id })
      .update({
        access_token: sealV1(keys, tokens.accessToken),
        refresh_token: sealV1(keys, tokens.refreshToken),
      });
    t.equal((await h.hh.account(victim.id).me()).id, admin.userId, 'a legacy row still works');
    const upgraded = await row(victim.id);
    t.match(upgraded.access_token, /^v2\./, 'and is sealed again, bound, on that first read');
    t.match(upgraded.refresh_token, /^v2\./);
    await h
      .db('hh_accounts')
      .where({ id: attacker.id })
      .update({ access_token: upgraded.access_token, refresh_token: upgraded.refresh_token });
    await t.rejects(
      h.hh.accounts.withTokens(attacker.id),
      { code: 'secret_unreadable' },
      'from then on it is bound',
    );
  },
);
