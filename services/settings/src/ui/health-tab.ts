import { type SyncEventView, type UiRequest, rpc } from '@hhb24/common';
import { HealthEvents, HealthRetry } from './forms.js';
import { type Ctx, type Fragment, HH_WAIT_MS, type PageDeps, checkForm, refusal } from './page-kit.js';
import { type Lang, text } from './texts.js';

/** «Состояние»: the connection's health, the failures with «Повторить» and «Повторить все», the delivery log. */
export class HealthTab {
  constructor(private readonly deps: PageDeps) {}

  /**
   * The connection's health: hh-connector's side (login, paid access, views, subscription, last
   * webhook and reconciliation, loads that failed, the delivery log) and crm-writer's (portal
   * tokens, last write, rate-limit waits, counts, refused writes). Either may be missing; the
   * page shows what it has.
   */
  async panel(req: UiRequest, ctx: Ctx, extra: { retried?: number }): Promise<Fragment> {
    const { memberId } = req.session;
    const ask = <T>(what: string, f: () => Promise<T>): Promise<T | null> =>
      f().catch((err: unknown) => {
        this.deps.runtime.log.warn({ err, memberId, what }, 'health data not available');
        return null;
      });
    const [hh, crm, log] = await Promise.all([
      ask('hh', () => this.deps.runtime.call(rpc.hhHealth, { memberId }, { timeoutMs: HH_WAIT_MS + 8000 })),
      ask('crm', () => this.deps.runtime.call(rpc.crmHealth, { memberId }, { timeoutMs: HH_WAIT_MS })),
      ask('log', () => this.deps.runtime.call(rpc.hhSyncEvents, { memberId }, { timeoutMs: HH_WAIT_MS })),
    ]);
    const failures = [
      ...(hh?.importFailures ?? []).map((f) => ({
        kind: 'load',
        negotiationId: f.negotiationId,
        applicantName: f.applicantName ?? null,
        vacancyName: f.vacancyName ?? null,
        message: f.reason,
        fix: null,
        failedAt: f.failedAt,
        hhUrl: f.hhUrl,
        retryField: 'loadId',
        retryValue: String(f.id),
      })),
      ...(crm?.failures ?? []).map((f) => ({
        ...f,
        kind: 'write',
        entityPath: f.entity ? `/crm/${f.entity.type}/details/${f.entity.id}/` : null,
        retryField: 'negotiationId',
        retryValue: f.negotiationId,
      })),
    ];
    const subscriptionState = !hh?.subscription
      ? 'unknown'
      : !hh.subscription.present
        ? 'missing'
        : hh.subscription.matches
          ? 'ok'
          : 'wrong';
    const paidState = hh?.paidAccess === true ? 'yes' : hh?.paidAccess === false ? 'no' : 'unknown';
    const loginLost = hh?.account.status !== undefined && hh.account.status !== 'active';
    const overall =
      loginLost || failures.length > 0 || paidState === 'no' || (crm && crm.portalStatus !== 'installed')
        ? 'error'
        : !hh ||
            !crm ||
            subscriptionState !== 'ok' ||
            hh.viewsParkedUntil ||
            (hh.reconciliation?.found ?? 0) > 0
          ? 'warning'
          : 'ok';
    const counts = {
      today: {
        received: hh?.counts.today.received ?? 0,
        imported: crm?.counts.today.imported ?? 0,
        updated: crm?.counts.today.updated ?? 0,
        failed: crm?.counts.today.failed ?? 0,
      },
      total: {
        received: hh?.counts.total.received ?? 0,
        imported: crm?.counts.total.imported ?? 0,
        updated: crm?.counts.total.updated ?? 0,
        failed: crm?.counts.total.failed ?? 0,
      },
    };
    const html = this.deps.renderer.render('tab-health', {
      ...ctx,
      hh,
      crm,
      hhUnavailable: !hh,
      crmUnavailable: !crm,
      logUnavailable: !log,
      overall,
      loginLost,
      subscriptionState,
      paidState,
      // The version of the app's registrations on the portal; behind until a gateway brings it up to date.
      appVersion:
        crm?.appVersionCurrent === undefined
          ? null
          : {
              installed: crm.appVersion ?? null,
              current: crm.appVersionCurrent,
              behind: (crm.appVersion ?? 0) < crm.appVersionCurrent,
            },
      lastDeliveryType: hh?.lastDelivery ? eventTypeName(ctx.lang, hh.lastDelivery.actionType) : '',
      counts,
      failures,
      incidentSince: crm?.incidentSince ?? null,
      events: (log?.items ?? []).map((e) => eventView(ctx.lang, e)),
      next: log?.next ?? null,
      retentionDays: hh?.logRetentionDays ?? '',
      retried: extra.retried,
    });
    return { html };
  }

