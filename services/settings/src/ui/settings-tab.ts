import {
  type CrmFailureView,
  type EntityType,
  HH_STATES,
  HH_STATE_NAMES,
  type HhState,
  type ImportProgress,
  type PortalSettings,
  type UiRequest,
  ValidationError,
  rpc,
} from '@hhb24/common';
import type { PortalData, Stage } from '../portal-data.js';
import { getSettingsRecord, parseSettings, saveSettings } from '../settings-store.js';
import { FailuresRetry, SettingsAction, type SettingsDraft, UserSearch } from './forms.js';
import {
  type Ctx,
  type Form,
  type Fragment,
  HH_WAIT_MS,
  type PageDeps,
  checkForm,
  one,
  refusal,
} from './page-kit.js';
import { parseImportScope, scopeValues } from './import-scope-form.js';
import { ManagerUsers } from './manager-users.js';
import { type Lang, STATE_NAMES_EN, VALIDATION_EN, text } from './texts.js';

/** What the progress says about each reason a run is paused (texts.ts). */
const PAUSED_TEXTS: Record<string, string> = {
  login_required: 'import.pausedLogin',
  no_paid_access: 'import.pausedPayment',
  view_limit: 'import.pausedViews',
};

/**
 * «Настройки» and the initial import: the form (responsible user, entity type, pipeline, source,
 * the stage of each hh.ru status), «Сохранить» / «Сохранить и начать импорт», the progress while
 * the import runs, then its results and the writes the portal refused, with «Повторить».
 */
export class SettingsTab {
  /** «Ответственные по менеджерам hh.ru», under the form. */
  readonly managerUsers: ManagerUsers;

  constructor(private readonly deps: PageDeps) {
    this.managerUsers = new ManagerUsers(deps);
  }

  private async importProgress(memberId: string): Promise<ImportProgress | null> {
    try {
      return await this.deps.runtime.call(rpc.hhImportProgress, { memberId }, { timeoutMs: HH_WAIT_MS });
    } catch (err) {
      this.deps.runtime.log.warn({ err, memberId }, 'import progress not available');
      return null;
    }
  }

  /** Results of the import (when it ran) and the form; or the progress while the import runs. */
  async panel(
    req: UiRequest,
    ctx: Ctx,
    extra: { notice?: { kind: string; key: string }; retried?: number },
  ): Promise<Fragment & { running: boolean }> {
    const [progress, record] = await Promise.all([
      this.importProgress(req.session.memberId),
      getSettingsRecord(this.deps.runtime.db, req.session.memberId),
    ]);
    if (importRunning(progress, record?.importRequestedAt ?? null))
      return { html: this.progressView(ctx, progress, record?.settings ?? null), running: true };
    const [form, failures, managers] = await Promise.all([
      this.form(req, ctx, {
        saved: record?.settings ?? null,
        progress,
        requested: Boolean(record?.importRequestedAt),
        ...extra,
      }),
      this.failures(req.session.memberId),
      this.managerUsers.view(req, ctx),
    ]);
    const html = this.deps.renderer.render('tab-settings', {
      ...ctx,
      form: form.html,
      managers: managers.html,
      results: progress?.state === 'finished' ? results(progress, record?.settings ?? null) : null,
      unavailable: progress === null,
      failures,
      retried: extra.retried,
    });
    return { html, running: false };
  }

