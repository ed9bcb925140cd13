import {
  AppError,
  CRM_USER_FIELDS,
  HH_ACTION_ROBOT_CODE,
  type CardView,
  type CrmFailureView,
  type EntityType,
  HH_STATES,
  HH_STATE_NAMES,
  type HhAccountView,
  type HhState,
  type ImportProgress,
  type PortalSettings,
  type Runtime,
  type SyncEventView,
  type UiRequest,
  type UiResponse,
  type UiSession,
  ValidationError,
  entityTypeOf,
  rpc,
} from '@hhb24/common';
import { CONTACT_MAX, FEEDBACK_MAX, addFeedback } from '../feedback-store.js';
import type { PortalData, Stage } from '../portal-data.js';
import { type SettingsInput, getSettingsRecord, parseSettings, saveSettings } from '../settings-store.js';
import type { Renderer } from './render.js';
import { type Lang, STATE_NAMES_EN, VALIDATION_EN, text } from './texts.js';

type Form = UiRequest['form'];
type Tab = 'auth' | 'settings' | 'new-responses' | 'health' | 'feedback';

const TABS: Array<{ key: Tab; label: string }> = [
  { key: 'auth', label: 'tabs.auth' },
  { key: 'settings', label: 'tabs.settings' },
  { key: 'new-responses', label: 'tabs.newResponses' },
  { key: 'feedback', label: 'tabs.feedback' },
  { key: 'health', label: 'tabs.health' },
];
/** hh-connector answers from its own database; a page does not wait long for it. */
const HH_WAIT_MS = 8000;
/** What the progress says about each reason a run is paused (texts.ts). */
const PAUSED_TEXTS: Record<string, string> = {
  login_required: 'import.pausedLogin',
  no_paid_access: 'import.pausedPayment',
  view_limit: 'import.pausedViews',
};
/** «Войти» opened hh.ru's login: the auth tab asks every few seconds, for up to ten minutes. */
const POLL_MS = 2000;
const POLL_LIMIT = 300;

const one = (form: Form, key: string): string => {
  const v = form[key];
  return (Array.isArray(v) ? v[0] : v) ?? '';
};

/** What a person may do here: the seed's rule is admin rights or CRM access. */
const canUse = (s: UiSession) => s.isAdmin || s.crmAccess;

interface Fragment {
  html: string;
  status?: number;
  headers?: Record<string, string>;
}

/**
 * The app's pages (settings renders them, the gateway authenticated the person and carries the
 * session). Routes are the page's own requests; each answers a whole page or the part htmx swaps.
 */
export class AppPages {
  constructor(
    private readonly runtime: Runtime,
    private readonly data: PortalData,
    private readonly renderer: Renderer,
  ) {}

  async handle(req: UiRequest): Promise<UiResponse> {
    const { session } = req;
    const ctx = { lang: session.lang, token: req.token, links: req.links, session };
    const fragment = async (f: Promise<Fragment>): Promise<UiResponse> => {
      const r = await f;
      return { status: r.status ?? 200, html: r.html, headers: r.headers };
    };
    if (req.route === 'login/result') return this.loginResult(req, ctx);
    if (!canUse(session)) {
      const html =
        req.route === 'app' || req.route === 'card'
          ? this.renderer.page('no-access', {
              ...ctx,
              title: text(session.lang, 'access.title'),
              framed: true,
            })
          : this.renderer.render('no-access', ctx);
      return { status: 403, html };
    }
    switch (req.route) {
      case 'app':
        // «Все отклики (N)» in a timeline activity opens the app with the lead or deal (openRestApp): its card, every other response listed.
        if (one(req.form, 'view') === 'others') {
          const entityType = entityTypeOf(one(req.form, 'entityTypeId')) ?? '';
          return this.cardPage({ ...req, form: { entityType, entityId: one(req.form, 'entityId') } }, ctx);
        }
        return { status: 200, html: await this.appPage(req, ctx) };
      case 'card':
        return this.cardPage(req, ctx);
      case 'install':
        return {
          status: 200,
          html: this.renderer.page('install', {
            ...ctx,
            title: text(session.lang, 'install.title'),
            framed: true,
            ...this.steps(req),
          }),
        };
      case 'install/result':
        return {
          status: 200,
          html: this.renderer.render('partials/install-steps', { ...ctx, ...this.steps(req) }),
        };
      case 'tab/auth':
      case 'auth/status':
        return fragment(this.tab('auth', req, ctx));
      case 'auth/logout':
        return fragment(this.logout(req, ctx));
      case 'tab/settings':
        return fragment(this.tab('settings', req, ctx));
      case 'tab/new-responses':
        return fragment(this.tab('new-responses', req, ctx));
      case 'tab/feedback':
        return fragment(this.tab('feedback', req, ctx));
      case 'tab/health':
        return fragment(this.tab('health', req, ctx));
      case 'health/events':
        return fragment(this.healthEvents(req, ctx));
      case 'health/retry':
        return fragment(this.healthRetry(req, ctx));
      case 'settings/form':
        return fragment(this.settingsForm(req, ctx, { values: req.form }));
      case 'settings/users':
        return fragment(this.userOptions(req, ctx));
      case 'settings/save':
        return fragment(this.save(req, ctx));
      case 'import/progress':
        return fragment(this.progress(req, ctx));
      case 'failures/retry':
        return fragment(this.retry(req, ctx));
      case 'feedback/send':
        return fragment(this.sendFeedback(req, ctx));
      default:
        return {
          status: 404,
          html: this.renderer.render('partials/notice', { ...ctx, kind: 'error', key: 'common.error' }),
        };
    }
  }

