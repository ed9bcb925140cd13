import { type UiRequest, hasErrorCode, rpc } from '@hhb24/common';
import type { Ctx, Fragment, PageDeps } from './page-kit.js';

/** «Новые отклики»: how many responses hh.ru has that the portal does not, and the notification subscription. */
export class NewResponsesTab {
  constructor(private readonly deps: PageDeps) {}

  async panel(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    try {
      const r = await this.deps.runtime.call(
        rpc.hhNewResponses,
        { memberId: req.session.memberId },
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
