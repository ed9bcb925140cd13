import type { Runtime, UiRequest, UiResponse, UiSession } from '@hhb24/common';
import type { FeedbackDelivery } from '../feedback-delivery.js';
import type { PortalData } from '../portal-data.js';
import { AppPage, type Tab, type TabPanel } from './app-page.js';
import { AnalyticsTab } from './analytics-tab.js';
import { AuthTab } from './auth-tab.js';
import { CardPage } from './card-page.js';
import { FeedbackTab } from './feedback-tab.js';
import { HealthTab } from './health-tab.js';
import { InstallPage } from './install-page.js';
import { NewResponsesTab } from './new-responses-tab.js';
import { type Ctx, type Fragment, type PageDeps, ctxOf, one, refusal, toResponse } from './page-kit.js';
import type { Renderer } from './render.js';
import { SettingsTab } from './settings-tab.js';
import { VacanciesTab } from './vacancies-tab.js';
import { getSettingsRecord } from '../settings-store.js';
import { text } from './texts.js';

/**
 * Who may call a route:
 * - `everyone`: anyone the portal let open the app (the login window's result);
 * - `crm`: a portal admin or a user with CRM access (the reference app's rule for using it at all,
 *   docs/reference/reference-app.md#limits): every page and tab, read-only, and «Обратная связь»;
 * - `manage`: a change to the app (settings, the hh.ru login, the import, «Повторить», the
 *   subscription): a portal admin, as the portal answered the gateway with the user's own token for
 *   this very POST (`adminCheck` `fresh`), or a user the settings name in «Кто может управлять
 *   приложением» (docs/security.md, «Who may change what»);
 * - `analytics`: «Аналитика», a portal admin or a user the settings name in «Кто может видеть
 *   аналитику» (it shows the whole portal's hiring figures, beyond what one user's CRM rights show).
 */
export type Access = 'everyone' | 'crm' | 'manage' | 'analytics';

export type Method = 'GET' | 'POST';

export interface Route {
  method: Method;
  /** The path after `/ui/` (the gateway renders `app`, `card`, `install` and `login/result` itself on a page load). */
  path: string;
  access: Access;
  /** The template the route answers with (templates/; a whole page, or the part htmx swaps). */
  template: string;
  /** What answers: a handler here, or the gateway itself (gateway/src/ui-routes.ts) for what it alone holds. */
  handler: Handler | 'gateway';
}

export type Handler = (req: UiRequest, ctx: Ctx) => Promise<Fragment> | Fragment;

const row = (
  method: Route['method'],
  path: string,
  access: Access,
  template: string,
  handler: Route['handler'],
): Route => ({ method, path, access, template, handler });

const may = (access: Access, s: UiSession, mayAnalyse: boolean): boolean =>
  access === 'analytics' ? mayAnalyse : access === 'everyone' || s.isAdmin || s.crmAccess;

/** Whether the request may change the app: only a POST, by a confirmed admin or a named manager. */
export function mayManage(req: UiRequest, managerIds: readonly number[]): boolean {
  if (req.method !== 'POST') return false;
  return (req.adminCheck === 'fresh' && req.session.isAdmin) || managerIds.includes(req.session.userId);
}

/**
 * The app pages' routes, one table: what the page asks (`/ui/<path>`), who may ask it, what
 * answers and with which template. The gateway authenticates the person and carries the session
 * (`rpc.settings.ui`); settings renders everything but the two routes the gateway serves itself.
 */
export class PageRoutes {
  readonly routes: readonly Route[];

