/**
 * «Аналитика»: the recruiting funnel from what we hold, never from hh.ru or the portal.
 *
 * Each negotiation has one row in `hh_analytics` (a rollup of its snapshot and state history,
 * written in the transaction that stores a new state, `refresh`), so every figure of the tab is one
 * aggregate over at most the portal's negotiations of the period (docs/performance.md, «Analytics»).
 */
import type { AnalyticsRequest, AnalyticsView, Knex } from '@hhb24/common';
import { hhTime } from './store.js';

/**
 * The funnel's steps in order, each with the hh.ru employer states that mean it (Отклик →
 * Подумать / Телефонное интервью / Оценка → Интервью → Предложение о работе → Выход на работу).
 * A refusal (`discard_*`) is no step: it is counted aside, at the furthest step reached before it.
 */
export const FUNNEL: ReadonlyArray<readonly string[]> = [
  ['response'],
  ['consider', 'phone_interview', 'assessment'],
  ['interview'],
  ['offer'],
  ['hired'],
];

/** The funnel step of an employer state; null for a refusal or a state hh.ru may add that we do not know. */
export function stepOf(stateId: string): number | null {
  const i = FUNNEL.findIndex((states) => states.includes(stateId));
  return i < 0 ? null : i;
}

export const isRefusal = (stateId: string): boolean => stateId.startsWith('discard');

export interface NegotiationFacts {
  kind: 'response' | 'invitation' | null;
  /** hh.ru's created_at in ms (NaN when unreadable: the row then takes when we first saw it). */
  createdAt: number;
  stateId: string;
  reached: number | null;
  firstMoveAt: number | null;
  refused: boolean;
  refusedStep: number | null;
  silent: boolean;
}

/**
 * What one negotiation adds to the tab, from its settled state and the states we stored for it
 * (hh_state_history, each with hh.ru's `updated_at` when we saw it):
 * - `reached`: the furthest funnel step among them (a response at least the first);
 * - `firstMoveAt`: for a response, when we first saw it in a state other than «Отклик» (the
 *   employer's first move; a response imported already moved counts from that first sight);
 * - a refusal: at the furthest step reached, `silent` when the applicant was told nothing (hh.ru
 *   turns the applicant's state into `discard` only for a refusal with a message).
 */
export function factsOf(
  n: { kind: string | null; createdAt: string; stateId: string; applicantStateId: string | null },
  history: ReadonlyArray<{ stateId: string; at: string }>,
): NegotiationFacts {
  const kind = n.kind === 'response' || n.kind === 'invitation' ? n.kind : null;
  const steps = [...history.map((h) => h.stateId), n.stateId]
    .map(stepOf)
    .filter((s): s is number => s !== null);
  const reached = steps.length > 0 ? Math.max(...steps) : kind === 'response' ? 0 : null;
  const moved =
    kind === 'response'
      ? [...history]
          .filter((h) => h.stateId !== 'response' && Number.isFinite(hhTime(h.at)))
          .map((h) => hhTime(h.at))
          .sort((a, b) => a - b)[0]
      : undefined;
  const refused = isRefusal(n.stateId);
  return {
    kind,
    createdAt: hhTime(n.createdAt),
    stateId: n.stateId,
    reached,
    firstMoveAt: moved ?? null,
    refused,
    refusedStep: refused ? reached : null,
    silent: refused && n.applicantStateId !== 'discard',
  };
}

/**
 * hh.ru's time as Postgres reads it, or null when it is not one (hhTime's NaN): an ISO 8601 time
 * with its offset, as hh.ru writes them (`2026-12-07T10:00:00+0300`); anything else would fail the
 * cast, and with it the transaction that stores the state.
 */
const hhTimeSql = (col: string) =>
  // No `?` in it: knex would take it for a binding.
  `(case when (${col}) ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6}|)(Z|[+-]([01][0-9]|2[0-3])(:|)[0-5][0-9])$' then (${col})::timestamptz end)`;

/** The funnel step of a state column (stepOf), null for a refusal or an unknown state. */
const stepSql = (col: string) =>
  `(case ${FUNNEL.flatMap((states, i) => states.map((s) => `when ${col} = '${s}' then ${i}`)).join(' ')} end)`;

/**
 * Brings the rollup rows of these negotiations (every negotiation of the portal with `ids` null)
 * up to date from their snapshots and history (factsOf's rules, in SQL): one statement, in the
 * caller's transaction, so the rollup never disagrees with the history and a new state costs the
 * hot path one round trip more, not three.
 */
