import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { RunningHhSim } from '../src/index.js';
import { call, cast, simFor } from './helpers.js';

interface Received {
  at: number;
  body: {
    id: string;
    subscription_id: string;
    action_type: string;
    user_id: string;
    payload: Record<string, string | null>;
  };
}

/** A webhook receiver that answers each delivery as the test scripts it (status, or a delay before answering). */
async function receiver(
  t: { teardown(fn: () => unknown): void },
  answer: (n: number, body: Received['body']) => { status: number; delayMs?: number },
) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(data) as Received['body'];
      received.push({ at: Date.now(), body });
      const a = answer(received.length, body);
      setTimeout(() => res.writeHead(a.status).end(), a.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hh/hook/s3cret`, received };
}

async function subscribe(running: RunningHhSim, userId: string, url: string, actions: unknown[]) {
  const token = running.sim.issueTokens(userId).access_token;
  const res = await call(`${running.url}/webhook/subscriptions`, { token, json: { url, actions } });
  return { id: res.body.id as string, token };
}

const until = async (check: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

t.test('a response and a state change reach the subscriber in hh’s callback shape', async (t) => {
  const running = await simFor(t);
  const c = cast(running);
  const hook = await receiver(t, () => ({ status: 200 }));
  const sub = await subscribe(running, c.admin.userId, hook.url, [
    { type: 'NEW_NEGOTIATION_VACANCY' },
    { type: 'NEW_RESPONSE_OR_INVITATION_VACANCY' },
    { type: 'NEGOTIATION_EMPLOYER_STATE_CHANGE' },
  ]);
  const vacancy = running.sim.store.vacanciesByEmployer
    .get(c.paid.id)!
    .find((v) => v.managerId === c.owner.id)!;
  const n = running.sim.respond({ vacancyId: vacancy.id });
  await until(() => hook.received.length === 2);
  const [first, second] = hook.received.map((r) => r.body);
  t.match(first, {
    subscription_id: sub.id,
    action_type: 'NEW_NEGOTIATION_VACANCY',
    user_id: c.admin.userId,
    payload: {
      topic_id: n.id,
      resume_id: n.resumeId,
      vacancy_id: vacancy.id,
      employer_id: c.paid.id,
      negotiation_date: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0300$/,
    },
  });
  t.match(second, {
    action_type: 'NEW_RESPONSE_OR_INVITATION_VACANCY',
    payload: { topic_id: n.id, response_date: /\+0300$/ },
  });
  t.not(first!.id, second!.id, 'each callback has its own id');
  running.sim.move(n.id, 'consider');
  await until(() => hook.received.length === 3);
  t.match(hook.received[2]!.body, {
    action_type: 'NEGOTIATION_EMPLOYER_STATE_CHANGE',
    payload: {
      topic_id: n.id,
      from_state: 'response',
      to_state: 'consider',
      employer_manager_id: c.owner.id,
      transferred_at: /\+0300$/,
    },
  });
  running.sim.invite({ vacancyId: vacancy.id });
  await until(() => hook.received.length === 4);
  t.equal(
    hook.received[3]!.body.action_type,
    'NEW_RESPONSE_OR_INVITATION_VACANCY',
    'an invitation fires only NEW_RESPONSE_OR_INVITATION_VACANCY',
  );
  t.ok(
    running.sim.deliveries().every((d) => d.state === 'delivered' && d.attempts.length === 1),
    'the delivery log shows one successful attempt each',
  );
});

t.test('visibility: vacancies_only_mine, and managers hear only about vacancies they can see', async (t) => {
  const running = await simFor(t);
  const c = cast(running);
  const mine = await receiver(t, () => ({ status: 200 }));
  const all = await receiver(t, () => ({ status: 200 }));
  const plain = await receiver(t, () => ({ status: 200 }));
  await subscribe(running, c.admin.userId, mine.url, [
    { type: 'NEW_NEGOTIATION_VACANCY', settings: { vacancies_only_mine: true } },
  ]);
  await subscribe(running, c.granted.userId, all.url, [{ type: 'NEW_NEGOTIATION_VACANCY' }]);
  await subscribe(running, c.plain.userId, plain.url, [{ type: 'NEW_NEGOTIATION_VACANCY' }]);
  const vacancies = running.sim.store.vacanciesByEmployer.get(c.paid.id)!;
  running.sim.respond({ vacancyId: vacancies.find((v) => v.managerId === c.owner.id)!.id });
  running.sim.respond({ vacancyId: vacancies.find((v) => v.managerId === c.admin.id)!.id });
  await until(() => mine.received.length === 1 && all.received.length === 1);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(mine.received.length, 1, 'the admin with vacancies_only_mine hears only about their own vacancy');
  t.equal(all.received.length, 1, 'a granted manager hears about the granting manager’s vacancy');
  t.equal(plain.received.length, 0, 'a manager hears nothing about vacancies they cannot see');
});

t.test(
  'retries: no answer within 2 s, errors and refused connections are retried with growing intervals until a 2xx; 409 also ends them',
  async (t) => {
    const running = await simFor(t, { settings: { webhookRetryScheduleMs: [100, 200, 400, 800] } });
    const c = cast(running);
    // First a receiver that hangs past the 2 s timeout, then answers 500, then 503, then 200.
    const hook = await receiver(t, (n) =>
      n === 1
        ? { status: 200, delayMs: 2600 }
        : n === 2
          ? { status: 500 }
          : n === 3
            ? { status: 503 }
            : { status: 200 },
    );
    await subscribe(running, c.admin.userId, hook.url, [{ type: 'NEW_NEGOTIATION_VACANCY' }]);
    const vacancy = running.sim.store.vacanciesByEmployer.get(c.paid.id)![0]!;
    running.sim.respond({ vacancyId: vacancy.id });
    await until(() => running.sim.deliveries()[0]?.state === 'delivered', 8000);
    const d = running.sim.deliveries()[0]!;
    t.equal(d.attempts.length, 4, 'four attempts');
    t.match(d.attempts[0], { error: 'no answer within 2000 ms' });
    t.ok(
      d.attempts[0]!.durationMs >= 1900 && d.attempts[0]!.durationMs < 2500,
      `the sender gave up after about 2 s (${d.attempts[0]!.durationMs} ms)`,
    );
    t.same(
      d.attempts.map((a) => a.status ?? null),
      [null, 500, 503, 200],
    );
    t.equal(new Set(hook.received.map((r) => r.body.id)).size, 1, 'the same callback id on every retry');
    const gaps = hook.received.slice(1).map((r, i) => r.at - hook.received[i]!.at);
    t.ok(gaps[2]! > gaps[1]!, `intervals grow (${gaps.join(', ')} ms)`);
    await new Promise((r) => setTimeout(r, 1000));
    t.equal(hook.received.length, 4, 'nothing more after the first 2xx');

    await t.test('409 (a duplicate for the receiver) counts as success', async (t) => {
      const dup = await receiver(t, () => ({ status: 409 }));
      await subscribe(running, c.owner.userId, dup.url, [{ type: 'NEW_NEGOTIATION_VACANCY' }]);
      running.sim.respond({
        vacancyId: running.sim.store.vacanciesByEmployer
          .get(c.paid.id)!
          .find((v) => v.managerId === c.owner.id)!.id,
      });
      await until(() => dup.received.length === 1);
      await new Promise((r) => setTimeout(r, 500));
      t.equal(dup.received.length, 1);
      t.equal(running.sim.deliveries({ actionType: 'NEW_NEGOTIATION_VACANCY' }).at(-1)!.state, 'delivered');
    });

    await t.test('a receiver that never answers 2xx: retries stop when the schedule ends', async (t) => {
      const down = await receiver(t, () => ({ status: 502 }));
      await subscribe(running, c.plain.userId, down.url, [{ type: 'NEW_NEGOTIATION_VACANCY' }]);
      running.sim.respond({
        vacancyId: running.sim.store.vacanciesByEmployer
          .get(c.paid.id)!
          .find((v) => v.managerId === c.plain.id)!.id,
      });
      await until(
        () => running.sim.deliveries().some((x) => x.url === down.url && x.state === 'failed'),
        4000,
      );
      t.equal(down.received.length, 5, 'the first attempt and four retries');
    });
  },
);

t.test(
  'faults: a dropped webhook is never sent; a duplicated one arrives twice with the same id',
  async (t) => {
    const running = await simFor(t);
    const c = cast(running);
    const hook = await receiver(t, () => ({ status: 200 }));
    await subscribe(running, c.admin.userId, hook.url, [{ type: 'NEW_NEGOTIATION_VACANCY' }]);
    const vacancy = running.sim.store.vacanciesByEmployer.get(c.paid.id)![0]!;
    running.sim.addFault({ kind: 'drop_webhook', times: 1 });
    running.sim.respond({ vacancyId: vacancy.id });
    running.sim.addFault({ kind: 'duplicate_webhook', times: 1 });
    running.sim.respond({ vacancyId: vacancy.id });
    await until(() => hook.received.length === 2);
    await new Promise((r) => setTimeout(r, 200));
    t.equal(hook.received.length, 2);
    t.equal(hook.received[0]!.body.id, hook.received[1]!.body.id, 'the duplicate carries the same id');
    t.same(
      running.sim.deliveries().map((d) => [d.state, d.duplicate]),
      [
        ['dropped', false],
        ['delivered', false],
        ['delivered', true],
      ],
      'the delivery log tells',
    );
  },
);

t.test('subscription rules: one per user and app, PUT replaces the full list, not yours → 404', async (t) => {
  const running = await simFor(t);
  const c = cast(running);
  const { id, token } = await subscribe(running, c.admin.userId, 'http://127.0.0.1:9/a', [
    { type: 'NEW_NEGOTIATION_VACANCY' },
  ]);
  t.match(
    (
      await call(`${running.url}/webhook/subscriptions`, {
        token,
        json: { url: 'http://127.0.0.1:9/b', actions: [{ type: 'VACANCY_CHANGE' }] },
      })
    ).body,
    { errors: [{ type: 'notifications', value: 'already_exist' }] },
  );
  t.equal(
    (
      await call(`${running.url}/webhook/subscriptions/${id}`, {
        method: 'PUT',
        token,
        json: { actions: [{ type: 'VACANCY_ARCHIVATION' }, { type: 'VACANCY_CHANGE' }] },
      })
    ).status,
    204,
  );
  t.same((await call(`${running.url}/webhook/subscriptions`, { token })).body, {
    items: [
      {
        id,
        url: 'http://127.0.0.1:9/a',
        actions: [{ type: 'VACANCY_ARCHIVATION' }, { type: 'VACANCY_CHANGE' }],
      },
    ],
  });
  t.match(
    (
      await call(`${running.url}/webhook/subscriptions/${id}`, {
        method: 'PUT',
        token,
        json: { actions: [] },
      })
    ).body,
    { errors: [{ type: 'bad_json_data', value: 'actions', reason: 'size_less_than_min' }] },
  );
  t.match(
    (
      await call(`${running.url}/webhook/subscriptions`, {
        token: running.sim.issueTokens(c.plain.userId).access_token,
        json: { url: 'http://127.0.0.1:9/c' },
      })
    ).body,
    { errors: [{ type: 'bad_json_data', value: 'actions', reason: 'required' }] },
  );
  const other = running.sim.issueTokens(c.owner.userId).access_token;
  t.equal(
    (await call(`${running.url}/webhook/subscriptions/${id}`, { method: 'DELETE', token: other })).status,
    404,
  );
  t.equal(
    (await call(`${running.url}/webhook/subscriptions/${id}`, { method: 'DELETE', token })).status,
    204,
  );
  t.same((await call(`${running.url}/webhook/subscriptions`, { token })).body, { items: [] });
});

t.test('a vacancy handed to another manager: its list and VACANCY_CHANGE say so', async (t) => {
  const running = await simFor(t);
  const c = cast(running);
  const hook = await receiver(t, () => ({ status: 200 }));
  await subscribe(running, c.admin.userId, hook.url, [{ type: 'VACANCY_CHANGE' }]);
  const vacancy = running.sim.store.vacanciesByEmployer
    .get(c.paid.id)!
    .find((v) => v.managerId === c.owner.id && !v.archived)!;
  const token = running.sim.issueTokens(c.admin.userId).access_token;
  const listOf = async (managerId: string) =>
    (
      await call(
        `${running.url}/employers/${c.paid.id}/vacancies/active?manager_id=${managerId}&per_page=50`,
        { token },
      )
    ).body.items as Array<{ id: string; manager: { id: string } }>;
  t.ok(
    (await listOf(c.owner.id)).some((v) => v.id === vacancy.id),
    'listed under its manager',
  );

  const moved = await call(`${running.url}/_sim/vacancies/${vacancy.id}/manager`, {
    json: { managerId: c.plain.id },
  });
  t.equal(moved.status, 200);
  t.notOk(
    (await listOf(c.owner.id)).some((v) => v.id === vacancy.id),
    'gone from the old manager',
  );
  t.match(
    (await listOf(c.plain.id)).find((v) => v.id === vacancy.id),
    { manager: { id: c.plain.id } },
    'listed under the new manager, with it as the vacancy’s manager',
  );
  await until(() => hook.received.length === 1);
  t.match(hook.received[0]!.body, {
    action_type: 'VACANCY_CHANGE',
    user_id: c.admin.userId,
    payload: { vacancy_id: vacancy.id, change_date: String },
  });
  // Handing it to the manager it already has is no change; another employer's manager is refused.
  await call(`${running.url}/_sim/vacancies/${vacancy.id}/manager`, { json: { managerId: c.plain.id } });
  const foreign = await call(`${running.url}/_sim/vacancies/${vacancy.id}/manager`, {
    json: { managerId: c.unpaidAdmin.id },
  });
  t.equal(foreign.status, 400);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(hook.received.length, 1);
});
