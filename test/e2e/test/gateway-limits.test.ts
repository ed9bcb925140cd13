/**
 * The gateway's own outgoing calls at install (the OAuth server, then the portal's `profile`) read
 * their answers up to a cap and never follow a redirect: the install is refused, nothing is stored,
 * and the address a redirect names is never called (our client_secret travels in the request).
 */
import { createServer } from 'node:http';
import t, { type Test } from 'tap';
import type { HugeBodyFault } from '@hhb24/sim-b24';
import { framePost, startStack } from './stack.js';

async function elsewhere(t: Test): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end('{"access_token":"x","refresh_token":"y","member_id":"z"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits };
}

t.test(
  'install: a redirect or an oversized answer from the OAuth server or the portal refuses the install',
  async (t) => {
    const stack = await startStack(t, { hh: 'fixture' });
    const { sim } = stack.b24;
    const other = await elsewhere(t);
    const portal = sim.createPortal({ name: 'capped' });
    await sim.install(portal.memberId);
    const stored = () =>
      stack.services.at(-1)!.runtime.db('b24_portals').where({ member_id: portal.memberId }).first();

    sim.injectOAuthFault({ kind: 'redirect', location: `${other.url}/oauth/token/`, count: 1 });
    const redirected = await framePost(stack, 'capped', '/b24/install');
    t.equal(redirected.status, 502, 'the OAuth server’s redirect: refused');
    t.match(redirected.html, /Битрикс24 не подтвердил установку/);
    t.same(other.hits, [], 'the client_secret never went to the address it named');

    const huge: HugeBodyFault = { kind: 'huge_body', bytes: 30_000_000, count: 1 };
    sim.injectOAuthFault(huge);
    const oversized = await framePost(stack, 'capped', '/b24/install');
    t.equal(oversized.status, 502, 'an OAuth answer above 64 KB: refused');
    t.ok((huge.served ?? 0) < 10_000_000, `${((huge.served ?? 0) / 1e6).toFixed(1)} MB of 30 MB were made`);

    sim.injectFault(portal.memberId, {
      kind: 'redirect',
      location: `${other.url}/rest/profile.json`,
      count: 1,
      methods: ['profile'],
    });
    const portalRedirect = await framePost(stack, 'capped', '/b24/install');
    t.equal(portalRedirect.status, 502, 'the portal’s redirect on profile: refused');
    t.same(other.hits, [], 'the fresh access token never went there either');
    t.equal(await stored(), undefined, 'nothing was stored');

    const ok = await framePost(stack, 'capped', '/b24/install');
    t.equal(ok.status, 200, 'once both answer as they should, the install goes through');
  },
);