export async function refreshAnalytics(
  db: Knex | Knex.Transaction,
  memberId: string,
  ids: readonly string[] | null,
): Promise<number> {
  const result: { rowCount: number } = await db.raw(
    `
    insert into hh_analytics as a (member_id, negotiation_id, vacancy_id, kind, created_at, state_id,
      reached, first_move_at, move_sec, refused, refused_step, silent)
    select f.member_id, f.negotiation_id, f.vacancy_id, f.kind, f.created, f.state_id, f.reached,
      f.first_move,
      -- Seconds from the response to the first move; a move stamped before the response (clocks) counts as 0.
      case when f.first_move is not null
        then greatest(0, round(extract(epoch from f.first_move - f.created)))::int end,
      f.refused, case when f.refused then f.reached end,
      -- Silent: hh.ru turns the applicant's state into discard only for a refusal with a message.
      f.refused and f.applicant_state_id is distinct from 'discard'
    from (
      select n.member_id, n.negotiation_id, n.vacancy_id, s.kind, s.state_id, n.applicant_state_id,
        coalesce(${hhTimeSql("n.snapshot->>'createdAt'")}, n.first_seen_at) as created,
        s.state_id like 'discard%' as refused,
        coalesce(greatest(h.reached, ${stepSql('s.state_id')}),
          case when s.kind = 'response' then 0 end) as reached,
        case when s.kind = 'response' then h.first_move end as first_move
      from hh_negotiations n
      cross join lateral (
        select case when n.kind in ('response', 'invitation') then n.kind end as kind,
          coalesce(n.snapshot->'state'->>'id', n.employer_state_id) as state_id
      ) s
      left join lateral (
        select max(${stepSql('h.state_id')}) as reached,
          min(${hhTimeSql('h.at')}) filter (where h.state_id <> 'response') as first_move
        from hh_state_history h
        where h.member_id = n.member_id and h.negotiation_id = n.negotiation_id
      ) h on true
      where n.member_id = :memberId and n.snapshot is not null
        ${ids ? 'and n.negotiation_id in (select jsonb_array_elements_text(:ids::jsonb))' : ''}
    ) f
    on conflict (member_id, negotiation_id) do update set
      vacancy_id = excluded.vacancy_id, kind = excluded.kind, created_at = excluded.created_at,
      state_id = excluded.state_id, reached = excluded.reached, first_move_at = excluded.first_move_at,
      move_sec = excluded.move_sec, refused = excluded.refused, refused_step = excluded.refused_step,
      silent = excluded.silent`,
    { memberId, ...(ids ? { ids: JSON.stringify(ids) } : {}) },
  );
  return result.rowCount;
}

/** The time zone of the tab's days and weeks: hh.ru's and most of our users'. */
const ZONE = 'Europe/Moscow';
const DAY_MS = 86_400_000;

