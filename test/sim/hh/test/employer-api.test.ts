import t from 'tap';
import { pdfText } from './pdf-text.js';
import { call, cast, simFor } from './helpers.js';

t.test('/me, managers and visibility by rights', async (t) => {
  const running = await simFor(t);
  const { url, sim } = running;
  const c = cast(running);
  const token = (m: { userId: string }) => sim.issueTokens(m.userId).access_token;
  const me = (await call(`${url}/me`, { token: token(c.plain) })).body;
  t.match(me, {
    auth_type: 'employer',
    id: c.plain.userId,
    is_admin: false,
    is_employer: true,
    employer: { id: c.paid.id, name: c.paid.name, manager_id: c.plain.id },
    manager: { id: c.plain.id, has_admin_rights: false },
  });
  t.match(
    (await call(`${url}/me`, { token: token(c.admin) })).body.manager,
    { has_admin_rights: true },
    'the admin has company admin rights (is_admin stays false: that is an hh.ru site admin)',
  );

  const managers = (await call(`${url}/employers/${c.paid.id}/managers`, { token: token(c.plain) })).body;
  t.equal(managers.found, 4);
  const counts = Object.fromEntries(
    managers.items.map((m: { id: string; vacancies_count: number | null }) => [m.id, m.vacancies_count]),
  );
  t.equal(counts[c.plain.id], 9, 'a manager sees their own vacancy count');
  t.equal(counts[c.owner.id], null, 'and null where they may not see the vacancies');
  const adminCounts = (
    await call(`${url}/employers/${c.paid.id}/managers`, { token: token(c.admin) })
  ).body.items.map((m: { vacancies_count: number | null }) => m.vacancies_count);
  t.ok(
    adminCounts.every((n: number | null) => n === 9),
    'the admin sees every count',
  );

  const list = async (who: { userId: string }, managerId?: string) =>
    call(
      `${url}/employers/${c.paid.id}/vacancies/active?per_page=50${managerId ? `&manager_id=${managerId}` : ''}`,
      { token: token(who) },
    );
  const own = (await list(c.plain)).body;
  t.equal(own.found, 9);
  t.ok(
    own.items.every((v: { manager: { id: string } }) => v.manager.id === c.plain.id),
    'by default the current manager’s vacancies',
  );
  t.equal((await list(c.plain, c.owner.id)).status, 404, 'another manager’s without rights: 404');
  t.equal((await list(c.admin, c.owner.id)).body.found, 9, 'an admin may ask for any manager’s');
  t.equal((await list(c.granted, c.owner.id)).body.found, 9, 'a manager granted another’s vacancies may too');
  const v = own.items[0];
  t.match(v, {
    counters: {
      views: Number,
      responses: Number,
      unread_responses: Number,
      invitations: Number,
      resumes_in_progress: Number,
    },
    has_updates: Boolean,
    area: { id: String, name: String },
    url: `${url}/vacancies/${v.id}`,
  });
  const storeCounts = sim.store.negotiationsByVacancy.get(v.id)!;
  t.equal(
    v.counters.responses,
    storeCounts.filter((n) => n.initiator === 'applicant').length,
    'responses counted',
  );
  t.equal(
    v.counters.invitations,
    storeCounts.filter((n) => n.initiator === 'employer').length,
    'invitations counted',
  );
  t.equal(
    (await call(`${url}/negotiations?vacancy_id=${v.id}`, { token: token(c.owner) })).status,
    404,
    'collections of a vacancy one cannot see: 404',
  );
});

