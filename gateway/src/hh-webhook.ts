import {
  HH_WEBHOOK_PATH,
  type HhWebhookReceived,
  type Runtime,
  enqueue,
  subjects,
  verifyHhWebhookToken,
} from '@hhb24/common';
import { sendRefusal } from './http.js';
import { HhCallback, HhWebhookParams } from './schemas.js';
import type { Gateway } from './validation.js';

/**
 * hh.ru's webhooks: `POST /hh/webhook/{accountId}.{mac}`. The path's HMAC is checked without
 * reading the database (a wrong one is a 404, as for any unknown path); the body must be hh.ru's
 * callback (HhCallback; 400 otherwise); then the callback is stored in the outbox and answered 202
 * once committed, well inside hh.ru's 2 s. hh-connector takes it from there (hh.webhook.received),
 * deduplicating by the callback's id and reading the negotiation again from the API.
 */
export function registerHhWebhook(
  app: Gateway,
  runtime: Runtime,
  config: { WEBHOOK_SECRET_KEY: string },
): void {
  app.post(
    `${HH_WEBHOOK_PATH}:token`,
    {
      bodyLimit: 64 * 1024,
      schema: { params: HhWebhookParams, body: HhCallback },
      config: { invalid: { params: 'not_found', body: 'bad_request' } },
    },
    async (req, reply) => {
      const accountId = verifyHhWebhookToken(req.params.token, config.WEBHOOK_SECRET_KEY);
      if (!accountId) return sendRefusal(reply, 'not_found');
      const body = req.body;
      // A NUL anywhere would fail the insert below (Postgres text and jsonb take none): a 400, not a 500.
      if (JSON.stringify(body).includes('\\u0000')) return sendRefusal(reply, 'bad_request');
      await enqueue(runtime.db, {
        subject: subjects.hhWebhookReceived,
        msgId: `hh-webhook:${accountId}:${body.action_type}:${body.id}`,
        payload: { accountId, receivedAt: new Date().toISOString(), body } satisfies HhWebhookReceived,
      });
      runtime.wakeOutbox();
      return reply.code(202).send();
    },
  );
}