  // ---- the app page and its tabs ------------------------------------------------------------------

  private async appPage(req: UiRequest, ctx: Ctx): Promise<string> {
    const account = await this.account(req.session.memberId);
    const tab: Tab = account?.status === 'active' ? 'settings' : 'auth';
    const panel = await this.panel(tab, req, ctx, account);
    return this.renderer.page('app', {
      ...ctx,
      title: text(ctx.lang, 'app.title'),
      framed: true,
      panel: panel.html,
      tabs: this.tabs(tab, account),
      account,
    });
  }

  /** A tab's panel plus the tab bar and the connection marker, which may have changed too (htmx out-of-band swaps). */
  private async tab(tab: Tab, req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const account = await this.account(req.session.memberId);
    // «Состояние» stays open without a working login: it is where a lost one shows.
    const shown: Tab = account?.status === 'active' || tab === 'health' ? tab : 'auth';
    const panel = await this.panel(shown, req, ctx, account);
    const chrome = this.renderer.render('partials/chrome-oob', {
      ...ctx,
      tabs: this.tabs(shown, account),
      account,
    });
    return { ...panel, html: panel.html + chrome };
  }

  private panel(tab: Tab, req: UiRequest, ctx: Ctx, account: HhAccountView | null): Promise<Fragment> {
    switch (tab) {
      case 'auth':
        return Promise.resolve({ html: this.authPanel(req, ctx, account) });
      case 'settings':
        return this.settingsPanel(req, ctx, {});
      case 'new-responses':
        return this.newResponses(req, ctx);
      case 'feedback':
        return Promise.resolve({
          html: this.renderer.render('tab-feedback', { ...ctx, values: {}, errors: {} }),
        });
      case 'health':
        return this.healthPanel(req, ctx, {});
    }
  }

  private tabs(current: Tab, account: HhAccountView | null) {
    const connected = account?.status === 'active';
    return TABS.map((t) => ({
      ...t,
      selected: t.key === current,
      disabled: !connected && t.key !== 'auth' && t.key !== 'health',
    }));
  }

  private async account(memberId: string): Promise<HhAccountView | null> {
    try {
      return await this.runtime.call(rpc.hhAccount, { memberId }, { timeoutMs: HH_WAIT_MS });
    } catch (err) {
      this.runtime.log.warn({ err, memberId }, 'hh.ru account state not available');
      return null;
    }
  }

  // ---- «Авторизация» ------------------------------------------------------------------------------

  private authPanel(
    req: UiRequest,
    ctx: Ctx,
    account: HhAccountView | null,
    notice?: { kind: string; key: string },
  ): string {
    const poll = Number(one(req.form, 'poll')) || 0;
    const waiting = req.route === 'auth/status' && account?.status !== 'active' && poll < POLL_LIMIT;
    return this.renderer.render('tab-auth', {
      ...ctx,
      account,
      unavailable: account === null,
      notice,
      waiting,
      nextPoll: poll + 1,
      pollMs: POLL_MS,
    });
  }

