import t from 'tap';
import { RateLimitExceeded } from '@hhb24/common';
import {
  HH_ERROR_CODES,
  HhError,
  HhRateLimited,
  HhViewLimitExceeded,
  nextMoscowMidnight,
} from '../src/hh/index.js';
import { TEST_UA, harness, people } from './helpers.js';

/** A download's bytes, gathered (the service writes them into the file store instead). */
async function whole(bytes: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of bytes) chunks.push(chunk);
  return Buffer.concat(chunks);
}

t.test('429s slow the client down instead of failing it', async (t) => {
  // hh.ru: 4 requests/s per address; the client is told it may do 100/s.
  const h = await harness(t, { sim: { settings: { rateLimit: { by: 'address', perSec: 4, burst: 2 } } } });
  const { admin } = people(h.running);
  const account = await h.connect(admin.userId);
  const hh = h.client({ rate: { ratePerSec: 100, burst: 100 }, maxAttempts: 12 });
  const seen = h.running.sim.requests({ path: '/me' }).length;
  const started = Date.now();
  const results = await Promise.all(Array.from({ length: 12 }, () => hh.account(account.id).me()));
  const took = Date.now() - started;
  const answers = h.running.sim.requests({ path: '/me' }).slice(seen);
  t.equal(results.length, 12, 'every call succeeded');
  t.ok(
    answers.some((r) => r.status === 429),
    `hh.ru did answer 429 (${answers.filter((r) => r.status === 429).length} times)`,
  );
  t.equal(answers.filter((r) => r.status === 200).length, 12);
  t.ok(took >= 1500, `the calls were spread out to hh.ru's pace (${took} ms for 12 calls at 4/s)`);

  await t.test('a caller that cannot wait gets a "wait" error, not a failure', async (t) => {
    h.running.sim.addFault({ kind: 'rate_limit', times: 20 });
    const err = await hh
      .account(account.id)
      .me({ maxWaitMs: 100 })
      .catch((e: unknown) => e);
    t.type(err, HhRateLimited);
    t.match(err, { code: HH_ERROR_CODES.rateLimited, wait: true, retryable: true });
    h.running.sim.clearFaults();
  });

  await t.test(
    'a shutdown ends a back-off at once: the message goes back, nothing counts as failed',
    async (t) => {
      const stopping = new AbortController();
      const patient = h.client(
        { rate: { ratePerSec: 100, burst: 100 }, backoffMs: 5000, maxAttempts: 5 },
        {},
        {},
        stopping.signal,
      );
      h.running.sim.addFault({ kind: 'rate_limit', times: 5 });
      const started = Date.now();
      const call = patient
        .account(account.id)
        .me()
        .catch((e: unknown) => e);
      setTimeout(() => stopping.abort(), 200);
      t.match(await call, { code: 'shutting_down', wait: true });
      t.ok(Date.now() - started < 2000, `not after the 2.5–5 s back-off (${Date.now() - started} ms)`);
      h.running.sim.clearFaults();
    },
  );
});

t.test(
  'the shared bucket: a call that would wait longer than maxWaitMs throws RateLimitExceeded before reaching hh.ru',
  async (t) => {
    const h = await harness(t);
    const { admin } = people(h.running);
    const account = await h.connect(admin.userId);
    const hh = h.client({ rate: { ratePerSec: 1, burst: 1 } });
    await hh.account(account.id).me();
    const before = h.running.sim.requests().length;
    const err = await hh
      .account(account.id)
      .me({ maxWaitMs: 50 })
      .catch((e: unknown) => e);
    t.type(err, RateLimitExceeded);
    t.match(err, { code: 'rate_limited', wait: true });
    t.equal(h.running.sim.requests().length, before, 'hh.ru saw nothing');
    const waited = Date.now();
    await hh.account(account.id).me({ maxWaitMs: 5000 });
    t.ok(Date.now() - waited >= 500, 'a caller that may wait, waits for its turn');
    t.ok(
      h.running.sim.requests().every((r) => r.userAgent === TEST_UA),
      'every call carried the configured HH-User-Agent',
    );
  },
);

