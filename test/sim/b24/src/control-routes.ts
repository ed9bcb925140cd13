/**
 * The control API over HTTP (`/_sim/...`, JSON), for the demo, the benchmark and tests in other
 * processes: the same operations as the in-process `sim` object. Documented in docs/simulators.md.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EntityType, Fault, OAuthFault } from './model.js';
import type { B24Sim } from './sim.js';
import type { Lang } from './texts.js';

type Body = Record<string, unknown>;
type Handler = (
  req: FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string> }>,
  body: Body,
) => unknown;

const entityType = (v: unknown): EntityType => {
  if (v !== 'lead' && v !== 'deal') throw new Error('entity type must be lead or deal');
  return v;
};

export function registerControlRoutes(app: FastifyInstance, sim: B24Sim): void {
  const route = (method: 'GET' | 'POST' | 'DELETE' | 'PATCH', url: string, handler: Handler) =>
    app.route({
      method,
      url: `/_sim${url}`,
      handler: async (
        req: FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string> }>,
        reply: FastifyReply,
      ) => {
        try {
          const result = await handler(
            req,
            (req.body && typeof req.body === 'object' ? req.body : {}) as Body,
          );
          return reply.send(result ?? { ok: true });
        } catch (err) {
          return reply.code(400).send({ error: (err as Error).message });
        }
      },
    });
  const id = (req: FastifyRequest<{ Params: Record<string, string> }>) => req.params['portal']!;

  route('GET', '/apps', () => [...sim.apps.values()].map(({ clientSecret: _secret, ...rest }) => rest));
  route('POST', '/apps', (_req, b) => {
    const { clientSecret: _secret, ...rest } = sim.registerApp(b as never);
    return rest;
  });
  route('PATCH', '/apps/:clientId', (req, b) => {
    const { clientSecret: _secret, ...rest } = sim.updateApp(req.params['clientId']!, b);
    return rest;
  });
  route('POST', '/settings', (_req, b) => {
    if (b['accessTokenTtlSec'] !== undefined) sim.setTokenLifetime(Number(b['accessTokenTtlSec']));
    if (b['rateLimit'] !== undefined) sim.rateLimit = b['rateLimit'] as typeof sim.rateLimit;
    if (b['allowUndottedHandlerHosts'] !== undefined)
      sim.allowUndottedHandlerHosts = Boolean(b['allowUndottedHandlerHosts']);
    return {
      accessTokenTtlSec: sim.tokens.accessTtlSec,
      rateLimit: sim.rateLimit,
      allowUndottedHandlerHosts: sim.allowUndottedHandlerHosts,
    };
  });

  route('GET', '/portals', () => sim.portals());
  route('POST', '/portals', (_req, b) => sim.createPortal(b));
  route('GET', '/portals/:portal', (req) => sim.portalInfo(id(req)));
  route('GET', '/portals/:portal/users', (req) => [...sim.portal(id(req)).users.values()]);
  route('POST', '/portals/:portal/users', (req, b) => sim.addUser(id(req), b));
  route('POST', '/portals/:portal/pipelines', (req, b) => sim.addPipeline(id(req), String(b['name'] ?? '')));
  route('POST', '/portals/:portal/stages', (req, b) =>
    sim.addStage(id(req), {
      categoryId: b['categoryId'] === undefined ? undefined : Number(b['categoryId']),
      name: String(b['name'] ?? ''),
      after: b['after'] === undefined ? undefined : String(b['after']),
    }),
  );
  route('POST', '/portals/:portal/install', (req, b) => sim.install(id(req), b));
  route('POST', '/portals/:portal/install-finish', (req, b) =>
    sim.finishInstall(id(req), b['clientId'] as string | undefined),
  );
  route('POST', '/portals/:portal/update', (req, b) =>
    sim.updateInstall(id(req), b).map((d) => ({ id: d.id, url: d.url })),
  );
  route('POST', '/portals/:portal/uninstall', (req, b) => sim.uninstall(id(req), b));
  route('POST', '/portals/:portal/language', (req, b) => sim.setLanguage(id(req), b['lang'] as Lang));
  route('POST', '/portals/:portal/required', (req, b) =>
    sim.setRequired(id(req), entityType(b['entityType']), String(b['field']), b['required'] !== false, {
      restCheck: b['restCheck'] !== false,
    }),
  );
  route('POST', '/portals/:portal/faults', (req, b) => sim.injectFault(id(req), b as unknown as Fault));
  route('DELETE', '/portals/:portal/faults', (req) => sim.clearFaults(id(req)));
  route('POST', '/oauth-faults', (_req, b) => {
    sim.injectOAuthFault(b as unknown as OAuthFault);
  });
  route('DELETE', '/oauth-faults', () => sim.clearOAuthFaults());
  route('POST', '/portals/:portal/expire-tokens', (req) => ({ expired: sim.expireTokens(id(req)) }));
  route('POST', '/portals/:portal/tokens', (req, b) => sim.issueUserToken(id(req), b));
  route('POST', '/portals/:portal/entities/:type', (req, b) =>
    sim.createEntity(id(req), entityType(req.params['type']), b),
  );
  route('POST', '/portals/:portal/entities/:type/:id/stage', (req, b) =>
    sim.moveStage(id(req), entityType(req.params['type']), Number(req.params['id']), String(b['stageId']), {
      userId: b['userId'] as number | undefined,
    }),
  );
  route('POST', '/portals/:portal/automation', (req, b) => sim.addAutomationRule(id(req), b as never));
  route('DELETE', '/portals/:portal/automation/:rule', (req) =>
    sim.removeAutomationRule(id(req), Number(req.params['rule'])),
  );
  route('POST', '/portals/:portal/robots/run', (req, b) => sim.runRobot(id(req), b as never));
  route('POST', '/portals/:portal/activities/:activity/action', (req, b) =>
    sim.timelineAction(id(req), Number(req.params['activity']), b['path'] as string[], {
      userId: b['userId'] as number | undefined,
    }),
  );

  route('GET', '/portals/:portal/entities/:type', (req) =>
    sim.entities(id(req), entityType(req.params['type'])),
  );
  route(
    'GET',
    '/portals/:portal/entities/:type/:id',
    (req) => sim.entity(id(req), entityType(req.params['type']), Number(req.params['id'])) ?? null,
  );
  route('GET', '/portals/:portal/userfields', (req) =>
    sim.userFields(id(req), req.query['type'] ? entityType(req.query['type']) : undefined),
  );
  route('GET', '/portals/:portal/activities', (req) => sim.activities(id(req)));
  route('GET', '/portals/:portal/comments', (req) => sim.comments(id(req)));
  route('GET', '/portals/:portal/notifications', (req) =>
    sim.notifications(id(req), req.query['userId'] ? Number(req.query['userId']) : undefined),
  );
  route('GET', '/portals/:portal/robot-runs', (req) => sim.robotRuns(id(req)));
  route('GET', '/portals/:portal/placements', (req) => sim.placements(id(req)));
  route('GET', '/portals/:portal/event-bindings', (req) => sim.eventBindings(id(req)));
  route('GET', '/portals/:portal/robots', (req) => sim.robots(id(req)));
  route('GET', '/portals/:portal/automation', (req) => sim.automation(id(req)));
  route('GET', '/portals/:portal/deliveries', (req) => sim.deliveries(id(req)));
  route('GET', '/portals/:portal/requests', (req) =>
    sim.requests(id(req), { since: req.query['since'] ? Number(req.query['since']) : undefined }),
  );
  route('GET', '/requests', (req) =>
    sim.requests(undefined, { since: req.query['since'] ? Number(req.query['since']) : undefined }),
  );
  route('POST', '/idle', () => sim.idle());
  app.get(
    '/_sim/portals/:portal/files/:file',
    async (req: FastifyRequest<{ Params: Record<string, string> }>, reply) => {
      const file = sim.file(req.params['portal']!, Number(req.params['file']));
      if (!file) return reply.code(404).send({ error: 'no such file' });
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`)
        .send(file.content);
    },
  );
}
