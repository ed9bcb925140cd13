import t from 'tap';
import { startHhSim } from '../src/index.js';
import { call, cast } from './helpers.js';

t.test('about 10 requests per second per client address by default; 429 beyond', async (t) => {
  const running = await startHhSim();
  t.teardown(() => running.close());
  t.same(running.sim.settings.rateLimit, { by: 'address', perSec: 10, burst: 10, retryAfterHeader: false });
  const token = running.sim.issueTokens(cast(running).admin.userId).access_token;
  const statuses = await Promise.all(
    Array.from({ length: 15 }, () => call(`${running.url}/me`, { token }).then((r) => r.status)),
  );
  t.equal(statuses.filter((s) => s === 200).length, 10, 'the burst of 10 passes');
  t.equal(statuses.filter((s) => s === 429).length, 5, 'the rest get 429');
  const body = (await call(`${running.url}/me`, { token })).body;
  t.match(body, { errors: [{ type: 'too_many_requests' }], request_id: String });
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await call(`${running.url}/me`, { token })).status, 200, 'tokens come back at 10 per second');
  t.equal((await call(`${running.url}/_sim/summary`)).status, 200, 'the control API is not limited');
});

t.test(
  'per account instead of per address (the many-portals benchmark): each hh user has its own budget',
  async (t) => {
    const running = await startHhSim({
      settings: { rateLimit: { by: 'account', perSec: 5, burst: 5, retryAfterHeader: true } },
    });
    t.teardown(() => running.close());
    const c = cast(running);
    const [a, b] = [c.admin, c.plain].map((m) => running.sim.issueTokens(m.userId).access_token);
    const burst = (token: string) =>
      Promise.all(Array.from({ length: 7 }, () => call(`${running.url}/me`, { token })));
    const [ra, rb] = await Promise.all([burst(a!), burst(b!)]);
    t.equal(ra.filter((r) => r.status === 200).length, 5);
    t.equal(rb.filter((r) => r.status === 200).length, 5, 'one account’s calls do not use up another’s');
    t.ok(
      ra.filter((r) => r.status === 429).every((r) => r.headers.get('retry-after') === '1'),
      'the optional Retry-After header',
    );
  },
);

t.test('faults: 5xx, slow answers and 429 bursts, switched on and off from tests', async (t) => {
  const running = await startHhSim({ settings: { rateLimit: { by: 'off' } } });
  t.teardown(() => running.close());
  const { sim, url } = running;
  const token = sim.issueTokens(cast(running).admin.userId).access_token;
  sim.addFault({ kind: 'error', status: 500, times: 1, match: '/me' });
  const plain = await call(`${url}/me`, { token });
  t.equal(plain.status, 500);
  t.equal(plain.headers.get('content-type')?.startsWith('text/plain'), true, 'a 500 body need not be JSON');
  t.equal((await call(`${url}/me`, { token })).status, 200, 'times: 1 fires once');
  sim.addFault({ kind: 'slow', delayMs: 300, times: 1 });
  const started = Date.now();
  t.equal((await call(`${url}/me`, { token })).status, 200);
  t.ok(Date.now() - started >= 290, 'a slow answer');
  sim.addFault({ kind: 'rate_limit', times: 3 });
  t.same(
    await Promise.all([0, 1, 2, 3].map(() => call(`${url}/me`, { token }).then((r) => r.status))),
    [429, 429, 429, 200],
    'a 429 burst',
  );
  sim.addFault({ kind: 'error', status: 503, probability: 0.5 });
  const mixed = await Promise.all(
    Array.from({ length: 40 }, () => call(`${url}/me`, { token }).then((r) => r.status)),
  );
  t.ok(
    mixed.includes(503) && mixed.includes(200),
    `a probability makes some calls fail (${mixed.filter((s) => s === 503).length}/40)`,
  );
  sim.clearFaults();
  t.equal((await call(`${url}/me`, { token })).status, 200);
  t.throws(() => sim.addFault({ kind: 'error', status: 404 }), /5xx/, 'a bad fault rule is refused');
});

t.test(
  'a PDF being drawn holds up no other request, so the rate limit judges requests as they come',
  async (t) => {
    const running = await startHhSim({ settings: { rateLimit: { by: 'off' } } });
    t.teardown(() => running.close());
    const { sim, url } = running;
    const c = cast(running);
    const token = sim.issueTokens(c.admin.userId).access_token;
    const vacancy = sim.addVacancy({ managerId: c.admin.id, name: 'Кладовщик' });
    const pdfUrls = Array.from({ length: 6 }, () => {
      const n = sim.respond({ vacancyId: vacancy.id });
      return `${url}/resumes/${n.resumeId}/download/x.pdf?type=pdf&topic_id=${n.id}`;
    });
    const finished: string[] = [];
    const pdfs = pdfUrls.map((u) => call(u, { token }).then((r) => finished.push(`pdf ${r.status}`)));
    await new Promise((r) => setTimeout(r, 10));
    const me = call(`${url}/me`, { token }).then((r) => finished.push(`me ${r.status}`));
    await Promise.all([...pdfs, me]);
    // Drawn on the event loop, six PDFs (tens of ms each) would answer before /me, asked for 10 ms later.
    t.ok(finished.indexOf('me 200') <= 2, `/me answered among the first three: ${finished.join(', ')}`);
    t.equal(finished.filter((f) => f === 'pdf 200').length, 6);
  },
);
