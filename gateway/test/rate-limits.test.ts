/**
 * The gateway's request limits on their own (a started gateway, real Redis): which address is
 * counted, what a refusal looks like, and that a Redis that does not answer lets requests through.
 */
import t, { type Test } from 'tap';
import { loadConfig } from '@hhb24/common';
import { createTestEnv, tcpProxy } from '@hhb24/common/testing';
import { buildGateway, schema } from '../src/app.js';
import { groupOf } from '../src/rate-limits.js';

const REDIS = new URL(process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379');

async function gateway(t: Test, env: Record<string, string>) {
  const test = createTestEnv({ GATEWAY_PORT: '0', ...env });
  t.teardown(() => test.cleanup());
  const gw = buildGateway(loadConfig('gateway', schema, test.env));
  await gw.runtime.start();
  t.teardown(() => gw.app.close());
  return gw;
}

t.test('every public route is in a group; health and metrics are not', async (t) => {
  t.equal(groupOf('/b24/install?DOMAIN=x'), 'install');
  for (const path of ['/b24/events', '/b24/events/install', '/b24/robot', '/hh/webhook/abc.def'])
    t.equal(groupOf(path), 'callbacks', path);
  for (const path of [
    '/b24/app',
    '/b24/placement',
    '/ui/settings',
    '/hh/oauth/start',
    '/hh/oauth/callback',
    '/static/app.css',
  ])
    t.equal(groupOf(path), 'pages', path);
  for (const path of ['/livez', '/readyz', '/metrics', '/']) t.equal(groupOf(path), null, path);
});

t.test(
  'without a trusted proxy the connection’s address is counted: a forged X-Forwarded-For dodges nothing',
  async (t) => {
    const gw = await gateway(t, { GATEWAY_RATE_PAGES_PER_ADDRESS: '5' });
    const get = (i: number, remoteAddress = '198.51.100.1') =>
      gw.app.inject({
        method: 'GET',
        url: '/static/app.css',
        remoteAddress,
        headers: { 'x-forwarded-for': `203.0.113.${i}` },
      });
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await get(i)).statusCode);
    t.same(statuses, [200, 200, 200, 200, 200, 429, 429]);
    const refused = await get(99);
    t.equal(refused.statusCode, 429);
    const retryAfter = Number(refused.headers['retry-after']);
    t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter} s, within the window`);
    t.same(refused.json(), {
      error: 'rate_limited',
      message: 'Too many requests. Try again in a minute.',
    });
    t.equal((await get(1, '198.51.100.2')).statusCode, 200, 'another address has its own budget');
    for (const path of ['/livez', '/metrics'])
      t.equal(
        (await gw.app.inject({ method: 'GET', url: path, remoteAddress: '198.51.100.1' })).statusCode,
        200,
        `${path} is not limited`,
      );
    t.match(
      (await gw.app.inject({ method: 'GET', url: '/metrics' })).body,
      /hhb24_http_rate_limited_total\{group="pages",per="address",service="gateway"\} 3/,
      'the refusals are counted in the metrics',
    );
  },
);

t.test('behind a trusted proxy the address it forwarded is counted', async (t) => {
  const gw = await gateway(t, {
    GATEWAY_RATE_PAGES_PER_ADDRESS: '2',
    GATEWAY_TRUSTED_PROXIES: '10.0.0.0/8,::1',
  });
  const via = (client: string, proxy = '10.1.2.3') =>
    gw.app.inject({
      method: 'GET',
      url: '/static/app.js',
      remoteAddress: proxy,
      headers: { 'x-forwarded-for': client },
    });
  t.same(
    [
      (await via('192.0.2.1')).statusCode,
      (await via('192.0.2.1')).statusCode,
      (await via('192.0.2.1')).statusCode,
    ],
    [200, 200, 429],
    'one client behind the ingress meets its limit',
  );
  t.equal((await via('192.0.2.2')).statusCode, 200, 'another client behind the same ingress does not');
  t.equal(
    (await via('192.0.2.1, 10.9.9.9')).statusCode,
    429,
    'through two trusted hops it is still the same client',
  );
  t.equal(
    (await via('192.0.2.1', '198.51.100.9')).statusCode,
    200,
    'an untrusted sender’s header is ignored: its own address is counted',
  );
  t.throws(
    () => loadConfig('gateway', schema, { GATEWAY_TRUSTED_PROXIES: '10.0.0.0/33' }),
    /GATEWAY_TRUSTED_PROXIES has entries that are not an IP address or CIDR range \(10\.0\.0\.0\/33\)/,
  );
});

t.test('a Redis that does not answer lets requests through within half a second', async (t) => {
  const proxy = await tcpProxy(REDIS.hostname, Number(REDIS.port || 6379));
  t.teardown(() => proxy.close());
  const gw = await gateway(t, {
    REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    GATEWAY_RATE_PAGES_PER_ADDRESS: '1',
  });
  t.equal((await gw.app.inject({ method: 'GET', url: '/static/app.css' })).statusCode, 200);
  t.equal(
    (await gw.app.inject({ method: 'GET', url: '/static/app.css' })).statusCode,
    429,
    'limited while Redis answers',
  );
  proxy.cut();
  const started = Date.now();
  const res = await gw.app.inject({ method: 'GET', url: '/static/app.css' });
  t.equal(
    res.statusCode,
    200,
    'without Redis the limit is not enforced rather than the gateway refusing everything',
  );
  t.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`);
  proxy.restore();
});
