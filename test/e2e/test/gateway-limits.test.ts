/**
 * The gateway's own outgoing calls at install (the OAuth server, then the portal's `profile`) read
 * their answers up to a cap and never follow a redirect: the install is refused, nothing is stored,
 * and the address a redirect names is never called (our client_secret travels in the request).
 * Its public routes are limited per client address and per portal, shared by its replicas.
 */
import { createServer } from 'node:http';
import t, { type Test } from 'tap';
import { Bitrix24PortalStore, hhWebhookUrl } from '@hhb24/common';
import type { HugeBodyFault } from '@hhb24/sim-b24';
import { framePost, startStack } from './stack.js';

async function elsewhere(t: Test): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end('{"access_token":"x","refresh_token":"y","member_id":"z"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits };
}

t.test(
  'install: a redirect or an oversized answer from the OAuth server or the portal refuses the install',
  async (t) => {
    const stack = await startStack(t, { hh: 'fixture' });
    const { sim } = stack.b24;
    const other = await elsewhere(t);
    const portal = sim.createPortal({ name: 'capped' });
    await sim.install(portal.memberId);
    const stored = () =>
      stack.services.at(-1)!.runtime.db('b24_portals').where({ member_id: portal.memberId }).first();

    sim.injectOAuthFault({ kind: 'redirect', location: `${other.url}/oauth/token/`, count: 1 });
    const redirected = await framePost(stack, 'capped', '/b24/install');
    t.equal(redirected.status, 502, 'the OAuth server’s redirect: refused');
    t.match(redirected.html, /Битрикс24 не подтвердил установку/);
    t.same(other.hits, [], 'the client_secret never went to the address it named');

    const huge: HugeBodyFault = { kind: 'huge_body', bytes: 30_000_000, count: 1 };
    sim.injectOAuthFault(huge);
    const oversized = await framePost(stack, 'capped', '/b24/install');
    t.equal(oversized.status, 502, 'an OAuth answer above 64 KB: refused');
    t.ok((huge.served ?? 0) < 10_000_000, `${((huge.served ?? 0) / 1e6).toFixed(1)} MB of 30 MB were made`);

    sim.injectFault(portal.memberId, {
      kind: 'redirect',
      location: `${other.url}/rest/profile.json`,
      count: 1,
      methods: ['profile'],
    });
    const portalRedirect = await framePost(stack, 'capped', '/b24/install');
    t.equal(portalRedirect.status, 502, 'the portal’s redirect on profile: refused');
    t.same(other.hits, [], 'the fresh access token never went there either');
    t.equal(await stored(), undefined, 'nothing was stored');

    const ok = await framePost(stack, 'capped', '/b24/install');
    t.equal(ok.status, 200, 'once both answer as they should, the install goes through');
  },
);

/** The settings the limit tests run with: small limits, and the test itself as a trusted proxy (X-Forwarded-For names the client). */
const SMALL_LIMITS = {
  GATEWAY_TRUSTED_PROXIES: '127.0.0.1',
  GATEWAY_RATE_INSTALL_PER_ADDRESS: '3',
  GATEWAY_RATE_INSTALL_PER_PORTAL: '4',
  GATEWAY_RATE_PAGES_PER_ADDRESS: '10',
  GATEWAY_RATE_CALLBACKS_PER_ADDRESS: '1000',
  GATEWAY_RATE_CALLBACKS_PER_PORTAL: '5',
};
const from = (address: string) => ({ 'x-forwarded-for': address });