t.test(
  '5xx: reads are retried with back-off, writes are not; a failing account opens its breaker',
  async (t) => {
    const h = await harness(t);
    const { admin } = people(h.running);
    const account = await h.connect(admin.userId);
    const seen = h.running.sim.requests({ path: '/me' }).length;
    h.running.sim.addFault({ kind: 'error', status: 503, times: 2, match: '/me' });
    const me = await h.hh.account(account.id).me();
    t.equal(me.id, admin.userId, 'the read succeeded on the third attempt');
    t.same(
      h.running.sim
        .requests({ path: '/me' })
        .slice(seen)
        .map((r) => r.status),
      [503, 503, 200],
    );

    const vacancy = [...h.running.sim.store.vacancies.values()].find((v) => v.managerId === admin.id)!;
    const n = h.running.sim.respond({ vacancyId: vacancy.id });
    h.running.sim.addFault({ kind: 'error', status: 502, times: 1, match: '/negotiations/consider' });
    const err = await h.hh
      .account(account.id)
      .act({ actionId: 'consider', negotiationId: n.id })
      .catch((e: unknown) => e);
    t.match(err, { code: HH_ERROR_CODES.unavailable, retryable: true });
    t.equal(
      h.running.sim.requests({ path: '/negotiations/consider' }).length,
      1,
      'a write is not repeated blindly',
    );

    const fragile = h.client({ maxAttempts: 1 }, { volumeThreshold: 4, resetTimeoutMs: 60_000 });
    h.running.sim.addFault({ kind: 'error', status: 500, match: '/me' });
    for (let i = 0; i < 4; i++)
      await t.rejects(fragile.account(account.id).me(), { code: HH_ERROR_CODES.unavailable });
    const before = h.running.sim.requests().length;
    await t.rejects(fragile.account(account.id).me(), { code: 'breaker_open', wait: true });
    t.equal(h.running.sim.requests().length, before, 'an open breaker keeps calls away from hh.ru');
    h.running.sim.clearFaults();
  },
);

t.test('the daily resume-view limit parks the work until Moscow midnight', async (t) => {
  const h = await harness(t);
  const { admin } = people(h.running);
  const account = await h.connect(admin.userId);
  h.running.sim.setManager(admin.id, { resumeViewsPerDay: 1 });
  const client = h.hh.account(account.id);
  const vacancy = [...h.running.sim.store.vacancies.values()].find((v) => v.managerId === admin.id)!;
  const [a, b] = [
    h.running.sim.respond({ vacancyId: vacancy.id }),
    h.running.sim.respond({ vacancyId: vacancy.id }),
  ];
  const first = await client.negotiation(a.id);
  const resume = await client.resume(first.resume!.url);
  t.equal(resume.id, a.resumeId);
  const second = await client.negotiation(b.id);
  const err = await client.resume(second.resume!.url).catch((e: unknown) => e);
  t.type(err, HhViewLimitExceeded);
  t.match(err, { code: HH_ERROR_CODES.viewLimit, wait: true });
  t.equal(
    (err as HhViewLimitExceeded).resetsAt.getTime(),
    nextMoscowMidnight().getTime(),
    'resets at the next Moscow midnight',
  );
  t.ok((err as HhViewLimitExceeded).retryAfterMs! > 0);
  const limits = await client.resumeLimits();
  t.same(limits.left.resume_view, 0, 'limits/resume shows nothing left');
  t.equal((await client.methodAccess()).items.find((i) => i.id === '1')!.access.has_access, true);
});

t.test(
  'vacancies of every visible manager: an admin sees all, a manager their own (and granted ones)',
  async (t) => {
    const h = await harness(t);
    const { admin, granted, owner, plain, paid } = people(h.running);
    const store = h.running.sim.store;
    const ids = (list: Array<{ id: string }>) => list.map((v) => v.id).sort();
    const active = store.vacanciesByEmployer.get(paid.id)!.filter((v) => !v.archived);
    const forAdmin = await h.hh.account((await h.connect(admin.userId)).id).visibleVacancies();
    t.same(ids(forAdmin), ids(active), `the admin sees all ${active.length} vacancies`);
    const forPlain = await h.hh.account((await h.connect(plain.userId)).id).visibleVacancies();
    t.same(ids(forPlain), ids(active.filter((v) => v.managerId === plain.id)), 'a manager sees their own');
    const forGranted = await h.hh.account((await h.connect(granted.userId)).id).visibleVacancies();
    t.same(
      ids(forGranted),
      ids(active.filter((v) => v.managerId === granted.id || v.managerId === owner.id)),
      'a granted manager also sees the granting manager’s',
    );
    t.ok(
      forAdmin.every((v) => typeof v.counters.unread_responses === 'number'),
      'with counters',
    );
  },
);

