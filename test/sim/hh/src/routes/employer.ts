import type { FastifyInstance } from 'fastify';
import {
  type SimContext,
  badArgument,
  caller,
  hhError,
  intParam,
  lastParam,
  manager,
  notFound,
  paginate,
} from '../context.js';
import type { Vacancy } from '../model.js';
import { hhDay, nextMoscowMidnight } from '../time.js';

const VACANCY_ORDERS: Record<string, (a: Vacancy, b: Vacancy) => number> = {
  name_asc: (a, b) => a.name.localeCompare(b.name, 'ru'),
  name_desc: (a, b) => b.name.localeCompare(a.name, 'ru'),
  expiration_date_asc: (a, b) => a.expiresAt - b.expiresAt,
  expiration_date_desc: (a, b) => b.expiresAt - a.expiresAt,
};

/**
 * /me, managers, their limits and paid access, active vacancies (docs/reference/hh-api.md: the employer
 * account, vacancies).
 */
export function employerRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { store, render } = ctx;

  app.get('/me', async (req, reply) => {
    const who = caller(ctx, req, reply);
    if (!who) return reply;
    if (who.kind === 'application') {
      return {
        auth_type: 'application',
        is_admin: false,
        is_applicant: false,
        is_employer: false,
        is_application: true,
        is_employer_integration: false,
      };
    }
    const m = store.managersByUser.get(who.userId);
    if (!m) return hhError(reply, 403, [{ type: 'forbidden' }]);
    return render.me(m);
  });

  // Another employer's paths answer 404: hh.ru uses 404 for "not yours".
  app.get<{ Params: { eid: string }; Querystring: Record<string, unknown> }>(
    '/employers/:eid/managers',
    async (req, reply) => {
      const m = manager(ctx, req, reply);
      if (!m) return reply;
      if (req.params.eid !== m.employerId) return notFound(reply);
      const page = intParam(req.query['page']) ?? 0;
      // The spec's default and maximum page size for managers are both 200 (get-employer-managers).
      const perPage = intParam(req.query['per_page']) ?? 200;
      if (Number.isNaN(page)) return badArgument(reply, 'page');
      if (Number.isNaN(perPage) || perPage < 1 || perPage > 200) return badArgument(reply, 'per_page');
      const text = lastParam(req.query['search_text'])?.toLowerCase();
      const all = [...store.managers.values()].filter(
        (x) =>
          x.employerId === m.employerId &&
          (!text || `${x.lastName} ${x.firstName} ${x.middleName ?? ''}`.toLowerCase().includes(text)),
      );
      const p = paginate(all, page, perPage);
      return { ...p, items: p.items.map((x) => render.managerItem(x, m)) };
    },
  );

  app.get<{ Params: { eid: string; mid: string } }>('/employers/:eid/managers/:mid', async (req, reply) => {
    const m = manager(ctx, req, reply);
    if (!m) return reply;
    const other = store.managers.get(req.params.mid);
    if (req.params.eid !== m.employerId || !other || other.employerId !== m.employerId)
      return notFound(reply);
    return render.managerInfo(other, m);
  });

  app.get<{ Params: { eid: string; mid: string } }>(
    '/employers/:eid/managers/:mid/limits/resume',
    async (req, reply) => {
      const m = manager(ctx, req, reply);
      if (!m) return reply;
      if (req.params.eid !== m.employerId || req.params.mid !== m.id) return notFound(reply);
      const limit = store.viewLimit(m);
      const spent = store.viewsOf(m.id, hhDay(store.clock.now())).size;
      reply.header('x-sim-limit-resets-at', new Date(nextMoscowMidnight(store.clock.now())).toISOString());
      return {
        limits: { resume_view: limit, resume_view_from_api: limit },
        spend: { resume_view: spent, resume_view_from_api: spent },
        left: { resume_view: Math.max(0, limit - spent), resume_view_from_api: Math.max(0, limit - spent) },
      };
    },
  );

  app.get<{ Params: { eid: string; mid: string } }>(
    '/employers/:eid/managers/:mid/method_access',
    async (req, reply) => {
      const m = manager(ctx, req, reply);
      if (!m) return reply;
      if (req.params.eid !== m.employerId || !store.managers.has(req.params.mid)) return notFound(reply);
      const paid = store.employers.get(m.employerId)!.paidApiAccess;
      const groups: Array<[string, string, boolean]> = [
        ['1', 'Методы работы с резюме: просмотр резюме, работа с откликами, переписка', paid],
        ['2', 'Поиск по базе резюме и сохранённые поиски', false],
        ['3', 'Просмотр резюме, на которые есть отклик или приглашение', paid],
        ['4', 'Просмотр резюме, найденных в поиске по базе', false],
      ];
      return {
        items: groups.map(([id, description, has]) => ({ id, description, access: { has_access: has } })),
      };
    },
  );

  app.get<{ Params: { eid: string }; Querystring: Record<string, unknown> }>(
    '/employers/:eid/vacancies/active',
    async (req, reply) => {
      const m = manager(ctx, req, reply);
      if (!m) return reply;
      if (req.params.eid !== m.employerId) return notFound(reply);
      const page = intParam(req.query['page']) ?? 0;
      const perPage = intParam(req.query['per_page']) ?? 20;
      if (Number.isNaN(page)) return badArgument(reply, 'page');
      if (Number.isNaN(perPage) || perPage < 1 || perPage > 50) return badArgument(reply, 'per_page');
      const managerId = lastParam(req.query['manager_id']) ?? m.id;
      // Another manager's list needs rights; otherwise hh.ru says the manager does not exist (404).
      if (!store.canSeeManager(m, managerId)) return notFound(reply);
      const orderBy = lastParam(req.query['order_by']);
      if (
        orderBy !== undefined &&
        !VACANCY_ORDERS[orderBy] &&
        orderBy !== 'unseen_responses_asc' &&
        orderBy !== 'unseen_responses_desc'
      )
        return badArgument(reply, 'order_by');
      const text = lastParam(req.query['text'])?.toLowerCase();
      const area = lastParam(req.query['area']);
      let list = store.vacanciesByEmployer
        .get(m.employerId)!
        .filter(
          (v) =>
            !v.archived &&
            v.managerId === managerId &&
            (!text || v.name.toLowerCase().includes(text)) &&
            (!area || v.area.id === area),
        );
      if (orderBy?.startsWith('unseen_responses_')) {
        const unseen = (v: Vacancy) => render.vacancyCounters(v).unread_responses;
        list = [...list].sort((a, b) =>
          orderBy.endsWith('asc') ? unseen(a) - unseen(b) : unseen(b) - unseen(a),
        );
      } else {
        list = [...list].sort(orderBy ? VACANCY_ORDERS[orderBy] : (a, b) => b.publishedAt - a.publishedAt);
      }
      const p = paginate(list, page, perPage);
      return { ...p, items: p.items.map((v) => render.vacancyActive(v)) };
    },
  );
}
