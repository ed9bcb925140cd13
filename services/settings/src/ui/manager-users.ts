import { type HhManagerView, type ManagerUser, type UiRequest, rpc } from '@hhb24/common';
import { type MatchedBy, proposeUser } from '../manager-match.js';
import type { PortalUser } from '../portal-data.js';
import { getManagerUsers, saveManagerUsers } from '../settings-store.js';
import { ManagerUserSearch, ManagerUsersForm } from './forms.js';
import {
  type Ctx,
  type Fragment,
  HH_WAIT_MS,
  type PageDeps,
  checkForm,
  hhAccount,
  refusal,
} from './page-kit.js';

const keyOf = (m: { employerId: string; managerId: string }) => `${m.employerId}:${m.managerId}`;
const asList = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/**
 * «Ответственные по менеджерам hh.ru» on «Настройки»: each manager of the connected hh.ru employer
 * and the portal user who gets the responses to their vacancies. A manager not chosen for yet
 * gets a proposal (the user with the same e-mail, else the same name), saved with «Сохранить
 * соответствие»; «Ответственный по умолчанию» leaves the manager's responses to the settings'
 * responsible. crm-writer reads the result with the settings (services/crm-writer/src/routing.ts).
 */
export class ManagerUsers {
  constructor(private readonly deps: PageDeps) {}

  /** The managers hh-connector kept from its last reading of hh.ru's list (the view asks hh.ru nothing). */
  private async managers(memberId: string): Promise<HhManagerView[] | null> {
    try {
      return (await this.deps.runtime.call(rpc.hhManagers, { memberId }, { timeoutMs: HH_WAIT_MS })).items;
    } catch (err) {
      this.deps.runtime.log.warn({ err, memberId }, 'hh.ru managers not available');
      return null;
    }
  }

  /** The section, with the saved choices and proposals for the managers not chosen for yet. */
  async view(
    req: UiRequest,
    ctx: Ctx,
    notice?: { kind: string; key: string },
    errors?: Record<string, string>,
  ): Promise<Fragment> {
    const { memberId } = req.session;
    const [managers, account] = await Promise.all([this.managers(memberId), hhAccount(this.deps, memberId)]);
    // hh.ru revoked the login: the kept list stays editable, with the notice the other tabs show.
    const loginRequired = account?.status === 'login_required';
    if (!managers) return { html: this.render(ctx, { unavailable: true, loginRequired }) };
    let rows: Array<{ manager: HhManagerView; userId: number | null; proposedBy: MatchedBy | null }>;
    let users: PortalUser[];
    try {
      const saved = new Map(
        (await getManagerUsers(this.deps.runtime.db, memberId)).map((m) => [keyOf(m), m]),
      );
      const open = managers.filter((m) => !saved.has(keyOf(m)));
      const candidates = open.length > 0 ? await this.deps.data.candidatesFor(memberId, open) : [];
      rows = managers.map((manager) => {
        const kept = saved.get(keyOf(manager));
        if (kept) return { manager, userId: kept.userId, proposedBy: null };
        const proposal = proposeUser(manager, candidates);
        return { manager, userId: proposal?.userId ?? null, proposedBy: proposal?.by ?? null };
      });
      // The first page of the portal's users, and every user a row names that it lacks.
      users = await this.deps.data.searchUsers(memberId, '');
      const named = [...new Set(rows.map((r) => r.userId).filter((id): id is number => id !== null))].filter(
        (id) => !users.some((u) => u.id === id),
      );
      if (named.length > 0) users = [...users, ...(await this.deps.data.usersById(memberId, named))];
    } catch (err) {
      this.deps.runtime.log.warn({ err, memberId }, 'portal users for the managers table not available');
      return { html: this.render(ctx, { portalUnavailable: true, loginRequired }) };
    }
    return {
      html: this.render(ctx, {
        notice,
        loginRequired,
        rows: rows.map((r) => ({
          key: keyOf(r.manager),
          managerId: r.manager.managerId,
          name: [r.manager.lastName, r.manager.firstName, r.manager.middleName].filter(Boolean).join(' '),
          email: r.manager.email,
          vacancies: r.manager.vacancies,
          proposedBy: r.proposedBy,
          error: errors?.[keyOf(r.manager)],
          users: users.map((u) => ({ ...u, selected: u.id === r.userId })),
        })),
      }),
    };
  }

  private render(ctx: Ctx, data: Record<string, unknown>): string {
    return this.deps.renderer.render('partials/manager-users', { ...ctx, ...data });
  }

  /** One row's search box: the portal's users that fit, the row's choice kept. */
  async search(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const form = checkForm(this.deps, req, ManagerUserSearch);
    if (!form) return refusal(this.deps, ctx, 'invalid_request');
    const selected = Number(form.mapUser) || 0;
    let users: PortalUser[] = [];
    try {
      users = await this.deps.data.searchUsers(req.session.memberId, (form.userQuery ?? '').trim());
      if (selected && !users.some((u) => u.id === selected))
        users = [...(await this.deps.data.usersById(req.session.memberId, [selected])), ...users];
    } catch (err) {
      this.deps.runtime.log.warn({ err }, 'user search failed');
    }
    return {
      html: this.deps.renderer.render('partials/manager-user-options', {
        ...ctx,
        users: users.map((u) => ({ ...u, selected: u.id === selected })),
      }),
    };
  }

  /** «Сохранить соответствие»: every row as chosen; a manager hh.ru does not list or a user the portal lacks is refused. */
  async save(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const { memberId, userId } = req.session;
    const form = checkForm(this.deps, req, ManagerUsersForm);
    if (!form) return refusal(this.deps, ctx, 'invalid_request');
    const keys = asList(form.mapKey);
    const chosen = asList(form.mapUser);
    if (keys.length !== chosen.length) return refusal(this.deps, ctx, 'invalid_request');
    const managers = await this.managers(memberId);
    if (!managers) return { html: this.render(ctx, { unavailable: true }) };
    const known = new Map(managers.map((m) => [keyOf(m), m]));
    const rows: ManagerUser[] = [];
    for (const [i, key] of keys.entries()) {
      const m = known.get(key);
      if (!m) return refusal(this.deps, ctx, 'invalid_request');
      rows.push({ employerId: m.employerId, managerId: m.managerId, userId: Number(chosen[i]) || null });
    }
    const ids = [...new Set(rows.map((r) => r.userId).filter((id): id is number => id !== null))];
    const found = new Set((await this.deps.data.usersById(memberId, ids)).map((u) => u.id));
    const errors = Object.fromEntries(
      rows
        .filter((r) => r.userId !== null && !found.has(r.userId))
        .map((r) => [keyOf(r), 'managers.userMissing']),
    );
    if (Object.keys(errors).length > 0)
      return this.view(req, ctx, { kind: 'error', key: 'managers.invalid' }, errors);
    await saveManagerUsers(this.deps.runtime.db, memberId, rows, userId);
    this.deps.runtime.wakeOutbox();
    this.deps.runtime.log.info(
      { memberId, userId, managers: rows.length, mapped: rows.filter((r) => r.userId).length },
      'hh.ru managers mapped to portal users',
    );
    return this.view(req, ctx, { kind: 'ok', key: 'managers.saved' });
  }
}
