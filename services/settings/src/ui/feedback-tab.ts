import type { UiRequest } from '@hhb24/common';
import { CONTACT_MAX, FEEDBACK_MAX, addFeedback } from '../feedback-store.js';
import { type Ctx, type Fragment, type PageDeps, one } from './page-kit.js';
import { text } from './texts.js';

/** «Обратная связь»: a message to the app's makers, with a contact if the writer leaves one. */
export class FeedbackTab {
  constructor(private readonly deps: PageDeps) {}

  panel(ctx: Ctx): Fragment {
    return { html: this.deps.renderer.render('tab-feedback', { ...ctx, values: {}, errors: {} }) };
  }

  async send(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    const message = one(req.form, 'message').trim();
    const contact = one(req.form, 'contact').trim();
    const errors: Record<string, string> = {};
    if (!message) errors['message'] = text(ctx.lang, 'feedback.textRequired');
    else if (message.length > FEEDBACK_MAX)
      errors['message'] = text(ctx.lang, 'feedback.textTooLong', { n: FEEDBACK_MAX });
    if (contact.length > CONTACT_MAX)
      errors['contact'] = text(ctx.lang, 'feedback.contactTooLong', { n: CONTACT_MAX });
    if (Object.keys(errors).length > 0)
      return {
        html: this.deps.renderer.render('tab-feedback', { ...ctx, values: { message, contact }, errors }),
      };
    await addFeedback(this.deps.runtime.db, {
      memberId: req.session.memberId,
      userId: req.session.userId,
      message,
      contact: contact || null,
    });
    this.deps.runtime.log.info({ memberId: req.session.memberId }, 'feedback received');
    return {
      html: this.deps.renderer.render('tab-feedback', { ...ctx, values: {}, errors: {}, thanks: true }),
    };
  }
}
