import {
  type EntityType,
  HH_STATES,
  HH_STATE_NAMES,
  type HhState,
  type UiRequest,
  type VacancyOverview,
  type VacancyRule,
  rpc,
  ruleFor,
} from '@hhb24/common';
import { changeVacancyRules, getSettings, getVacancyRules } from '../settings-store.js';
import { VacancyRuleForm, VacancyRuleRemove } from './forms.js';
import {
  type Ctx,
  type Form,
  type Fragment,
  HH_WAIT_MS,
  type PageDeps,
  checkForm,
  hhAccount,
  one,
  refusal,
} from './page-kit.js';
import { STATE_NAMES_EN, text } from './texts.js';

const STAGE = /^[A-Za-z0-9_:]{1,50}$/;

/**
 * «Вакансии»: the active vacancies with their hh.ru manager, the rule that takes each, and how
 * many of its responses and invitations we hold and have in the CRM; the rules (a vacancy, words
 * of the name, or a region → entity type, pipeline, stages, responsible), «Добавить правило» and
 * «Удалить». A rule applies to responses written after it is saved; crm-writer applies it
 * (services/crm-writer/src/routing.ts).
 */
export class VacanciesTab {
  constructor(private readonly deps: PageDeps) {}

  /** The vacancies as hh-connector kept them from its last listing (the view asks hh.ru nothing). */
  private async overview(memberId: string): Promise<VacancyOverview[] | null> {
    try {
      return (await this.deps.runtime.call(rpc.hhVacancyOverview, { memberId }, { timeoutMs: HH_WAIT_MS }))
        .items;
    } catch (err) {
      this.deps.runtime.log.warn({ err, memberId }, 'vacancies not available');
      return null;
    }
  }

  async panel(
    req: UiRequest,
    ctx: Ctx,
    extra: { notice?: { kind: string; key: string }; values?: Form; errors?: Record<string, string> } = {},
  ): Promise<Fragment> {
    const { memberId } = req.session;
    const [vacancies, rules, account] = await Promise.all([
      this.overview(memberId),
      getVacancyRules(this.deps.runtime.db, memberId),
      hhAccount(this.deps, memberId),
    ]);
    const form = await this.form(req, ctx, vacancies ?? [], extra.values, extra.errors);
    const users = await this.userNames(memberId, rules);
    const describe = (r: VacancyRule) => ({
      id: r.id,
      label: ruleLabel(r, ctx.lang),
      entity: r.entityType,
      pipeline:
        r.entityType === 'deal'
          ? (form.pipelines.find((p) => p.id === r.categoryId)?.name ?? `#${r.categoryId}`)
          : null,
      responsible: r.responsibleUserId ? (users.get(r.responsibleUserId) ?? `#${r.responsibleUserId}`) : null,
    });
    return {
      html: this.deps.renderer.render('tab-vacancies', {
        ...ctx,
        notice: extra.notice,
        // hh.ru revoked the login: the kept list stays shown, with the notice the other tabs show.
        loginRequired: account?.status === 'login_required',
        unavailable: vacancies === null,
        vacancies: (vacancies ?? []).map((v) => {
          const rule = ruleFor(rules, { id: v.id, name: v.name, area: v.area });
          return { ...v, rule: rule ? ruleLabel(rule, ctx.lang) : null };
        }),
        rules: rules.map(describe),
        form: form.html,
      }),
    };
  }

  private async userNames(memberId: string, rules: VacancyRule[]): Promise<Map<number, string>> {
    const ids = [...new Set(rules.map((r) => r.responsibleUserId).filter((id): id is number => id !== null))];
    if (ids.length === 0) return new Map();
    const users = await this.deps.data.usersById(memberId, ids).catch(() => []);
    return new Map(users.map((u) => [u.id, u.name]));
  }