  private async logout(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    let account: HhAccountView | null;
    let notice: { kind: string; key: string };
    try {
      account = await this.runtime.call(
        rpc.hhDisconnect,
        { memberId: req.session.memberId, userId: req.session.userId },
        { timeoutMs: 20_000 },
      );
      notice = { kind: 'ok', key: 'auth.loggedOut' };
    } catch (err) {
      this.runtime.log.warn({ err, memberId: req.session.memberId }, 'hh.ru sign-out failed');
      account = await this.account(req.session.memberId);
      notice = { kind: 'error', key: 'auth.logoutFailed' };
    }
    const chrome = this.renderer.render('partials/chrome-oob', {
      ...ctx,
      tabs: this.tabs('auth', account),
      account,
    });
    return { html: this.authPanel(req, ctx, account, notice) + chrome };
  }

  // ---- «Настройки», the import ----------------------------------------------------------------------

  private async importProgress(memberId: string): Promise<ImportProgress | null> {
    try {
      return await this.runtime.call(rpc.hhImportProgress, { memberId }, { timeoutMs: HH_WAIT_MS });
    } catch (err) {
      this.runtime.log.warn({ err, memberId }, 'import progress not available');
      return null;
    }
  }

  /** Results of the import (when it ran) and the form; or the progress while the import runs. */
  private async settingsPanel(
    req: UiRequest,
    ctx: Ctx,
    extra: { notice?: { kind: string; key: string }; retried?: number },
  ): Promise<Fragment & { running: boolean }> {
    const [progress, record] = await Promise.all([
      this.importProgress(req.session.memberId),
      getSettingsRecord(this.runtime.db, req.session.memberId),
    ]);
    if (importRunning(progress, record?.importRequestedAt ?? null))
      return { html: this.progressView(ctx, progress, record?.settings ?? null), running: true };
    const [form, failures] = await Promise.all([
      this.settingsForm(req, ctx, {
        saved: record?.settings ?? null,
        progress,
        requested: Boolean(record?.importRequestedAt),
        ...extra,
      }),
      this.failures(req.session.memberId),
    ]);
    const html = this.renderer.render('tab-settings', {
      ...ctx,
      form: form.html,
      results: progress?.state === 'finished' ? results(progress, record?.settings ?? null) : null,
      unavailable: progress === null,
      failures,
      retried: extra.retried,
    });
    return { html, running: false };
  }

  private progressView(ctx: Ctx, progress: ImportProgress | null, settings: PortalSettings | null): string {
    const p = progress ?? { state: 'never', pausedReason: null, found: 0, loaded: 0, imported: 0, failed: 0 };
    return this.renderer.render('partials/import-progress', {
      ...ctx,
      starting: p.state === 'never',
      paused: p.state === 'paused' ? (PAUSED_TEXTS[p.pausedReason ?? ''] ?? 'import.paused') : null,
      found: p.found,
      loaded: p.loaded,
      imported: p.imported,
      failed: p.failed,
      max: Math.max(p.found, 1),
      entity: settings?.entityType ?? 'lead',
    });
  }

  /** The writes the portal refused, each with what to fix (crm-writer keeps them for «Повторить»). */
  private async failures(memberId: string): Promise<CrmFailureView[] | null> {
    try {
      return (await this.runtime.call(rpc.crmFailures, { memberId }, { timeoutMs: HH_WAIT_MS })).items;
    } catch (err) {
      this.runtime.log.warn({ err, memberId }, 'refused writes not available');
      return null;
    }
  }

  /** «Повторить»: one refused response, or all of them; crm-writer writes them again. */
  private async retry(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const negotiationId = one(req.form, 'negotiationId');
    const { retried } = await this.runtime.call(
      rpc.crmRetry,
      { memberId: req.session.memberId, ...(negotiationId ? { negotiationId } : {}) },
      { timeoutMs: 20_000 },
    );
    this.runtime.log.info({ memberId: req.session.memberId, retried }, 'refused writes sent again');
    return this.settingsPanel(req, ctx, { retried });
  }

