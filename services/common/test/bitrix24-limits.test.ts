/**
 * What a portal and the Bitrix24 OAuth server answer is read only up to a cap, as a stream cut
 * there, and a redirect is never followed: every call carries the portal's token or our secret.
 */
import { createServer } from 'node:http';
import t, { type Test } from 'tap';
import type { HugeBodyFault } from '@hhb24/sim-b24';
import { b24Harness } from './b24-helpers.js';

const MB = 1_000_000;

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => ({ code: 'none', message: '', retryable: false }),
    (e: { code: string; message: string; retryable: boolean; wait: boolean }) => e,
  );

/** An address a redirect may name: it records whoever comes. */
async function elsewhere(t: Test): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push(`${req.method} ${req.url} ${body}`);
      res.setHeader('content-type', 'application/json');
      res.end('{"result":{}}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits };
}

t.test('a portal’s answer bigger than B24_MAX_RESPONSE_BYTES is cut there and fails naming it', async (t) => {
  const h = await b24Harness(t, { rateLimit: false }, { maxResponseBytes: 1 * MB });
  const { memberId } = await h.installPortal();
  t.match(await h.client.call(memberId, 'profile'), { ID: '1' }, 'an ordinary answer is read');

  const chunked: HugeBodyFault = { kind: 'huge_body', bytes: 200 * MB, count: 1, methods: ['crm.lead.list'] };
  h.running.sim.injectFault(memberId, chunked);
  const before = process.memoryUsage().arrayBuffers;
  const err = await codeOf(h.client.call(memberId, 'crm.lead.list'));
  t.match(err, { code: 'b24_answer_too_large', retryable: false, wait: false });
  t.match(
    err.message,
    /larger than B24_MAX_RESPONSE_BYTES \(1000000 bytes\)/,
    'the failure names the setting',
  );
  t.ok(
    (chunked.served ?? 0) < 20 * MB,
    `the portal made ${((chunked.served ?? 0) / MB).toFixed(1)} MB of 200 MB before the client hung up`,
  );
  t.ok(
    process.memoryUsage().arrayBuffers - before < 20 * MB,
    'the client held no more than the cap and what was in flight',
  );

  const declared: HugeBodyFault = {
    kind: 'huge_body',
    bytes: 50 * MB,
    declareLength: true,
    count: 1,
    methods: ['batch'],
  };
  h.running.sim.injectFault(memberId, declared);
  t.match(
    await codeOf(h.client.batch(memberId, [['profile']])),
    { code: 'b24_answer_too_large' },
    'a declared length above the cap is refused before reading',
  );
  t.match(await h.client.call(memberId, 'profile'), { ID: '1' }, 'the next answer is read as usual');
});

t.test(
  'a redirect from a portal or the OAuth server is refused: no token or secret goes along',
  async (t) => {
    const h = await b24Harness(t, { rateLimit: false });
    const { memberId } = await h.installPortal();
    const other = await elsewhere(t);

    h.running.sim.injectFault(memberId, {
      kind: 'redirect',
      location: `${other.url}/rest/profile.json`,
      count: 1,
    });
    const err = await codeOf(h.client.call(memberId, 'profile'));
    t.match(err, { code: 'b24_redirect_refused', retryable: false });
    t.match(err.message, /redirect, which is not followed/);
    t.same(other.hits, [], 'the address the portal named was never called');

    await t.test('the token refresh (client_secret and refresh token in its body)', async (t) => {
      h.running.sim.injectOAuthFault({ kind: 'redirect', location: `${other.url}/oauth/token/`, count: 1 });
      h.running.sim.expireTokens(memberId);
      const refused = await codeOf(h.client.call(memberId, 'profile'));
      t.match(refused, { code: 'b24_unavailable', wait: true }, 'the portal waits; nothing is lost');
      t.match(refused.message, /redirect, which is not followed/);
      t.same(other.hits, [], 'the secret went nowhere');
      t.match(
        await h.client.call(memberId, 'profile'),
        { ID: '1' },
        'the next refresh goes to the OAuth server',
      );
    });

    await t.test('the token refresh’s answer is capped too', async (t) => {
      const huge: HugeBodyFault = { kind: 'huge_body', bytes: 50 * MB, count: 1 };
      h.running.sim.injectOAuthFault(huge);
      h.running.sim.expireTokens(memberId);
      const refused = await codeOf(h.client.call(memberId, 'profile'));
      t.match(refused, { code: 'b24_unavailable' });
      t.match(refused.message, /larger than 65536 bytes/);
      t.ok((huge.served ?? 0) < 10 * MB, `${((huge.served ?? 0) / MB).toFixed(1)} MB of 50 MB made`);
    });
  },
);
