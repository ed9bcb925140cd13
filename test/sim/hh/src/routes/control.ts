import type { FastifyInstance } from 'fastify';
import type { FaultRule } from '../faults.js';
import type { HhSim } from '../sim.js';
import { SimError } from '../store.js';

type Body = Record<string, any>;

/**
 * The control API under /_sim/ (a prefix hh.ru does not use): JSON in, JSON out, camelCase keys
 * mirroring the HhSim methods. Documented with curl examples in docs/simulators.md.
 */
export function controlRoutes(app: FastifyInstance, sim: HhSim): void {
  const store = sim.store;
  const body = (raw: unknown): Body => (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {});
  const str = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || v === '') throw new SimError(400, `${name} is required`);
    return v;
  };

  app.register(
    async (c) => {
      c.setErrorHandler((err, _req, reply) => {
        const status =
          err instanceof SimError ? err.status : ((err as { statusCode?: number }).statusCode ?? 400);
        return reply
          .code(status >= 400 && status < 600 ? status : 400)
          .send({ error: (err as Error).message });
      });

      c.get('/summary', async () => sim.summary());
      c.get('/settings', async () => sim.settings);
      c.patch('/settings', async (req) => sim.configure(body(req.body)));
      c.post('/reset', async (req) => {
        const b = body(req.body);
        return { generated: sim.reset(b['generate'] === undefined ? {} : { generate: b['generate'] }) };
      });
      c.post('/generate', async (req) => sim.generate(body(req.body)));

      c.get('/employers', async () =>
        [...store.employers.values()].map((e) => ({
          ...e,
          managers: [...store.managers.values()]
            .filter((m) => m.employerId === e.id)
            .map((m) => ({
              id: m.id,
              userId: m.userId,
              name: `${m.lastName} ${m.firstName}`,
              email: m.email,
              isAdmin: m.isAdmin,
              grants: [...m.grants],
              resumeViewsPerDay: m.resumeViewsPerDay,
            })),
          vacancies: store.vacanciesByEmployer.get(e.id)!.map((v) => ({
            id: v.id,
            name: v.name,
            managerId: v.managerId,
            archived: v.archived,
            negotiations: store.negotiationsByVacancy.get(v.id)!.length,
          })),
        })),
      );
      c.post('/employers', async (req, reply) =>
        reply
          .code(201)
          .send(sim.addEmployer({ ...body(req.body), name: str(body(req.body)['name'], 'name') })),
      );
      c.patch<{ Params: { id: string } }>('/employers/:id', async (req) =>
        sim.setEmployer(req.params.id, body(req.body)),
      );
      c.post('/managers', async (req, reply) => {
        const b = body(req.body);
        const m = sim.addManager({
          ...b,
          employerId: str(b['employerId'], 'employerId'),
          firstName: str(b['firstName'], 'firstName'),
          lastName: str(b['lastName'], 'lastName'),
        });
        return reply.code(201).send({ ...m, grants: [...m.grants] });
      });
      c.patch<{ Params: { id: string } }>('/managers/:id', async (req) => {
        const m = sim.setManager(req.params.id, body(req.body));
        return { ...m, grants: [...m.grants] };
      });
      c.post('/vacancies', async (req, reply) => {
        const b = body(req.body);
        return reply.code(201).send(
          sim.addVacancy({
            ...b,
            managerId: str(b['managerId'], 'managerId'),
            name: str(b['name'], 'name'),
          }),
        );
      });
      // The vacancy handed to another manager, as an admin does on the site.
      c.post<{ Params: { id: string } }>('/vacancies/:id/manager', async (req) =>
        sim.moveVacancy(req.params.id, str(body(req.body)['managerId'], 'managerId')),
      );
      c.post<{ Params: { id: string } }>('/vacancies/:id/archive', async (req) =>
        sim.archiveVacancy(req.params.id),
      );
      c.post<{ Params: { id: string } }>('/vacancies/:id/respond', async (req, reply) =>
        reply.code(201).send(sim.respond({ ...body(req.body), vacancyId: req.params.id })),
      );
      c.post<{ Params: { id: string } }>('/vacancies/:id/invite', async (req, reply) =>
        reply.code(201).send(sim.invite({ ...body(req.body), vacancyId: req.params.id })),
      );
      c.post('/resumes', async (req, reply) => reply.code(201).send(sim.addResume(body(req.body))));
      c.post<{ Params: { id: string } }>('/resumes/:id/delete', async (req) =>
        sim.deleteResume(req.params.id),
      );
      c.get<{ Querystring: { vacancyId?: string; resumeId?: string } }>('/negotiations', async (req) => {
        const q = req.query;
        if (q.vacancyId) return store.negotiationsByVacancy.get(q.vacancyId) ?? [];
        if (q.resumeId) return store.negotiationsByResume.get(q.resumeId) ?? [];
        throw new SimError(400, 'vacancyId or resumeId is required');
      });
      c.post<{ Params: { id: string } }>('/negotiations/:id/move', async (req) => {
        const b = body(req.body);
        return sim.move(req.params.id, str(b['employerState'], 'employerState'), {
          managerId: b['managerId'],
          message: b['message'],
        });
      });
      // The applicant writes: hh.ru sends no webhook for it, so only a reconciliation finds it.
      c.post<{ Params: { id: string } }>('/negotiations/:id/messages', async (req, reply) => {
        const text = str(body(req.body)['text'], 'text');
        const n = sim.applicantWrites(req.params.id, text);
        return reply.code(201).send({ id: n.id, messages: n.messages, unread: n.unread });
      });
      c.post<{ Params: { id: string } }>('/users/:id/password', async (req) => ({
        revokedTokens: sim.changePassword(req.params.id),
      }));
      c.post<{ Params: { id: string } }>('/users/:id/tokens', async (req) =>
        sim.issueTokens(req.params.id, body(req.body)['clientId']),
      );
      c.post<{ Params: { id: string } }>('/users/:id/authorize', async (req) => ({
        code: sim.authorize({ ...body(req.body), userId: req.params.id }),
      }));
      c.post<{ Params: { id: string } }>('/users/:id/expire-tokens', async (req) => ({
        expired: sim.expireAccessTokens(req.params.id),
      }));
      c.get<{ Querystring: { path?: string; userId?: string } }>('/requests', async (req) =>
        sim.requests(req.query),
      );
      c.get<{ Querystring: { subscriptionId?: string; actionType?: string } }>('/deliveries', async (req) =>
        sim.deliveries(req.query),
      );
      c.get<{ Querystring: { since?: string } }>('/events', async (req) =>
        sim.events(Number(req.query.since ?? 0) || 0),
      );
      c.get('/faults', async () => sim.faults.list());
      c.post('/faults', async (req, reply) =>
        reply.code(201).send(sim.addFault(body(req.body) as FaultRule)),
      );
      c.delete('/faults', async (_req, reply) => {
        sim.clearFaults();
        return reply.code(204).send();
      });
      c.post('/clock', async (req) => {
        const ms = Number(body(req.body)['advanceMs']);
        if (!Number.isFinite(ms) || ms < 0)
          throw new SimError(400, 'advanceMs must be a number of milliseconds ≥ 0');
        sim.clock.advance(ms);
        return { now: new Date(sim.clock.now()).toISOString() };
      });
    },
    { prefix: '/_sim' },
  );
}