t.test('collections, paging, depth, ordering, only-new; actions and transitions', async (t) => {
  const running = await simFor(t, { settings: { negotiationDepth: 100 } });
  const { url, sim } = running;
  const c = cast(running);
  const token = sim.issueTokens(c.admin.userId).access_token;
  const vacancy = sim.addVacancy({ managerId: c.admin.id, name: 'Кладовщик' });
  const created = Array.from({ length: 75 }, () => sim.respond({ vacancyId: vacancy.id }));
  const collections = (await call(`${url}/negotiations?vacancy_id=${vacancy.id}`, { token })).body;
  t.same(
    collections.employer_states.map((s: { id: string }) => s.id),
    [
      'response',
      'consider',
      'phone_interview',
      'assessment',
      'interview',
      'offer',
      'hired',
      'discard_by_employer',
    ],
  );
  const response = collections.collections.find((x: { id: string }) => x.id === 'response');
  t.match(response, {
    name: 'Все неразобранные',
    counters: { total: 75, with_updates: 75 },
    url: `${url}/negotiations/response?vacancy_id=${vacancy.id}`,
  });
  t.same(
    response.order_types.map((o: { id: string }) => o.id),
    ['last_change_time_except_employer_inbox', 'relevance', 'created_at'],
  );

  const page = async (q: string) => call(`${response.url}&${q}`, { token });
  const p0 = (await page('per_page=50')).body;
  const p1 = (await page('per_page=50&page=1')).body;
  t.match(p0, {
    found: 75,
    pages: 2,
    page: 0,
    per_page: 50,
    ordered_by: { id: 'last_change_time_except_employer_inbox' },
  });
  t.equal(p0.items.length + p1.items.length, 75);
  t.same(
    new Set([...p0.items, ...p1.items].map((n: { id: string }) => n.id)).size,
    75,
    'pages do not overlap',
  );
  t.same((await page('per_page=20')).body.items.length, 20, 'per_page defaults to 20 when set so');
  t.match((await page('per_page=51')).body, { errors: [{ type: 'bad_argument', value: 'per_page' }] });
  const deep = (await page('per_page=50&page=2')).body;
  t.match(
    deep,
    {
      errors: [
        { type: 'bad_argument', value: 'page' },
        { type: 'bad_argument', value: 'per_page' },
      ],
      description: "you can't look up more than 100 items in the list",
    },
    'the depth limit',
  );
  t.match((await page('order_by=updated_at')).body, { errors: [{ value: 'order_by' }] });
  const byCreated = (await page('order_by=created_at&per_page=50')).body.items.map(
    (n: { created_at: string }) => n.created_at,
  );
  t.same(byCreated, [...byCreated].sort().reverse(), 'created_at: newest first');

  // Viewing a resume through the negotiation marks it viewed; show_only_new_responses then skips it.
  const first = created[0]!;
  const item = (await call(`${url}/negotiations/${first.id}`, { token })).body;
  t.match(item, {
    has_updates: true,
    employer_state: { id: 'response' },
    state: { id: 'response' },
    vacancy: { id: vacancy.id },
  });
  t.equal((await call(item.resume.url, { token })).status, 200);
  t.match((await call(`${url}/negotiations/${first.id}`, { token })).body, { has_updates: false });
  t.equal((await page('show_only_new_responses=true&per_page=50')).body.found, 74, 'only unviewed responses');
  const counters = (
    await call(`${url}/employers/${c.paid.id}/vacancies/active?per_page=50`, { token })
  ).body.items.find((v: { id: string }) => v.id === vacancy.id).counters;
  t.match(counters, { responses: 75, unread_responses: 74 }, 'unread_responses went down by one');
  await call(`${url}/resumes/${created[1]!.resumeId}`, { token });
  t.equal(
    sim.store.negotiations.get(created[1]!.id)!.viewed,
    false,
    'a resume read without topic_id does not mark the response',
  );

  // Actions: the item lists where it may go; PUT moves it; a message changes the applicant's state.
  const actions = item.actions.map((a: { id: string }) => a.id);
  t.same(actions, ['consider', 'phone_interview', 'assessment', 'interview', 'offer', 'discard_by_employer']);
  const interview = item.actions.find((a: { id: string }) => a.id === 'interview');
  t.match(interview, {
    method: 'PUT',
    url: `${url}/negotiations/interview/${first.id}`,
    resulting_employer_state: { id: 'interview', name: 'Интервью' },
  });
  t.equal(
    (await call(interview.url, { method: 'PUT', token, form: { message: 'Ждём вас во вторник' } })).status,
    204,
  );
  const moved = (await call(`${url}/negotiations/${first.id}`, { token })).body;
  t.match(moved, { employer_state: { id: 'interview' }, state: { id: 'invitation' } });
  t.equal(
    (await call(`${url}/negotiations/interview?vacancy_id=${vacancy.id}`, { token })).body.found,
    1,
    'it moved to the interview collection',
  );
  t.match((await call(interview.url, { method: 'PUT', token })).body, {
    errors: [{ type: 'negotiations', value: 'wrong_state' }],
  });
  t.equal(
    (await call(`${url}/negotiations/discard_by_employer/${created[2]!.id}`, { method: 'PUT', token }))
      .status,
    204,
    'a silent discard',
  );
  t.match(
    (await call(`${url}/negotiations/${created[2]!.id}`, { token })).body,
    { employer_state: { id: 'discard_by_employer' }, state: { id: 'response' } },
    'without a message the applicant sees no change',
  );
  t.equal(
    (
      await call(`${url}/negotiations/discard_by_employer/${created[3]!.id}`, {
        method: 'PUT',
        token,
        form: { message: 'К сожалению, …' },
      })
    ).status,
    204,
  );
  t.match((await call(`${url}/negotiations/${created[3]!.id}`, { token })).body, {
    state: { id: 'discard' },
  });
  t.match(
    (await call(`${url}/negotiations/offer/${created[4]!.id}?message=Оффер`, { method: 'PUT', token })).body,
    '',
    'arguments in the query string work too',
  );
  t.match(
    sim
      .events()
      .filter((e) => e.type === 'negotiation.moved')
      .map((e) => e.type === 'negotiation.moved' && [e.to, e.byManagerId]),
    [
      ['interview', c.admin.id],
      ['discard_by_employer', c.admin.id],
      ['discard_by_employer', c.admin.id],
      ['offer', c.admin.id],
    ],
    'the change log says what moved and who moved it',
  );

  // An invitation: started by the employer, in the employer state of the invite action.
  const invitation = sim.invite({ vacancyId: vacancy.id });
  t.match((await call(`${url}/negotiations/${invitation.id}`, { token })).body, {
    state: { id: 'invitation' },
    employer_state: { id: 'phone_interview' },
    has_updates: false,
  });
});

