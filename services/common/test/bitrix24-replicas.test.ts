import t from 'tap';
import { spawnNode } from '@hhb24/common/testing';
import { type B24Harness, b24Harness } from './b24-helpers.js';

const caller = new URL('./fixtures/b24-caller.js', import.meta.url);

/** Two replicas fire their calls at `startAt`; resolves with what each printed. */
async function twoReplicas(
  h: B24Harness,
  memberId: string,
  callsEach: number,
  limit: { rate: number; burst: number; headroom: number },
  startAt = Date.now() + 2500,
) {
  const args = [
    memberId,
    String(callsEach),
    String(startAt),
    String(limit.rate),
    String(limit.burst),
    String(limit.headroom),
  ];
  const replicas = [0, 1].map(() => spawnNode(caller, h.env.env, args));
  return Promise.all(
    replicas.map(async (r) => {
      const exit = await r.exited;
      if (exit.code !== 0) throw new Error(`replica failed: ${exit.stderr}`);
      return JSON.parse(r.lines.at(-1)!) as { ok: number; failed: string[]; ms: number };
    }),
  );
}

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

// The portal's own bucket is the standard 50; it drains at 10/s here instead of 2/s so that 200
// calls take 15 s rather than 80 s. The shape of the check is the same.
const portalLimit = { burst: 50, drainPerSec: 10 };

t.test('a burst of 200 calls from two processes on one portal meets no 503', async (t) => {
  const h = await b24Harness(t, { rateLimit: portalLimit });
  const { memberId } = await h.installPortal();
  const since = Date.now();
  const results = await twoReplicas(h, memberId, 100, { rate: 10, burst: 50, headroom: 5 });
  t.same(
    results.map((r) => r.ok),
    [100, 100],
    'every call of both replicas succeeded',
  );
  t.same(
    results.flatMap((r) => r.failed),
    [],
  );
  const log = h.running.sim.requests(memberId, { since }).filter((r) => r.kind === 'rest');
  t.equal(log.length, 200, 'each call reached the portal once');
  t.equal(log.filter((r) => r.status === 503).length, 0, 'no QUERY_LIMIT_EXCEEDED');
  const span = (Math.max(...log.map((r) => r.at)) - Math.min(...log.map((r) => r.at))) / 1000;
  t.ok(
    span >= (200 - 50) / 10 - 1,
    `the replicas held to the shared rate (${span.toFixed(1)} s for 200 calls)`,
  );
  t.ok(span <= (200 - 45) / 10 + 5, `and used the budget, not starved (${span.toFixed(1)} s)`);
});

t.test('a token expiring under load is refreshed once, whichever replica sees it first', async (t) => {
  const h = await b24Harness(t, { rateLimit: portalLimit });
  const { memberId } = await h.installPortal();
  const before = (await h.client.store.get(memberId))!;
  const startAt = Date.now() + 2500;
  const run = twoReplicas(h, memberId, 60, { rate: 10, burst: 20, headroom: 0 }, startAt);
  // The stored token expires just before both replicas send their first 20 calls at once, and
  // again while their calls flow at the shared rate.
  const expiries: number[] = [];
  await sleepUntil(startAt - 300);
  expiries.push(h.running.sim.expireTokens(memberId));
  await sleepUntil(startAt + 3000);
  expiries.push(h.running.sim.expireTokens(memberId));
  const results = await run;
  t.same(
    results.map((r) => r.ok),
    [60, 60],
    `every call succeeded (${[...new Set(results.flatMap((r) => r.failed))].join(', ')})`,
  );
  t.ok(
    expiries.every((n) => n >= 1),
    `tokens were live when they expired (${expiries})`,
  );
  const refreshes = h.running.sim.requests().filter((r) => r.kind === 'oauth');
  t.same(
    refreshes.map((r) => r.status),
    [200, 200],
    'one refresh per expiry, none refused as a reused refresh token',
  );
  // Calls that met the expired token before the refresh went out all wanted to refresh it.
  const racing = h.running.sim
    .requests(memberId)
    .filter((r) => r.error === 'expired_token' && r.at <= refreshes[0]!.at).length;
  t.ok(racing >= 2, `several calls met the expired token at the same moment (${racing}), yet one refresh`);
  const after = (await h.client.store.get(memberId))!;
  t.equal(after.version, before.version + 2, 'two compare-and-swap writes');
  t.equal(after.status, 'installed');
});
