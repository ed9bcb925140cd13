import { type UiRequest, hasErrorCode, rpc } from '@hhb24/common';
import type { Ctx, Fragment, PageDeps } from './page-kit.js';

/**
 * «Новые отклики»: how many responses hh.ru has that the portal does not, and the notification
 * subscription. Opening the tab only reads; «Проверить ещё раз» of someone who may manage the app
 * (a POST) also repairs the subscription and starts a pass that brings the new responses in.
 */
export class NewResponsesTab {
  constructor(private readonly deps: PageDeps) {}

  panel(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    return this.render(req, ctx, false);
  }

  check(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    return this.render(req, ctx, true);
  }

  private async render(req: UiRequest, ctx: Ctx, repair: boolean): Promise<Fragment> {
    try {
      const r = await this.deps.runtime.call(
        rpc.hhNewResponses,
        { memberId: req.session.memberId, repair },
        { timeoutMs: 20_000 },
      );
      return {
        html: this.deps.renderer.render('tab-new-responses', {
          ...ctx,
          count: r.newCount,
          subscription: r.subscription,
        }),
      };
    } catch (err) {
      // hh.ru revoked the access meanwhile: the tab says so (the connection marker follows on the next page).
      if (hasErrorCode(err, 'hh_login_required'))
        return { html: this.deps.renderer.render('tab-new-responses', { ...ctx, loginRequired: true }) };
      this.deps.runtime.log.warn({ err, memberId: req.session.memberId }, 'new responses check failed');
      return { html: this.deps.renderer.render('tab-new-responses', { ...ctx, unavailable: true }) };
    }
  }
}
