import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  type SimContext,
  badArgument,
  formFields,
  hhError,
  intParam,
  lastParam,
  manager,
  notAForm,
  notFound,
  paginate,
  paid,
} from '../context.js';
import { type Manager, type Negotiation, STATE_BY_ID, TRANSITIONS } from '../model.js';
import { ORDER_TYPES, orderTypesOf } from '../render.js';

const topicNotFound = (reply: FastifyReply) =>
  hhError(reply, 404, [{ type: 'negotiations', value: 'topic_not_found' }]);
const forbidden = (reply: FastifyReply, value: string) =>
  hhError(reply, 403, [{ type: 'negotiations', value }]);

/** A stable pseudo-relevance: the same list order on every call, unrelated to dates. */
function relevance(n: Negotiation): number {
  let h = 2166136261;
  for (const c of n.id) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

const ORDERINGS: Record<string, (a: Negotiation, b: Negotiation) => number> = {
  last_change_time_except_employer_inbox: (a, b) => b.updatedAt - a.updatedAt || b.id.localeCompare(a.id),
  created_at: (a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id),
  relevance: (a, b) => relevance(a) - relevance(b),
};

/**
 * Collections, their lists, single negotiations, actions and "read"
 * (docs/reference/hh-api.md#negotiations-responses-and-invitations).
 */
export function negotiationRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { store, render } = ctx;

  /** A negotiation the manager may see; hh.ru answers 404 for "not yours". */
  const visible = (m: Manager, id: string): Negotiation | undefined => {
    const n = store.negotiations.get(id);
    if (!n) return undefined;
    return store.canSee(m, store.vacancies.get(n.vacancyId)!) ? n : undefined;
  };

  app.get<{ Querystring: Record<string, unknown> }>('/negotiations', async (req, reply) => {
    const m = manager(ctx, req, reply);
    if (!m) return reply;
    const vacancyId = lastParam(req.query['vacancy_id']);
    if (!vacancyId) return badArgument(reply, 'vacancy_id');
    if (!/^\d+$/.test(vacancyId)) return badArgument(reply, 'vacancy_id');
    const vacancy = store.vacancies.get(vacancyId);
    if (!vacancy || !store.canSee(m, vacancy)) return notFound(reply);
    return render.collections(vacancy);
  });

  app.get<{ Params: { x: string }; Querystring: Record<string, unknown> }>(
    '/negotiations/:x',
    async (req, reply) => {
      const m = manager(ctx, req, reply);
      if (!m) return reply;
      const x = req.params.x;
      if (/^\d+$/.test(x)) {
        const n = visible(m, x);
        if (!n) return topicNotFound(reply);
        return render.negotiationFull(n);
      }
      if (!STATE_BY_ID.has(x)) return notFound(reply);
      if (!paid(ctx, m, reply)) return reply;
      const vacancyId = lastParam(req.query['vacancy_id']);
      if (!vacancyId || !/^\d+$/.test(vacancyId)) return badArgument(reply, 'vacancy_id');
      const vacancy = store.vacancies.get(vacancyId);
      if (!vacancy || !store.canSee(m, vacancy)) return notFound(reply);
      const page = intParam(req.query['page']) ?? 0;
      const perPage = intParam(req.query['per_page']) ?? 20;
      if (Number.isNaN(page)) return badArgument(reply, 'page');
      if (Number.isNaN(perPage) || perPage < 1 || perPage > 50) return badArgument(reply, 'per_page');
      const depth = store.settings.negotiationDepth;
      if ((page + 1) * perPage > depth) {
        const description = `you can't look up more than ${depth} items in the list`;
        return hhError(
          reply,
          400,
          [
            { type: 'bad_argument', value: 'page' },
            { type: 'bad_argument', value: 'per_page' },
          ],
          {
            bad_arguments: [{ name: 'page, per_page', description }],
            bad_argument: 'page, per_page',
            description,
          },
        );
      }
      const orderBy = lastParam(req.query['order_by']) ?? 'last_change_time_except_employer_inbox';
      if (!orderTypesOf(x).includes(orderBy)) return badArgument(reply, 'order_by');
      const onlyNewResponses = lastParam(req.query['show_only_new_responses']) === 'true' && x === 'response';
      const onlyNew = lastParam(req.query['show_only_new']) === 'true' && x !== 'response';
      const list = store.negotiationsByVacancy
        .get(vacancy.id)!
        .filter(
          (n) =>
            n.employerState === x &&
            (!onlyNewResponses || (n.initiator === 'applicant' && !n.viewed)) &&
            (!onlyNew || n.hasUpdates),
        )
        .sort(ORDERINGS[orderBy]);
      const p = paginate(list, page, perPage);
      return {
        ordered_by: { id: orderBy, name: ORDER_TYPES[orderBy] },
        ...p,
        items: p.items.map((n) => render.negotiationItem(n)),
      };
    },
  );

  /**
   * The (legacy) message list: reading it marks a response viewed, as the resume does
   * (docs/reference/hh-api.md#messages).
   */
  app.get<{ Params: { nid: string }; Querystring: Record<string, unknown> }>(
    '/negotiations/:nid/messages',
    async (req, reply) => {
      const m = manager(ctx, req, reply);
      if (!m) return reply;
      const n = visible(m, req.params.nid);
      if (!n) return topicNotFound(reply);
      if (!paid(ctx, m, reply)) return reply;
      const page = intParam(req.query['page']) ?? 0;
      const perPage = intParam(req.query['per_page']) ?? 20;
      if (Number.isNaN(page)) return badArgument(reply, 'page');
      if (Number.isNaN(perPage) || perPage < 1 || perPage > 50) return badArgument(reply, 'per_page');
      store.markViewed(n, m.id, true);
      return paginate(render.messages(n), page, perPage);
    },
  );

  /** Runs one action on one negotiation; returns null when done, or the reply already sent. */
  const act = (
    m: Manager,
    action: string,
    n: Negotiation,
    form: Record<string, unknown>,
    reply: FastifyReply,
  ): FastifyReply | null => {
    const vacancy = store.vacancies.get(n.vacancyId)!;
    if (vacancy.archived) return forbidden(reply, 'invalid_vacancy');
    const resume = store.resumes.get(n.resumeId)!;
    if (resume.deleted) return forbidden(reply, 'resume_not_found');
    if (!(TRANSITIONS[n.employerState] ?? []).includes(action)) return forbidden(reply, 'wrong_state');
    const message = typeof form['message'] === 'string' ? form['message'] : undefined;
    if ((form['send_sms'] !== undefined || form['address_id'] !== undefined) && !message)
      return badArgument(reply, 'message');
    if (message !== undefined && message.trim() === '') return forbidden(reply, 'empty_message');
    if (message !== undefined && message.length > 10_000) return forbidden(reply, 'too_long_message');
    store.moveNegotiation(n.id, action, { byManagerId: m.id, message: message ?? null });
    return null;
  };

  app.put<{
    Params: { action: string; nid: string };
    Querystring: Record<string, unknown>;
  }>('/negotiations/:action/:nid', async (req, reply) => {
    const m = manager(ctx, req, reply);
    if (!m) return reply;
    const n = store.negotiations.get(req.params.nid);
    if (!n) return topicNotFound(reply);
    // A negotiation of a vacancy the manager cannot work with: 403 invalid_vacancy (#858), not 404.
    if (!store.canSee(m, store.vacancies.get(n.vacancyId)!)) {
      return store.vacancies.get(n.vacancyId)!.employerId === m.employerId
        ? forbidden(reply, 'invalid_vacancy')
        : topicNotFound(reply);
    }
    if (!STATE_BY_ID.has(req.params.action)) return notFound(reply);
    // Arguments come in the form body (the spec: application/x-www-form-urlencoded); hh's FAQ shows
    // them in the query string too. Another body is refused with the 400 «Ошибка в теле запроса»
    // this operation documents, rather than run the action without the arguments it carried.
    const form = formFields(req);
    if (!form) return notAForm(reply);
    const sent = act(m, req.params.action, n, { ...req.query, ...form }, reply);
    return sent ?? reply.code(204).send();
  });

  app.put<{ Params: { x: string } }>('/negotiations/:x', async (req, reply) => {
    const m = manager(ctx, req, reply);
    if (!m) return reply;
    if (!STATE_BY_ID.has(req.params.x)) return notFound(reply);
    // A body that is not a form is not read: no topic_id (the 400 bad_argument this operation documents).
    const form = formFields(req) ?? {};
    const raw = form['topic_id'];
    const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
    if (ids.length === 0 || ids.length > 50) return badArgument(reply, 'topic_id');
    const topics = ids.map((id) => store.negotiations.get(id));
    if (topics.some((n) => !n || store.vacancies.get(n.vacancyId)!.employerId !== m.employerId))
      return forbidden(reply, 'application_denied');
    for (const n of topics as Negotiation[]) {
      if (!store.canSee(m, store.vacancies.get(n.vacancyId)!)) return forbidden(reply, 'invalid_vacancy');
    }
    for (const n of topics as Negotiation[]) {
      const sent = act(m, req.params.x, n, form, reply);
      if (sent) return sent;
    }
    return reply.code(204).send();
  });

  app.post('/negotiations/read', async (req, reply) => {
    const m = manager(ctx, req, reply);
    if (!m) return reply;
    const form = formFields(req) ?? {};
    const raw = form['topic_id'];
    const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
    if (ids.length === 0) return badArgument(reply, 'topic_id');
    const topics = ids.map((id) => visible(m, id));
    if (topics.some((n) => !n)) return notFound(reply);
    for (const n of topics as Negotiation[]) store.markViewed(n, m.id, true);
    return reply.code(204).send();
  });
}