  /** «Добавить правило» with the portal's lists for the chosen entity type and pipeline. */
  private async form(
    req: UiRequest,
    ctx: Ctx,
    vacancies: VacancyOverview[],
    values?: Form,
    errors: Record<string, string> = {},
  ): Promise<{ html: string; pipelines: Array<{ id: number; name: string }> }> {
    const { memberId } = req.session;
    const settings = await getSettings(this.deps.runtime.db, memberId);
    const v = values ?? {};
    const entityType: EntityType = one(v, 'entityType') === 'lead' ? 'lead' : 'deal';
    const categoryId = entityType === 'deal' ? Number(one(v, 'categoryId')) || 0 : 0;
    const match = (['vacancy', 'name', 'area'] as const).find((m) => m === one(v, 'match')) ?? 'vacancy';
    let lists: Awaited<ReturnType<PageDeps['data']['forForm']>>;
    try {
      lists = await this.deps.data.forForm(memberId, entityType, categoryId, null);
    } catch (err) {
      this.deps.runtime.log.warn({ err, memberId }, 'portal lists for a vacancy rule not available');
      return {
        html: this.deps.renderer.render('partials/notice', {
          ...ctx,
          kind: 'error',
          key: 'settings.portalUnavailable',
        }),
        pipelines: [],
      };
    }
    const extended = settings?.extendedSync ?? false;
    const stateName = (state: string) =>
      ctx.lang === 'en' ? STATE_NAMES_EN[state] : HH_STATE_NAMES[state as keyof typeof HH_STATE_NAMES];
    const rows = extended
      ? HH_STATES.map((state) => ({ field: `stageByState.${state}`, label: stateName(state) }))
      : [
          { field: 'stageForResponse', label: text(ctx.lang, 'settings.responses') },
          { field: 'stageForInvitation', label: text(ctx.lang, 'settings.invitations') },
        ];
    const areas = [
      ...new Map(vacancies.filter((x) => x.area).map((x) => [x.area!.id, x.area!.name])).entries(),
    ]
      .map(([id, name]) => ({ id, name, selected: id === one(v, 'areaId') }))
      .sort((a, b) => a.name.localeCompare(b.name, 'ru'));
    const html = this.deps.renderer.render('partials/vacancy-rule-form', {
      ...ctx,
      match,
      isVacancy: match === 'vacancy',
      isName: match === 'name',
      isArea: match === 'area',
      nameText: one(v, 'nameText'),
      entityType,
      vacancies: vacancies.map((x) => ({ id: x.id, name: x.name, selected: x.id === one(v, 'vacancyId') })),
      areas,
      pipelines: lists.pipelines.map((p) => ({ ...p, selected: p.id === categoryId })),
      rows: rows.map((r) => ({
        ...r,
        error: errors[r.field] ? text(ctx.lang, errors[r.field]!) : null,
        options: lists.stages.map((s) => ({ ...s, selected: s.id === one(v, r.field) })),
      })),
      users: lists.users.map((u) => ({ ...u, selected: String(u.id) === one(v, 'ruleUserId') })),
      errors: Object.fromEntries(Object.entries(errors).map(([k, key]) => [k, text(ctx.lang, key)])),
    });
    return { html, pipelines: lists.pipelines };
  }

  /** The form again with what the person has chosen so far (another entity type or pipeline changes the stages). */
  async redraw(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const vacancies = (await this.overview(req.session.memberId)) ?? [];
    return { html: (await this.form(req, ctx, vacancies, req.form)).html };
  }

