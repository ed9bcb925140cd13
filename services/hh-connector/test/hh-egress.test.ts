/**
 * Several egress addresses (HH_EGRESS_ADDRESSES, HH_RATE_SCOPE=egress): hh.ru counts its limit per
 * client address, so each account calls from one address and each address has a budget of its own.
 * The simulated hh.ru limits per address (10/s, burst 10) as hh.ru does; on Linux 127.0.0.1 and
 * 127.0.0.2 are both local, so the client's calls reach it from two addresses without any setup.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { ConfigError, loadConfig } from '@hhb24/common';
import t from 'tap';
import { configProblems, schema } from '../src/config.js';
import { egressFor } from '../src/hh/egress.js';
import { HH_ERROR_CODES, type HhClient } from '../src/hh/index.js';
import { type Harness, TEST_UA, harness, people } from './helpers.js';

const A = '127.0.0.1';
const B = '127.0.0.2';
/** Our budget per address (HH_RATE_PER_SEC, HH_RATE_BURST as deployed) under the simulator's 10/s, burst 10. */
const RATE = { ratePerSec: 9, burst: 5 };
/** Calls each account makes in a run. */
const CALLS = 45;

const OUTSIDER_UA = 'another-app/1.0 (ops@another.example)';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `CALLS` reads of /me for one account, 6 at a time; the seconds they took and the calls that failed. */
async function run(hh: HhClient, accountId: string): Promise<{ seconds: number; failed: number }> {
  const started = Date.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (next < CALLS) {
        next++;
        await hh
          .account(accountId)
          .me()
          .catch(() => failed++);
      }
    }),
  );
  return { seconds: (Date.now() - started) / 1000, failed };
}

/** A login of `userId` whose account calls from `address` (each login is a new account id, so a few portals are tried). */
async function accountOn(h: Harness, userId: string, address: string, hh = h.hh): Promise<string> {
  for (let i = 0; i < 40; i++) {
    const account = await hh.connect(
      `egress-${address}-${i}.bitrix24.ru`,
      h.running.sim.authorize({ userId }),
      h.childEnv['HH_REDIRECT_URI'],
    );
    if (hh.egressOf(account.id) === address) return account.id;
  }
  throw new Error(`no account landed on ${address} in 40 logins`);
}

t.test(
  'accounts spread evenly over the addresses, the same in every replica, and a new address moves few',
  async (t) => {
    const ids = Array.from({ length: 6000 }, () => randomUUID());
    const two = ids.map((id) => egressFor(id, [A, B]));
    const onA = two.filter((a) => a === A).length;
    t.ok(Math.abs(onA - 3000) < 200, `${onA} of 6000 accounts on the first of two addresses`);
    t.same(
      ids.map((id) => egressFor(id, [B, A])),
      two,
      'the order the addresses are listed in changes nothing (every replica chooses alike)',
    );
    const three = ids.map((id) => egressFor(id, [A, B, '127.0.0.3']));
    const moved = ids.filter((_, i) => three[i] !== two[i]);
    t.ok(
      moved.every((id) => egressFor(id, [A, B, '127.0.0.3']) === '127.0.0.3'),
      'adding an address moves accounts only to the new one',
    );
    t.ok(
      moved.length > 1800 && moved.length < 2200,
      `and only its share: ${moved.length} of 6000 moved (a third would be 2000)`,
    );
    const back = ids.map((id) => egressFor(id, [A, B]));
    t.same(back, two, 'removing it puts them back where they were');
  },
);