  private progressView(ctx: Ctx, progress: ImportProgress | null, settings: PortalSettings | null): string {
    const p = progress ?? { state: 'never', pausedReason: null, found: 0, loaded: 0, imported: 0, failed: 0 };
    return this.deps.renderer.render('partials/import-progress', {
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
      return (await this.deps.runtime.call(rpc.crmFailures, { memberId }, { timeoutMs: HH_WAIT_MS })).items;
    } catch (err) {
      this.deps.runtime.log.warn({ err, memberId }, 'refused writes not available');
      return null;
    }
  }

  /** «Повторить»: one refused response, or all of them; crm-writer writes them again. */
  async retry(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const form = checkForm(this.deps, req, FailuresRetry);
    if (!form) return refusal(this.deps, ctx, 'invalid_request');
    const negotiationId = form.negotiationId;
    const { retried } = await this.deps.runtime.call(
      rpc.crmRetry,
      { memberId: req.session.memberId, ...(negotiationId ? { negotiationId } : {}) },
      { timeoutMs: 20_000 },
    );
    this.deps.runtime.log.info({ memberId: req.session.memberId, retried }, 'refused writes sent again');
    return this.panel(req, ctx, { retried });
  }

  /** The form again with what the person has chosen so far (another entity type or pipeline changes the lists). */
  redraw(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    return this.form(req, ctx, { values: req.form });
  }

  /** The progress polls itself; once the import is over, the whole panel replaces it. */
  async progress(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const panel = await this.panel(req, ctx, {});
    return panel.running
      ? panel
      : { ...panel, headers: { 'HX-Retarget': '#panel', 'HX-Reswap': 'innerHTML' } };
  }

  /**
   * The form with the portal's lists for the chosen entity type and pipeline. `values` are what
   * the person has chosen so far (a re-render while editing), else the saved settings.
   */
  private async form(
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
        : ((await getSettingsRecord(this.deps.runtime.db, req.session.memberId))?.settings ?? null));
    const v = options.values ? fromForm(options.values) : fromSaved(saved, req.session.userId);
    // Only an admin edits «Кто может управлять приложением» and «Кто может видеть аналитику» (their
    // lists are disabled for anyone else, so their form does not send them): a redraw for them
    // shows the lists as saved.
    if (options.values && !req.session.isAdmin) {
      const stored = (await getSettingsRecord(this.deps.runtime.db, req.session.memberId))?.settings;
      v.managerIds = [...(stored?.managerIds ?? [])];
      v.analyticsViewerIds = [...(stored?.analyticsViewerIds ?? [])];
    }
    let lists: Awaited<ReturnType<PortalData['forForm']>>;
    try {
      lists = await this.deps.data.forForm(
        req.session.memberId,
        v.entityType,
        v.categoryId,
        v.responsibleUserId,
      );
    } catch (err) {
      this.deps.runtime.log.warn(
        { err, memberId: req.session.memberId },
        'portal lists for the settings form not available',
      );
      return {
        html: this.deps.renderer.render('partials/notice', {
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
    // Named users the first page of the portal's users does not hold are listed too.
    const unlisted = [...new Set([...v.managerIds, ...v.analyticsViewerIds])].filter(
      (id) => !lists.users.some((u) => u.id === id),
    );
    const named =
      unlisted.length > 0
        ? await this.deps.data.usersById(req.session.memberId, unlisted).catch(() => [])
        : [];
    const managerChoices = [...lists.users, ...named.filter((u) => v.managerIds.includes(u.id))];
    // «Кто может видеть аналитику»: the chosen first, then the portal's first page of users.
    const viewerChoices = [
      ...v.analyticsViewerIds.flatMap((id) =>
        [...lists.users, ...named].filter((u) => u.id === id).slice(0, 1),
      ),
      ...lists.users.filter((u) => !v.analyticsViewerIds.includes(u.id)),
    ];
    // The active vacancies to choose from, before the first import only.
    const vacancies = firstImport ? await this.vacancyChoices(req) : [];
    const scope = scopeValues(req.form);
    const html = this.deps.renderer.render('partials/settings-form', {
      ...ctx,
      v,
      scope,
      vacancies: vacancies.map((x) => ({ ...x, selected: scope.vacancyIds.includes(x.id) })),
      users: lists.users.map((u) => ({ ...u, selected: u.id === v.responsibleUserId })),
      managers: managerChoices.map((u) => ({ ...u, selected: v.managerIds.includes(u.id) })),
      viewers: viewerChoices.map((u) => ({ ...u, selected: v.analyticsViewerIds.includes(u.id) })),
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

  async users(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const form = checkForm(this.deps, req, UserSearch);
    if (!form) return refusal(this.deps, ctx, 'invalid_request');
    const query = (form.userQuery ?? '').trim();
    const selected = Number(form.responsibleUserId) || 0;
    // «Кто может видеть аналитику» sends the users chosen so far: they stay in the list, chosen.
    const chosen = [
      ...new Set(
        [form.analyticsViewerIds ?? []]
          .flat()
          .map(Number)
          .filter((id) => id > 0),
      ),
    ];
    try {
      const [found, kept] = await Promise.all([
        this.deps.data.searchUsers(req.session.memberId, query),
        this.deps.data.usersById(req.session.memberId, chosen),
      ]);
      const users = [...kept, ...found.filter((u) => !chosen.includes(u.id))];
      return {
        html: this.deps.renderer.render('partials/user-options', {
          ...ctx,
          users: users.map((u) => ({ ...u, selected: u.id === selected || chosen.includes(u.id) })),
        }),
      };
    } catch (err) {
      this.deps.runtime.log.warn({ err }, 'user search failed');
      return { html: this.deps.renderer.render('partials/user-options', { ...ctx, users: [] }) };
    }
  }

  /** The account's active vacancies (empty when hh-connector does not answer: «all» stays possible). */
  private async vacancyChoices(req: UiRequest): Promise<Array<{ id: string; name: string }>> {
    const { memberId } = req.session;
    try {
      return (await this.deps.runtime.call(rpc.hhVacancies, { memberId }, { timeoutMs: HH_WAIT_MS })).items;
    } catch (err) {
      this.deps.runtime.log.warn({ err, memberId }, 'active vacancies not available for the import choice');
      return [];
    }
  }

  async save(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const { memberId, userId } = req.session;
    const action = checkForm(this.deps, req, SettingsAction);
    if (!action) return refusal(this.deps, ctx, 'invalid_request');
    let settings: PortalSettings;
    try {
      settings = parseSettings(memberId, toInput(req.form));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return this.form(req, ctx, {
        values: req.form,
        errors: (err.details?.['fields'] ?? {}) as Record<string, string>,
      });
    }
    // The shape is right; now whether the user, pipeline, stages and source exist on this portal.
    const lists = await this.deps.data.forForm(
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
    if (isConfirmedAdmin(req))
      for (const field of ['managerIds', 'analyticsViewerIds'] as const) {
        const named = settings[field] ?? [];
        if (named.length === 0) continue;
        const found = await this.deps.data.usersById(memberId, named);
        if (found.length !== named.length) errors[field] = 'Выберите сотрудников из списка';
      }
    if (Object.keys(errors).length > 0) return this.form(req, ctx, { values: req.form, errors });

    const record = await getSettingsRecord(this.deps.runtime.db, memberId);
    // Only a portal admin (confirmed for this POST) changes who may manage the app and who may see
    // «Аналитика»; a named user's save keeps the lists as they were.
    if (!isConfirmedAdmin(req)) {
      settings.managerIds = [...(record?.settings.managerIds ?? [])];
      settings.analyticsViewerIds = [...(record?.settings.analyticsViewerIds ?? [])];
    }
    const progress = await this.importProgress(memberId);
    const startImport =
      action.action === 'import' && !record?.importRequestedAt && (progress?.state ?? 'never') === 'never';
    // «Что импортировать»: checked before anything is saved, so a wrong choice starts nothing.
    const choice = startImport ? parseImportScope(req.form) : null;
    if (choice?.errors)
      return this.form(req, ctx, { values: req.form, errors: translateScopeErrors(choice.errors, ctx.lang) });
    await saveSettings(this.deps.runtime.db, settings, userId, { startImport, scope: choice?.scope });
    this.deps.runtime.wakeOutbox();
    this.deps.runtime.log.info(
      {
        memberId,
        userId,
        entityType: settings.entityType,
        extended: settings.extendedSync,
        managers: settings.managerIds,
        analyticsViewers: settings.analyticsViewerIds,
        startImport,
      },
      'portal settings saved',
    );
    if (startImport) return { html: this.progressView(ctx, null, settings) };
    return this.panel(req, ctx, { notice: { kind: 'ok', key: 'settings.saved' } });
  }
}

/** A portal admin, as the portal answered for this very POST (the gateway asked with the user's own token). */
function isConfirmedAdmin(req: UiRequest): boolean {
  return req.method === 'POST' && req.adminCheck === 'fresh' && req.session.isAdmin;
}

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
  reuseContacts: boolean;
  managerIds: number[];
  analyticsViewerIds: number[];
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
    reuseContacts: s?.reuseContacts ?? true,
    managerIds: [...(s?.managerIds ?? [])],
    analyticsViewerIds: [...(s?.analyticsViewerIds ?? [])],
  };
}

/** The form's flat fields (`stageByState.response`) gathered as the settings' schema reads them. */
function toInput(form: Form): SettingsDraft {
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
    // An unticked box sends nothing: from the form, absent is off (elsewhere absent means the default, on).
    reuseContacts: one(form, 'reuseContacts') || 'off',
    managerIds: form['managerIds'] ?? [],
    analyticsViewerIds: form['analyticsViewerIds'] ?? [],
  };
}

/** The user ids a multiple choice sent (one or many), what is no id left out. */
const idsOf = (given: unknown): number[] =>
  (Array.isArray(given) ? (given as unknown[]) : [given])
    .map((id) => Number(id))
    .filter((id) => Number.isInteger(id) && id > 0);

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
    reuseContacts: ['on', 'true', '1', 'Y'].includes(input.reuseContacts as string),
    managerIds: idsOf(input.managerIds),
    analyticsViewerIds: idsOf(input.analyticsViewerIds),
  };
}

/** «Что импортировать»'s errors, from their text keys into the reader's language. */
function translateScopeErrors(errors: Record<string, string>, lang: Lang): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([field, key]) => [field, text(lang, key)]));
}

function translateErrors(errors: Record<string, string>, lang: Lang): Record<string, string> {
  return lang === 'en'
    ? Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, VALIDATION_EN[v] ?? v]))
    : errors;
}