  constructor(private readonly deps: PageDeps) {
    const auth = new AuthTab(deps);
    const settings = new SettingsTab(deps);
    const vacancies = new VacanciesTab(deps);
    const newResponses = new NewResponsesTab(deps);
    const health = new HealthTab(deps);
    const feedback = new FeedbackTab(deps);
    const card = new CardPage(deps);
    const install = new InstallPage(deps);
    const analytics = new AnalyticsTab(deps);
    const panels: Record<Tab, TabPanel> = {
      auth: async (req, ctx, account) => ({ html: auth.panel(req, ctx, account) }),
      settings: (req, ctx) => settings.panel(req, ctx, {}),
      vacancies: (req, ctx) => vacancies.panel(req, ctx),
      'new-responses': (req, ctx) => newResponses.panel(req, ctx),
      feedback: (_req, ctx) => feedback.panel(ctx),
      health: (req, ctx) => health.panel(req, ctx, {}),
      analytics: (req, ctx) => analytics.panel(req, ctx),
    };
    const app = new AppPage(deps, panels);
    const tab = (name: Tab) => (req: UiRequest, ctx: Ctx) => app.tab(name, req, ctx);
    // «Все отклики (N)» of a timeline activity opens the app on one lead or deal: its card.
    const appPage: Handler = (r, c) =>
      one(r.form, 'view') === 'others' ? card.others(r, c) : app.page(r, c);

    // prettier-ignore
    this.routes = [
      // Pages the gateway opens itself: a Bitrix24 page load (the app, a card tab), the installer, the login window.
      //  method  path                 who         template                    handler
      row('GET',  'app',               'crm',      'app',                      appPage),
      row('GET',  'card',              'crm',      'card',                     (r, c) => card.page(r, c)),
      row('POST', 'card',              'crm',      'card',                     (r, c) => card.page(r, c)),
      row('GET',  'install',           'crm',      'install',                  (r, c) => install.page(r, c)),
      row('GET',  'install/result',    'crm',      'partials/install-steps',   (r, c) => install.result(r, c)),
      row('POST', 'install/run',       'crm',      'partials/install-steps',   'gateway'),
      row('GET',  'login/result',      'everyone', 'login-result',             (r, c) => auth.loginResult(r, c)),
      row('POST', 'card/pdf',          'crm',      '(the resume PDF)',         'gateway'),
      // «Авторизация»
      row('GET',  'tab/auth',          'crm',      'tab-auth',                 tab('auth')),
      row('GET',  'auth/status',       'crm',      'tab-auth',                 tab('auth')),
      row('POST', 'auth/logout',       'manage',   'tab-auth',                 (r, c) => auth.logout(r, c)),
      // «Настройки» and the import
      row('GET',  'tab/settings',      'crm',      'tab-settings',             tab('settings')),
      row('POST', 'settings/form',     'crm',      'partials/settings-form',   (r, c) => settings.redraw(r, c)),
      row('GET',  'settings/users',    'crm',      'partials/user-options',    (r, c) => settings.users(r, c)),
      row('POST', 'settings/save',     'manage',   'tab-settings',             (r, c) => settings.save(r, c)),
      row('POST', 'settings/managers', 'manage',   'partials/manager-users',   (r, c) => settings.managerUsers.save(r, c)),
      row('GET',  'settings/manager-users', 'crm', 'partials/manager-user-options', (r, c) => settings.managerUsers.search(r, c)),
      row('GET',  'import/progress',   'crm',      'partials/import-progress', (r, c) => settings.progress(r, c)),
      row('POST', 'failures/retry',    'manage',   'tab-settings',             (r, c) => settings.retry(r, c)),
      // «Вакансии»
      row('GET',  'tab/vacancies',     'crm',      'tab-vacancies',            tab('vacancies')),
      row('POST', 'vacancies/rule-form', 'crm',    'partials/vacancy-rule-form', (r, c) => vacancies.redraw(r, c)),
      row('POST', 'vacancies/rules',   'manage',   'tab-vacancies',            (r, c) => vacancies.add(r, c)),
      row('POST', 'vacancies/rules/remove', 'manage', 'tab-vacancies',         (r, c) => vacancies.remove(r, c)),
      // «Новые отклики»
      row('GET',  'tab/new-responses', 'crm',      'tab-new-responses',        tab('new-responses')),
      row('POST', 'new-responses/count', 'crm',    'tab-new-responses',      (r, c) => newResponses.count(r, c)),
      row('POST', 'new-responses/check', 'manage', 'tab-new-responses',      (r, c) => newResponses.check(r, c)),
      // «Обратная связь»
      row('GET',  'tab/feedback',      'crm',      'tab-feedback',             tab('feedback')),
      row('POST', 'feedback/send',     'crm',      'tab-feedback',             (r, c) => feedback.send(r, c)),
      // «Состояние»
      row('GET',  'tab/health',        'crm',      'tab-health',               tab('health')),
      row('GET',  'health/events',     'crm',      'partials/health-events',   (r, c) => health.events(r, c)),
      row('POST', 'health/retry',      'manage',   'tab-health',               (r, c) => health.retry(r, c)),
      // «Аналитика» (its filter asks the same route again; the CSV files are made in the browser)
      row('GET',  'tab/analytics',     'analytics', 'tab-analytics',           tab('analytics')),
    ];
  }