t.test('the settings: addresses checked, egress scope only with addresses', async (t) => {
  const load = (env: Record<string, string>) => loadConfig('hh-connector', schema, env);
  const two = load({ HH_EGRESS_ADDRESSES: ' 10.0.0.5, 10.0.0.6 ,', HH_RATE_SCOPE: 'egress' });
  t.same(two.HH_EGRESS_ADDRESSES, ['10.0.0.5', '10.0.0.6']);
  t.same(configProblems(two), []);
  t.same(load({}).HH_EGRESS_ADDRESSES, [], 'unset: none, and nothing changes');
  t.throws(
    () => load({ HH_EGRESS_ADDRESSES: '10.0.0.5,10.0.0.0/24' }),
    /HH_EGRESS_ADDRESSES has entries that are not an IP address \(10\.0\.0\.0\/24\)/,
  );
  t.throws(() => load({ HH_EGRESS_ADDRESSES: '10.0.0.5,10.0.0.5' }), /more than once/);
  t.match(configProblems(load({ HH_RATE_SCOPE: 'egress' })), [
    /HH_RATE_SCOPE=egress needs HH_EGRESS_ADDRESSES/,
  ]);
  const { buildHhConnector } = await import('../src/app.js');
  t.throws(
    () => buildHhConnector(load({ HH_RATE_SCOPE: 'egress' })),
    ConfigError,
    'the service refuses to start',
  );
});

t.test('two accounts on two addresses each get the whole budget of their address', async (t) => {
  const h = await harness(t, {
    sim: { settings: { rateLimit: { by: 'address', perSec: 10, burst: 10 } } },
    client: { rate: RATE, rateScope: 'egress', egressAddresses: [A, B] },
  });
  const { admin, owner } = people(h.running);
  const sim = h.running.sim;
  const onA = await accountOn(h, admin.userId, A);
  const onB = await accountOn(h, owner.userId, B);
  await sleep(1500); // the logins' calls spent some of both budgets: start from full ones

  const since = Date.now();
  const [a, b] = await Promise.all([run(h.hh, onA), run(h.hh, onB)]);
  const log = sim.requests({ sinceMs: since });
  // One bucket for both would need (2 × CALLS − burst) / rate seconds at the least.
  const shared = (2 * CALLS - RATE.burst) / RATE.ratePerSec;
  const alone = (CALLS - RATE.burst) / RATE.ratePerSec;
  t.same([a.failed, b.failed], [0, 0], 'every call answered');
  t.same(
    [...new Set(log.map((r) => r.ip))].sort(),
    [A, B],
    'hh.ru saw the calls come from two client addresses',
  );
  t.ok(
    log.filter((r) => r.userId === admin.userId).every((r) => r.ip === A) &&
      log.filter((r) => r.userId === owner.userId).every((r) => r.ip === B),
    'each account called from its own address only',
  );
  t.equal(log.filter((r) => r.status === 429).length, 0, 'and met no 429: each address kept under its limit');
  t.equal(log.length, 2 * CALLS);
  t.ok(
    a.seconds < shared * 0.8 && b.seconds < shared * 0.8,
    `both done in ${a.seconds.toFixed(1)} s and ${b.seconds.toFixed(1)} s: about ${alone.toFixed(1)} s each, as alone; one bucket for both needs ≥ ${shared.toFixed(1)} s`,
  );

  await t.test(
    'the same with one bucket for both addresses (HH_RATE_SCOPE=global) is twice as slow',
    async (t) => {
      const global = h.client({ rate: RATE, rateScope: 'global', egressAddresses: [A, B] });
      await sleep(1500);
      const started = Date.now();
      await Promise.all([run(global, onA), run(global, onB)]);
      const seconds = (Date.now() - started) / 1000;
      t.ok(seconds >= shared * 0.95, `${seconds.toFixed(1)} s for both (bound ${shared.toFixed(1)} s)`);
    },
  );
});

