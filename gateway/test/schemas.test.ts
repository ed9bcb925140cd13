import t from 'tap';
import { hhWebhookUrl } from '@hhb24/common';
import { startGateway } from './harness.js';

const KEY = 'test-webhook-key-0123456789abcdefghij';
const ACCOUNT = '3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

t.test(
  'route schemas: a malformed parameter, query or body is a 4xx that names the field, and nothing is stored',
  async (t) => {
    const { gateway, messages, rows } = await startGateway(t, { WEBHOOK_SECRET_KEY: KEY });
    const stored = async () =>
      (await rows('outbox')) +
      (await rows('b24_portals')) +
      (await messages('HH')) +
      (await messages('PORTAL'));
    const hook = new URL(hhWebhookUrl('http://gw.example', ACCOUNT, KEY)).pathname;

    const json: Array<{
      what: string;
      method: 'GET' | 'POST';
      url: string;
      form?: string;
      body?: unknown;
      status: number;
      error: string;
      problem: RegExp;
    }> = [
      {
        what: 'an event whose auth is text, not the auth[…] block',
        method: 'POST',
        url: '/b24/events',
        form: 'event=ONCRMDEALUPDATE&auth=x',
        status: 400,
        error: 'invalid_request',
        problem: /^body: auth: must be object/,
      },
      {
        what: 'an event without its name',
        method: 'POST',
        url: '/b24/events',
        form: 'auth[member_id]=m1&auth[application_token]=t',
        status: 400,
        error: 'invalid_request',
        problem: /^body: event: is required/,
      },
      {
        what: 'a robot that is not ours',
        method: 'POST',
        url: '/b24/robot',
        form: 'code=rm&document_id[2]=DEAL_7&auth[member_id]=m1&auth[application_token]=t',
        status: 400,
        error: 'invalid_request',
        problem: /^body: code: must be one of "hh_status_refresh", "hh_status_change"/,
      },
      {
        what: 'a robot on what is no lead or deal',
        method: 'POST',
        url: '/b24/robot',
        form: 'code=hh_status_refresh&document_id[2]=CONTACT_1&auth[member_id]=m1',
        status: 400,
        error: 'invalid_request',
        problem: /^body: document_id\[2\]: must match pattern/,
      },
      {
        what: 'a page route with a dot-dot path',
        method: 'GET',
        url: '/ui/..%2Fadmin',
        status: 404,
        error: 'not_found',
        problem: /^params: \*: must match pattern/,
      },
      {
        what: 'a page request with a field of 10,001 characters',
        method: 'GET',
        url: `/ui/tab/settings?userQuery=${'a'.repeat(10_001)}`,
        status: 400,
        error: 'invalid_request',
        problem: /^querystring: userQuery: /,
      },
      {
        what: 'an hh.ru callback without its payload',
        method: 'POST',
        url: hook,
        body: { id: 'c0ffee01', action_type: 'NEW_RESPONSE_OR_INVITATION_VACANCY' },
        status: 400,
        error: 'bad_request',
        problem: /^body: payload: is required/,
      },
      {
        what: 'an hh.ru webhook path that is no account and MAC',
        method: 'POST',
        url: '/hh/webhook/not-a-token',
        body: {},
        status: 404,
        error: 'not_found',
        problem: /^params: token: must match pattern/,
      },
    ];
    for (const c of json) {
      const res = await gateway.app.inject({
        method: c.method,
        url: c.url,
        ...(c.form !== undefined ? { headers: FORM, payload: c.form } : {}),
        ...(c.body !== undefined ? { payload: c.body as object } : {}),
      });
      t.equal(res.statusCode, c.status, `${c.what}: ${c.status}`);
      const answer = res.json<{ error: string; message: string; problem: string }>();
      t.equal(answer.error, c.error, `${c.what}: ${c.error}`);
      t.ok(answer.message, 'with the catalogue’s text');
      t.match(answer.problem, c.problem, `${c.what}: «${answer.problem}»`);
    }

    // The pages Bitrix24 frames answer with a page, not JSON.
    const install = await gateway.app.inject({
      method: 'POST',
      url: '/b24/install?DOMAIN=acme.bitrix24.ru&PROTOCOL=1',
      headers: FORM,
      payload: 'REFRESH_ID=r&APPLICATION_TOKEN=t',
    });
    t.equal(install.statusCode, 400, 'an install without member_id: 400');
    t.match(install.headers['content-type'], /text\/html/, 'a page the installer frame shows');
    t.match(install.body, /data-status="400"/);
    const page = await gateway.app.inject({
      method: 'POST',
      url: '/b24/app?PROTOCOL=2',
      headers: FORM,
      payload: 'member_id=m1&AUTH_ID=a&APPLICATION_TOKEN=t',
    });
    t.equal(page.statusCode, 400, 'an app page whose PROTOCOL is neither 0 nor 1: 400');
    t.match(page.body, /data-testid="gateway-error"/);
    t.equal(await stored(), 0, 'nothing stored, nothing published for any of them');
  },
);