  /** The progress polls itself; once the import is over, the whole panel replaces it. */
  private async progress(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const panel = await this.settingsPanel(req, ctx, {});
    return panel.running
      ? panel
      : { ...panel, headers: { 'HX-Retarget': '#panel', 'HX-Reswap': 'innerHTML' } };
  }

  /**
   * The form with the portal's lists for the chosen entity type and pipeline. `values` are what
   * the person has chosen so far (a re-render while editing), else the saved settings.
   */
  private async settingsForm(
    req: UiRequest,
    ctx: Ctx,
    options: {
      values?: Form;
      saved?: PortalSettings | null;
      errors?: Record<string, string>;
      notice?: { kind: string; key: string };
      progress?: ImportProgress | null;
      requested?: boolean;
    },
  ): Promise<Fragment> {
    const saved =
      options.saved ??
      (options.values
        ? null
        : ((await getSettingsRecord(this.runtime.db, req.session.memberId))?.settings ?? null));
    const v = options.values ? fromForm(options.values) : fromSaved(saved, req.session.userId);
    let lists: Awaited<ReturnType<PortalData['forForm']>>;
    try {
      lists = await this.data.forForm(req.session.memberId, v.entityType, v.categoryId, v.responsibleUserId);
    } catch (err) {
      this.runtime.log.warn(
        { err, memberId: req.session.memberId },
        'portal lists for the settings form not available',
      );
      return {
        html: this.renderer.render('partials/notice', {
          ...ctx,
          kind: 'error',
          key: 'settings.portalUnavailable',
        }),
      };
    }
    const suggested = suggestStages(lists.stages);
    const pick = (id: string, state: HhState) =>
      lists.stages.some((s) => s.id === id) ? id : suggested[state];
    const stateName = (state: string) =>
      ctx.lang === 'en' ? STATE_NAMES_EN[state] : HH_STATE_NAMES[state as keyof typeof HH_STATE_NAMES];
    const rows = v.extendedSync
      ? HH_STATES.map((state) => ({
          field: `stageByState.${state}`,
          label: stateName(state),
          value: pick(v.stageByState[state] ?? '', state),
        }))
      : [
          {
            field: 'stageForResponse',
            label: text(ctx.lang, 'settings.responses'),
            value: pick(v.stageForResponse, 'response'),
          },
          {
            field: 'stageForInvitation',
            label: text(ctx.lang, 'settings.invitations'),
            value: pick(v.stageForInvitation, 'consider'),
          },
        ];
    const errors = translateErrors(options.errors ?? {}, ctx.lang);
    const firstImport =
      options.progress !== undefined
        ? !options.requested && (options.progress?.state ?? 'never') === 'never'
        : one(req.form, 'firstImport') === '1';
    const html = this.renderer.render('partials/settings-form', {
      ...ctx,
      v,
      users: lists.users.map((u) => ({ ...u, selected: u.id === v.responsibleUserId })),
      pipelines: lists.pipelines.map((p) => ({ ...p, selected: p.id === v.categoryId })),
      sources: lists.sources.map((s) => ({ ...s, selected: s.id === v.sourceId })),
      rows: rows.map((r) => ({
        ...r,
        error: errors[r.field],
        options: lists.stages.map((s) => ({ ...s, selected: s.id === r.value })),
      })),
      errors,
      hasErrors: Object.keys(errors).length > 0,
      notice: options.notice,
      firstImport,
    });
    return { html };
  }

  private async userOptions(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const query = one(req.form, 'userQuery').trim().slice(0, 100);
    const selected = Number(one(req.form, 'responsibleUserId')) || 0;
    try {
      const users = await this.data.searchUsers(req.session.memberId, query);
      return {
        html: this.renderer.render('partials/user-options', {
          ...ctx,
          users: users.map((u) => ({ ...u, selected: u.id === selected })),
        }),
      };
    } catch (err) {
      this.runtime.log.warn({ err }, 'user search failed');
      return { html: this.renderer.render('partials/user-options', { ...ctx, users: [] }) };
    }
  }

