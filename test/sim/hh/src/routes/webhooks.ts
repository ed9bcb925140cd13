import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type SimContext, bodyType, caller, hhError, notFound } from '../context.js';
import { type Subscription, WebhookBodyError, Webhooks } from '../webhooks.js';

/**
 * /webhook/subscriptions: one URL per user and application; PUT replaces the whole action list
 * (docs/reference/hh-api.md#webhooks).
 */
export function webhookRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { store, webhooks } = ctx;

  const employerCaller = (req: Parameters<typeof caller>[1], reply: FastifyReply) => {
    const who = caller(ctx, req, reply);
    if (!who) return null;
    if (who.kind !== 'user' || !store.managersByUser.has(who.userId)) {
      hhError(reply, 403, [{ type: 'oauth', value: 'user_auth_expected' }]);
      return null;
    }
    return who;
  };

  const badJson = (reply: FastifyReply, err: WebhookBodyError) =>
    hhError(reply, 400, [
      {
        type: 'bad_json_data',
        value: err.field,
        reason: err.reason,
        pointer: `/${err.field.replace(/\[(\d+)\]/g, '/$1').replace(/\./g, '/')}`,
      },
    ]);

  const render = (s: Subscription) => ({
    id: s.id,
    url: s.url,
    actions: s.actions.map((a) => (a.settings ? { type: a.type, settings: a.settings } : { type: a.type })),
  });

  /** The JSON object of the body (the spec's media type for these operations); a form body is not read. */
  const body = (req: FastifyRequest): Record<string, unknown> | null =>
    bodyType(req) === 'application/json' &&
    req.body &&
    typeof req.body === 'object' &&
    !Array.isArray(req.body)
      ? (req.body as Record<string, unknown>)
      : null;

  app.get('/webhook/subscriptions', async (req, reply) => {
    const who = employerCaller(req, reply);
    if (!who) return reply;
    const mine = webhooks.of(who.userId, who.clientId);
    return { items: mine ? [render(mine)] : [] };
  });

  app.post('/webhook/subscriptions', async (req, reply) => {
    const who = employerCaller(req, reply);
    if (!who) return reply;
    const b = body(req);
    if (!b) return hhError(reply, 400, [{ type: 'bad_json_data', value: 'body', reason: 'invalid' }]);
    try {
      for (const key of Object.keys(b))
        if (key !== 'url' && key !== 'actions') throw new WebhookBodyError(key, 'unexpected');
      const url = Webhooks.parseUrl(b['url']);
      const actions = Webhooks.parseActions(b['actions']);
      if (webhooks.of(who.userId, who.clientId))
        return hhError(reply, 400, [{ type: 'notifications', value: 'already_exist' }], {
          description: 'user/company already has a subscription for this application',
        });
      const sub = webhooks.create(who.userId, who.clientId, url, actions);
      return reply.code(201).send({ id: sub.id });
    } catch (err) {
      if (err instanceof WebhookBodyError) return badJson(reply, err);
      throw err;
    }
  });

  app.put<{ Params: { id: string } }>('/webhook/subscriptions/:id', async (req, reply) => {
    const who = employerCaller(req, reply);
    if (!who) return reply;
    const sub = webhooks.subscriptions.get(req.params.id);
    if (!sub || sub.userId !== who.userId || sub.clientId !== who.clientId) return notFound(reply);
    const b = body(req);
    if (!b) return hhError(reply, 400, [{ type: 'bad_json_data', value: 'body', reason: 'invalid' }]);
    try {
      for (const key of Object.keys(b))
        if (key !== 'url' && key !== 'actions') throw new WebhookBodyError(key, 'unexpected');
      if (b['url'] === undefined && b['actions'] === undefined)
        throw new WebhookBodyError('actions', 'required');
      const url = b['url'] === undefined ? sub.url : Webhooks.parseUrl(b['url']);
      const actions = b['actions'] === undefined ? sub.actions : Webhooks.parseActions(b['actions']);
      sub.url = url;
      sub.actions = actions;
      return reply.code(204).send();
    } catch (err) {
      if (err instanceof WebhookBodyError) return badJson(reply, err);
      throw err;
    }
  });

  app.delete<{ Params: { id: string } }>('/webhook/subscriptions/:id', async (req, reply) => {
    const who = employerCaller(req, reply);
    if (!who) return reply;
    const sub = webhooks.subscriptions.get(req.params.id);
    if (!sub || sub.userId !== who.userId || sub.clientId !== who.clientId) return notFound(reply);
    webhooks.subscriptions.delete(sub.id);
    return reply.code(204).send();
  });
}
