/**
 * Walks every API route the simulator serves and validates each JSON answer, errors included,
 * against the schema the OpenAPI spec gives for that operation and status. An answer the spec does
 * not document fails, except the few kinds hh.ru documents outside operations (listed below).
 */
import t from 'tap';
import { loadSpec } from './openapi.js';
import { type Answer, type CallOptions, call, callWithoutUserAgent, cast, simFor } from './helpers.js';

const spec = loadSpec(new URL('../../spec/hh-openapi.yaml', import.meta.url));

/**
 * Answers no operation documents, validated against hh.ru's common schemas:
 * - 400 bad_argument on any operation (docs/reference/hh-api.md#errors) → ErrorsCommonBadArgumentErrors;
 * - 403 api_access_payment / action_must_be_payed (docs/reference/hh-api.md#the-employer-account: resume
 *   methods need paid access; the spec documents it on negotiation lists only) →
 *   ErrorsCommonBadAuthorizationCommonAndPaymentMethodError;
 * - 429 request-rate limit and 5xx (docs/reference/hh-api.md#limits: per-IP limit, body undocumented) → the
 *   common error envelope;
 * - the token endpoint's 403 `forbidden / app token refresh too early`: the spec's 403 schema is the
 *   API-error one, but hh.ru's errors.md and the spec's own 400 schema give the `error`/`error_description` body.
 */
function documentedElsewhere(operationId: string, a: Answer) {
  if (operationId === 'authorize' && a.status === 403) return spec.validator('authorize', 400);
  if (a.status === 400 && a.body?.errors?.[0]?.type === 'bad_argument')
    return spec.schema('ErrorsCommonBadArgumentErrors');
  if (a.status === 400 && a.body?.errors?.[0]?.type === 'bad_user_agent') return spec.envelope;
  if (a.status === 403 && a.body?.errors?.[0]?.type === 'api_access_payment')
    return spec.schema('ErrorsCommonBadAuthorizationCommonAndPaymentMethodError');
  if (a.status === 429 && a.body?.errors?.[0]?.type === 'too_many_requests') return spec.envelope;
  if (a.status >= 500) return spec.envelope;
  return undefined;
}