  private async save(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const { memberId, userId } = req.session;
    let settings: PortalSettings;
    try {
      settings = parseSettings(memberId, toInput(req.form));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return this.settingsForm(req, ctx, {
        values: req.form,
        errors: (err.details?.['fields'] ?? {}) as Record<string, string>,
      });
    }
    // The shape is right; now whether the user, pipeline, stages and source exist on this portal.
    const lists = await this.data.forForm(
      memberId,
      settings.entityType,
      settings.categoryId,
      settings.responsibleUserId,
    );
    const errors: Record<string, string> = {};
    if (!lists.users.some((u) => u.id === settings.responsibleUserId))
      errors['responsibleUserId'] = 'Выберите ответственного';
    if (settings.entityType === 'deal' && !lists.pipelines.some((p) => p.id === settings.categoryId))
      errors['categoryId'] = 'Выберите воронку';
    if (settings.sourceId !== null && !lists.sources.some((s) => s.id === settings.sourceId))
      errors['sourceId'] = 'Выберите источник из списка';
    const stages = new Set(lists.stages.map((s) => s.id));
    const mapped: Array<[string, string]> = settings.extendedSync
      ? Object.entries(settings.stageByState).map(([state, id]) => [`stageByState.${state}`, id])
      : [
          ['stageForResponse', settings.stageForResponse],
          ['stageForInvitation', settings.stageForInvitation],
        ];
    for (const [f, id] of mapped) if (!stages.has(id)) errors[f] = 'Выберите стадию';
    if (Object.keys(errors).length > 0) return this.settingsForm(req, ctx, { values: req.form, errors });

    const record = await getSettingsRecord(this.runtime.db, memberId);
    const progress = await this.importProgress(memberId);
    const startImport =
      one(req.form, 'action') === 'import' &&
      !record?.importRequestedAt &&
      (progress?.state ?? 'never') === 'never';
    await saveSettings(this.runtime.db, settings, userId, { startImport });
    this.runtime.wakeOutbox();
    this.runtime.log.info(
      { memberId, userId, entityType: settings.entityType, extended: settings.extendedSync, startImport },
      'portal settings saved',
    );
    if (startImport) return { html: this.progressView(ctx, null, settings) };
    return this.settingsPanel(req, ctx, { notice: { kind: 'ok', key: 'settings.saved' } });
  }

  // ---- «Состояние» --------------------------------------------------------------------------------