t.test('all negotiations of a vacancy across collections and pages, once each', async (t) => {
  const h = await harness(t);
  const { admin } = people(h.running);
  const account = await h.connect(admin.userId);
  const sim = h.running.sim;
  const vacancy = [...sim.store.vacancies.values()].find((v) => v.managerId === admin.id)!;
  for (let i = 0; i < 60; i++) sim.respond({ vacancyId: vacancy.id });
  const moved = sim.respond({ vacancyId: vacancy.id });
  sim.move(moved.id, 'interview');
  const all = await h.hh.account(account.id).allNegotiations(vacancy.id);
  const expected = sim.store.negotiationsByVacancy
    .get(vacancy.id)!
    .map((n) => n.id)
    .sort();
  t.same(all.map((n) => n.id).sort(), expected, `${expected.length} negotiations, none missing, none twice`);
  t.ok(
    sim.requests({ path: '/negotiations/response' }).filter((r) => r.query.includes('page=1')).length === 1,
    'the response collection was paged (more than 50)',
  );
});

t.test('one negotiation, its resume and PDF; actions; typed errors', async (t) => {
  const h = await harness(t);
  const { admin, plain, unpaidAdmin } = people(h.running);
  const sim = h.running.sim;
  const account = await h.connect(admin.userId);
  const client = h.hh.account(account.id);
  const vacancy = [...sim.store.vacancies.values()].find((v) => v.managerId === admin.id)!;
  const n = sim.respond({ vacancyId: vacancy.id });
  const item = await client.negotiation(n.id);
  t.equal(item.employer_state.id, 'response');
  const resume = await client.resume(item.resume!.url);
  t.ok(
    resume.contact.some(
      (c) =>
        c.type.id === 'cell' &&
        typeof c.value === 'object' &&
        c.value !== null &&
        /^\+7 \(\d{3}\) \d{3}-\d{2}-\d{2}$/.test(c.value.formatted),
    ),
    'a mobile phone in hh’s shape',
  );
  const pdf = await client.resumePdf(item.resume!.actions.download.pdf.url, whole);
  t.equal(pdf.subarray(0, 5).toString(), '%PDF-', 'PDF bytes');
  const action = item.actions.find((a) => a.id === 'interview')!;
  await client.act(action, { message: 'Приглашаем на интервью' });
  t.match(sim.events().at(-1), {
    type: 'negotiation.moved',
    negotiationId: n.id,
    to: 'interview',
    message: 'Приглашаем на интервью',
    applicantState: 'invitation',
  });
  await t.rejects(client.act(action), { code: 'hh_negotiations_wrong_state', retryable: false });
  await t.rejects(client.negotiation('1'), { code: 'hh_negotiations_topic_not_found' });
  await t.rejects(client.collections('999'), { code: HH_ERROR_CODES.notFound });
  await t.rejects(client.resume(`${h.running.url.replace('127.0.0.1', 'localhost')}/resumes/x`), {
    code: HH_ERROR_CODES.untrustedUrl,
  });
  const plainClient = h.hh.account((await h.connect(plain.userId)).id);
  await t.rejects(plainClient.act({ actionId: 'consider', negotiationId: n.id }), {
    code: 'hh_negotiations_invalid_vacancy',
  });
  const unpaid = h.hh.account((await h.connect(unpaidAdmin.userId)).id);
  const unpaidVacancy = [...sim.store.vacancies.values()].find((v) => v.managerId === unpaidAdmin.id)!;
  const collections = await unpaid.collections(unpaidVacancy.id);
  await t.rejects(unpaid.collectionPage(collections.collections[0]!.url, 0), {
    code: HH_ERROR_CODES.paymentRequired,
  });
  const err = await client
    .collectionPage(item.url.replace(/\/\d+$/, '/response'), 0, 51)
    .catch((e: unknown) => e);
  t.type(err, HhError);
  t.match(err, { code: HH_ERROR_CODES.badArgument });
});

