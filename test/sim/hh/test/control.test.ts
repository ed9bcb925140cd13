import t from 'tap';
import { spawnNode } from '@hhb24/common/testing';
import { call, cast, simFor } from './helpers.js';

t.test('the control API: seed, make things happen, read what happened, reset', async (t) => {
  const running = await simFor(t);
  const { url, sim } = running;
  const c = cast(running);
  const json = (path: string, body?: unknown, method?: string) =>
    call(`${url}/_sim${path}`, { json: body, method, headers: { 'hh-user-agent': '' } });
  const employer = (await json('/employers', { name: 'ООО «Тест»' })).body;
  t.match(employer, { id: String, name: 'ООО «Тест»', paidApiAccess: true });
  const manager = (
    await json('/managers', {
      employerId: employer.id,
      firstName: 'Ольга',
      lastName: 'Петрова',
      isAdmin: true,
    })
  ).body;
  const vacancy = (await json('/vacancies', { managerId: manager.id, name: 'Бухгалтер' })).body;
  const response = await json(`/vacancies/${vacancy.id}/respond`, { hidden: ['phones'] });
  t.equal(response.status, 201);
  t.match(response.body, { vacancyId: vacancy.id, initiator: 'applicant', employerState: 'response' });
  const invitation = (await json(`/vacancies/${vacancy.id}/invite`, { employerState: 'interview' })).body;
  t.match(invitation, { initiator: 'employer', employerState: 'interview', state: 'invitation' });
  t.match(
    (await json(`/negotiations/${response.body.id}/move`, { employerState: 'consider', message: 'Подумаем' }))
      .body,
    { employerState: 'consider', state: 'response' },
  );
  t.match(
    await json(`/negotiations/${response.body.id}/move`, { employerState: 'response' }),
    { status: 409 },
    'an impossible move is refused',
  );
  const written = sim.store.negotiations.get(response.body.id)!;
  const before = { messages: written.messages, unread: written.unread };
  const wrote = await json(`/negotiations/${response.body.id}/messages`, { text: 'Когда можно подъехать?' });
  t.equal(wrote.status, 201);
  t.same(
    wrote.body,
    { id: response.body.id, messages: before.messages + 1, unread: before.unread + 1 },
    'the applicant wrote: one more message, unread',
  );
  t.equal(written.applicantMessages.at(-1)!.text, 'Когда можно подъехать?');
  t.match(await json(`/negotiations/${response.body.id}/messages`, { text: '' }), {
    status: 400,
    body: { error: 'text is required' },
  });
  t.match(await json(`/negotiations/999/messages`, { text: 'x' }), { status: 404 });
  t.same(
    (await json(`/negotiations?vacancyId=${vacancy.id}`)).body.map((n: { id: string }) => n.id).sort(),
    [response.body.id, invitation.id].sort(),
  );
  const tokens = (await json(`/users/${manager.userId}/tokens`, {})).body;
  t.match(tokens, { access_token: String, refresh_token: String, expires_in: 1_209_600 });
  t.equal((await call(`${url}/me`, { token: tokens.access_token })).status, 200);
  t.match((await json(`/users/${manager.userId}/authorize`, {})).body, { code: String });
  t.same((await json(`/users/${manager.userId}/password`, {})).body, { revokedTokens: 1 });
  t.match(
    (await json('/events')).body.map((e: { type: string }) => e.type),
    [
      'vacancy.published',
      'negotiation.created',
      'negotiation.created',
      'negotiation.moved',
      'token.issued',
      'password.changed',
    ],
  );
  t.match((await json('/requests?path=/me')).body, [
    { method: 'GET', path: '/me', status: 200, userId: manager.userId },
  ]);
  t.match((await json('/settings', { accessTokenTtlSec: 5 }, 'PATCH')).body, { accessTokenTtlSec: 5 });
  t.match(
    await json('/settings', { accessTokenTtlSec: -1 }, 'PATCH'),
    { status: 400, body: { error: /positive/ } },
    'a bad setting is refused',
  );
  t.equal((await json('/faults', { kind: 'error', times: 1 })).status, 201);
  t.equal((await call(`${url}/me`, { token: sim.issueTokens(c.admin.userId).access_token })).status, 503);
  t.match((await json('/clock', { advanceMs: 86_400_000 })).body, { now: String });
  t.match((await json('/reset', { generate: { seed: 2, employers: 1, negotiations: 10 } })).body, {
    generated: { employers: [{ id: String }], negotiations: 10 },
  });
  t.match((await json('/summary')).body, { employers: 1, negotiations: 10, requests: 0, faults: [] });
  t.match(await json('/vacancies/nope/respond', {}), { status: 404, body: { error: 'no vacancy nope' } });
});

t.test(
  'the page for people lists employers, vacancies and negotiations, and «Симулировать отклик» makes a response arrive',
  async (t) => {
    const running = await simFor(t);
    const c = cast(running);
    const page = await call(`${running.url}/_sim/?employer=${c.paid.id}`);
    t.equal(page.status, 200);
    t.match(page.body, /Симулировать отклик/);
    t.match(page.body, /Последние отклики и приглашения/);
    const vacancy = running.sim.store.vacanciesByEmployer.get(c.paid.id)![0]!;
    const before = running.sim.store.negotiationsByVacancy.get(vacancy.id)!.length;
    const clicked = await call(`${running.url}/_sim/view/respond`, { form: { vacancyId: vacancy.id } });
    t.equal(clicked.status, 303);
    t.equal(
      running.sim.store.negotiationsByVacancy.get(vacancy.id)!.length,
      before + 1,
      'a new response arrived',
    );
    t.match((await call(`${running.url}${clicked.headers.get('location')}`)).body, /создан/);
  },
);

t.test('npm run sim:hh: the process prints its base URL and serves both faces', async (t) => {
  const child = spawnNode(new URL('../src/main.js', import.meta.url), {
    HH_SIM_PORT: '0',
    HH_SIM_EMPLOYERS: '2',
    HH_SIM_NEGOTIATIONS: '50',
  });
  t.teardown(() => void child.child.kill('SIGKILL'));
  const line = await child.waitForLine(/listening on/);
  const url = /(http:\/\/\S+)/.exec(line)![1]!;
  t.match((await call(`${url}/_sim/summary`)).body, { employers: 2, negotiations: 50 });
  t.equal((await call(`${url}/oauth/authorize?response_type=code&client_id=hh-b24-dev`)).status, 200);
  t.equal((await call(`${url}/me`)).status, 403);
  child.child.kill('SIGTERM');
  t.equal((await child.exited).code, 0, 'stops cleanly');
});