t.test(
  'resumes: hidden fields, contacts, tombstones, PDFs with Cyrillic, view limits, paid access',
  async (t) => {
    const running = await simFor(t);
    const { url, sim } = running;
    const c = cast(running);
    const token = sim.issueTokens(c.admin.userId).access_token;
    const vacancy = sim.addVacancy({ managerId: c.admin.id, name: 'Проектный программист' });
    const open = sim.addResume({
      firstName: 'Алексей',
      lastName: 'Малыш',
      middleName: 'Александрович',
      email: 'malysh@example.ru',
      title: 'Проектный программист',
    });
    const n = sim.respond({ vacancyId: vacancy.id, resumeId: open.id });
    const full = (await call(`${url}/resumes/${open.id}?topic_id=${n.id}`, { token })).body;
    t.match(full, {
      first_name: 'Алексей',
      last_name: 'Малыш',
      middle_name: 'Александрович',
      hidden_fields: [],
    });
    const cell = full.contact.find((x: { type: { id: string } }) => x.type.id === 'cell');
    t.match(cell, {
      type: { id: 'cell', name: 'Мобильный телефон' },
      value: {
        country: '7',
        city: /^9\d\d$/,
        number: /^\d{7}$/,
        formatted: /^\+7 \(9\d\d\) \d{3}-\d{2}-\d{2}$/,
      },
    });
    t.same(
      full.contact.find((x: { type: { id: string } }) => x.type.id === 'email'),
      { type: { id: 'email', name: 'Эл. почта' }, preferred: true, value: 'malysh@example.ru' },
      'e-mail: a string value',
    );
    const short = (await call(`${url}/negotiations/${n.id}`, { token })).body.resume;
    t.notOk('contact' in short, 'the short resume in lists carries no contacts');

    const hidden = sim.addResume({ hidden: ['names_and_photo', 'phones', 'email'] });
    const hn = sim.respond({ vacancyId: vacancy.id, resumeId: hidden.id });
    const hiddenView = (await call(`${url}/resumes/${hidden.id}?topic_id=${hn.id}`, { token })).body;
    t.match(hiddenView, { first_name: null, last_name: null, middle_name: null, photo: null });
    t.same(
      hiddenView.hidden_fields.map((f: { id: string }) => f.id),
      ['names_and_photo', 'phones', 'email'],
    );
    t.ok(
      hiddenView.contact.every((x: { value: unknown }) => x.value === null),
      'hidden phones and e-mail are nulls',
    );

    // The PDF: a real file whose text, read back through the embedded font's ToUnicode map, holds the name and contacts.
    const pdfUrl = short.actions.download.pdf.url;
    t.match(
      pdfUrl,
      new RegExp(
        `^${url}/resumes/${open.id}/download/.+\\.pdf\\?type=pdf&topic_id=${n.id}&vacancy_id=${vacancy.id}$`,
      ),
    );
    const pdf = await call(pdfUrl, { token });
    t.equal(pdf.headers.get('content-type'), 'application/pdf');
    t.equal(pdf.bytes.subarray(0, 5).toString(), '%PDF-');
    const read = pdfText(pdf.bytes);
    t.match(read.embeddedFonts, [/\+DejaVuSans/], 'a TrueType font is embedded');
    t.match(read.text, /Малыш Алексей Александрович/, 'the name renders in Cyrillic');
    t.ok(read.text.includes(cell.value.formatted), 'the phone is in it');
    t.match(read.text, /malysh@example\.ru/);
    t.notMatch(read.text, /\uFFFD/, 'every glyph maps back to a letter');
    const hiddenPdf = pdfText(
      (await call(`${url}/resumes/${hidden.id}/download/x.pdf?type=pdf&topic_id=${hn.id}`, { token })).bytes,
    ).text;
    t.match(hiddenPdf, /Соискатель скрыл ФИО/);
    t.notMatch(hiddenPdf, /\+7 \(/, 'hidden phones stay out of the PDF');
    const rtf = await call(pdfUrl.replace('.pdf?type=pdf', '.rtf?type=rtf'), { token });
    t.match(rtf.bytes.toString(), /^\{\\rtf1.*\\u1052\?/s, 'the RTF carries Cyrillic as \\u escapes');

    // A tombstone: the applicant deleted the resume.
    sim.deleteResume(open.id);
    t.equal((await call(`${url}/negotiations/${n.id}`, { token })).body.resume, null, 'resume: null');
    t.same(
      (await call(`${url}/negotiations/${n.id}`, { token })).body.actions,
      [],
      'a tombstone cannot be moved',
    );
    t.equal((await call(`${url}/resumes/${open.id}`, { token })).status, 404);
    t.equal((await call(pdfUrl, { token })).status, 404);
    t.equal(
      (await call(`${url}/negotiations/response?vacancy_id=${vacancy.id}`, { token })).body.found,
      2,
      'it stays in the list',
    );

    // Daily views per manager, per distinct resume; the next Moscow day starts over.
    const views = sim.addVacancy({ managerId: c.admin.id, name: 'Бухгалтер' });
    const three = [0, 1, 2].map(() => sim.respond({ vacancyId: views.id }));
    const limits = async () =>
      (await call(`${url}/employers/${c.paid.id}/managers/${c.admin.id}/limits/resume`, { token })).body;
    const spent = (await limits()).spend.resume_view;
    t.equal(spent, 2, 'the two resumes viewed above (views and downloads) counted once each');
    sim.setManager(c.admin.id, { resumeViewsPerDay: spent + 2 });
    const view = (i: number) =>
      call(`${url}/resumes/${three[i]!.resumeId}?topic_id=${three[i]!.id}`, { token });
    t.equal((await view(0)).status, 200);
    t.equal((await view(1)).status, 200);
    t.match(await limits(), {
      limits: { resume_view: 4 },
      spend: { resume_view: 4 },
      left: { resume_view: 0 },
    });
    const i = 2;
    const limited = await view(i);
    t.equal(limited.status, 429);
    t.match(limited.body, { errors: [{ type: 'resumes', value: 'view_limit_exceeded' }] });
    t.equal((await view(0)).status, 200, 'a resume seen today can be seen again');
    sim.clock.advance(86_400_000);
    t.equal((await view(i)).status, 200, 'a new day, new views');

    // Paid access: an employer without it gets 403 on negotiation lists and resumes.
    const unpaidToken = sim.issueTokens(c.unpaidAdmin.userId).access_token;
    const unpaidVacancy = sim.store.vacanciesByEmployer.get(c.unpaid.id)![0]!;
    const forbidden = await call(`${url}/negotiations/response?vacancy_id=${unpaidVacancy.id}`, {
      token: unpaidToken,
    });
    t.equal(forbidden.status, 403);
    t.match(forbidden.body, { errors: [{ type: 'api_access_payment', value: 'action_must_be_payed' }] });
    const access = (
      await call(`${url}/employers/${c.unpaid.id}/managers/${c.unpaidAdmin.id}/method_access`, {
        token: unpaidToken,
      })
    ).body.items;
    t.equal(
      access.find((x: { id: string }) => x.id === '1').access.has_access,
      false,
      'method_access says so',
    );
    sim.setEmployer(c.unpaid.id, { paidApiAccess: true });
    t.equal(
      (await call(`${url}/negotiations/response?vacancy_id=${unpaidVacancy.id}`, { token: unpaidToken }))
        .status,
      200,
      'until the employer pays',
    );
  },
);

t.test(
  'hh.ru reads action arguments from form bodies only: a JSON body is refused and moves nothing',
  async (t) => {
    const running = await simFor(t);
    const { url, sim } = running;
    const c = cast(running);
    const token = sim.issueTokens(c.admin.userId).access_token;
    const vacancy = sim.addVacancy({ managerId: c.admin.id, name: 'Кладовщик' });
    const [a, b] = [sim.respond({ vacancyId: vacancy.id }), sim.respond({ vacancyId: vacancy.id })];
    const state = (id: string) => sim.store.negotiations.get(id)!;

    const json = await call(`${url}/negotiations/interview/${a.id}`, {
      method: 'PUT',
      token,
      json: { message: 'Ждём вас во вторник' },
    });
    t.equal(json.status, 400, 'an action with a JSON body: 400');
    t.match(json.body, { errors: [{ type: 'bad_request' }], request_id: String });
    t.match(
      [state(a.id).employerState, state(a.id).state],
      ['response', 'response'],
      'and the negotiation did not move',
    );
    t.equal(
      (
        await call(`${url}/negotiations/interview/${a.id}`, {
          method: 'PUT',
          token,
          form: { message: 'Ждём' },
        })
      ).status,
      204,
      'the same arguments as a form move it',
    );
    t.match([state(a.id).employerState, state(a.id).state], ['interview', 'invitation']);

    const bulk = await call(`${url}/negotiations/consider`, {
      method: 'PUT',
      token,
      json: { topic_id: [b.id] },
    });
    t.match(
      [bulk.status, bulk.body.errors],
      [400, [{ type: 'bad_argument', value: 'topic_id' }]],
      'the bulk move does not read a JSON body: no topic_id',
    );
    t.equal(state(b.id).employerState, 'response');
    const read = await call(`${url}/negotiations/read`, { token, json: { topic_id: [b.id] } });
    t.match(
      [read.status, read.body.errors],
      [400, [{ type: 'bad_argument', value: 'topic_id' }]],
      'nor does «read»',
    );
    t.equal(state(b.id).viewed, false);
    t.equal(
      (await call(`${url}/negotiations/read`, { token, form: { topic_id: [b.id] } })).status,
      204,
      '«read» with a form',
    );

    // The webhook API is the other way round: its bodies are JSON (the spec's media type).
    const hook = await call(`${url}/webhook/subscriptions`, {
      token,
      form: { url: 'https://example.com/hook', actions: 'NEW_NEGOTIATION_VACANCY' },
    });
    t.match(
      [hook.status, hook.body.errors],
      [400, [{ type: 'bad_json_data', value: 'body' }]],
      'a webhook subscription from a form body: bad_json_data',
    );
  },
);

t.test('managers page by the spec’s default of 200; middle_name as the spec types it', async (t) => {
  const running = await simFor(t);
  const { url, sim } = running;
  const c = cast(running);
  const token = sim.issueTokens(c.admin.userId).access_token;
  for (let i = 0; i < 205; i++)
    sim.addManager({ employerId: c.paid.id, firstName: 'Иван', lastName: `Запасной${i}`, middleName: null });
  const first = (await call(`${url}/employers/${c.paid.id}/managers`, { token })).body;
  t.match(first, { found: 209, pages: 2, page: 0, per_page: 200 }, 'no per_page: 200 a page');
  t.equal(first.items.length, 200);
  const bare = [...sim.store.managers.values()].find((m) => m.lastName === 'Запасной0')!;
  const listed = first.items.find((m: { id: string }) => m.id === bare.id);
  t.equal(listed.middle_name, null, 'in the list a missing middle name is null (nullable there)');
  const one = (await call(`${url}/employers/${c.paid.id}/managers/${bare.id}`, { token })).body;
  t.notOk('middle_name' in one, 'one manager: a string, not nullable, not required: left out');
  const named = [...sim.store.managers.values()].find((m) => m.employerId === c.paid.id && m.middleName)!;
  t.equal(
    (await call(`${url}/employers/${c.paid.id}/managers/${named.id}`, { token })).body.middle_name,
    named.middleName,
  );
});
