import t from 'tap';
import { hhWebhookUrl } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { startGateway } from './harness.js';

const KEY = 'test-webhook-key-0123456789abcdefghij';
const ACCOUNT = '3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f';

t.test(
  'hh.ru webhooks: a forged URL is a 404, a bad body a 400, nothing stored; a good one is stored, then acknowledged',
  async (t) => {
    const { gateway, nats, naming, messages, rows } = await startGateway(t, { WEBHOOK_SECRET_KEY: KEY });
    const path = new URL(hhWebhookUrl('http://gw.example', ACCOUNT, KEY)).pathname;
    const callback = {
      id: 'c0ffee01',
      subscription_id: '7',
      action_type: 'NEW_RESPONSE_OR_INVITATION_VACANCY',
      user_id: '5000001',
      payload: { topic_id: '1300000001', vacancy_id: '80000001' },
    };
    const stored = async () => (await rows('outbox')) + (await messages('HH'));

    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    const forged = [
      `${path.slice(0, -10)}${flip(path.at(-10)!)}${path.slice(-9)}`,
      `${path}A`,
      `/hh/webhook/${ACCOUNT}`,
      `/hh/webhook/${ACCOUNT}.${'x'.repeat(43)}`,
      '/hh/webhook/not-an-account.abc',
    ];
    for (const url of forged) {
      const res = await gateway.app.inject({ method: 'POST', url, payload: callback });
      t.equal(res.statusCode, 404, `${url.slice(0, 60)}… is not ours`);
    }
    for (const body of [
      {},
      { ...callback, id: '' },
      { ...callback, action_type: 'drop table' },
      { ...callback, payload: 'x' },
      [callback],
    ]) {
      const res = await gateway.app.inject({ method: 'POST', url: path, payload: body });
      t.equal(res.statusCode, 400, `refused: ${JSON.stringify(body).slice(0, 50)}`);
    }
    const nul = await gateway.app.inject({
      method: 'POST',
      url: path,
      payload: { ...callback, payload: { topic_id: `1${String.fromCharCode(0)}` } },
    });
    t.equal(nul.statusCode, 400, 'a NUL in the callback: refused, not a failed insert');
    for (const [type, body, status] of [
      ['text/plain', 'event=ONAPPUNINSTALL&auth[member_id]=x', 415],
      ['application/x-www-form-urlencoded', 'event=ONAPPUNINSTALL&auth[member_id]=%00', 400],
    ] as const) {
      const res = await gateway.app.inject({
        method: 'POST',
        url: '/b24/events',
        headers: { 'content-type': type },
        payload: body,
      });
      t.equal(res.statusCode, status, `a Bitrix24 call as ${type} with ${body.slice(-6)}: ${status}`);
    }
    t.equal(await stored(), 0, 'nothing stored for any of them');

    const started = Date.now();
    const res = await gateway.app.inject({ method: 'POST', url: path, payload: callback });
    t.equal(res.statusCode, 202, `accepted in ${Date.now() - started} ms`);
    const again = await gateway.app.inject({ method: 'POST', url: path, payload: callback });
    t.equal(again.statusCode, 202, 'a repeated delivery is accepted too (hh.ru would retry otherwise)');
    await eventually(async () => (await messages('HH')) === 1 && (await rows('outbox')) === 0, {
      what: 'the callback on hh.webhook.received, once',
    });
    const msg = await nats.jsm.streams.getMessage(naming.stream('HH'), {
      last_by_subj: naming.subject('hh.webhook.received'),
    });
    t.match(
      JSON.parse(new TextDecoder().decode(msg!.data)),
      { accountId: ACCOUNT, body: callback },
      'with the account and the callback as hh.ru sent it',
    );
    t.equal(msg!.header.get('Nats-Msg-Id'), `hh-webhook:${ACCOUNT}:${callback.action_type}:${callback.id}`);
  },
);
