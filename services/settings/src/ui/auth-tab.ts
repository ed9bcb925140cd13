import { type HhAccountView, type UiRequest, type UiResponse, rpc, textOf } from '@hhb24/common';
import { chrome } from './app-page.js';
import { AuthPoll } from './forms.js';
import { type Ctx, type Fragment, type PageDeps, checkForm, hhAccount } from './page-kit.js';
import { text } from './texts.js';

/** «Войти» opened hh.ru's login: the auth tab asks every few seconds, for up to ten minutes. */
const POLL_MS = 2000;
const POLL_LIMIT = 300;

/** «Авторизация»: the hh.ru connection, «Войти» (the gateway's /hh/oauth/start), «Выйти»; and the login window's result. */
export class AuthTab {
  constructor(private readonly deps: PageDeps) {}

  panel(
    req: UiRequest,
    ctx: Ctx,
    account: HhAccountView | null,
    notice?: { kind: string; key: string },
  ): string {
    // A poll count that is no number starts the count again (the tab is drawn either way).
    const poll = Number(checkForm(this.deps, req, AuthPoll)?.poll) || 0;
    const waiting = req.route === 'auth/status' && account?.status !== 'active' && poll < POLL_LIMIT;
    return this.deps.renderer.render('tab-auth', {
      ...ctx,
      account,
      unavailable: account === null,
      notice,
      waiting,
      nextPoll: poll + 1,
      pollMs: POLL_MS,
    });
  }

  /** «Выйти»: hh-connector revokes the token and stops the sync; the tab and the marker follow. */
  async logout(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const { runtime } = this.deps;
    let account: HhAccountView | null;
    let notice: { kind: string; key: string };
    try {
      account = await runtime.call(
        rpc.hhDisconnect,
        { memberId: req.session.memberId, userId: req.session.userId },
        { timeoutMs: 20_000 },
      );
      notice = { kind: 'ok', key: 'auth.loggedOut' };
    } catch (err) {
      runtime.log.warn({ err, memberId: req.session.memberId }, 'hh.ru sign-out failed');
      account = await hhAccount(this.deps, req.session.memberId);
      notice = { kind: 'error', key: 'auth.logoutFailed' };
    }
    return { html: this.panel(req, ctx, account, notice) + chrome(this.deps, ctx, 'auth', account) };
  }

  /** The login window's last page, with what the gateway found out (`data`: outcome, account, code). */
  loginResult(req: UiRequest, ctx: Ctx): UiResponse {
    const d = req.data ?? {};
    const account = d['account'] as HhAccountView | undefined;
    const outcome = textOf(d['outcome']) || 'invalid';
    const message = text(ctx.lang, `login.${outcome}`, {
      employer: account?.employerName ?? '',
      manager: account?.managerName ?? '',
      code: d['code'] ?? '',
    });
    return {
      status: Number(d['status']) || 200,
      html: this.deps.renderer.page('login-result', {
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
