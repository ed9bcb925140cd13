import type { FastifyInstance } from 'fastify';
import {
  HH_WEBHOOK_PATH,
  type HhWebhookReceived,
  type Runtime,
  enqueue,
  subjects,
  textOf,
  verifyHhWebhookToken,
} from '@hhb24/common';
import { sendRefusal } from './http.js';

const CALLBACK_ID = /^[\w.:-]{1,200}$/;
const ACTION_TYPE = /^[A-Z_]{1,80}$/;

/**
 * hh.ru's webhooks: `POST /hh/webhook/{accountId}.{mac}`. The path's HMAC is checked without
 * reading the database (a wrong one is a 404, as for any unknown path); the body must look like
 * hh.ru's callback (400 otherwise); then the callback is stored in the outbox and answered 202
 * once committed, well inside hh.ru's 2 s. hh-connector takes it from there (hh.webhook.received),
 * deduplicating by the callback's id and reading the negotiation again from the API.
 */
export function registerHhWebhook(
  app: FastifyInstance,
  runtime: Runtime,
  config: { WEBHOOK_SECRET_KEY: string },
): void {
  app.post<{ Params: { token: string } }>(
    `${HH_WEBHOOK_PATH}:token`,
    { bodyLimit: 64 * 1024 },
    async (req, reply) => {
      const accountId = verifyHhWebhookToken(req.params.token, config.WEBHOOK_SECRET_KEY);
      if (!accountId) return sendRefusal(reply, 'not_found');
      const body = req.body as { id?: unknown; action_type?: unknown; payload?: unknown } | null;
      const valid =
        body !== null &&
        typeof body === 'object' &&
        typeof body.id === 'string' &&
        CALLBACK_ID.test(body.id) &&
        typeof body.action_type === 'string' &&
        ACTION_TYPE.test(body.action_type) &&
        typeof body.payload === 'object' &&
        body.payload !== null &&
        !Array.isArray(body.payload);
      if (!valid) return sendRefusal(reply, 'bad_request');
      await enqueue(runtime.db, {
        subject: subjects.hhWebhookReceived,
        msgId: `hh-webhook:${accountId}:${textOf(body.action_type)}:${textOf(body.id)}`,
        payload: { accountId, receivedAt: new Date().toISOString(), body } satisfies HhWebhookReceived,
      });
      runtime.wakeOutbox();
      return reply.code(202).send();
    },
  );
}
