/**
 * «Аналитика»'s aggregates against real Postgres: negotiations, their vacancies and state history
 * stored as the sync stores them, the rollup built from them (refreshAnalytics) and every figure
 * of the tab (analyticsView) compared with a count made by hand from the same history.
 */
import t from 'tap';
import type { AnalyticsView, Knex } from '@hhb24/common';
import { analyticsView, factsOf, refreshAnalytics } from '../src/sync/analytics.js';
import { harness } from './helpers.js';

const ACCOUNT = '00000000-0000-4000-8000-000000000001';
const M = 'analytics.bitrix24.ru';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** hh.ru's way of writing a time: Moscow, `+0300`. */
const hhDate = (ms: number) => `${new Date(ms + 3 * HOUR).toISOString().slice(0, 19)}+0300`;
const moscowDay = (ms: number) => new Date(ms + 3 * HOUR).toISOString().slice(0, 10);

interface Seed {
  id: string;
  vacancy: 'v1' | 'v2';
  kind: 'response' | 'invitation';
  created: number | string;
  /** The states we saw, in order, each with hh.ru's updated_at. */
  states: Array<[string, number]>;
  applicantState?: string;
  entity?: { type: 'lead' | 'deal'; id: number };
}

async function seed(db: Knex, s: Seed): Promise<void> {
  const current = s.states.at(-1)![0];
  const createdAt = typeof s.created === 'number' ? hhDate(s.created) : s.created;
  await db('hh_negotiations').insert({
    member_id: M,
    negotiation_id: s.id,
    account_id: ACCOUNT,
    vacancy_id: s.vacancy,
    employer_state_id: current,
    applicant_state_id: s.applicantState ?? s.kind,
    updated_at_hh: hhDate(s.states.at(-1)![1]),
    item: '{}',
    kind: s.kind,
    status: 'ready',
    version: 1,
    snapshot: JSON.stringify({ createdAt, state: { id: current, name: current } }),
    entity_type: s.entity?.type ?? null,
    entity_id: s.entity?.id ?? null,
  });
  for (const [state, at] of s.states)
    await db('hh_state_history').insert({
      member_id: M,
      negotiation_id: s.id,
      state_id: state,
      state_name: state,
      at: hhDate(at),
    });
}