/** The day after a `YYYY-MM-DD` day (the period's end is inclusive). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

/** The figures of the tab for one portal, period and choice of vacancies. */
export async function analyticsView(db: Knex, req: AnalyticsRequest): Promise<AnalyticsView> {
  const vacancyIds = req.vacancyIds.length > 0 ? req.vacancyIds : null;
  // The period as Moscow days: [from 00:00, to + 1 day 00:00) in Moscow time.
  const period = (q: Knex.QueryBuilder) => {
    q.where('a.member_id', req.memberId)
      .whereRaw(`a.created_at >= (?::date)::timestamp at time zone '${ZONE}'`, [req.from])
      .whereRaw(`a.created_at < (?::date)::timestamp at time zone '${ZONE}'`, [nextDay(req.to)]);
    if (vacancyIds) q.whereIn('a.vacancy_id', vacancyIds);
    return q;
  };
  const bucket = req.bucket === 'week' ? 'week' : 'day';
  const series = period(
    db('hh_analytics as a')
      .select(
        db.raw(
          `to_char(date_trunc('${bucket}', a.created_at at time zone '${ZONE}'), 'YYYY-MM-DD') as bucket`,
        ),
        'a.vacancy_id',
        db.raw(`count(*) filter (where a.kind = 'response')::int as responses`),
        db.raw(`count(*) filter (where a.kind = 'invitation')::int as invitations`),
      )
      .groupBy(1, 2)
      .orderBy([{ column: 'bucket' }, { column: 'a.vacancy_id' }]),
  );
  const funnel = period(
    db('hh_analytics as a')
      .select(
        'a.vacancy_id',
        db.raw('grouping(a.vacancy_id) as overall'),
        ...FUNNEL.map((_, i) => db.raw(`count(*) filter (where a.reached >= ${i})::int as s${i}`)),
        db.raw('count(*) filter (where a.refused)::int as refused'),
      )
      .groupByRaw('grouping sets ((a.vacancy_id), ())'),
  );
  const speed = period(
    db('hh_analytics as a')
      .leftJoin('hh_vacancies as v', function () {
        this.on('v.member_id', 'a.member_id').andOn('v.vacancy_id', 'a.vacancy_id');
      })
      .select(
        'a.vacancy_id',
        'v.manager_id',
        db.raw('grouping(a.vacancy_id) as by_vacancy_off'),
        db.raw('grouping(v.manager_id) as by_manager_off'),
        db.raw('max(v.manager_name) as manager_name'),
        db.raw(`count(*)::int as responses`),
        db.raw('count(a.move_sec)::int as moved'),
        db.raw('percentile_cont(0.5) within group (order by a.move_sec) as median'),
        db.raw('percentile_cont(0.9) within group (order by a.move_sec) as p90'),
      )
      .where('a.kind', 'response')
      .groupByRaw('grouping sets ((a.vacancy_id), (v.manager_id), ())'),
  );
  const refusals = period(
    db('hh_analytics as a')
      .select(
        'a.refused_step',
        db.raw('count(*)::int as total'),
        db.raw('count(*) filter (where a.silent)::int as silent'),
      )
      .where('a.refused', true)
      .groupBy('a.refused_step')
      .orderBy('a.refused_step'),
  );
  // Untouched responses: of the chosen vacancies, whatever the period (a response is untouched now).
  const untouchedScope = (q: Knex.QueryBuilder) => {
    q.where('a.member_id', req.memberId)
      .where('a.kind', 'response')
      .whereNull('a.first_move_at')
      .where('a.state_id', 'response');
    if (vacancyIds) q.whereIn('a.vacancy_id', vacancyIds);
    return q;
  };
  const untouchedCounts = untouchedScope(
    db('hh_analytics as a').select(
      ...[1, 3, 7].map((d) =>
        db.raw(`count(*) filter (where a.created_at < now() - interval '${d} days')::int as after${d}`),
      ),
    ),
  );
  const untouchedList = untouchedScope(
    db('hh_analytics as a')
      .join('hh_negotiations as n', function () {
        this.on('n.member_id', 'a.member_id').andOn('n.negotiation_id', 'a.negotiation_id');
      })
      .select('a.negotiation_id', 'a.vacancy_id', 'a.created_at', 'n.entity_type', 'n.entity_id')
      .whereRaw(`a.created_at < now() - interval '1 day'`)
      .orderBy([{ column: 'a.created_at' }, { column: 'a.negotiation_id' }])
      .limit(UNTOUCHED_LISTED),
  );
  const vacancies = db('hh_vacancies')
    .where('member_id', req.memberId)
    .select('vacancy_id', 'name', 'manager_id', 'manager_name')
    .orderBy('name');
  type Rows = Array<Record<string, unknown>>;
  const [s, f, sp, r, uc, ul, v] = (await Promise.all([
    series,
    funnel,
    speed,
    refusals,
    untouchedCounts,
    untouchedList,
    vacancies,
  ])) as Rows[] as [Rows, Rows, Rows, Rows, Rows, Rows, Rows];
  const seconds = (x: unknown) => (x === null || x === undefined ? null : Math.round(Number(x)));
  const speedOf = (row: Record<string, unknown>) => ({
    responses: Number(row['responses']),
    moved: Number(row['moved']),
    medianSec: seconds(row['median']),
    p90Sec: seconds(row['p90']),
  });
  const spRows = sp;
  const counts = (uc as Array<Record<string, number>>)[0] ?? {};
  return {
    vacancies: (v as Array<Record<string, string | null>>).map((x) => ({
      id: String(x['vacancy_id']),
      name: x['name'] ?? '',
      managerId: x['manager_id'] ?? null,
      managerName: x['manager_name'] ?? null,
    })),
    series: s.map((x) => ({
      bucket: String(x['bucket']),
      vacancyId: String(x['vacancy_id']),
      responses: Number(x['responses']),
      invitations: Number(x['invitations']),
    })),
    funnel: f.map((x) => ({
      vacancyId: Number(x['overall']) === 1 ? null : String(x['vacancy_id']),
      steps: FUNNEL.map((_, i) => Number(x[`s${i}`])),
      refused: Number(x['refused']),
    })),
    speed: {
      overall: speedOf(spRows.find((x) => Number(x['by_vacancy_off']) && Number(x['by_manager_off'])) ?? {}),
      byVacancy: spRows
        .filter((x) => !Number(x['by_vacancy_off']))
        .map((x) => ({ vacancyId: String(x['vacancy_id']), ...speedOf(x) })),
      byManager: spRows
        .filter((x) => !Number(x['by_manager_off']))
        .map((x) => ({
          managerId: (x['manager_id'] as string | null) ?? null,
          managerName: (x['manager_name'] as string | null) ?? null,
          ...speedOf(x),
        })),
    },
    untouched: {
      after1: Number(counts['after1'] ?? 0),
      after3: Number(counts['after3'] ?? 0),
      after7: Number(counts['after7'] ?? 0),
      items: ul.map((x) => ({
        negotiationId: String(x['negotiation_id']),
        vacancyId: String(x['vacancy_id']),
        createdAt: new Date(x['created_at'] as Date).toISOString(),
        entity:
          x['entity_type'] && x['entity_id']
            ? { type: x['entity_type'] as 'lead' | 'deal', id: Number(x['entity_id']) }
            : null,
      })),
    },
    refusals: r.map((x) => ({
      step: x['refused_step'] === null ? null : Number(x['refused_step']),
      total: Number(x['total']),
      silent: Number(x['silent']),
    })),
  };
}

/** How many untouched responses the tab lists with their links (the counts cover them all). */
export const UNTOUCHED_LISTED = 50;
