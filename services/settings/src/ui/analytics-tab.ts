import { type AnalyticsView, type UiRequest, rpc } from '@hhb24/common';
import { columns, rows } from './charts.js';
import { AnalyticsForm } from './forms.js';
import { type Ctx, type Fragment, HH_WAIT_MS, type PageDeps, checkForm, refusal } from './page-kit.js';
import { type Lang, text } from './texts.js';

const DAY_MS = 86_400_000;
const MOSCOW_MS = 3 * 3600_000;
/** The period shown first: the last 30 days. */
const DEFAULT_DAYS = 30;
/** The longest period one page shows (two years of weeks, or days). */
const MAX_DAYS = 731;
/** The funnel's steps (hh-connector's FUNNEL), in the page's words. */
const STEP_KEYS = [
  'analytics.stepResponse',
  'analytics.stepScreening',
  'analytics.stepInterview',
  'analytics.stepOffer',
  'analytics.stepHired',
];

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const todayInMoscow = () => dayOf(Date.now() + MOSCOW_MS);
const addDays = (day: string, n: number) => dayOf(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);

/** The filter as the page is drawn with: every field given (the form's, or its default). */
export interface AnalyticsFilter {
  from: string;
  to: string;
  bucket: Exclude<NonNullable<AnalyticsForm['bucket']>, ''>;
  vacancyIds: string[];
}

/**
 * The period, the buckets and the vacancies of a filter that fits its schema (forms.ts,
 * AnalyticsForm): what is missing takes its default; a period reversed or too long is named (the
 * page says so and shows the default period).
 */
export function filterOf(form: AnalyticsForm): { filter: AnalyticsFilter; problem: string | null } {
  const to = form.to || todayInMoscow();
  const from = form.from || addDays(to, -(DEFAULT_DAYS - 1));
  const bucket = form.bucket || 'day';
  const vacancyIds = [...new Set([form.vacancy ?? []].flat())];
  const fallback = {
    from: addDays(todayInMoscow(), -(DEFAULT_DAYS - 1)),
    to: todayInMoscow(),
    bucket,
    vacancyIds,
  };
  if (from > to) return { filter: fallback, problem: 'analytics.periodReversed' };
  if (Date.parse(to) - Date.parse(from) > MAX_DAYS * DAY_MS)
    return { filter: fallback, problem: 'analytics.periodTooLong' };
  return { filter: { from, to, bucket, vacancyIds }, problem: null };
}

/** Every bucket of the period (days, or the Mondays of its weeks), so that a quiet day shows as zero. */
export function bucketsOf(f: AnalyticsFilter): string[] {
  const out: string[] = [];
  let day = f.from;
  if (f.bucket === 'week') {
    const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
    day = addDays(day, -weekday);
  }
  for (; day <= f.to; day = addDays(day, f.bucket === 'week' ? 7 : 1)) out.push(day);
  return out;
}

