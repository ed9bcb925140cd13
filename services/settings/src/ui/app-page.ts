import { type HhAccountView, type UiRequest } from '@hhb24/common';
import { type Ctx, type Fragment, type PageDeps, hhAccount } from './page-kit.js';
import { text } from './texts.js';

export type Tab = 'auth' | 'settings' | 'vacancies' | 'new-responses' | 'health' | 'feedback' | 'analytics';

const TABS: Array<{ key: Tab; label: string }> = [
  { key: 'auth', label: 'tabs.auth' },
  { key: 'settings', label: 'tabs.settings' },
  { key: 'vacancies', label: 'tabs.vacancies' },
  { key: 'new-responses', label: 'tabs.newResponses' },
  { key: 'feedback', label: 'tabs.feedback' },
  { key: 'health', label: 'tabs.health' },
  // Only for the portal's admins and the users the settings name (routes.ts, `analytics`).
  { key: 'analytics', label: 'tabs.analytics' },
];

/** A tab's panel, given the hh.ru connection the page has just read. */
export type TabPanel = (req: UiRequest, ctx: Ctx, account: HhAccountView | null) => Promise<Fragment>;

/**
 * Tabs open without a working hh.ru login: «Состояние», where a lost one shows, «Обратная связь»,
 * which the person who cannot connect needs most, and «Аналитика», which reads only what we hold.
 */
const OPEN_WITHOUT_HH: readonly Tab[] = ['auth', 'health', 'feedback', 'analytics'];

/** The tab bar: which tab is open, which wait for hh.ru to be connected, whether «Аналитика» is there at all. */
export function tabBar(current: Tab, account: HhAccountView | null, ctx: Pick<Ctx, 'mayAnalyse'>) {
  const connected = account?.status === 'active';
  return TABS.filter((t) => t.key !== 'analytics' || ctx.mayAnalyse).map((t) => ({
    ...t,
    selected: t.key === current,
    disabled: !connected && !OPEN_WITHOUT_HH.includes(t.key),
  }));
}

/** The tab bar and the connection marker, swapped out of band with a panel (either may have changed). */
export function chrome(deps: PageDeps, ctx: Ctx, current: Tab, account: HhAccountView | null): string {
  return deps.renderer.render('partials/chrome-oob', {
    ...ctx,
    tabs: tabBar(current, account, ctx),
    account,
  });
}

/**
 * The app page: the header with the connection marker, the tab bar and the first panel
 * («Настройки» once hh.ru is connected, «Авторизация» until then); `tab/<name>` swaps a panel.
 */
export class AppPage {
  constructor(
    private readonly deps: PageDeps,
    private readonly panels: Record<Tab, TabPanel>,
  ) {}

  async page(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const account = await hhAccount(this.deps, req.session.memberId);
    const tab: Tab = account?.status === 'active' ? 'settings' : 'auth';
    const panel = await this.panels[tab](req, ctx, account);
    const html = this.deps.renderer.page('app', {
      ...ctx,
      title: text(ctx.lang, 'app.title'),
      framed: true,
      panel: panel.html,
      tabs: tabBar(tab, account, ctx),
      account,
    });
    return { html };
  }

  /** A tab's panel plus the tab bar and the connection marker (htmx out-of-band swaps). */
  async tab(tab: Tab, req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const account = await hhAccount(this.deps, req.session.memberId);
    const shown: Tab = account?.status === 'active' || OPEN_WITHOUT_HH.includes(tab) ? tab : 'auth';
    const panel = await this.panels[shown](req, ctx, account);
    return { ...panel, html: panel.html + chrome(this.deps, ctx, shown, account) };
  }
}
