import { createRequire } from 'node:module';
import { type UiRequest, compileSchema, rpc } from '@hhb24/common';
import {
  CONTACT_MAX,
  FEEDBACK_MAX,
  type FeedbackContext,
  addFeedback,
  undeliveredFeedback,
} from '../feedback-store.js';
import { Feedback } from './forms.js';
import type { Ctx, Fragment, PageDeps } from './page-kit.js';
import { text } from './texts.js';

const feedback = compileSchema(Feedback);

/** The release the message was written from (settings' package version, the mesh's release). */
const RELEASE = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
/** The state summary waits this long for each service; a message is never held up by it. */
const CONTEXT_WAIT_MS = 3000;

/**
 * «Обратная связь»: a message to the people behind the app, open to every user with access, hh.ru
 * connected or not. It is kept, sent at once to the operator's channels, and the writer is told
 * «Сообщение отправлено» only when one of them took it; otherwise that it will be sent again.
 */
export class FeedbackTab {
  constructor(private readonly deps: PageDeps) {}

  async panel(ctx: Ctx, extra: Record<string, unknown> = {}): Promise<Fragment> {
    const waiting = (await undeliveredFeedback(this.deps.runtime.db, ctx.session.memberId)).map((w) => ({
      createdAt: w.createdAt.toISOString(),
      nextAttemptAt: w.nextAttemptAt.toISOString(),
      attempts: w.attempts,
    }));
    return {
      html: this.deps.renderer.render('tab-feedback', { ...ctx, values: {}, errors: {}, waiting, ...extra }),
    };
  }

  async send(req: UiRequest, ctx: Ctx): Promise<Fragment> {
    // Spaces around the text are no text: trimmed before the schema judges it.
    const values = Object.fromEntries(
      Object.entries(req.form).map(([k, v]) => [k, typeof v === 'string' ? v.trim() : v]),
    );
    const errors: Record<string, string> = {};
    for (const { field, keyword } of feedback.failures(values))
      errors[field] =
        field === 'contact'
          ? text(ctx.lang, 'feedback.contactTooLong', { n: CONTACT_MAX })
          : keyword === 'maxLength'
            ? text(ctx.lang, 'feedback.textTooLong', { n: FEEDBACK_MAX })
            : text(ctx.lang, 'feedback.textRequired');
    if (!feedback.check(values)) return this.panel(ctx, { values, errors });
    const { message, contact } = values;
    const { memberId, userId } = req.session;
    const [userName, context] = await Promise.all([this.userName(memberId, userId), this.context(memberId)]);
    const { delivery } = this.deps;
    const letter = await addFeedback(
      this.deps.runtime.db,
      { memberId, userId, userName, message, contact: contact || null, context },
      delivery.leaseMs,
    );
    this.deps.runtime.log.info({ memberId, feedbackId: letter.id }, 'feedback received');
    const delivered = await delivery.attempt(letter);
    return this.panel(ctx, delivered ? { sent: true } : { notSent: true });
  }

  /** The sender's name as the portal has it (null when the portal does not answer). */
  private async userName(memberId: string, userId: number): Promise<string | null> {
    const users = await this.deps.data.usersById(memberId, [userId]).catch(() => []);
    return users[0]?.name ?? null;
  }

  /** The version and a short state summary, each part null when its service does not answer in time. */
  private async context(memberId: string): Promise<FeedbackContext> {
    const { runtime } = this.deps;
    const ask = <T>(p: Promise<T>) =>
      p.catch((err: unknown) => {
        runtime.log.warn({ err, memberId }, 'a part of the feedback’s state summary not available');
        return null;
      });
    const wait = { timeoutMs: CONTEXT_WAIT_MS };
    const [portal, account, progress, failures] = await Promise.all([
      ask(this.deps.data.portal(memberId)),
      ask(runtime.call(rpc.hhAccount, { memberId }, wait)),
      ask(runtime.call(rpc.hhImportProgress, { memberId }, wait)),
      ask(runtime.call(rpc.crmFailures, { memberId }, wait)),
    ]);
    return {
      domain: portal?.domain ?? null,
      app: { release: RELEASE, registrations: portal?.appVersion ?? null },
      hh: account ? { status: account.status } : null,
      import: progress
        ? {
            state: progress.pausedReason ? `${progress.state} (${progress.pausedReason})` : progress.state,
            found: progress.found,
            loaded: progress.loaded,
            imported: progress.imported,
            failed: progress.failed,
          }
        : null,
      refusedWrites: failures ? failures.items.length : null,
    };
  }
}