/** A duration as a recruiter reads it: «45 мин», «2 ч 15 мин», «3 д 4 ч». */
export function duration(lang: Lang, sec: number | null): string {
  if (sec === null) return '—';
  const u = lang === 'ru' ? { d: 'д', h: 'ч', m: 'мин' } : { d: 'd', h: 'h', m: 'min' };
  const m = Math.round(sec / 60);
  if (m < 60) return `${m} ${u.m}`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} ${u.h} ${m % 60} ${u.m}` : `${h} ${u.h}`;
  return h % 24 ? `${Math.floor(h / 24)} ${u.d} ${h % 24} ${u.h}` : `${Math.floor(h / 24)} ${u.d}`;
}

/** A share in per cent with one decimal, or a dash when there is nothing to divide. */
const percent = (part: number, whole: number) =>
  whole > 0 ? `${(Math.round((part / whole) * 1000) / 10).toString()} %` : '—';
const dmy = (day: string) => `${day.slice(8, 10)}.${day.slice(5, 7)}.${day.slice(0, 4)}`;

/**
 * «Аналитика»: responses and invitations over time, the funnel by hh.ru status, the speed of the
 * first move and the untouched responses, the refusals. The figures come from hh-connector's own
 * tables (rpc.hh.analytics): the tab asks nothing of hh.ru or the portal. Each chart has its table
 * and a CSV of the same numbers (built in the browser from `csv`, app.js).
 */
export class AnalyticsTab {
  constructor(private readonly deps: PageDeps) {}

  async panel(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const form = checkForm(this.deps, req, AnalyticsForm);
    if (!form) return refusal(this.deps, ctx, 'invalid_request');
    const { filter, problem } = filterOf(form);
    const view = await this.deps.runtime.call(
      rpc.hhAnalytics,
      { memberId: req.session.memberId, ...filter },
      { timeoutMs: HH_WAIT_MS },
    );
    const html = this.deps.renderer.render('tab-analytics', {
      ...ctx,
      problem,
      ...this.model(ctx.lang, filter, view),
    });
    return { html };
  }

  /** What the template draws: the filter, each chart's geometry, its table and its CSV. */
  model(lang: Lang, filter: AnalyticsFilter, view: AnalyticsView) {
    const t = (key: string, values?: Record<string, unknown>) => text(lang, key, values);
    const names = new Map(view.vacancies.map((v) => [v.id, v.name]));
    const nameOf = (id: string) => names.get(id) ?? `#${id}`;
    const chosen = new Set(filter.vacancyIds);

    // 1. Responses and invitations per day or week.
    const buckets = bucketsOf(filter);
    const at = new Map(buckets.map((b, i) => [b, i]));
    const responses = buckets.map(() => 0);
    const invitations = buckets.map(() => 0);
    const perVacancy = new Map<string, { responses: number; invitations: number }>();
    for (const s of view.series) {
      const i = at.get(s.bucket);
      if (i !== undefined) {
        responses[i]! += s.responses;
        invitations[i]! += s.invitations;
      }
      const v = perVacancy.get(s.vacancyId) ?? { responses: 0, invitations: 0 };
      v.responses += s.responses;
      v.invitations += s.invitations;
      perVacancy.set(s.vacancyId, v);
    }
    const timeRows = buckets.map((b, i) => ({
      bucket: dmy(b),
      responses: responses[i]!,
      invitations: invitations[i]!,
    }));
    const time = {
      chart: columns(
        buckets.map((b) => dmy(b).slice(0, 5)),
        [
          { cls: 's-responses', name: t('analytics.responses'), values: responses },
          { cls: 's-invitations', name: t('analytics.invitations'), values: invitations },
        ],
      ),
      rows: timeRows,
      total: {
        responses: responses.reduce((a, b) => a + b, 0),
        invitations: invitations.reduce((a, b) => a + b, 0),
      },
      byVacancy: [...perVacancy]
        .map(([id, v]) => ({ name: nameOf(id), ...v }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      csv: [
        [
          t(filter.bucket === 'week' ? 'analytics.week' : 'analytics.day'),
          t('analytics.vacancy'),
          t('analytics.responses'),
          t('analytics.invitations'),
        ],
        ...view.series.map((s) => [s.bucket, nameOf(s.vacancyId), s.responses, s.invitations]),
      ],
    };

    // 2. The funnel, for all and per vacancy.
    const stepNames = STEP_KEYS.map((k) => t(k));
    const funnelRow = (steps: number[], refused: number) => ({
      steps: steps.map((n, i) => ({ n, conversion: i === 0 ? null : percent(n, steps[i - 1]!) })),
      refused,
    });
    const all = view.funnel.find((f) => f.vacancyId === null) ?? {
      steps: stepNames.map(() => 0),
      refused: 0,
    };
    const funnel = {
      chart: rows(
        stepNames.map((label, i) => ({ label, values: [all.steps[i] ?? 0] })),
        [{ cls: 's-funnel', name: t('analytics.reached') }],
      ),
      steps: stepNames,
      all: funnelRow(all.steps, all.refused),
      byVacancy: view.funnel
        .filter((f) => f.vacancyId !== null)
        .map((f) => ({ name: nameOf(f.vacancyId!), ...funnelRow(f.steps, f.refused) }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      csv: [
        [
          t('analytics.vacancy'),
          ...stepNames.flatMap((s, i) => (i === 0 ? [s] : [s, `${s}, %`])),
          t('analytics.refused'),
        ],
        ...view.funnel.map((f) => [
          f.vacancyId === null ? t('analytics.allVacancies') : nameOf(f.vacancyId),
          ...f.steps.flatMap((n, i) =>
            i === 0 ? [n] : [n, f.steps[i - 1]! > 0 ? Math.round((n / f.steps[i - 1]!) * 1000) / 10 : ''],
          ),
          f.refused,
        ]),
      ],
    };

    // 3. Speed: response → the employer's first move.
    const hours = (sec: number | null) => (sec === null ? 0 : Math.round((sec / 3600) * 10) / 10);
    const speedRow = (name: string, s: AnalyticsView['speed']['overall']) => ({
      name,
      responses: s.responses,
      moved: s.moved,
      median: duration(lang, s.medianSec),
      p90: duration(lang, s.p90Sec),
    });
    const byVacancy = view.speed.byVacancy
      .map((s) => ({ ...speedRow(nameOf(s.vacancyId), s), medianSec: s.medianSec, p90Sec: s.p90Sec }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const byManager = view.speed.byManager
      .map((s) => ({
        ...speedRow(s.managerName ?? (s.managerId ? `#${s.managerId}` : t('analytics.noManager')), s),
        medianSec: s.medianSec,
        p90Sec: s.p90Sec,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const speedCsv = (label: string, list: typeof byVacancy) => [
      [
        label,
        t('analytics.responses'),
        t('analytics.moved'),
        t('analytics.medianHours'),
        t('analytics.p90Hours'),
      ],
      ...list.map((s) => [
        s.name,
        s.responses,
        s.moved,
        s.medianSec === null ? '' : hours(s.medianSec),
        s.p90Sec === null ? '' : hours(s.p90Sec),
      ]),
    ];
    const speed = {
      chart: rows(
        byVacancy.map((s) => ({ label: s.name, values: [hours(s.medianSec), hours(s.p90Sec)] })),
        [
          { cls: 's-median', name: t('analytics.median') },
          { cls: 's-p90', name: t('analytics.p90') },
        ],
        (h) => duration(lang, h * 3600),
      ),
      overall: speedRow(t('analytics.allVacancies'), view.speed.overall),
      byVacancy,
      byManager,
      csvVacancies: speedCsv(t('analytics.vacancy'), byVacancy),
      csvManagers: speedCsv(t('analytics.manager'), byManager),
    };

    // The untouched responses, with their lead or deal.
    const untouched = {
      ...view.untouched,
      items: view.untouched.items.map((u) => ({
        ...u,
        vacancy: nameOf(u.vacancyId),
        path: u.entity ? `/crm/${u.entity.type}/details/${u.entity.id}/` : null,
      })),
      csv: [
        [t('analytics.negotiation'), t('analytics.vacancy'), t('analytics.created'), t('analytics.entity')],
        ...view.untouched.items.map((u) => [
          u.negotiationId,
          nameOf(u.vacancyId),
          u.createdAt,
          u.entity ? `${u.entity.type} ${u.entity.id}` : '',
        ]),
      ],
    };

    // 4. Refusals, by the step reached before them.
    const refusalRows = view.refusals.map((r) => ({
      step: r.step === null ? t('analytics.stepUnknown') : (stepNames[r.step] ?? String(r.step)),
      total: r.total,
      silent: r.silent,
      told: r.total - r.silent,
    }));
    const refusals = {
      chart: rows(
        refusalRows.map((r) => ({ label: r.step, values: [r.told, r.silent] })),
        [
          { cls: 's-told', name: t('analytics.refusalTold') },
          { cls: 's-silent', name: t('analytics.refusalSilent') },
        ],
      ),
      rows: refusalRows,
      total: refusalRows.reduce((n, r) => n + r.total, 0),
      silent: refusalRows.reduce((n, r) => n + r.silent, 0),
      csv: [
        [t('analytics.step'), t('analytics.refused'), t('analytics.refusalSilent')],
        ...refusalRows.map((r) => [r.step, r.total, r.silent]),
      ],
    };

    return {
      filter: {
        ...filter,
        vacancies: view.vacancies.map((v) => ({ ...v, selected: chosen.has(v.id) })),
        period: `${dmy(filter.from)} — ${dmy(filter.to)}`,
      },
      csvSeparator: lang === 'ru' ? ';' : ',',
      csvName: `hh-analytics-${filter.from}-${filter.to}`,
      time,
      funnel,
      speed,
      untouched,
      refusals,
    };
  }
}