t.test('one address meeting 429s does not slow the accounts of another', async (t) => {
  const h = await harness(t, {
    sim: { settings: { rateLimit: { by: 'address', perSec: 10, burst: 10 } } },
    client: { rate: RATE, rateScope: 'egress', egressAddresses: [A, B], maxAttempts: 3 },
  });
  const { admin, owner } = people(h.running);
  const sim = h.running.sim;
  const onA = await accountOn(h, admin.userId, A);
  const onB = await accountOn(h, owner.userId, B);
  await sleep(1500);
  const baseline = await run(h.hh, onB);
  await sleep(1500);

  // Someone else behind the first address (another app on the same NAT address) uses up its
  // budget at hh.ru: 25 calls a second from 127.0.0.1, which our limiter cannot know about.
  let flooding = true;
  const flood = (async () => {
    while (flooding) {
      await fetch(`${h.running.url}/vacancies`, { headers: { 'hh-user-agent': OUTSIDER_UA } }).catch(
        () => undefined,
      );
      await sleep(40);
    }
  })();
  const since = Date.now();
  const [a, b] = await Promise.all([run(h.hh, onA), run(h.hh, onB)]);
  flooding = false;
  await flood;
  const log = sim.requests({ sinceMs: since });
  // A 429 of the address's limit comes before hh.ru reads the token: tell ours by the User-Agent.
  const ours = (ip: string) => log.filter((r) => r.ip === ip && r.userAgent === TEST_UA);
  const refusedA = ours(A).filter((r) => r.status === 429).length;
  t.ok(refusedA > 0, `the account on ${A} met ${refusedA} 429s (${a.failed} of its calls gave up)`);
  t.equal(ours(B).filter((r) => r.status === 429).length, 0, `the account on ${B} met none`);
  t.equal(b.failed, 0);
  t.ok(
    b.seconds <= baseline.seconds * 1.25 + 0.5,
    `and took ${b.seconds.toFixed(1)} s, as long as alone (${baseline.seconds.toFixed(1)} s): the 429s slowed only ${A}'s bucket`,
  );
});

t.test('through an egress address the calls keep their caps, refuse redirects and time out', async (t) => {
  const h = await harness(t, { client: { rateScope: 'egress', egressAddresses: [A, B], timeoutMs: 400 } });
  const { admin } = people(h.running);
  const sim = h.running.sim;
  const id = await accountOn(h, admin.userId, B);
  const client = h.hh.account(id);

  sim.addFault({ kind: 'huge_body', match: '/me', bytes: 50_000_000, declareLength: true, times: 1 });
  const large = await client.me().catch((e: unknown) => e);
  t.match(large, { code: HH_ERROR_CODES.tooLarge }, 'an answer over HH_MAX_JSON_BYTES is cut');

  const hits: string[] = [];
  const evil = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end('{}');
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => evil.close(() => r())));
  const elsewhere = `http://127.0.0.1:${(evil.address() as { port: number }).port}/me`;
  sim.addFault({ kind: 'redirect', match: '/me', location: elsewhere, times: 1 });
  const redirected = await client.me().catch((e: unknown) => e);
  t.match(redirected, { code: HH_ERROR_CODES.redirected });
  t.same(hits, [], 'the address the redirect named was never called');

  sim.addFault({ kind: 'slow', match: '/me', delayMs: 1500, times: 10 });
  const slow = await h
    .client({ rateScope: 'egress', egressAddresses: [A, B], timeoutMs: 400, maxAttempts: 1 })
    .account(id)
    .me()
    .catch((e: unknown) => e);
  t.match((slow as Error).message, new RegExp(`no answer in 400 ms`), 'the timeout holds');
  t.match(
    (slow as Error).message,
    new RegExp(`from ${B.replaceAll('.', '\\.')}`),
    'and the failure names the address',
  );
  sim.clearFaults();

  t.equal((await client.me()).id, admin.userId, 'the next call is answered as usual');
  t.equal(sim.requests({ path: '/me' }).at(-1)?.ip, B);

  await t.test('an address this host does not have fails each call, naming it', async (t) => {
    const wrong = h.client({ rateScope: 'egress', egressAddresses: ['192.0.2.1'], maxAttempts: 1 });
    const err = await wrong
      .account(id)
      .me()
      .catch((e: unknown) => e);
    t.match(err, { code: HH_ERROR_CODES.unavailable });
    t.match((err as Error).message, /from 192\.0\.2\.1: .*EADDRNOTAVAIL/);
  });
});
