import { type ImportScope, type UiRequest, WHOLE_SCOPE, hasErrorCode, rpc } from '@hhb24/common';
import { ImportChoice } from './forms.js';
import { parseImportScope, scopeValues, type ScopeValues } from './import-scope-form.js';
import { type Ctx, type Fragment, type PageDeps, HH_WAIT_MS, checkForm, refusal } from './page-kit.js';
import { text } from './texts.js';

/**
 * «Новые отклики»: how many responses hh.ru has that the portal does not, within the choice of
 * what to import («Что импортировать»: the period, the folders, the vacancies), and the
 * notification subscription. Opening the tab only reads, with the portal's choice; changing the
 * choice counts again for it (`count`), still changing nothing; «Проверить ещё раз» of someone who
 * may manage the app (a POST) keeps the choice, repairs the subscription and starts a pass that
 * brings the new responses in.
 */
export class NewResponsesTab {
  constructor(private readonly deps: PageDeps) {}

  panel(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    return this.render(req, ctx, { repair: false });
  }

  /** The choice changed: the count for it, nothing kept. */
  async count(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const choice = this.choice(req, ctx);
    if ('refused' in choice) return choice.refused;
    return this.render(req, ctx, { repair: false, ...choice });
  }

  async check(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    // A press without the form (an older page) checks with the portal's choice.
    if (req.form['importPeriod'] === undefined) return this.render(req, ctx, { repair: true });
    const choice = this.choice(req, ctx);
    if ('refused' in choice) return choice.refused;
    return this.render(req, ctx, { repair: !choice.errors, ...choice });
  }

  private choice(
    req: UiRequest,
    ctx: Ctx,
  ): { refused: Fragment } | { scope?: ImportScope; values: ScopeValues; errors?: Record<string, string> } {
    if (!checkForm(this.deps, req, ImportChoice))
      return { refused: refusal(this.deps, ctx, 'invalid_request') };
    const values = scopeValues(req.form);
    const parsed = parseImportScope(req.form);
    if (parsed.errors)
      return {
        values,
        errors: Object.fromEntries(
          Object.entries(parsed.errors).map(([field, key]) => [field, text(ctx.lang, key)]),
        ),
      };
    return { scope: parsed.scope, values };
  }

  private async render(
    req: UiRequest,
    ctx: Ctx,
    o: { repair: boolean; scope?: ImportScope; values?: ScopeValues; errors?: Record<string, string> },
  ): Promise<Fragment> {
    const { memberId } = req.session;
    try {
      const [r, vacancies] = await Promise.all([
        // A choice with errors is not counted: the portal's is, until the form is right.
        this.deps.runtime.call(
          rpc.hhNewResponses,
          { memberId, repair: o.repair, ...(o.scope ? { scope: o.scope } : {}) },
          { timeoutMs: 20_000 },
        ),
        this.vacancies(memberId),
      ]);
      const values = o.values ?? valuesOf(r.scope ?? WHOLE_SCOPE);
      return {
        html: this.deps.renderer.render('tab-new-responses', {
          ...ctx,
          count: r.newCount,
          subscription: r.subscription,
          // The count is for a choice the portal has not kept yet: it says what pressing the button brings.
          preview: Boolean(o.scope) && !o.repair,
          scope: values,
          vacancies: vacancies.map((v) => ({ ...v, selected: values.vacancyIds.includes(v.id) })),
          errors: o.errors ?? {},
        }),
      };
    } catch (err) {
      // hh.ru revoked the access meanwhile: the tab says so (the connection marker follows on the next page).
      if (hasErrorCode(err, 'hh_login_required'))
        return { html: this.deps.renderer.render('tab-new-responses', { ...ctx, loginRequired: true }) };
      this.deps.runtime.log.warn({ err, memberId }, 'new responses check failed');
      return { html: this.deps.renderer.render('tab-new-responses', { ...ctx, unavailable: true }) };
    }
  }

  private async vacancies(memberId: string): Promise<Array<{ id: string; name: string }>> {
    try {
      return (await this.deps.runtime.call(rpc.hhVacancies, { memberId }, { timeoutMs: HH_WAIT_MS })).items;
    } catch (err) {
      this.deps.runtime.log.warn({ err, memberId }, 'active vacancies not available for the import choice');
      return [];
    }
  }
}

/** The portal's kept choice as the form's fields. */
export function valuesOf(scope: ImportScope): ScopeValues {
  return {
    importPeriod: scope.periodDays === null ? 'all' : 'days',
    importDays: scope.periodDays === null ? '' : String(scope.periodDays),
    importCollections: scope.discarded ? 'all' : 'no_discards',
    importVacancies: scope.vacancyIds ? 'chosen' : 'all',
    vacancyIds: scope.vacancyIds ?? [],
  };
}