t.test('every figure of the tab from the rollup, as counted by hand from the history', async (t) => {
  const { db } = await harness(t);
  const now = Date.now();
  // Ten days ago at a Moscow noon: the moves of the day stay on that day.
  const d1 = Date.parse(`${moscowDay(now - 10 * DAY)}T12:00:00+03:00`);
  const d2 = d1 + DAY;
  await db('hh_vacancies').insert([
    {
      member_id: M,
      vacancy_id: 'v1',
      account_id: ACCOUNT,
      name: 'Бухгалтер',
      manager_id: '10',
      manager_name: 'Иванова Анна',
    },
    {
      member_id: M,
      vacancy_id: 'v2',
      account_id: ACCOUNT,
      name: 'Водитель',
      manager_id: '20',
      manager_name: 'Петров Олег',
    },
  ]);
  const seeds: Seed[] = [
    // Moved after 2 h, to an interview the next day.
    {
      id: '1',
      vacancy: 'v1',
      kind: 'response',
      created: d1,
      states: [
        ['response', d1],
        ['consider', d1 + 2 * HOUR],
        ['interview', d1 + DAY],
      ],
    },
    // Refused after 4 h with a message (the applicant's state turns `discard`).
    {
      id: '2',
      vacancy: 'v1',
      kind: 'response',
      created: d1,
      states: [
        ['response', d1],
        ['discard_by_employer', d1 + 4 * HOUR],
      ],
      applicantState: 'discard',
    },
    // A phone interview after 1 h, then refused silently two days later.
    {
      id: '3',
      vacancy: 'v1',
      kind: 'response',
      created: d1,
      states: [
        ['response', d1],
        ['phone_interview', d1 + HOUR],
        ['discard_by_employer', d1 + 2 * DAY],
      ],
    },
    // An invitation that went all the way: no response time of its own.
    {
      id: '4',
      vacancy: 'v2',
      kind: 'invitation',
      created: d2,
      states: [
        ['phone_interview', d2],
        ['offer', d2 + DAY],
        ['hired', d2 + 2 * DAY],
      ],
    },
    // Untouched for 2 days, and for 8 days (with its lead).
    {
      id: '5',
      vacancy: 'v2',
      kind: 'response',
      created: now - 2 * DAY,
      states: [['response', now - 2 * DAY]],
    },
    {
      id: '6',
      vacancy: 'v2',
      kind: 'response',
      created: now - 8 * DAY,
      states: [['response', now - 8 * DAY]],
      entity: { type: 'lead', id: 5 },
    },
    // Before the period: in no figure of the period; moved, so not untouched either.
    {
      id: '7',
      vacancy: 'v1',
      kind: 'response',
      created: now - 60 * DAY,
      states: [
        ['response', now - 60 * DAY],
        ['consider', now - 59 * DAY],
      ],
    },
    // A created_at hh.ru wrote in a way we cannot read: counted from when we first saw it (now).
    { id: '8', vacancy: 'v1', kind: 'response', created: 'not a time', states: [['response', now]] },
  ];
  for (const s of seeds) await seed(db, s);
  t.equal(await refreshAnalytics(db, M, null), seeds.length, 'one rollup row per negotiation');
  t.equal(await refreshAnalytics(db, M, ['3']), 1, 'refreshed again: one row, replaced');
  t.equal((await db('hh_analytics').where({ member_id: M }).count({ n: '*' }))[0]!.n, '8');

  const from = moscowDay(now - 30 * DAY);
  const to = moscowDay(now);
  const view = await analyticsView(db, { memberId: M, from, to, bucket: 'day', vacancyIds: [] });
  const funnelOf = (v: AnalyticsView, id: string | null) => v.funnel.find((f) => f.vacancyId === id);
  t.same(funnelOf(view, null), { vacancyId: null, steps: [7, 3, 2, 1, 1], refused: 2 }, 'the funnel for all');
  t.same(funnelOf(view, 'v1'), { vacancyId: 'v1', steps: [4, 2, 1, 0, 0], refused: 2 }, 'for v1');
  t.same(funnelOf(view, 'v2'), { vacancyId: 'v2', steps: [3, 1, 1, 1, 1], refused: 0 }, 'for v2');
  // Moves after 1 h, 2 h and 4 h: the median 2 h, the 90th percentile 2 h + 0.8 × 2 h (interpolated).
  const moved = { responses: 6, moved: 3, medianSec: 7200, p90Sec: 12960 };
  t.same(view.speed.overall, moved, 'speed for all: responses of the period, the moved ones timed');
  t.same(
    view.speed.byVacancy.sort((a, b) => a.vacancyId.localeCompare(b.vacancyId)),
    [
      { vacancyId: 'v1', responses: 4, moved: 3, medianSec: 7200, p90Sec: 12960 },
      { vacancyId: 'v2', responses: 2, moved: 0, medianSec: null, p90Sec: null },
    ],
  );
  t.same(
    view.speed.byManager.sort((a, b) => String(a.managerId).localeCompare(String(b.managerId))),
    [
      {
        managerId: '10',
        managerName: 'Иванова Анна',
        responses: 4,
        moved: 3,
        medianSec: 7200,
        p90Sec: 12960,
      },
      { managerId: '20', managerName: 'Петров Олег', responses: 2, moved: 0, medianSec: null, p90Sec: null },
    ],
  );
  t.same(
    view.refusals,
    [
      { step: 0, total: 1, silent: 0 },
      { step: 1, total: 1, silent: 1 },
    ],
    'refusals at the step reached, the silent one told apart',
  );
  t.match(view.untouched, { after1: 2, after3: 1, after7: 1 }, 'untouched after 1, 3 and 7 days');
  t.same(
    view.untouched.items.map((i) => [i.negotiationId, i.entity]),
    [
      ['6', { type: 'lead', id: 5 }],
      ['5', null],
    ],
    'the untouched ones older than a day, oldest first, with their lead',
  );
  const perDay = new Map<string, [number, number]>();
  for (const s of view.series) {
    const [r, i] = perDay.get(s.bucket) ?? [0, 0];
    perDay.set(s.bucket, [r + s.responses, i + s.invitations]);
  }
  t.same(
    Object.fromEntries(perDay),
    {
      [moscowDay(d1)]: [3, 0],
      [moscowDay(d2)]: [0, 1],
      [moscowDay(now - 8 * DAY)]: [1, 0],
      [moscowDay(now - 2 * DAY)]: [1, 0],
      [moscowDay(now)]: [1, 0],
    },
    'responses and invitations per Moscow day',
  );
  t.same(
    view.vacancies.map((v) => v.name),
    ['Бухгалтер', 'Водитель'],
    'the vacancies to choose from',
  );

  const weekly = await analyticsView(db, { memberId: M, from, to, bucket: 'week', vacancyIds: ['v2'] });
  t.ok(
    weekly.series.every((s) => new Date(`${s.bucket}T00:00:00Z`).getUTCDay() === 1),
    'weeks start on Mondays',
  );
  t.equal(
    weekly.series.reduce((n, s) => n + s.responses + s.invitations, 0),
    3,
    'v2 alone: its three',
  );
  t.same(funnelOf(weekly, null)?.steps, [3, 1, 1, 1, 1], 'the funnel for all is of the chosen vacancy');
  t.notOk(funnelOf(weekly, 'v1'), 'and shows no other');
  t.match(weekly.untouched, { after1: 2, after3: 1, after7: 1 });

  const empty = await analyticsView(db, { memberId: 'other', from, to, bucket: 'day', vacancyIds: [] });
  t.same(
    [empty.series, empty.refusals, empty.funnel, empty.untouched.after1],
    [[], [], [{ vacancyId: null, steps: [0, 0, 0, 0, 0], refused: 0 }], 0],
    'another portal sees nothing of this one',
  );
});

t.test('the facts of one negotiation', async (t) => {
  const h = (stateId: string, at: string) => ({ stateId, at });
  t.match(
    factsOf(
      {
        kind: 'response',
        createdAt: '2026-01-01T10:00:00+0300',
        stateId: 'interview',
        applicantStateId: 'invitation',
      },
      [
        h('response', '2026-01-01T10:00:00+0300'),
        h('assessment', 'unreadable'),
        h('interview', '2026-01-02T10:00:00+0300'),
      ],
    ),
    { reached: 2, firstMoveAt: Date.parse('2026-01-02T07:00:00Z'), refused: false },
    'a move whose time cannot be read is no first move',
  );
  t.match(
    factsOf(
      { kind: 'invitation', createdAt: '', stateId: 'discard_by_employer', applicantStateId: 'invitation' },
      [h('discard_by_employer', '2026-01-01T10:00:00+0300')],
    ),
    { reached: null, firstMoveAt: null, refused: true, refusedStep: null, silent: true },
    'an invitation first seen refused: the step before is unknown',
  );
  t.match(
    factsOf({ kind: 'response', createdAt: '', stateId: 'some_new_state', applicantStateId: 'response' }, []),
    { reached: 0, refused: false },
    'a state hh.ru may add is no step; a response is at least at the first',
  );
});
