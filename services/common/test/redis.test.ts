import t from 'tap';
import { Redis } from 'ioredis';
import { RateLimitExceeded, RateLimiter, RedisLock } from '@hhb24/common';
import { type SpawnedNode, type TestEnv, createTestEnv, spawnNode } from '@hhb24/common/testing';

const racer = new URL('./fixtures/redis-racer.js', import.meta.url);

function lastJson(lines: string[]): Record<string, unknown> {
  return JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
}

/** Starts two racers and, once both are connected, tells them when to start (`leadMs` from then). */
async function race(env: TestEnv, args: string[], leadMs: number): Promise<SpawnedNode[]> {
  const racers = [0, 1].map(() => spawnNode(racer, env.env, args));
  await Promise.all(racers.map((r) => r.waitForLine(/^ready$/, 60_000)));
  const redis = new Redis(env.config.REDIS_URL);
  await redis.set(`${env.config.REDIS_PREFIX}race-start`, String(Date.now() + leadMs));
  redis.disconnect();
  return racers;
}

t.test('two processes racing for the same locks: each lock has exactly one winner', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const keys = 200;
  const racers = await race(env, ['lock', String(keys)], 500);
  const results = await Promise.all(
    racers.map(async (r) => ((await r.exited).code === 0 ? lastJson(r.lines) : { won: [], late: Infinity })),
  );
  const [a, b] = results.map((r) => r['won'] as string[]) as [string[], string[]];
  t.equal(a.length + b.length, keys, 'every lock was won');
  t.same(
    a.filter((k) => b.includes(k)),
    [],
    'no lock was won twice',
  );
  t.ok(
    results.every((r) => (r['late'] as number) < 1000),
    `both processes contested every key on schedule (won ${a.length} / ${b.length})`,
  );
});

t.test('a lock is released only by its owner and expires by itself', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const redis = new Redis(env.config.REDIS_URL);
  t.teardown(() => redis.disconnect());
  const locks = new RedisLock(redis, env.config.REDIS_PREFIX);

  const first = await locks.acquire('k', 200);
  t.ok(first);
  t.equal(await locks.acquire('k', 200), null, 'held');
  await new Promise((r) => setTimeout(r, 300));
  const second = await locks.acquire('k', 10_000);
  t.ok(second, 'expired leases can be taken');
  t.equal(await first!.release(), false, 'the old owner cannot free the new owner’s lock');
  t.equal(await locks.acquire('k', 1000), null, 'still held by the second owner');
  t.equal(await second!.extend(20_000), true);
  t.ok((await redis.pttl(`${env.config.REDIS_PREFIX}lock:k`)) > 10_000, 'extended');
  t.equal(await second!.release(), true);
  const waited = await locks.acquire('k', 1000, { waitMs: 500 });
  t.ok(waited, 'free again');

  const held = await locks.acquire('busy', 400);
  const started = Date.now();
  const late = await locks.acquire('busy', 1000, { waitMs: 2000, retryMs: 20 });
  t.ok(late && Date.now() - started >= 300, 'a waiting caller gets the lock when it expires');
  t.ok(held);
  const r = await locks.withLock('busy', 1000, async () => 'ran');
  t.same(r, { ran: false }, 'withLock does not run without the lock');
});

t.test(
  'a held lock outlives its TTL while its holder works, and is free soon after the holder is gone',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const redis = new Redis(env.config.REDIS_URL);
    t.teardown(() => redis.disconnect());
    const locks = new RedisLock(redis, env.config.REDIS_PREFIX);
    const held = await locks.hold('job', 300, async () => {
      await new Promise((r) => setTimeout(r, 1000));
      return (await locks.acquire('job', 300)) === null;
    });
    t.same(
      held,
      { ran: true, value: true },
      'nobody else took it during a job three times longer than the TTL',
    );
    t.ok(await locks.acquire('job', 300), 'released when the job ended');
    await new Promise((r) => setTimeout(r, 400));
    t.same(
      await locks.hold('job', 300, async () => 'mine'),
      { ran: true, value: 'mine' },
      'a lease nobody extends (its holder died) lapses within the TTL',
    );
    const busy = await locks.acquire('other', 5000);
    t.same(
      await locks.hold('other', 5000, async () => 'never'),
      { ran: false },
      'a lock someone holds is not taken',
    );
    await busy?.release();
  },
);

