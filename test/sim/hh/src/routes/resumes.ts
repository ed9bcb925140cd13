import type { FastifyInstance, FastifyReply } from 'fastify';
import { type SimContext, hhError, lastParam, manager, notFound, paid } from '../context.js';
import { pdfContent, resumeRtf, resumeLines } from '../documents.js';
import type { Manager, Negotiation, Resume } from '../model.js';
import { hhDay } from '../time.js';

/**
 * Full resumes (marking the response viewed), PDF/RTF downloads, daily view limits
 * (docs/reference/hh-api.md#resumes).
 */
export function resumeRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { store, render } = ctx;

  /**
   * The resume and the negotiation it is seen through. An employer may see a resume only when it
   * has a response or invitation on a vacancy the manager can see (PR #299); 404 otherwise.
   */
  const access = (
    m: Manager,
    resumeId: string,
    topicId: string | undefined,
  ): { resume: Resume; negotiation: Negotiation | null } | null => {
    const resume = store.resumes.get(resumeId);
    if (!resume || resume.deleted) return null;
    const mine = (store.negotiationsByResume.get(resumeId) ?? []).filter((n) =>
      store.canSee(m, store.vacancies.get(n.vacancyId)!),
    );
    if (mine.length === 0) return null;
    const negotiation = topicId === undefined ? null : (mine.find((n) => n.id === topicId) ?? null);
    if (topicId !== undefined && !negotiation) return null;
    return { resume, negotiation };
  };

  /** Counts a view of a distinct resume today; false (429 sent) when the daily limit is used up. */
  const countView = (m: Manager, resumeId: string, reply: FastifyReply): boolean => {
    const seen = store.viewsOf(m.id, hhDay(store.clock.now()));
    if (seen.has(resumeId)) return true;
    if (seen.size >= store.viewLimit(m)) {
      hhError(reply, 429, [{ type: 'resumes', value: 'view_limit_exceeded' }], {
        description: 'Too many requests',
      });
      return false;
    }
    seen.add(resumeId);
    return true;
  };

  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
    '/resumes/:id',
    async (req, reply) => {
      const m = manager(ctx, req, reply);
      if (!m) return reply;
      if (!paid(ctx, m, reply)) return reply;
      const found = access(m, req.params.id, lastParam(req.query['topic_id']));
      if (!found) return notFound(reply);
      if (!countView(m, found.resume.id, reply)) return reply;
      // Only the negotiation's own resume URL (with topic_id) marks the response viewed.
      if (found.negotiation) store.markViewed(found.negotiation, m.id);
      return render.resumeFull(found.resume, found.negotiation);
    },
  );

  app.get<{ Params: { id: string; file: string }; Querystring: Record<string, unknown> }>(
    '/resumes/:id/download/:file',
    async (req, reply) => {
      const m = manager(ctx, req, reply);
      if (!m) return reply;
      if (!paid(ctx, m, reply)) return reply;
      const type = lastParam(req.query['type']) ?? req.params.file.split('.').pop();
      if (type !== 'pdf' && type !== 'rtf') return notFound(reply);
      const found = access(m, req.params.id, lastParam(req.query['topic_id']));
      if (!found) return notFound(reply);
      if (!countView(m, found.resume.id, reply)) return reply;
      const name = encodeURIComponent(`${render.fileName(found.resume)}.${type}`);
      reply.header('content-disposition', `attachment; filename*=UTF-8''${name}`);
      if (type === 'pdf')
        return reply.type('application/pdf').send(await ctx.pdfs.render(pdfContent(found.resume, render)));
      return reply.type('application/rtf').send(resumeRtf(found.resume, render));
    },
  );

  /** The resume page on "hh.ru" (the «Резюме» button opens it): public data only. */
  app.get<{ Params: { id: string } }>('/resume/:id', async (req, reply) => {
    const resume = store.resumes.get(req.params.id);
    if (!resume || resume.deleted)
      return reply
        .code(404)
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><meta charset="utf-8"><title>Резюме не найдено</title><h1>Резюме удалено или скрыто</h1>',
        );
    const { heading, lines } = resumeLines(
      { ...resume, hidden: [...new Set([...resume.hidden, 'phones', 'email'] as const)] },
      render,
    );
    const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    return reply
      .type('text/html; charset=utf-8')
      .send(
        `<!doctype html><html lang="ru"><meta charset="utf-8"><title>${esc(resume.title)}</title><body style="font-family:sans-serif;max-width:40em;margin:2em auto"><p style="color:#888">hh.ru — симулятор</p><h1>${esc(heading)}</h1>${lines.map((l) => `<p>${esc(l)}</p>`).join('')}</body></html>`,
      );
  });
}
