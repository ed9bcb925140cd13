import {
  type CardView,
  type UiRequest,
  type UiResponse,
  compileSchema,
  entityTypeOf,
  rpc,
} from '@hhb24/common';
import { CardForm, CardOthers } from './forms.js';
import { type Ctx, HH_WAIT_MS, type PageDeps } from './page-kit.js';
import { STATE_NAMES_EN, text } from './texts.js';

const cardForm = compileSchema(CardForm);
const cardOthers = compileSchema(CardOthers);

/** The HH.ru tab of a lead or deal, and «Все отклики (N)» of a timeline activity (the same card). */
export class CardPage {
  constructor(private readonly deps: PageDeps) {}

  /** «Все отклики (N)» opens the app with the lead or deal (openRestApp): its card, every other response listed. */
  others(req: UiRequest, ctx: Ctx): Promise<UiResponse> {
    const others = cardOthers.check(req.form) ? req.form : null;
    return this.page(
      {
        ...req,
        form: others ? { entityType: entityTypeOf(others.entityTypeId)!, entityId: others.entityId } : {},
      },
      ctx,
    );
  }

  /**
   * The card of one lead or deal. A user who is not an admin sees only the one their session was
   * opened on (the gateway asked the portal whether they may read it): another id is refused.
   */
  async page(req: UiRequest, ctx: Ctx): Promise<UiResponse> {
    const html = await this.html(req, ctx);
    return html === null
      ? {
          status: 403,
          html: this.deps.renderer.page('no-access', {
            ...ctx,
            title: text(ctx.lang, 'access.title'),
            framed: true,
            entityDenied: true,
          }),
        }
      : { status: 200, html };
  }

  private async html(req: UiRequest, ctx: Ctx): Promise<string | null> {
    const page = (extra: Record<string, unknown>) =>
      this.deps.renderer.page('card', {
        ...ctx,
        title: text(ctx.lang, 'card.title'),
        framed: true,
        ...extra,
      });
    // A card opened on no lead or deal (a placement without one) says there is no response.
    if (!cardForm.check(req.form)) return page({ card: null });
    const entityType = req.form.entityType;
    const entityId = Number(req.form.entityId);
    const { session } = req;
    if (!session.isAdmin && (session.entity?.type !== entityType || session.entity.id !== entityId)) {
      this.deps.runtime.log.warn(
        { memberId: session.memberId, userId: session.userId, entityType, entityId },
        'card refused: the session was not opened on that lead or deal',
      );
      return null;
    }
    let card: CardView | null;
    try {
      card = await this.deps.runtime.call(
        rpc.hhCard,
        { memberId: req.session.memberId, entityType, entityId },
        { timeoutMs: HH_WAIT_MS },
      );
    } catch (err) {
      this.deps.runtime.log.warn({ err, memberId: req.session.memberId }, 'card data not available');
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
}