t.test('every answer of every route matches the OpenAPI spec', async (t) => {
  const running = await simFor(t);
  const { url, sim } = running;
  const c = cast(running);
  const store = sim.store;
  const checked: string[] = [];
  const failures: string[] = [];

  async function expect(
    operationId: string,
    status: number,
    path: string,
    options: CallOptions = {},
  ): Promise<Answer> {
    const a = await call(`${url}${path}`, options);
    const label = `${operationId} ${options.method ?? (options.form || options.json ? 'POST' : 'GET')} ${path} → ${a.status}`;
    if (a.status !== status)
      failures.push(`${label}: expected ${status} (${JSON.stringify(a.body).slice(0, 300)})`);
    const isJson = (a.headers.get('content-type') ?? '').includes('json');
    if (isJson) {
      const validate = documentedElsewhere(operationId, a) ?? spec.validator(operationId, a.status);
      if (!validate) failures.push(`${label}: the spec documents no JSON answer with this status`);
      else if (!validate(a.body))
        failures.push(
          `${label}: ${JSON.stringify(validate.errors?.slice(0, 12).map((e) => `${e.instancePath} ${e.message} (${e.schemaPath})`))}`,
        );
      else checked.push(label);
    } else if (
      a.status !== 204 &&
      a.status !== 201 &&
      !(a.headers.get('content-type') ?? '').startsWith('application/pdf') &&
      !(a.headers.get('content-type') ?? '').startsWith('application/rtf')
    ) {
      failures.push(`${label}: not JSON (${a.headers.get('content-type')})`);
    }
    return a;
  }

  const app = sim.settings.apps[0]!;
  const admin = sim.issueTokens(c.admin.userId).access_token;
  const plain = sim.issueTokens(c.plain.userId).access_token;
  const unpaid = sim.issueTokens(c.unpaidAdmin.userId).access_token;
  const vacancies = store.vacanciesByEmployer.get(c.paid.id)!;
  const ownerVacancy = vacancies.find(
    (v) => v.managerId === c.owner.id && store.negotiationsByVacancy.get(v.id)!.length > 3,
  )!;
  const otherEmployerVacancy = store.vacanciesByEmployer.get(c.other.id)![0]!;
  const negotiations = store.negotiationsByVacancy.get(ownerVacancy.id)!;
  const response = negotiations.find(
    (n) => n.employerState === 'response' && !store.resumes.get(n.resumeId)!.deleted,
  )!;
  const tombstone = [...store.negotiations.values()].find(
    (n) =>
      store.resumes.get(n.resumeId)!.deleted && store.vacancies.get(n.vacancyId)!.employerId === c.paid.id,
  )!;
  t.ok(response && tombstone, 'the generated data has a fresh response and a tombstone on the paid employer');

  // OAuth token endpoints (both hosts' paths), revocation.
  const code = sim.authorize({ userId: c.granted.userId });
  const form = {
    grant_type: 'authorization_code',
    client_id: app.clientId,
    client_secret: app.clientSecret,
    code,
    redirect_uri: app.redirectUri,
  };
  const pair = (await expect('authorize', 200, '/oauth/token', { form })).body;
  await expect('authorize', 400, '/token', { form }); // code reused
  await expect('authorize', 400, '/token', { form: { ...form, code: 'nope' } });
  await expect('authorize', 400, '/token', { form: { ...form, client_secret: 'wrong' } });
  await expect('authorize', 400, '/token', { form: { grant_type: 'password' } });
  await expect('authorize', 400, '/token', { json: form }); // a JSON body is not read
  await expect('authorize', 400, '/token', {
    form: { grant_type: 'refresh_token', refresh_token: pair.refresh_token },
  }); // not expired
  sim.expireAccessTokens(c.granted.userId);
  await expect('get-current-user-info', 403, '/me', { token: pair.access_token }); // expired
  const refreshed = (
    await expect('authorize', 200, '/token', {
      form: { grant_type: 'refresh_token', refresh_token: pair.refresh_token },
    })
  ).body;
  await expect('authorize', 400, '/token', {
    form: { grant_type: 'refresh_token', refresh_token: pair.refresh_token },
  }); // reused
  await expect('authorize', 400, '/token', { form: { grant_type: 'refresh_token' } });
  const appToken = (
    await expect('authorize', 200, '/token', {
      form: { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret },
    })
  ).body.access_token;
  await expect('authorize', 403, '/token', {
    form: { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret },
  });
  await expect('invalidate-token', 204, '/oauth/token', { method: 'DELETE', token: refreshed.access_token });
  await expect('invalidate-token', 403, '/oauth/token', { method: 'DELETE', token: refreshed.access_token });
  await expect('invalidate-token', 403, '/oauth/token', { method: 'DELETE', token: appToken });

  // /me and managers.
  await expect('get-current-user-info', 200, '/me', { token: admin });
  await expect('get-current-user-info', 200, '/me', { token: appToken });
  await expect('get-current-user-info', 403, '/me', { token: 'garbage' });
  await expect('get-current-user-info', 403, '/me');
  await expect('get-employer-managers', 200, `/employers/${c.paid.id}/managers`, { token: plain });
  await expect('get-employer-managers', 404, `/employers/${c.other.id}/managers`, { token: plain });
  await expect('get-employer-managers', 400, `/employers/${c.paid.id}/managers?per_page=500`, {
    token: plain,
  });
  await expect('get-employer-managers', 403, `/employers/${c.paid.id}/managers`, { token: appToken });
  await expect('get-employer-manager', 200, `/employers/${c.paid.id}/managers/${c.owner.id}`, {
    token: admin,
  });
  const withoutMiddleName = sim.addManager({
    employerId: c.paid.id,
    firstName: 'Анна',
    lastName: 'Без-Отчества',
    middleName: null,
  });
  await expect('get-employer-manager', 200, `/employers/${c.paid.id}/managers/${withoutMiddleName.id}`, {
    token: admin,
  });
  await expect('get-employer-manager', 404, `/employers/${c.paid.id}/managers/${c.unpaidAdmin.id}`, {
    token: admin,
  });
  await expect(
    'get-employer-manager-limits',
    200,
    `/employers/${c.paid.id}/managers/${c.plain.id}/limits/resume`,
    { token: plain },
  );
  await expect(
    'get-employer-manager-limits',
    404,
    `/employers/${c.paid.id}/managers/${c.owner.id}/limits/resume`,
    { token: plain },
  );
  await expect(
    'get-payable-api-method-access',
    200,
    `/employers/${c.unpaid.id}/managers/${c.unpaidAdmin.id}/method_access`,
    { token: unpaid },
  );
  await expect(
    'get-payable-api-method-access',
    404,
    `/employers/${c.paid.id}/managers/${c.admin.id}/method_access`,
    { token: unpaid },
  );

  // Vacancies.
  await expect('get-active-vacancy-list', 200, `/employers/${c.paid.id}/vacancies/active`, { token: plain });
  await expect(
    'get-active-vacancy-list',
    200,
    `/employers/${c.paid.id}/vacancies/active?manager_id=${c.owner.id}&per_page=50&order_by=name_asc`,
    { token: admin },
  );
  await expect(
    'get-active-vacancy-list',
    404,
    `/employers/${c.paid.id}/vacancies/active?manager_id=${c.owner.id}`,
    { token: plain },
  );
  await expect('get-active-vacancy-list', 400, `/employers/${c.paid.id}/vacancies/active?per_page=51`, {
    token: plain,
  });
  await expect('get-active-vacancy-list', 400, `/employers/${c.paid.id}/vacancies/active?order_by=salary`, {
    token: plain,
  });

  // Negotiations: collections, lists, items.
  await expect('get-negotiations', 200, `/negotiations?vacancy_id=${ownerVacancy.id}`, { token: admin });
  await expect('get-negotiations', 400, '/negotiations', { token: admin });
  await expect('get-negotiations', 404, `/negotiations?vacancy_id=${ownerVacancy.id}`, { token: plain });
  await expect('get-negotiations', 403, `/negotiations?vacancy_id=${ownerVacancy.id}`, { token: appToken });
  for (const collection of ['response', 'consider', 'phone_interview', 'interview', 'discard_by_employer']) {
    await expect(
      'get-collection-negotiations-list',
      200,
      `/negotiations/${collection}?vacancy_id=${ownerVacancy.id}&per_page=50`,
      { token: admin },
    );
  }
  await expect(
    'get-collection-negotiations-list',
    200,
    `/negotiations/response?vacancy_id=${tombstone.vacancyId}&per_page=50&order_by=created_at`,
    { token: admin },
  );
  await expect(
    'get-collection-negotiations-list',
    400,
    `/negotiations/response?vacancy_id=${ownerVacancy.id}&per_page=51`,
    { token: admin },
  );
  await expect(
    'get-collection-negotiations-list',
    400,
    `/negotiations/response?vacancy_id=${ownerVacancy.id}&order_by=updated_at`,
    { token: admin },
  );
  await expect(
    'get-collection-negotiations-list',
    400,
    `/negotiations/response?vacancy_id=${ownerVacancy.id}&page=200&per_page=50`,
    { token: admin },
  );
  await expect(
    'get-collection-negotiations-list',
    403,
    `/negotiations/response?vacancy_id=${store.vacanciesByEmployer.get(c.unpaid.id)![0]!.id}`,
    { token: unpaid },
  );
  await expect(
    'get-collection-negotiations-list',
    404,
    `/negotiations/response?vacancy_id=${ownerVacancy.id}`,
    { token: plain },
  );
  await expect('get-negotiation-item', 200, `/negotiations/${response.id}`, { token: admin });
  await expect('get-negotiation-item', 200, `/negotiations/${tombstone.id}`, { token: admin });
  await expect('get-negotiation-item', 404, `/negotiations/${response.id}`, { token: plain });

  const invitation =
    negotiations.find((n) => n.initiator === 'employer') ?? sim.invite({ vacancyId: ownerVacancy.id });
  const messages = await expect('get-negotiation-messages', 200, `/negotiations/${invitation.id}/messages`, {
    token: admin,
  });
  t.equal(
    messages.body.items[0]?.author.participant_type,
    'employer',
    "an invitation opens with the employer's message",
  );
  const letters = await expect(
    'get-negotiation-messages',
    200,
    `/negotiations/${response.id}/messages?per_page=5`,
    { token: admin },
  );
  t.equal(
    letters.body.items[0]?.author.participant_type,
    'applicant',
    "a response opens with the applicant's letter",
  );
  await expect('get-negotiation-messages', 400, `/negotiations/${response.id}/messages?per_page=500`, {
    token: admin,
  });

  // Resumes: the full view through the negotiation's URL, hidden fields, tombstones, limits, paid access.
  const item = (await call(`${url}/negotiations/${response.id}`, { token: admin })).body;
  await expect('get-resume', 200, new URL(item.resume.url).pathname + new URL(item.resume.url).search, {
    token: admin,
  });
  const hidden = [...store.negotiations.values()].find(
    (n) =>
      store.resumes.get(n.resumeId)!.hidden.length > 0 &&
      !store.resumes.get(n.resumeId)!.deleted &&
      store.vacancies.get(n.vacancyId)!.employerId === c.paid.id,
  )!;
  await expect('get-resume', 200, `/resumes/${hidden.resumeId}?topic_id=${hidden.id}`, { token: admin });
  await expect('get-resume', 404, `/resumes/${tombstone.resumeId}`, { token: admin });
  await expect(
    'get-resume',
    403,
    `/resumes/${store.negotiationsByVacancy.get(store.vacanciesByEmployer.get(c.unpaid.id)![0]!.id)![0]!.resumeId}`,
    { token: unpaid },
  );
  await expect('get-resume', 403, `/resumes/${response.resumeId}`, { token: appToken });
  const pdf = new URL(item.resume.actions.download.pdf.url);
  await expect('get-resume', 200, pdf.pathname + pdf.search, { token: admin });
  await expect(
    'get-resume',
    200,
    pdf.pathname.replace(/\.pdf$/, '.rtf') + pdf.search.replace('type=pdf', 'type=rtf'),
    { token: admin },
  );
  await expect('get-resume', 404, `/resumes/${tombstone.resumeId}/download/x.pdf?type=pdf`, { token: admin });
  sim.setManager(c.admin.id, { resumeViewsPerDay: 1 });
  await expect(
    'get-resume',
    429,
    `/resumes/${hidden.resumeId === response.resumeId ? tombstone.resumeId : negotiations.find((n) => n.resumeId !== response.resumeId && !store.resumes.get(n.resumeId)!.deleted)!.resumeId}`,
    { token: admin },
  );
  await expect(
    'get-resume',
    429,
    pdf.pathname.replace(
      response.resumeId,
      negotiations.find((n) => n.resumeId !== response.resumeId && !store.resumes.get(n.resumeId)!.deleted)!
        .resumeId,
    ),
    { token: admin },
  );

  // Actions, the bulk move, read marks.
  await expect('change-negotiation-action', 204, `/negotiations/consider/${response.id}`, {
    method: 'PUT',
    token: admin,
    form: { message: 'Спасибо, мы подумаем' },
  });
  await expect('change-negotiation-action', 403, `/negotiations/consider/${response.id}`, {
    method: 'PUT',
    token: admin,
  });
  await expect('change-negotiation-action', 400, `/negotiations/interview/${response.id}`, {
    method: 'PUT',
    token: admin,
    form: { send_sms: 'true' },
  });
  await expect('change-negotiation-action', 403, `/negotiations/consider/${tombstone.id}`, {
    method: 'PUT',
    token: admin,
  });
  await expect('change-negotiation-action', 403, `/negotiations/interview/${response.id}`, {
    method: 'PUT',
    token: plain,
  });
  await expect('change-negotiation-action', 400, `/negotiations/interview/${response.id}`, {
    method: 'PUT',
    token: admin,
    json: { message: 'JSON is not read here' },
  });
  await expect('change-negotiation-action', 404, `/negotiations/interview/999`, {
    method: 'PUT',
    token: admin,
  });
  const fresh = sim.respond({ vacancyId: ownerVacancy.id });
  await expect('put-negotiations-collection-to-next-state', 204, '/negotiations/consider', {
    method: 'PUT',
    token: admin,
    form: { topic_id: [fresh.id] },
  });
  await expect('put-negotiations-collection-to-next-state', 403, '/negotiations/consider', {
    method: 'PUT',
    token: admin,
    form: { topic_id: [store.negotiationsByVacancy.get(otherEmployerVacancy.id)![0]!.id] },
  });
  await expect('put-negotiations-collection-to-next-state', 400, '/negotiations/consider', {
    method: 'PUT',
    token: admin,
    form: {},
  });
  await expect('put-negotiations-collection-to-next-state', 400, '/negotiations/consider', {
    method: 'PUT',
    token: admin,
    json: { topic_id: [fresh.id] },
  });
  await expect('post-negotiations-topics-read', 204, '/negotiations/read', {
    token: admin,
    form: { topic_id: response.id },
  });
  await expect('post-negotiations-topics-read', 404, '/negotiations/read', {
    token: plain,
    form: { topic_id: response.id },
  });
  await expect('post-negotiations-topics-read', 400, '/negotiations/read', { token: plain, form: {} });
  await expect('post-negotiations-topics-read', 400, '/negotiations/read', {
    token: plain,
    json: { topic_id: response.id },
  });

  // Webhook subscriptions.
  await expect('get-webhook-subscriptions', 200, '/webhook/subscriptions', { token: admin });
  const created = await expect('post-webhook-subscription', 201, '/webhook/subscriptions', {
    token: admin,
    json: {
      url: 'http://127.0.0.1:9/hook',
      actions: [{ type: 'NEW_NEGOTIATION_VACANCY', settings: { vacancies_only_mine: false } }],
    },
  });
  const sub = sim.webhooks.of(c.admin.userId, app.clientId)!.id;
  t.equal(created.body.id, sub, 'POST answers 201 with the id');
  await expect('post-webhook-subscription', 400, '/webhook/subscriptions', {
    token: admin,
    json: { url: 'http://127.0.0.1:9/other', actions: [{ type: 'NEW_NEGOTIATION_VACANCY' }] },
  });
  await expect('post-webhook-subscription', 400, '/webhook/subscriptions', {
    token: plain,
    json: { url: 'http://127.0.0.1:9/hook', actions: [] },
  });
  await expect('post-webhook-subscription', 400, '/webhook/subscriptions', {
    token: plain,
    json: { url: 'not a url', actions: [{ type: 'NEW_NEGOTIATION_VACANCY' }] },
  });
  await expect('post-webhook-subscription', 403, '/webhook/subscriptions', {
    token: appToken,
    json: { url: 'http://127.0.0.1:9/hook', actions: [{ type: 'NEW_NEGOTIATION_VACANCY' }] },
  });
  await expect('get-webhook-subscriptions', 200, '/webhook/subscriptions', { token: admin });
  await expect('get-webhook-subscriptions', 403, '/webhook/subscriptions', { token: appToken });
  await expect('change-webhook-subscription', 204, `/webhook/subscriptions/${sub}`, {
    method: 'PUT',
    token: admin,
    json: {
      actions: [
        { type: 'NEW_RESPONSE_OR_INVITATION_VACANCY' },
        { type: 'NEGOTIATION_EMPLOYER_STATE_CHANGE' },
      ],
    },
  });
  await expect('change-webhook-subscription', 400, `/webhook/subscriptions/${sub}`, {
    method: 'PUT',
    token: admin,
    json: { actions: [{ type: 'CHAT_CREATED' }] },
  });
  await expect('change-webhook-subscription', 404, `/webhook/subscriptions/${sub}`, {
    method: 'PUT',
    token: plain,
    json: { actions: [{ type: 'VACANCY_CHANGE' }] },
  });
  await expect('change-webhook-subscription', 403, `/webhook/subscriptions/${sub}`, {
    method: 'PUT',
    token: appToken,
    json: { actions: [{ type: 'VACANCY_CHANGE' }] },
  });
  await expect('cancel-webhook-subscription', 404, `/webhook/subscriptions/${sub}`, {
    method: 'DELETE',
    token: plain,
  });
  await expect('cancel-webhook-subscription', 204, `/webhook/subscriptions/${sub}`, {
    method: 'DELETE',
    token: admin,
  });
  await expect('cancel-webhook-subscription', 403, `/webhook/subscriptions/${sub}`, {
    method: 'DELETE',
    token: appToken,
  });

  // Answers hh.ru documents outside the operations: User-Agent, rate limit, server errors.
  const noUa = await callWithoutUserAgent(`${url}/me`);
  t.equal(noUa.status, 400);
  t.same(
    noUa.body.errors,
    [{ type: 'bad_user_agent', value: 'unset' }],
    'no User-Agent: 400 bad_user_agent/unset',
  );
  t.ok(spec.envelope(noUa.body), 'in the common error envelope');
  sim.addFault({ kind: 'rate_limit', times: 1 });
  await expect('get-current-user-info', 429, '/me', { token: admin });
  sim.addFault({ kind: 'error', times: 1, status: 503 });
  await expect('get-current-user-info', 503, '/me', { token: admin });
  sim.addFault({ kind: 'error', times: 1, status: 502, match: '/negotiations' });
  await expect('get-negotiations', 502, `/negotiations?vacancy_id=${ownerVacancy.id}`, { token: admin });

  t.same(failures, [], `${checked.length} answers matched the spec`);

  // Every API route the simulator serves was walked.
  const walked = new Set(sim.requests().map((r) => `${r.method} ${r.route}`));
  const missed = sim.context.apiRoutes
    .filter((r) => !walked.has(`${r.method} ${r.url}`))
    .map((r) => `${r.method} ${r.url}`);
  t.same(missed, [], `all ${sim.context.apiRoutes.length} API routes were called`);
});