  /** «Показать ещё»: the next rows of the delivery log, and the button for the ones after them. */
  async events(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const form = checkForm(this.deps, req, HealthEvents);
    if (!form) return refusal(this.deps, ctx, 'invalid_request');
    const before = Number(form.before);
    const log = await this.deps.runtime.call(
      rpc.hhSyncEvents,
      { memberId: req.session.memberId, before },
      { timeoutMs: HH_WAIT_MS },
    );
    return {
      html: this.deps.renderer.render('partials/health-events', {
        ...ctx,
        events: log.items.map((e) => eventView(ctx.lang, e)),
        next: log.next,
        before,
      }),
    };
  }

  /** «Повторить» on a failure (a refused write or a failed load), or «Повторить все». */
  async retry(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const { memberId } = req.session;
    const form = checkForm(this.deps, req, HealthRetry);
    if (!form) return refusal(this.deps, ctx, 'invalid_request');
    const { negotiationId } = form;
    const loadId = Number(form.loadId);
    const all = form.all === '1';
    let retried = 0;
    if (all || negotiationId)
      retried += (
        await this.deps.runtime.call(
          rpc.crmRetry,
          { memberId, ...(negotiationId ? { negotiationId } : {}) },
          { timeoutMs: 20_000 },
        )
      ).retried;
    if (all || loadId > 0)
      retried += (
        await this.deps.runtime.call(
          rpc.hhRetry,
          { memberId, ...(all ? {} : { id: loadId }) },
          { timeoutMs: 20_000 },
        )
      ).retried;
    this.deps.runtime.log.info({ memberId, retried, all }, 'failures sent again from «Состояние»');
    return this.panel(req, ctx, { retried });
  }
}

const EVENT_TYPES: Record<string, string> = {
  NEW_RESPONSE_OR_INVITATION_VACANCY: 'health.typeNew',
  NEW_NEGOTIATION_VACANCY: 'health.typeNew',
  NEGOTIATION_EMPLOYER_STATE_CHANGE: 'health.typeState',
  found: 'health.typeFound',
  changed: 'health.typeChanged',
};

function eventTypeName(lang: Lang, type: string): string {
  const key = EVENT_TYPES[type];
  return key ? text(lang, key) : type;
}

/** A delivery log line in the page's words. */
function eventView(lang: Lang, e: SyncEventView) {
  const source =
    e.source === 'webhook'
      ? 'health.sourceWebhook'
      : e.source === 'reconcile'
        ? 'health.sourceReconcile'
        : 'health.sourceImport';
  const ignored = /^ignored: (.*)$/.exec(e.outcome);
  const outcomeText = ignored
    ? text(lang, 'health.outcomeIgnored', { why: whyIgnored(lang, ignored[1]!) })
    : e.outcome === 'processed'
      ? text(lang, 'health.outcomeProcessed')
      : e.outcome === 'new'
        ? text(lang, 'health.outcomeNew')
        : e.outcome === 'changed'
          ? text(lang, 'health.outcomeChanged')
          : e.outcome;
  return { ...e, sourceName: text(lang, source), typeName: eventTypeName(lang, e.type), outcomeText };
}

/** hh-connector says why it skipped a webhook in its log's words; the page says it in the admin's. */
function whyIgnored(lang: Lang, why: string): string {
  if (why.startsWith('the account is')) return text(lang, 'health.whyLogin');
  const key = {
    'the portal has not started its import yet': 'health.whyNoImport',
    'not about a negotiation': 'health.whyNotNegotiation',
    'no topic_id': 'health.whyNoTopic',
    'the negotiation is not visible to this account': 'health.whyInvisible',
    'the negotiation names no vacancy': 'health.whyNoVacancy',
  }[why];
  return key ? text(lang, key) : why;
}