  /** «Добавить правило»: checked against hh.ru's vacancies and the portal's lists, then saved. */
  async add(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const { memberId, userId } = req.session;
    const form = checkForm(this.deps, req, VacancyRuleForm);
    if (!form) return refusal(this.deps, ctx, 'invalid_request');
    const settings = await getSettings(this.deps.runtime.db, memberId);
    if (!settings) return this.panel(req, ctx, { notice: { kind: 'error', key: 'vacancies.settingsFirst' } });
    const vacancies = await this.overview(memberId);
    if (!vacancies) return this.panel(req, ctx, { values: req.form });
    const errors: Record<string, string> = {};
    let value = '';
    let label = '';
    if (form.match === 'vacancy') {
      const vacancy = vacancies.find((x) => x.id === form.vacancyId);
      if (vacancy) [value, label] = [vacancy.id, vacancy.name];
      else errors['vacancyId'] = 'vacancies.vacancyRequired';
    } else if (form.match === 'name') {
      value = (form.nameText ?? '').trim();
      label = value;
      if (!value) errors['nameText'] = 'vacancies.nameRequired';
    } else {
      const area = vacancies.find((x) => x.area?.id === form.areaId)?.area;
      if (area) [value, label] = [area.id, area.name];
      else errors['areaId'] = 'vacancies.areaRequired';
    }
    const entityType = form.entityType;
    const categoryId = entityType === 'deal' ? Number(form.categoryId) || 0 : 0;
    const lists = await this.deps.data.forForm(memberId, entityType, categoryId, null);
    if (entityType === 'deal' && !lists.pipelines.some((p) => p.id === categoryId))
      errors['categoryId'] = 'vacancies.pipelineRequired';
    const stages = new Set(lists.stages.map((s) => s.id));
    const stageOf = (field: string) => {
      const id = one(req.form, field);
      if (!STAGE.test(id) || !stages.has(id)) errors[field] = 'vacancies.stageRequired';
      return id;
    };
    const stageByState: Partial<Record<HhState, string>> = {};
    let stageForResponse: string;
    let stageForInvitation: string;
    if (settings.extendedSync) {
      for (const state of HH_STATES) stageByState[state] = stageOf(`stageByState.${state}`);
      stageForResponse = stageByState.response!;
      stageForInvitation = stageByState.phone_interview!;
    } else {
      stageForResponse = stageOf('stageForResponse');
      stageForInvitation = stageOf('stageForInvitation');
    }
    const responsibleUserId = Number(form.ruleUserId) || null;
    if (responsibleUserId && (await this.deps.data.usersById(memberId, [responsibleUserId])).length === 0)
      errors['ruleUserId'] = 'managers.userMissing';
    if (Object.keys(errors).length > 0)
      return this.panel(req, ctx, {
        notice: { kind: 'error', key: 'vacancies.invalid' },
        values: req.form,
        errors,
      });
    const rule: Omit<VacancyRule, 'id'> = {
      match: form.match,
      value,
      label,
      entityType,
      categoryId,
      stageForResponse,
      stageForInvitation,
      stageByState,
      responsibleUserId,
    };
    await changeVacancyRules(this.deps.runtime.db, memberId, { add: rule }, userId);
    this.deps.runtime.wakeOutbox();
    this.deps.runtime.log.info(
      { memberId, userId, match: rule.match, entityType, categoryId },
      'vacancy rule added',
    );
    return this.panel(req, ctx, { notice: { kind: 'ok', key: 'vacancies.saved' } });
  }

  async remove(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const form = checkForm(this.deps, req, VacancyRuleRemove);
    if (!form) return refusal(this.deps, ctx, 'invalid_request');
    await changeVacancyRules(
      this.deps.runtime.db,
      req.session.memberId,
      { remove: Number(form.ruleId) },
      req.session.userId,
    );
    this.deps.runtime.wakeOutbox();
    return this.panel(req, ctx, { notice: { kind: 'ok', key: 'vacancies.removed' } });
  }
}

/** How a rule names the vacancies it takes, in the reader's language. */
function ruleLabel(r: VacancyRule, lang: Ctx['lang']): string {
  const key =
    r.match === 'vacancy'
      ? 'vacancies.ruleVacancy'
      : r.match === 'name'
        ? 'vacancies.ruleName'
        : 'vacancies.ruleArea';
  return text(lang, key, { label: r.label });
}