t.test(
  'two gateway replicas share the limits through Redis: a burst beyond them gets 429 with Retry-After from either',
  async (t) => {
    const stack = await startStack(t, { hh: 'fixture', env: SMALL_LIMITS, gateways: 2 });
    const [a, b] = stack.gatewayUrls as [string, string];

    await t.test('per address: the replicas count one budget', async (t) => {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${i % 2 ? b : a}/static/app.css`, { headers: from('203.0.113.5') });
        statuses.push(res.status);
        if (res.status === 429) {
          const retryAfter = Number(res.headers.get('retry-after'));
          t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter} s from ${i % 2 ? 'b' : 'a'}`);
        }
      }
      t.same(statuses, [...Array(10).fill(200), 429, 429], '10 across both replicas, then 429 from each');
      t.equal(
        (await fetch(`${b}/static/app.css`, { headers: from('203.0.113.6') })).status,
        200,
        'another address is not affected',
      );
    });

    await t.test('the installer cannot make the gateway call the OAuth server in a loop', async (t) => {
      const { sim } = stack.b24;
      const portal = sim.createPortal({ name: 'looped' });
      await sim.install(portal.memberId);
      const oauthCalls = () => sim.requests().filter((r) => r.kind === 'oauth').length;
      const before = oauthCalls();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const page = await framePost(stack, 'looped', '/b24/install', {
          gatewayUrl: i % 2 ? b : a,
          headers: from('198.51.100.7'),
        });
        statuses.push(page.status);
        if (page.status === 429) {
          t.match(page.html, /Слишком много запросов/, 'a page the portal’s frame shows');
          t.ok(Number(page.headers.get('retry-after')) >= 1, 'with Retry-After');
        }
      }
      t.same(statuses, [200, 200, 200, 429, 429, 429], 'three installs from one address, then 429');
      t.equal(oauthCalls() - before, 3, 'the OAuth server was asked three times, not six');

      // From ever new addresses, naming the same portal: its own budget (4) bounds them all.
      const spread: number[] = [];
      for (let i = 0; i < 4; i++)
        spread.push(
          (
            await framePost(stack, 'looped', '/b24/install', {
              gatewayUrl: i % 2 ? a : b,
              headers: from(`198.51.100.${20 + i}`),
            })
          ).status,
        );
      t.same(
        spread,
        [200, 429, 429, 429],
        'the portal’s fourth install in the window, then 429 whatever the address',
      );
      t.equal(oauthCalls() - before, 4, 'four OAuth calls in all for that portal');
    });

    await t.test(
      'per portal: Bitrix24 calls and hh.ru webhooks count for the portal they prove, forgeries for none',
      async (t) => {
        const { sim } = stack.b24;
        const gatewayRuntime = stack.services.at(-1)!.runtime;
        const store = new Bitrix24PortalStore(gatewayRuntime.db, gatewayRuntime.keyring);
        const portals = ['limited', 'neighbour'].map((name) => {
          const p = sim.createPortal({ name });
          return {
            memberId: p.memberId,
            token: `${name}-application-token-0123456789abcdef`,
            clientEndpoint: p.clientEndpoint,
            serverEndpoint: p.serverEndpoint,
            domain: p.domain,
          };
        });
        for (const p of portals)
          await store.upsertFromInstall({
            memberId: p.memberId,
            domain: p.domain,
            clientEndpoint: p.clientEndpoint,
            serverEndpoint: p.serverEndpoint,
            accessToken: 'access',
            refreshToken: 'refresh',
            expiresIn: 3600,
            applicationToken: p.token,
          });
        const [limited, neighbour] = portals as [(typeof portals)[0], (typeof portals)[0]];
        const event = (url: string, memberId: string, token: string, i: number) =>
          fetch(`${url}/b24/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', ...from(`192.0.2.${i}`) },
            body: new URLSearchParams({
              event: 'ONCRMLEADUPDATE',
              'data[FIELDS][ID]': String(1000 + i),
              ts: String(1_700_000_000 + i),
              'auth[member_id]': memberId,
              'auth[application_token]': token,
            }),
          }).then((r) => r.status);

        const forged: number[] = [];
        for (let i = 0; i < 10; i++)
          forged.push(await event(i % 2 ? b : a, limited.memberId, 'f'.repeat(32), i));
        t.ok(
          forged.every((s) => s === 401),
          'ten forgeries naming the portal: refused, and not counted for it',
        );
        const real: number[] = [];
        for (let i = 0; i < 7; i++)
          real.push(await event(i % 2 ? b : a, limited.memberId, limited.token, 20 + i));
        t.ok(
          real.slice(0, 5).every((s) => s !== 429),
          `its own five calls in the window pass (${real.join(', ')})`,
        );
        t.same(real.slice(5), [429, 429], 'the sixth and seventh: 429, from any address and either replica');
        t.not(
          await event(a, neighbour.memberId, neighbour.token, 40),
          429,
          'another portal has its own budget',
        );

        const key = (gatewayRuntime.config as unknown as { WEBHOOK_SECRET_KEY: string }).WEBHOOK_SECRET_KEY;
        const account = '3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f';
        const path = new URL(hhWebhookUrl('http://gw.example', account, key)).pathname;
        const webhook = (url: string, p: string, i: number) =>
          fetch(`${url}${p}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...from(`192.0.2.${100 + i}`) },
            body: JSON.stringify({
              id: `callback-${i}`,
              action_type: 'NEW_RESPONSE_OR_INVITATION_VACANCY',
              payload: { topic_id: String(i), vacancy_id: '1' },
            }),
          }).then((r) => r.status);
        const forgedHooks: number[] = [];
        for (let i = 0; i < 8; i++) forgedHooks.push(await webhook(a, `${path.slice(0, -3)}xyz`, i));
        t.ok(
          forgedHooks.every((s) => s === 404),
          'webhooks with a wrong MAC: 404, not counted for the account',
        );
        const hooks: number[] = [];
        for (let i = 0; i < 7; i++) hooks.push(await webhook(i % 2 ? b : a, path, 10 + i));
        t.same(hooks, [202, 202, 202, 202, 202, 429, 429], 'one hh.ru account: five webhooks, then 429');
      },
    );
  },
);