t.test('webhook subscriptions: create, list, replace the actions, ensure, delete', async (t) => {
  const h = await harness(t);
  const { admin } = people(h.running);
  const client = h.hh.account((await h.connect(admin.userId)).id);
  t.same(await client.webhookSubscriptions(), []);
  const id = await client.subscribe('http://127.0.0.1:9/hh/hook/secret', [
    { type: 'NEW_RESPONSE_OR_INVITATION_VACANCY' },
  ]);
  await t.rejects(client.subscribe('http://127.0.0.1:9/other', [{ type: 'NEW_NEGOTIATION_VACANCY' }]), {
    code: HH_ERROR_CODES.subscriptionExists,
  });
  await client.updateSubscription(id, { actions: [{ type: 'NEGOTIATION_EMPLOYER_STATE_CHANGE' }] });
  t.same(
    (await client.webhookSubscriptions()).map((s) => s.actions.map((a) => a.type)),
    [['NEGOTIATION_EMPLOYER_STATE_CHANGE']],
    'PUT replaced the whole list',
  );
  const wanted = [
    { type: 'NEW_RESPONSE_OR_INVITATION_VACANCY' },
    { type: 'NEGOTIATION_EMPLOYER_STATE_CHANGE' },
  ];
  t.same(await client.ensureSubscription('http://127.0.0.1:9/hh/hook/secret', wanted), { id, changed: true });
  t.same(
    await client.ensureSubscription('http://127.0.0.1:9/hh/hook/secret', wanted),
    { id, changed: false },
    'nothing to change the second time',
  );
  await client.deleteSubscription(id);
  await t.rejects(client.deleteSubscription(id), { code: HH_ERROR_CODES.notFound });
});

t.test(
  'every body the client sends is in the media type hh.ru’s spec gives; a download asks for a PDF',
  async (t) => {
    const h = await harness(t);
    const { admin } = people(h.running);
    const sim = h.running.sim;
    const account = await h.connect(admin.userId);
    const client = h.hh.account(account.id);
    sim.expireAccessTokens(admin.userId);
    await client.me(); // refreshes first: POST /token
    await client.visibleVacancies();
    await client.methodAccess();
    await client.resumeLimits();
    const vacancy = [...sim.store.vacancies.values()].find((v) => v.managerId === admin.id)!;
    const [a, b] = [sim.respond({ vacancyId: vacancy.id }), sim.respond({ vacancyId: vacancy.id })];
    const { collections } = await client.collections(vacancy.id);
    await client.collectionPage(collections[0]!.url, 0);
    const item = await client.negotiation(a.id);
    await client.messages(item);
    await client.resume(item.resume!.url);
    await client.resumePdf(item.resume!.actions.download.pdf.url, whole);
    await client.act(
      item.actions.find((x) => x.id === 'interview')!,
      { message: 'Ждём вас', send_sms: true },
    );
    await client.act({ actionId: 'discard_by_employer', negotiationId: b.id }, { message: 'Спасибо' });
    const id = await client.subscribe('http://127.0.0.1:9/hh/hook/x', [{ type: 'NEW_NEGOTIATION_VACANCY' }]);
    await client.updateSubscription(id, { actions: [{ type: 'NEGOTIATION_EMPLOYER_STATE_CHANGE' }] });
    await client.deleteSubscription(id);
    await client.revoke();

    // The request body media types of hh.ru's OpenAPI spec (test/sim/hh/spec/hh-openapi.yaml):
    // `authorize` (the token endpoint) and the actions (change-negotiation-action, whose text says
    // the arguments are application/x-www-form-urlencoded) take forms; the webhook subscription
    // operations take JSON; every other call the client makes has no body.
    const FORM = 'application/x-www-form-urlencoded';
    const expected: Record<string, string> = {
      'POST /token': FORM,
      'PUT /negotiations/:action/:nid': FORM,
      'POST /webhook/subscriptions': 'application/json',
      'PUT /webhook/subscriptions/:id': 'application/json',
    };
    const seen = sim.requests().map((r) => ({
      call: `${r.method} ${r.route}`,
      status: r.status,
      contentType: r.contentType,
      accept: r.accept,
      path: r.path,
    }));
    t.same(
      seen.filter((r) => r.status >= 400).map((r) => `${r.call} ${r.status}`),
      ['GET /me 403'],
      'hh.ru understood every call but the one with the expired token (then refreshed)',
    );
    t.same(
      seen.filter((r) => r.contentType !== (expected[r.call] ?? null)),
      [],
      `${seen.length} calls, each body in the spec's media type`,
    );
    t.same(
      [...new Set(seen.map((r) => r.call))].filter((c) => expected[c]).sort(),
      Object.keys(expected).sort(),
      'the calls with bodies were all made',
    );
    t.same(
      seen.filter((r) => r.path.includes('/download/')).map((r) => r.accept),
      ['application/pdf'],
      'the PDF download asks for a PDF',
    );
    t.ok(
      seen.filter((r) => !r.path.includes('/download/')).every((r) => r.accept === 'application/json'),
      'everything else asks for JSON',
    );
    t.match(
      sim.events().filter((e) => e.type === 'negotiation.moved'),
      [
        { negotiationId: a.id, to: 'interview', message: 'Ждём вас' },
        { negotiationId: b.id, to: 'discard_by_employer', message: 'Спасибо' },
      ],
    );
  },
);
