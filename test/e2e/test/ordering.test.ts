/**
 * Never backwards: a recruiter moves one response on hh.ru several times in a row while hh.ru
 * answers the read for the first callback late (the simulator's `slow` fault with `stale`: the
 * answer says what hh.ru had when the read arrived and comes back after the later moves were
 * stored), and again with callbacks doubled and overtaking each other. The deal, its fields and its
 * activity end at hh.ru's latest state within seconds and stay there, with no reconciliation pass
 * (the interval is an hour here).
 */
import t, { type Test } from 'tap';
import { RedisLock, createLogger, createRedis } from '@hhb24/common';
import { eventually, sleep } from '@hhb24/common/testing';
import { EMPLOYER_STATES } from '@hhb24/sim-hh';
import { TWO_WAY_DEAL_SETTINGS, World, oneManager } from './world.js';

const { stageByState } = TWO_WAY_DEAL_SETTINGS;

type Layout = { header: { tags: { status: { title: string } } } };

const nameOf = (state: string) => EMPLOYER_STATES.find((s) => s.id === state)!.name;

t.test('a late answer of hh.ru never moves a deal backwards', { timeout: 240_000 }, async (t) => {
  const world = await World.forTest(t, {
    b24RateLimit: false,
    env: { HH_RECONCILE_INTERVAL_SEC: '3600' },
    generate: oneManager(11, { vacanciesPerManager: 4, negotiations: 12 }),
  });
  const { hh, b24 } = world;
  const store = hh.sim.store;
  const { memberId: portal } = await world.connectedPortal(TWO_WAY_DEAL_SETTINGS);
  await world.importAll(portal);
  const deals = () => b24.sim.entities(portal, 'deal');
  const dealOf = (id: string) => deals().find((d) => d['ORIGIN_ID'] === id);
  const layoutOf = (dealId: number) =>
    b24.sim.activities(portal).find((a) => a.ownerTypeId === 2 && a.ownerId === dealId)?.layout as
      Layout | undefined;
  await eventually(() => b24.sim.activities(portal).length === deals().length && deals().length > 0, {
    timeoutMs: 30_000,
    what: 'an activity on every deal',
  });
  const fresh = () =>
    [...store.negotiations.values()].filter((n) => n.employerState === 'response' && dealOf(n.id));
  // A reconciliation pass is claimed by setting the account's reconciled_at: the first one, right
  // after the import, is let run before the moves; the next is an hour away.
  const reconciledAt = async () =>
    String(
      (await world.db('hh_accounts').where({ member_id: portal }).first('reconciled_at'))?.reconciled_at ??
        '',
    );
  await eventually(async () => (await reconciledAt()) !== '', { what: 'the first reconciliation pass' });
  await eventually(async () => Number((await world.db('outbox').count({ n: '*' }))[0]!['n']) === 0, {
    what: 'the outbox empty',
  });
  await sleep(2000);

  /** What the portal shows of a negotiation: the deal's stage, its hh.ru status field and the activity's tag. */
  const shown = (id: string) => {
    const deal = dealOf(id)!;
    return {
      stage: String(deal['STAGE_ID']),
      status: String(deal['UF_CRM_NH_STATUS']),
      tag: layoutOf(Number(deal['ID']))?.header.tags.status.title,
    };
  };
  const latest = (state: keyof typeof stageByState) => ({
    stage: stageByState[state],
    status: nameOf(state),
    tag: nameOf(state),
  });

  /** The portal reaches hh.ru's state within `withinMs` of the last move and is still there 4 s after the late answer. */
  const endsAt = async (
    t: Test,
    id: string,
    state: keyof typeof stageByState,
    lateAnswerAt: number,
    withinMs: number,
  ) => {
    const from = Date.now();
    await eventually(() => JSON.stringify(shown(id)) === JSON.stringify(latest(state)), {
      timeoutMs: withinMs,
      what: `deal, fields and activity at «${nameOf(state)}» (shown: ${JSON.stringify(shown(id))})`,
    });
    t.pass(`at hh.ru's state in ${Date.now() - from} ms`);
    await sleep(Math.max(0, lateAnswerAt - Date.now()) + 4000);
    await b24.sim.idle();
    t.same(shown(id), latest(state), `still at «${nameOf(state)}» after the late answer came back`);
  };

  await t.test('the read for the first of three moves is answered after the third', async (t) => {
    const n = fresh()[0]!;
    const before = await reconciledAt();
    // The read of the first callback is answered 4 s late, with what hh.ru had when it arrived.
    hh.sim.addFault({ kind: 'slow', stale: true, delayMs: 4000, times: 1, match: `/negotiations/${n.id}` });
    const started = Date.now();
    hh.sim.move(n.id, 'consider');
    await sleep(1100);
    hh.sim.move(n.id, 'interview');
    await sleep(1100);
    hh.sim.move(n.id, 'offer');
    await endsAt(t, n.id, 'offer', started + 4500, 12_000);
    t.equal(store.negotiations.get(n.id)!.employerState, 'offer');
    t.ok(
      hh.sim.requests().some((r) => r.fault === 'slow' && r.path === `/negotiations/${n.id}`),
      'the first read was answered late',
    );
    t.equal(await reconciledAt(), before, 'no reconciliation pass was started');
  });

  await t.test('moves within one second: the late answer is as old as the kept one', async (t) => {
    const n = fresh()[0]!;
    hh.sim.addFault({ kind: 'slow', stale: true, delayMs: 3000, times: 1, match: `/negotiations/${n.id}` });
    const started = Date.now();
    hh.sim.move(n.id, 'consider');
    await sleep(150);
    hh.sim.move(n.id, 'interview');
    await endsAt(t, n.id, 'interview', started + 3500, 12_000);
  });

  await t.test('callbacks doubled and out of order, and a late read', async (t) => {
    const n = fresh()[0]!;
    const type = 'NEGOTIATION_EMPLOYER_STATE_CHANGE';
    // The first move's callback (and its copy) comes 3 s late, after the later ones; every callback twice.
    hh.sim.addFault({ kind: 'delay_webhook', delayMs: 3000, times: 1, match: type });
    hh.sim.addFault({ kind: 'duplicate_webhook', times: 3, match: type });
    const started = Date.now();
    hh.sim.move(n.id, 'consider');
    await sleep(1100);
    // The first read to arrive (the second move's callback) is answered 4 s late.
    hh.sim.addFault({ kind: 'slow', stale: true, delayMs: 4000, times: 1, match: `/negotiations/${n.id}` });
    hh.sim.move(n.id, 'interview');
    await sleep(1100);
    hh.sim.move(n.id, 'offer');
    await endsAt(t, n.id, 'offer', started + 5500, 12_000);
    const deliveries = hh.sim
      .deliveries({ actionType: type })
      .filter((d) => d.body['payload'] && (d.body['payload'] as { topic_id?: string }).topic_id === n.id);
    t.equal(deliveries.filter((d) => d.duplicate).length, 3, 'every callback came twice');
  });

  await t.test(
    'two updates of one deal in the same second are two events; a repeated delivery is one',
    async (t) => {
      const n = fresh()[0]!;
      const dealId = Number(dealOf(n.id)!['ID']);
      const deal = b24.sim.portal(portal).deals.get(dealId)!;
      const info = b24.sim.portalInfo(portal);
      // What Bitrix24 POSTs for an update of the deal by user 1 (the installer, whose token the app
      // writes with): event, handler, the second it happened, the id. Our write and a person's move
      // in the same second look exactly the same.
      const ts = String(Math.floor(Date.now() / 1000));
      const event = {
        event: 'ONCRMDEALUPDATE',
        event_handler_id: '7',
        'data[FIELDS][ID]': String(dealId),
        ts,
        'auth[domain]': info.domain,
        'auth[client_endpoint]': info.clientEndpoint,
        'auth[server_endpoint]': info.serverEndpoint,
        'auth[member_id]': portal,
        'auth[user_id]': '1',
        'auth[application_token]': info.installs[0]!.applicationToken,
      };
      const deliver = async () => {
        const res = await fetch(`${world.env['PUBLIC_URL']}/b24/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(event),
        });
        t.equal(res.status, 200, 'the gateway took the event');
      };
      const reads = (since: number) =>
        b24.sim.requests(portal, { since }).filter((r) => r.method === 'crm.deal.get').length;
      const puts = () => hh.sim.requests().filter((r) => r.method === 'PUT').length;

      // Our own write's event: read, the stage is the one crm-writer set, nothing for hh.ru.
      const first = Date.now();
      const putsBefore = puts();
      await deliver();
      await eventually(() => reads(first) === 1, { what: 'the deal read for the first event' });
      await sleep(500);
      t.equal(puts(), putsBefore, 'our own write sends nothing to hh.ru');

      // In the same second a recruiter moves the deal to «Интервью»: Bitrix24 sends the same body.
      deal.fields['STAGE_ID'] = stageByState.interview;
      await deliver();
      await eventually(() => store.negotiations.get(n.id)!.employerState === 'interview', {
        timeoutMs: 15_000,
        what: 'the recruiter’s move to reach hh.ru',
      });
      t.pass('the second event of the same second was handled: hh.ru has the interview');
      await eventually(() => JSON.stringify(shown(n.id)) === JSON.stringify(latest('interview')), {
        timeoutMs: 15_000,
        what: 'the deal and its activity at «Интервью»',
      });

      // A delivery repeated before the event was handled (crm-writer busy with the deal) is one event.
      const redis = createRedis({
        url: world.env['REDIS_URL']!,
        name: 'ordering-test',
        log: createLogger({ level: 'silent', name: 'ordering-test' }),
      });
      t.teardown(() => redis.quit());
      const lease = await new RedisLock(redis, world.env['REDIS_PREFIX']!).acquire(
        `crm:${portal}:${n.id}`,
        15_000,
        { waitMs: 10_000 },
      );
      t.ok(lease, 'the deal held as crm-writer holds it while writing');
      const third = Date.now();
      await deliver();
      await deliver();
      await sleep(1500);
      t.equal(reads(third), 0, 'nothing read while the deal is held');
      await lease!.release();
      await eventually(() => reads(third) >= 1, { what: 'the repeated event handled' });
      await sleep(3000);
      t.equal(reads(third), 1, 'the two copies were handled once');
    },
  );
});