t.test('two processes sharing a rate-limit key together stay under the rate', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const rate = 20;
  const burst = 5;
  const durationMs = 3000;
  const racers = await race(env, ['rate', String(durationMs), String(rate), String(burst)], 500);
  const grants = (await Promise.all(
    racers.map(async (r) => ((await r.exited).code === 0 ? (lastJson(r.lines)['grants'] as number[]) : [])),
  )) as [number[], number[]];
  const all = [...grants[0], ...grants[1]].sort((x, y) => x - y);
  const allowed = burst + (rate * durationMs) / 1000;
  // On a loaded machine one racer may start late and run past the other: the bound is over the span really covered.
  const spanMs = Math.max(durationMs, all.length > 0 ? all.at(-1)! - all[0]! : 0);
  const allowedInSpan = burst + (rate * spanMs) / 1000;
  t.ok(
    all.length <= allowedInSpan + 1,
    `${all.length} grants in ${spanMs} ms, at most burst + rate × time = ${allowedInSpan}`,
  );
  t.ok(all.length >= allowed * 0.85, `the budget is used, not starved (${all.length})`);
  t.ok(
    grants[0].length > 10 && grants[1].length > 10,
    `both processes got a share (${grants[0].length} / ${grants[1].length})`,
  );
  // Any one-second window: at most the burst plus one second of refill.
  let worst = 0;
  for (let i = 0, j = 0; i < all.length; i++) {
    while (all[i]! - all[j]! >= 1000) j++;
    worst = Math.max(worst, i - j + 1);
  }
  t.ok(worst <= burst + rate + 1, `busiest second had ${worst} grants (limit ${burst + rate})`);
});

t.test('the limiter tells how long to wait, and reservations queue callers fairly', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const redis = new Redis(env.config.REDIS_URL);
  t.teardown(() => redis.disconnect());
  const limiter = new RateLimiter(redis, env.config.REDIS_PREFIX);
  const limit = { ratePerSec: 2, burst: 2 };

  t.same(await limiter.take('p', limit), { granted: true, waitMs: 0 });
  t.same(await limiter.take('p', limit), { granted: true, waitMs: 0 });
  const refused = await limiter.take('p', limit);
  t.equal(refused.granted, false);
  t.ok(refused.waitMs > 400 && refused.waitMs <= 500, `one token comes in ~500 ms (${refused.waitMs})`);

  const started = Date.now();
  const waits = await Promise.all(
    [0, 1, 2].map(() => limiter.acquire('q', { ratePerSec: 10, burst: 1 }, { maxWaitMs: 1000 })),
  );
  t.same(
    waits.map((w) => (w === 0 ? 0 : 1)).sort(),
    [0, 1, 1],
    'one goes at once, the others wait their turn',
  );
  t.ok(Date.now() - started >= 180, 'the third caller waited about two refills');
  await t.rejects(
    limiter.acquire('q', { ratePerSec: 0.1, burst: 1 }, { maxWaitMs: 100 }),
    RateLimitExceeded,
    'too long a queue is refused with the wait',
  );

  // The budget's owner refused a call although the bucket had room (our state was lost): drained.
  const wide = { ratePerSec: 2, burst: 10 };
  t.same(await limiter.take('d', wide), { granted: true, waitMs: 0 }, 'a fresh bucket is full');
  await limiter.drain('d', wide);
  const drained = await limiter.take('d', wide);
  t.equal(drained.granted, false, 'after drain nothing is left');
  t.ok(
    drained.waitMs > 400 && drained.waitMs <= 500,
    `the next token comes at the drain rate (${drained.waitMs} ms)`,
  );
  await limiter.take('e', wide, 12, { reserve: true, maxQueueMs: 5000 });
  await limiter.drain('e', wide);
  const queued = await limiter.take('e', wide);
  t.ok(queued.waitMs > 1000, `a queue of reservations is kept (${queued.waitMs} ms)`);
});

t.test('a caller waiting its turn gives up at once when the process starts shutting down', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const redis = new Redis(env.config.REDIS_URL);
  t.teardown(() => redis.disconnect());
  const stopping = new AbortController();
  const limiter = new RateLimiter(redis, env.config.REDIS_PREFIX, stopping.signal);
  const slow = { ratePerSec: 0.2, burst: 1 };
  await limiter.acquire('s', slow);
  const started = Date.now();
  const queued = limiter.acquire('s', slow, { maxWaitMs: 60_000 });
  setTimeout(() => stopping.abort(), 100);
  await t.rejects(
    queued,
    { code: 'shutting_down', wait: true },
    'the wait ends as ShuttingDown, a wait, not a failure',
  );
  t.ok(Date.now() - started < 1000, `it did not sit out its 5 s turn (${Date.now() - started} ms)`);
  await t.rejects(
    limiter.acquire('s', slow),
    { code: 'shutting_down' },
    'once stopping, a call that would have to wait does not begin to',
  );
});

t.test(
  'a turn reserved in a bucket Redis has lost is taken again in the new one, not spent on top of it',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const redis = new Redis(env.config.REDIS_URL);
    t.teardown(() => redis.disconnect());
    const limiter = new RateLimiter(redis, env.config.REDIS_PREFIX);
    const limit = { ratePerSec: 2, burst: 1 };
    await limiter.acquire('f', limit);
    const started = Date.now();
    const queued = limiter.acquire('f', limit).then(() => Date.now() - started);
    await new Promise((r) => setTimeout(r, 400));
    await redis.del(`${env.config.REDIS_PREFIX}rate:f`);
    await limiter.acquire('f', limit);
    // The new bucket's only token went to the call after the loss: the queued caller waits its turn in it.
    const waited = await queued;
    t.ok(
      waited >= 750,
      `the queued caller went at a new turn (${waited} ms, about 900), not at its lost one (500 ms)`,
    );
  },
);