  /**
   * The connection's health: hh-connector's side (login, paid access, views, subscription, last
   * webhook and reconciliation, loads that failed, the delivery log) and crm-writer's (portal
   * tokens, last write, rate-limit waits, counts, refused writes). Either may be missing; the
   * page shows what it has.
   */
  private async healthPanel(req: UiRequest, ctx: Ctx, extra: { retried?: number }): Promise<Fragment> {
    const { memberId } = req.session;
    const ask = <T>(what: string, f: () => Promise<T>): Promise<T | null> =>
      f().catch((err: unknown) => {
        this.runtime.log.warn({ err, memberId, what }, 'health data not available');
        return null;
      });
    const [hh, crm, log] = await Promise.all([
      ask('hh', () => this.runtime.call(rpc.hhHealth, { memberId }, { timeoutMs: HH_WAIT_MS + 8000 })),
      ask('crm', () => this.runtime.call(rpc.crmHealth, { memberId }, { timeoutMs: HH_WAIT_MS })),
      ask('log', () => this.runtime.call(rpc.hhSyncEvents, { memberId }, { timeoutMs: HH_WAIT_MS })),
    ]);
    const failures = [
      ...(hh?.importFailures ?? []).map((f) => ({
        kind: 'load',
        negotiationId: f.negotiationId,
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
    const html = this.renderer.render('tab-health', {
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
  private async healthEvents(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const before = Number(one(req.form, 'before'));
    if (!Number.isInteger(before) || before <= 0)
      return {
        status: 400,
        html: this.renderer.render('partials/notice', { ...ctx, kind: 'error', key: 'common.error' }),
      };
    const log = await this.runtime.call(
      rpc.hhSyncEvents,
      { memberId: req.session.memberId, before },
      { timeoutMs: HH_WAIT_MS },
    );
    return {
      html: this.renderer.render('partials/health-events', {
        ...ctx,
        events: log.items.map((e) => eventView(ctx.lang, e)),
        next: log.next,
        before,
      }),
    };
  }

  /** «Повторить» on a failure (a refused write or a failed load), or «Повторить все». */
  private async healthRetry(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const { memberId } = req.session;
    const negotiationId = one(req.form, 'negotiationId');
    const loadId = Number(one(req.form, 'loadId'));
    const all = one(req.form, 'all') === '1';
    if (negotiationId && !/^\d{1,20}$/.test(negotiationId))
      throw new ValidationError('negotiationId is malformed');
    let retried = 0;
    if (all || negotiationId)
      retried += (
        await this.runtime.call(
          rpc.crmRetry,
          { memberId, ...(negotiationId ? { negotiationId } : {}) },
          { timeoutMs: 20_000 },
        )
      ).retried;
    if (all || (Number.isInteger(loadId) && loadId > 0))
      retried += (
        await this.runtime.call(
          rpc.hhRetry,
          { memberId, ...(all ? {} : { id: loadId }) },
          { timeoutMs: 20_000 },
        )
      ).retried;
    this.runtime.log.info({ memberId, retried, all }, 'failures sent again from «Состояние»');
    return this.healthPanel(req, ctx, { retried });
  }

  // ---- «Новые отклики», «Обратная связь» ---------------------------------------------------------

  private async newResponses(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    try {
      const r = await this.runtime.call(
        rpc.hhNewResponses,
        { memberId: req.session.memberId },
        { timeoutMs: 20_000 },
      );
      return {
        html: this.renderer.render('tab-new-responses', {
          ...ctx,
          count: r.newCount,
          subscription: r.subscription,
        }),
      };
    } catch (err) {
      // hh.ru revoked the access meanwhile: the tab says so (the connection marker follows on the next page).
      if (err instanceof AppError && err.code === 'hh_login_required')
        return { html: this.renderer.render('tab-new-responses', { ...ctx, loginRequired: true }) };
      this.runtime.log.warn({ err, memberId: req.session.memberId }, 'new responses check failed');
      return { html: this.renderer.render('tab-new-responses', { ...ctx, unavailable: true }) };
    }
  }

  private async sendFeedback(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const message = one(req.form, 'message').trim();
    const contact = one(req.form, 'contact').trim();
    const errors: Record<string, string> = {};
    if (!message) errors['message'] = text(ctx.lang, 'feedback.textRequired');
    else if (message.length > FEEDBACK_MAX)
      errors['message'] = text(ctx.lang, 'feedback.textTooLong', { n: FEEDBACK_MAX });
    if (contact.length > CONTACT_MAX)
      errors['contact'] = text(ctx.lang, 'feedback.contactTooLong', { n: CONTACT_MAX });
    if (Object.keys(errors).length > 0)
      return { html: this.renderer.render('tab-feedback', { ...ctx, values: { message, contact }, errors }) };
    await addFeedback(this.runtime.db, {
      memberId: req.session.memberId,
      userId: req.session.userId,
      message,
      contact: contact || null,
    });
    this.runtime.log.info({ memberId: req.session.memberId }, 'feedback received');
    return { html: this.renderer.render('tab-feedback', { ...ctx, values: {}, errors: {}, thanks: true }) };
  }

  // ---- the card tab, the installer, the login window -------------------------------------------------

  /**
   * The card of one lead or deal. A user who is not an admin sees only the one their session was
   * opened on (the gateway asked the portal whether they may read it): another id is refused.
   */
  private async cardPage(req: UiRequest, ctx: Ctx): Promise<UiResponse> {
    const html = await this.cardHtml(req, ctx);
    return html === null
      ? {
          status: 403,
          html: this.renderer.page('no-access', {
            ...ctx,
            title: text(ctx.lang, 'access.title'),
            framed: true,
            entityDenied: true,
          }),
        }
      : { status: 200, html };
  }

  private async cardHtml(req: UiRequest, ctx: Ctx): Promise<string | null> {
    const entityType = one(req.form, 'entityType');
    const entityId = Number(one(req.form, 'entityId'));
    const page = (extra: Record<string, unknown>) =>
      this.renderer.page('card', { ...ctx, title: text(ctx.lang, 'card.title'), framed: true, ...extra });
    if ((entityType !== 'lead' && entityType !== 'deal') || !Number.isInteger(entityId) || entityId <= 0)
      return page({ card: null });
    const { session } = req;
    if (!session.isAdmin && (session.entity?.type !== entityType || session.entity.id !== entityId)) {
      this.runtime.log.warn(
        { memberId: session.memberId, userId: session.userId, entityType, entityId },
        'card refused: the session was not opened on that lead or deal',
      );
      return null;
    }
    let card: CardView | null;
    try {
      card = await this.runtime.call(
        rpc.hhCard,
        { memberId: req.session.memberId, entityType, entityId },
        { timeoutMs: HH_WAIT_MS },
      );
    } catch (err) {
      this.runtime.log.warn({ err, memberId: req.session.memberId }, 'card data not available');
      return page({ unavailable: true });
    }
    if (!card) return page({ card: null });
    const stateName = (id: string, name: string) => (ctx.lang === 'en' ? (STATE_NAMES_EN[id] ?? name) : name);
    return page({
      card,
      a: card.snapshot.applicant,
      history: card.history.map((h) => ({ ...h, name: stateName(h.stateId, h.stateName) })),
      others: card.others.map((o) => ({
        ...o,
        path: o.entity ? `/crm/${o.entity.type}/details/${o.entity.id}/` : null,
      })),
    });
  }

  private steps(req: UiRequest) {
    const lang = req.session.lang;
    const steps = (
      (req.data?.['steps'] ?? []) as Array<{
        key: string;
        state: string;
        errorCode: string | null;
        error: string | null;
      }>
    ).map((s) => ({
      ...s,
      title: stepTitle(s.key, lang),
      fix: s.state === 'failed' ? stepFix(s.errorCode, s.error, lang) : null,
    }));
    return {
      steps,
      complete: steps.length > 0 && steps.every((s) => s.state === 'done'),
      failed: steps.some((s) => s.state === 'failed'),
    };
  }

  private loginResult(req: UiRequest, ctx: Ctx): UiResponse {
    const d = req.data ?? {};
    const account = d['account'] as HhAccountView | undefined;
    const outcome = String(d['outcome'] ?? 'invalid');
    const message = text(ctx.lang, `login.${outcome}`, {
      employer: account?.employerName ?? '',
      manager: account?.managerName ?? '',
      code: d['code'] ?? '',
    });
    return {
      status: Number(d['status']) || 200,
      html: this.renderer.page('login-result', {
        ...ctx,
        title: text(ctx.lang, 'app.title'),
        framed: false,
        outcome,
        ok: outcome === 'connected',
        message,
      }),
    };
  }
}

type Ctx = { lang: Lang; token: string; links: UiRequest['links']; session: UiSession };

/**
 * What the form proposes before anything is chosen: the hh statuses in order over the pipeline's
 * working stages, «Выход на работу» on its won stage and «Отказ» on its lost one.
 */
function suggestStages(stages: Stage[]): Record<HhState, string> {
  const working = stages.filter((s) => s.semantics === null);
  const at = (i: number) => working[Math.min(i, working.length - 1)]?.id ?? stages[0]?.id ?? '';
  const out = {} as Record<HhState, string>;
  HH_STATES.forEach((state, i) => (out[state] = at(i)));
  out.hired = stages.find((s) => s.semantics === 'S')?.id ?? at(6);
  out.discard = stages.find((s) => s.semantics === 'F')?.id ?? at(7);
  return out;
}

function importRunning(progress: ImportProgress | null, requestedAt: Date | null): boolean {
  if (!progress) return false;
  return (
    progress.state === 'running' ||
    progress.state === 'paused' ||
    (progress.state === 'never' && requestedAt !== null)
  );
}

function results(progress: ImportProgress, settings: PortalSettings | null) {
  return {
    loaded: progress.loaded,
    imported: progress.imported,
    entity: settings?.entityType ?? 'lead',
    mismatch: progress.loaded !== progress.imported,
  };
}

/** The form's values as the template shows them. */
interface FormValues {
  responsibleUserId: number | null;
  entityType: EntityType;
  categoryId: number;
  sourceId: string | null;
  extendedSync: boolean;
  stageForResponse: string;
  stageForInvitation: string;
  stageByState: Record<string, string>;
  twoWayStatus: boolean;
  twoWayDiscard: boolean;
}

function fromSaved(s: PortalSettings | null, userId: number): FormValues {
  return {
    responsibleUserId: s?.responsibleUserId ?? userId,
    entityType: s?.entityType ?? 'lead',
    categoryId: s?.categoryId ?? 0,
    sourceId: s?.sourceId ?? null,
    extendedSync: s?.extendedSync ?? false,
    stageForResponse: s?.stageForResponse ?? '',
    stageForInvitation: s?.stageForInvitation ?? '',
    stageByState: { ...(s?.stageByState ?? {}) },
    twoWayStatus: s?.twoWayStatus ?? false,
    twoWayDiscard: s?.twoWayDiscard ?? false,
  };
}

function toInput(form: Form): SettingsInput {
  const stageByState: Record<string, string> = {};
  for (const state of HH_STATES) stageByState[state] = one(form, `stageByState.${state}`);
  return {
    responsibleUserId: one(form, 'responsibleUserId'),
    entityType: one(form, 'entityType'),
    categoryId: one(form, 'categoryId') || '0',
    sourceId: one(form, 'sourceId'),
    extendedSync: one(form, 'extendedSync'),
    stageForResponse: one(form, 'stageForResponse'),
    stageForInvitation: one(form, 'stageForInvitation'),
    stageByState,
    twoWayStatus: one(form, 'twoWayStatus'),
    twoWayDiscard: one(form, 'twoWayDiscard'),
  };
}

function fromForm(form: Form): FormValues {
  const input = toInput(form);
  const entityType: EntityType = input.entityType === 'deal' ? 'deal' : 'lead';
  const categoryId = Number(input.categoryId);
  return {
    responsibleUserId: Number(input.responsibleUserId) || null,
    entityType,
    categoryId: entityType === 'deal' && Number.isInteger(categoryId) && categoryId >= 0 ? categoryId : 0,
    sourceId: (input.sourceId as string) || null,
    extendedSync: ['on', 'true', '1', 'Y'].includes(input.extendedSync as string),
    stageForResponse: input.stageForResponse as string,
    stageForInvitation: input.stageForInvitation as string,
    stageByState: input.stageByState as Record<string, string>,
    twoWayStatus: ['on', 'true', '1', 'Y'].includes(input.twoWayStatus as string),
    twoWayDiscard: ['on', 'true', '1', 'Y'].includes(input.twoWayDiscard as string),
  };
}

function translateErrors(errors: Record<string, string>, lang: Lang): Record<string, string> {
  return lang === 'en'
    ? Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, VALIDATION_EN[v] ?? v]))
    : errors;
}

function stepTitle(key: string, lang: Lang): string {
  const [kind, a, b] = key.split(':');
  if (kind === 'userfield') {
    const uf = CRM_USER_FIELDS.find((f) => f.name === b);
    return text(lang, 'install.fieldOn', {
      label: uf?.label[lang] ?? b,
      entity: text(lang, a === 'lead' ? 'install.inLeads' : 'install.inDeals'),
    });
  }
  if (kind === 'placement')
    return text(lang, 'install.tabOn', {
      entity: text(lang, a === 'CRM_LEAD_DETAIL_TAB' ? 'install.tabLead' : 'install.tabDeal'),
    });
  if (kind === 'robot')
    return text(lang, a === HH_ACTION_ROBOT_CODE ? 'install.robotChange' : 'install.robot');
  if (a === 'ONCRMTIMELINEITEMACTION') return text(lang, 'install.eventTimeline');
  if (a === 'ONCRMLEADUPDATE') return text(lang, 'install.eventStageLead');
  if (a === 'ONCRMDEALUPDATE') return text(lang, 'install.eventStageDeal');
  return text(lang, 'install.event');
}

function stepFix(code: string | null, error: string | null, lang: Lang): string {
  if (code === 'b24_access_denied') return text(lang, 'install.fixAccess');
  if (
    code === 'b24_rate_limited' ||
    code === 'b24_operation_time_limit' ||
    code === 'b24_unavailable' ||
    code === 'b24_refresh_busy'
  )
    return text(lang, 'install.fixBusy');
  if (
    code === 'b24_reinstall_required' ||
    code === 'b24_invalid_token' ||
    code === 'b24_portal_unknown' ||
    code === 'b24_portal_deleted'
  )
    return text(lang, 'install.fixReinstall');
  return text(lang, 'install.fixOther', { error: error || code || '' });
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
