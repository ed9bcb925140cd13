/**
 * The portal sends an event once: a person's stage move made while no gateway answered is never
 * sent again. crm-writer's stage check (CRM_STAGE_CHECK_SEC) lists the leads of the app modified
 * since its last look and runs the hh.ru action for those a person moved, the same as the event
 * would have; the leads crm-writer itself moved are left alone (no echo).
 */
import t from 'tap';
import { eventually, sleep } from '@hhb24/common/testing';
import { TWO_WAY_LEAD_SETTINGS, World, oneManager } from './world.js';

t.test('a stage move whose event never arrived still reaches hh.ru', { timeout: 240_000 }, async (t) => {
  const world = await World.forTest(t, {
    b24RateLimit: false,
    children: ['gateway'],
    env: { CRM_STAGE_CHECK_SEC: '2' },
    generate: oneManager(21, { vacanciesPerManager: 3, negotiations: 12, invitationShare: 0 }),
  });
  const { hh, b24 } = world;
  const store = hh.sim.store;
  const { memberId } = await world.connectedPortal(TWO_WAY_LEAD_SETTINGS);
  await world.registerHandlers(memberId);
  await world.importAll(memberId);
  const leadOf = (id: string) =>
    b24.sim.entities(memberId, 'lead').find((l) => l['ORIGIN_ID'] === id && l['ORIGINATOR_ID'] === 'hh-b24');
  const responses = () => [...store.negotiations.values()].filter((n) => n.employerState === 'response');
  await eventually(() => responses().filter((n) => leadOf(n.id)).length >= 3, {
    what: 'leads of three untouched responses',
  });
  const actions = () => hh.sim.requests().filter((r) => r.method === 'PUT');
  // Several stage checks pass over the leads crm-writer wrote: none of them is taken for a person's.
  await sleep(5000);
  t.same(actions(), [], 'no hh.ru action for the app’s own writes');

  // The gateway is down: the portal's events of the two moves reach nobody and are not sent again.
  await world.stopChild('gateway', 'SIGTERM');
  const [first, second] = responses().filter((n) => leadOf(n.id));
  for (const n of [first!, second!])
    b24.sim.moveStage(memberId, 'lead', Number(leadOf(n.id)!['ID']), 'PROCESSED', { userId: 2 });
  await eventually(
    () =>
      store.negotiations.get(first!.id)!.employerState === 'interview' &&
      store.negotiations.get(second!.id)!.employerState === 'interview',
    { timeoutMs: 30_000, what: 'both responses at «Интервью» on hh.ru' },
  );
  t.pass('the stage check found both moves and hh.ru has them');
  await world.startChild('gateway');
  await sleep(5000);
  t.same(
    actions()
      .map((r) => r.path.split('/').pop())
      .sort(),
    [first!.id, second!.id].sort(),
    'one hh.ru action per move, none on another response',
  );
  t.same(
    [first!, second!].map((n) => leadOf(n.id)!['STATUS_ID']),
    ['PROCESSED', 'PROCESSED'],
    'the leads stay where the person put them',
  );
});