  static create(
    runtime: Runtime,
    data: PortalData,
    renderer: Renderer,
    delivery: FeedbackDelivery,
  ): PageRoutes {
    return new PageRoutes({ runtime, data, renderer, delivery });
  }

  async handle(req: UiRequest): Promise<UiResponse> {
    const settings = (await getSettingsRecord(this.deps.runtime.db, req.session.memberId))?.settings;
    const managerIds = settings?.managerIds ?? [];
    // On a GET: whether to draw the controls (the page load's answer); a POST is checked below.
    const canManage =
      req.method === 'POST'
        ? mayManage(req, managerIds)
        : req.session.isAdmin || managerIds.includes(req.session.userId);
    const mayAnalyse =
      req.session.isAdmin || (settings?.analyticsViewerIds ?? []).includes(req.session.userId);
    const onPath = this.routes.filter((r) => r.path === req.route);
    const route = onPath.find((r) => r.method === req.method);
    const access = route?.access ?? onPath[0]?.access ?? 'crm';
    const ctx: Ctx = {
      ...ctxOf(req),
      canManage,
      // «Аналитика» changes nothing and names nobody: it asks the portal for no names either.
      readOnly: canManage || access === 'analytics' ? null : await this.whoManages(req, managerIds),
      mayAnalyse,
    };
    if (access === 'analytics' && !mayAnalyse && may('crm', req.session, mayAnalyse))
      return refusal(this.deps, ctx, 'analytics_only');
    if (!may(access, req.session, mayAnalyse)) return this.noAccess(route, ctx);
    if (onPath.length === 0 || onPath.every((r) => r.handler === 'gateway'))
      return refusal(this.deps, ctx, 'not_found');
    // A path asked the wrong way (a GET of what only a POST may do): nothing runs.
    if (!route || route.handler === 'gateway') return refusal(this.deps, ctx, 'method_not_allowed');
    if (route.access === 'manage' && !canManage) {
      const code = req.adminCheck === 'unconfirmed' ? 'admin_unconfirmed' : 'manage_only';
      this.deps.runtime.log.warn(
        { memberId: req.session.memberId, userId: req.session.userId, route: req.route, code },
        'app change refused: the user may not manage the app',
      );
      return refusal(this.deps, ctx, code);
    }
    return toResponse(await route.handler(req, ctx));
  }

  /** The line a read-only viewer reads: who may change the app (the portal's admins and the named users). */
  private async whoManages(req: UiRequest, managerIds: readonly number[]): Promise<{ names: string }> {
    if (managerIds.length === 0) return { names: '' };
    const users = await this.deps.data.usersById(req.session.memberId, managerIds).catch((err: unknown) => {
      this.deps.runtime.log.warn(
        { err, memberId: req.session.memberId },
        'named managers’ names not available',
      );
      return managerIds.map((id) => ({ id, name: `#${id}` }));
    });
    return { names: users.map((u) => u.name).join(', ') };
  }

  /** A user with neither admin rights nor CRM access: a page (or the part) that says what is missing. */
  private noAccess(route: Route | undefined, ctx: Ctx): UiResponse {
    const { renderer } = this.deps;
    const html =
      route?.template === 'app' || route?.template === 'card'
        ? renderer.page('no-access', { ...ctx, title: text(ctx.lang, 'access.title'), framed: true })
        : renderer.render('no-access', ctx);
    return { status: 403, html };
  }
}
