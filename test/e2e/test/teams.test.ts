/**
 * Teams (issue «several hh.ru logins, routing by the vacancy's manager, per-vacancy rules»): the
 * responsible for a response is the portal user mapped to the hh.ru manager of its vacancy. Three
 * managers of one employer: one proposed by name and kept, one proposed by name and changed by
 * the admin, one mapped to nobody (the default responsible). Every deal of the import carries its
 * manager's user; a vacancy handed to another manager on hh.ru sends its next response to that
 * manager's user while the deals already made keep theirs. The real settings, hh-connector and
 * crm-writer behind the gateway, against both simulators.
 */
import t from 'tap';
import { rpc } from '@hhb24/common';
import { parseSettings, saveSettings } from '@hhb24/settings';
import { eventually } from '@hhb24/common/testing';
import {
  type Stack,
  browser,
  framePost,
  installAndConnect,
  screenshot,
  sessionOf,
  startStack,
  workers,
} from './stack.js';

/** A request of the app page (htmx): the session in its header, a form body on a POST. */
async function ui(
  stack: Stack,
  token: string,
  method: 'GET' | 'POST',
  route: string,
  form: Record<string, string | string[]> = {},
): Promise<{ status: number; html: string }> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
  const res = await fetch(
    `${stack.gatewayUrl}/ui/${route}${method === 'GET' && body.size > 0 ? `?${body}` : ''}`,
    {
      method,
      headers: {
        'x-hhb24-session': token,
        ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(method === 'POST' ? { body } : {}),
    },
  );
  return { status: res.status, html: await res.text() };
}

/** Each row of «Ответственные по менеджерам hh.ru»: the manager, the user selected, how it was proposed. */
function rowsOf(html: string): Map<string, { userId: string; proposed: boolean }> {
  const rows = new Map<string, { userId: string; proposed: boolean }>();
  for (const m of html.matchAll(/<tr data-testid="manager-row" data-manager="([^"]+)">([\s\S]*?)<\/tr>/g)) {
    const selected = /<option value="(\d*)" selected/.exec(m[2]!)?.[1] ?? '';
    rows.set(m[1]!, { userId: selected, proposed: m[2]!.includes('data-testid="proposed"') });
  }
  return rows;
}

t.test(
  'three managers, three routes: each deal goes to its vacancy manager’s user; a vacancy handed over routes its next response to the new user',
  { timeout: 300_000 },
  async (t) => {
    const stack = await startStack(t, {
      hh: 'real',
      build: workers('hh-connector', 'crm-writer'),
      generate: {
        seed: 21,
        employers: 1,
        unpaidEmployers: 0,
        managersPerEmployer: 3,
        vacanciesPerManager: 1,
        negotiations: 9,
        heavyApplicantResponses: 0,
        tombstones: 0,
      },
    });
    const { sim } = stack.b24;
    const hh = stack.hh.sim;
    const settingsRuntime = stack.services[0]!.runtime;
    const db = settingsRuntime.db;

    const portal = sim.createPortal({ name: 'team', lang: 'ru' });
    await sim.install(portal.memberId);
    const page = await framePost(stack, 'team', '/b24/install');
    const admin = sessionOf(page.html);
    const run = await fetch(`${stack.gatewayUrl}/ui/install/run`, {
      method: 'POST',
      headers: { 'x-hhb24-session': admin },
    });
    t.match(await run.text(), /data-install-complete/, 'installed');
    sim.finishInstall(portal.memberId);
    const memberId = portal.memberId;

    const [lead, second, third] = [...hh.store.managers.values()];
    t.ok(lead!.isAdmin && second && third, 'one employer, its admin and two managers');
    // The portal's people: the admin's and the second manager's namesakes, and one more user.
    const leadUser = sim.addUser(memberId, { NAME: lead!.firstName, LAST_NAME: lead!.lastName });
    const secondUser = sim.addUser(memberId, { NAME: second!.firstName, LAST_NAME: second!.lastName });
    const chosenUser = sim.addUser(memberId, { NAME: 'Ольга', LAST_NAME: 'Выбранная' });

    await settingsRuntime.call(
      rpc.hhConnect,
      { memberId, userId: 1, code: hh.authorize({ userId: lead!.userId }) },
      { timeoutMs: 30_000 },
    );
    const pipeline = sim.addPipeline(memberId, 'Подбор');
    const warehouse = sim.addPipeline(memberId, 'Склад');
    const saved = await ui(stack, admin, 'POST', 'settings/save', {
      responsibleUserId: '1',
      entityType: 'deal',
      categoryId: String(pipeline.id),
      stageForResponse: `C${pipeline.id}:NEW`,
      stageForInvitation: `C${pipeline.id}:PREPARATION`,
      action: 'save',
    });
    t.equal(saved.status, 200, 'settings saved');

    // The tabs draw the managers and vacancies hh-connector kept when the login was made: from
    // here to the import, no page asks hh.ru for either list.
    const listings = () =>
      hh.requests().filter((r) => /^\/employers\/[^/]+\/(managers|vacancies\/active)$/.test(r.path)).length;
    t.ok(listings() > 0, 'the login read the lists');
    const listedAtLogin = listings();
    t.same(
      (await db('hh_managers').where({ member_id: memberId }).pluck('manager_id')).sort(),
      [lead!.id, second!.id, third!.id].sort(),
      'hh-connector keeps the employer’s three managers',
    );

    // «Настройки» proposes a user for each manager it can: the same name (this portal shows no e-mails).
    const tab = await ui(stack, admin, 'GET', 'tab/settings');
    t.match(tab.html, /data-testid="manager-users"/, 'the managers table is on «Настройки»');
    const proposed = rowsOf(tab.html);
    t.same(
      Object.fromEntries(proposed),
      {
        [lead!.id]: { userId: String(leadUser.ID), proposed: true },
        [second!.id]: { userId: String(secondUser.ID), proposed: true },
        [third!.id]: { userId: '', proposed: false },
      },
      'proposals by name; nobody for the third manager',
    );
    t.equal(
      await db('portal_manager_users')
        .where({ member_id: memberId })
        .count<{ n: string }[]>('* as n')
        .then((r) => Number(r[0]!.n)),
      0,
      'a proposal is only shown until it is saved',
    );

    // The admin keeps the second manager's proposal, picks another user for the first (the row's
    // search finds her) and leaves the third to the default responsible.
    const found = await ui(stack, admin, 'GET', 'settings/manager-users', {
      userQuery: 'Выбранная',
      mapUser: '',
    });
    t.match(found.html, new RegExp(`<option value="${chosenUser.ID}"`), 'the row’s search finds the user');
    t.match(found.html, /data-testid="manager-user-default"/, 'with «Ответственный по умолчанию» first');
    const employerId = lead!.employerId;
    const mapped = await ui(stack, admin, 'POST', 'settings/managers', {
      mapKey: [`${employerId}:${lead!.id}`, `${employerId}:${second!.id}`, `${employerId}:${third!.id}`],
      mapUser: [String(chosenUser.ID), String(secondUser.ID), ''],
    });
    t.equal(mapped.status, 200);
    t.match(mapped.html, /Соответствие сохранено/, 'saved');
    t.same(
      Object.fromEntries(rowsOf(mapped.html)),
      {
        [lead!.id]: { userId: String(chosenUser.ID), proposed: false },
        [second!.id]: { userId: String(secondUser.ID), proposed: false },
        [third!.id]: { userId: '', proposed: false },
      },
      'the table shows what was saved',
    );
    const refused = await ui(stack, admin, 'POST', 'settings/managers', {
      mapKey: `${employerId}:${lead!.id}`,
      mapUser: '999',
    });
    t.match(refused.html, /data-testid="manager-error"/, 'a user the portal lacks is refused');
    const forged = await ui(stack, admin, 'POST', 'settings/managers', {
      mapKey: `${employerId}:1`,
      mapUser: '1',
    });
    t.equal(forged.status, 400, 'a manager hh.ru does not list is refused');
    const employee = sessionOf((await framePost(stack, 'team', '/b24/app', { userId: 2 })).html);
    t.equal(
      (
        await ui(stack, employee, 'POST', 'settings/managers', {
          mapKey: `${employerId}:${lead!.id}`,
          mapUser: '2',
        })
      ).status,
      403,
      'an employee who is no admin may not change it',
    );

    const userOf: Record<string, number> = {
      [lead!.id]: chosenUser.ID,
      [second!.id]: secondUser.ID,
      [third!.id]: 1,
    };
    const vacancyManager = (negotiationId: string) =>
      hh.store.vacancies.get(hh.store.negotiations.get(negotiationId)!.vacancyId)!.managerId;

    // «Вакансии»: the second manager's vacancy goes to a pipeline of its own, by a rule for it.
    const ruled = [...hh.store.vacancies.values()].find((v) => v.managerId === second!.id)!;
    const vacanciesTab = await ui(stack, admin, 'GET', 'tab/vacancies');
    t.equal(vacanciesTab.status, 200);
    t.match(vacanciesTab.html, /data-testid="rules-none"/, 'no rules yet');
    const ruleAdded = await ui(stack, admin, 'POST', 'vacancies/rules', {
      match: 'vacancy',
      vacancyId: ruled.id,
      entityType: 'deal',
      categoryId: String(warehouse.id),
      stageForResponse: `C${warehouse.id}:PREPARATION`,
      stageForInvitation: `C${warehouse.id}:EXECUTING`,
      ruleUserId: '',
    });
    t.equal(ruleAdded.status, 200);
    t.match(ruleAdded.html, /Правило добавлено/, 'the rule is added');
    t.match(ruleAdded.html, new RegExp(`data-testid="rule-label">Вакансия «${ruled.name}»`));
    const wrongStage = await ui(stack, admin, 'POST', 'vacancies/rules', {
      match: 'name',
      nameText: 'склад',
      entityType: 'deal',
      categoryId: String(warehouse.id),
      stageForResponse: `C${pipeline.id}:NEW`,
      stageForInvitation: `C${warehouse.id}:EXECUTING`,
    });
    t.match(wrongStage.html, /Проверьте правило/, 'a stage of another pipeline is refused');
    t.equal(
      (
        await ui(stack, employee, 'POST', 'vacancies/rules', {
          match: 'name',
          nameText: 'x',
          entityType: 'lead',
          stageForResponse: 'NEW',
          stageForInvitation: 'IN_PROCESS',
        })
      ).status,
      403,
      'an employee who is no admin may not add a rule',
    );

    t.equal(listings(), listedAtLogin, '«Настройки» and «Вакансии» asked hh.ru for no list');

    // The import: every deal with its vacancy manager's user, in the pipeline of the settings or
    // of the rule, on the stage for its kind there.
    t.equal(
      (
        await ui(stack, admin, 'POST', 'settings/save', {
          responsibleUserId: '1',
          entityType: 'deal',
          categoryId: String(pipeline.id),
          stageForResponse: `C${pipeline.id}:NEW`,
          stageForInvitation: `C${pipeline.id}:PREPARATION`,
          action: 'import',
          firstImport: '1',
          importPeriod: 'all',
          importCollections: 'all',
          importVacancies: 'all',
        })
      ).status,
      200,
    );
    const expected = [...hh.store.negotiations.values()];
    t.equal(expected.length, 9);
    const deals = await eventually(
      () => {
        const rows = sim.entities(memberId, 'deal');
        return rows.length === expected.length ? rows : null;
      },
      { timeoutMs: 120_000, what: 'every negotiation as a deal' },
    );
    for (const d of deals) {
      const manager = vacancyManager(String(d['ORIGIN_ID']));
      t.equal(
        Number(d['ASSIGNED_BY_ID']),
        userOf[manager],
        `deal ${d['ID']}: the user of manager ${manager}`,
      );
      const n = hh.store.negotiations.get(String(d['ORIGIN_ID']))!;
      const invitation = n.initiator === 'employer';
      if (n.vacancyId === ruled.id) {
        t.equal(Number(d['CATEGORY_ID']), warehouse.id, `deal ${d['ID']}: the rule's pipeline`);
        t.equal(d['STAGE_ID'], `C${warehouse.id}:${invitation ? 'EXECUTING' : 'PREPARATION'}`);
      } else {
        t.equal(Number(d['CATEGORY_ID']), pipeline.id, `deal ${d['ID']}: the settings' pipeline`);
        t.equal(d['STAGE_ID'], `C${pipeline.id}:${invitation ? 'PREPARATION' : 'NEW'}`);
      }
    }
    t.ok(
      deals.some((d) => Number(d['CATEGORY_ID']) === warehouse.id) &&
        deals.some((d) => Number(d['CATEGORY_ID']) === pipeline.id),
      'both pipelines have deals',
    );

    // «Вакансии» lists each active vacancy with its manager, its rule and its counts.
    const listed = await eventually(
      async () => {
        const html = (await ui(stack, admin, 'GET', 'tab/vacancies')).html;
        return [...html.matchAll(/data-testid="vacancy-in-crm">(\d+)</g)].reduce(
          (a, m) => a + Number(m[1]),
          0,
        ) === expected.length
          ? html
          : null;
      },
      { timeoutMs: 30_000, what: 'every negotiation counted in the CRM on «Вакансии»' },
    );
    for (const v of hh.store.vacancies.values()) {
      const row = new RegExp(`data-vacancy="${v.id}">([\\s\\S]*?)</tr>`).exec(listed)?.[1] ?? '';
      const m = hh.store.managers.get(v.managerId)!;
      const count = expected.filter((n) => n.vacancyId === v.id).length;
      t.match(row, `${m.lastName} ${m.firstName}`, `vacancy ${v.id}: its manager`);
      t.match(row, new RegExp(`data-testid="vacancy-responses">${count}<`), `vacancy ${v.id}: ${count} held`);
      t.match(
        row,
        new RegExp(`data-testid="vacancy-in-crm">${count}<`),
        `vacancy ${v.id}: ${count} in the CRM`,
      );
      t.match(
        row,
        v.id === ruled.id ? `Вакансия «${v.name}»` : 'По настройкам',
        `vacancy ${v.id}: ${v.id === ruled.id ? 'the rule' : 'the defaults'}`,
      );
    }
    t.same(
      [...new Set(deals.map((d) => Number(d['ASSIGNED_BY_ID'])))].sort((a, b) => a - b),
      [1, secondUser.ID, chosenUser.ID].sort((a, b) => a - b),
      'three managers, three users',
    );

    // The third manager's vacancy is handed to the second on hh.ru: hh.ru says VACANCY_CHANGE.
    const handed = [...hh.store.vacancies.values()].find((v) => v.managerId === third!.id)!;
    hh.moveVacancy(handed.id, second!.id);
    await eventually(
      async () =>
        (await db('hh_vacancies').where({ member_id: memberId, vacancy_id: handed.id }).first())
          ?.manager_id === second!.id || null,
      { timeoutMs: 30_000, what: 'hh-connector to read the vacancy’s new manager' },
    );
    const before = new Set(sim.entities(memberId, 'deal').map((d) => String(d['ID'])));
    const response = hh.respond({ vacancyId: handed.id });
    const fresh = await eventually(
      () => sim.entities(memberId, 'deal').find((d) => String(d['ORIGIN_ID']) === response.id) ?? null,
      { timeoutMs: 30_000, what: 'the new response as a deal' },
    );
    t.equal(
      Number(fresh['ASSIGNED_BY_ID']),
      secondUser.ID,
      'the new response goes to the new manager’s user',
    );
    t.notOk(before.has(String(fresh['ID'])), 'a new deal');
    for (const d of sim.entities(memberId, 'deal').filter((d) => before.has(String(d['ID'])))) {
      const was = deals.find((x) => x['ID'] === d['ID'])!;
      t.equal(d['ASSIGNED_BY_ID'], was['ASSIGNED_BY_ID'], `deal ${d['ID']} keeps its responsible`);
    }

    // hh.ru revokes the login (a password change): «Настройки» and «Вакансии» still draw what was
    // kept and ask hh.ru nothing; «Новые отклики», which asks hh.ru, meets the lost login and says
    // so, and then the managers' section says so too while its list stays editable.
    await eventually(
      async () => {
        const now = hh.requests().length;
        await new Promise((r) => setTimeout(r, 1500));
        return hh.requests().length === now;
      },
      { timeoutMs: 30_000, what: 'hh.ru quiet after the new response' },
    );
    hh.changePassword(lead!.userId);
    const quiet = listings();
    const settingsAfter = await ui(stack, admin, 'GET', 'tab/settings');
    t.same(
      [...rowsOf(settingsAfter.html).keys()].sort(),
      [lead!.id, second!.id, third!.id].sort(),
      '«Настройки» lists the kept managers after the password change',
    );
    const vacanciesAfter = await ui(stack, admin, 'GET', 'tab/vacancies');
    t.equal([...vacanciesAfter.html.matchAll(/data-testid="vacancy-row"/g)].length, hh.store.vacancies.size);
    t.equal(listings(), quiet, 'neither asked hh.ru');
    t.equal(
      await db('hh_accounts')
        .where({ member_id: memberId })
        .pluck('status')
        .then((s) => s.join()),
      'active',
      'so the lost login is not met there',
    );
    const checked = await ui(stack, admin, 'GET', 'tab/new-responses');
    t.match(checked.html, /hh\.ru отозвал доступ приложения/, '«Новые отклики» meets it and says so');
    const resaved = await ui(stack, admin, 'POST', 'settings/managers', {
      mapKey: [`${employerId}:${lead!.id}`, `${employerId}:${second!.id}`, `${employerId}:${third!.id}`],
      mapUser: [String(chosenUser.ID), String(secondUser.ID), String(secondUser.ID)],
    });
    t.match(resaved.html, /Соответствие сохранено/, 'the kept list is still saved');
    t.match(resaved.html, /hh\.ru отозвал доступ приложения/, 'with the login notice');
  },
);

t.test(
  'in the browser: «Ответственные по менеджерам hh.ru» proposes, a row’s search picks another user, the choice is saved',
  { timeout: 300_000 },
  async (t) => {
    const stack = await startStack(t, {
      hh: 'real',
      build: workers('hh-connector'),
      generate: {
        seed: 22,
        employers: 1,
        unpaidEmployers: 0,
        managersPerEmployer: 3,
        vacanciesPerManager: 1,
        negotiations: 3,
        heavyApplicantResponses: 0,
        tombstones: 0,
      },
    });
    const { sim } = stack.b24;
    const portal = sim.createPortal({ name: 'acme', lang: 'ru' });
    const [lead, second, third] = [...stack.hh.sim.store.managers.values()];
    const leadUser = sim.addUser(portal.memberId, {
      NAME: lead!.firstName,
      LAST_NAME: lead!.lastName,
      WORK_POSITION: 'Руководитель подбора',
    });
    const secondUser = sim.addUser(portal.memberId, {
      NAME: second!.firstName,
      LAST_NAME: second!.lastName,
      WORK_POSITION: 'Рекрутер',
    });
    // The portal's pipelines before the app reads its lists (it keeps them a minute).
    const recruiting = sim.addPipeline(portal.memberId, 'Подбор');
    const b = await browser(t);
    const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
    const app = await installAndConnect(page, stack, 'acme', 0);
    await app.locator('[data-testid=tab][data-tab=settings]').click();
    const table = app.getByTestId('manager-users');
    await table.waitFor();
    const row = (managerId: string) => app.locator(`[data-testid=manager-row][data-manager="${managerId}"]`);
    t.equal(await app.getByTestId('manager-row').count(), 3, 'a row per manager of the employer');
    t.equal(await row(lead!.id).getByTestId('manager-user').inputValue(), String(leadUser.ID));
    t.match(await row(lead!.id).getByTestId('proposed').textContent(), /совпадению имени/);
    t.equal(await row(second!.id).getByTestId('manager-user').inputValue(), String(secondUser.ID));
    t.equal(await row(third!.id).getByTestId('manager-user').inputValue(), '', 'nobody fits the third');
    t.equal(await row(third!.id).getByTestId('proposed').count(), 0);

    // The third manager's row: the search finds the user, who is chosen; the proposals are kept.
    await row(third!.id).getByTestId('manager-user-query').fill(second!.lastName);
    // The row lists the first page of the portal's users until the search answers: then only
    // «Ответственный по умолчанию» and the user found.
    await eventually(
      async () => (await row(third!.id).locator('[data-testid=manager-user] option').count()) === 2,
      { what: 'the row’s search to answer' },
    );
    await row(third!.id).getByTestId('manager-user').selectOption(String(secondUser.ID));
    await screenshot(page, '22-manager-users');
    await app.getByTestId('managers-save').click();
    await app.getByText('Соответствие сохранено. Оно применяется к новым откликам.').waitFor();
    t.equal(await row(third!.id).getByTestId('manager-user').inputValue(), String(secondUser.ID));
    t.equal(await app.getByTestId('proposed').count(), 0, 'saved: nothing is a proposal any more');
    const db = stack.services[0]!.runtime.db;
    t.same(
      (await db('portal_manager_users').where({ member_id: portal.memberId }).orderBy('manager_id'))
        .map((r: { manager_id: string; user_id: number | null }) => [r.manager_id, r.user_id])
        .sort(),
      [
        [lead!.id, leadUser.ID],
        [second!.id, secondUser.ID],
        [third!.id, secondUser.ID],
      ].sort(),
      'every row saved',
    );

    // «Вакансии»: the vacancies with their managers; a rule by words of the name, into a pipeline
    // of its own, chosen in the form (the stages follow the pipeline).
    await saveSettings(
      db,
      parseSettings(portal.memberId, {
        responsibleUserId: 1,
        entityType: 'deal',
        stageForResponse: 'NEW',
        stageForInvitation: 'PREPARATION',
      }),
      1,
    );
    await app.locator('[data-testid=tab][data-tab=vacancies]').click();
    await app.getByTestId('vacancy-list').waitFor();
    t.equal(await app.getByTestId('vacancy-row').count(), 3, 'a row per active vacancy');
    const target = [...stack.hh.sim.store.vacancies.values()].find((v) => v.managerId === third!.id)!;
    const targetRow = app.locator(`[data-testid=vacancy-row][data-vacancy="${target.id}"]`);
    t.equal(
      await targetRow.getByTestId('vacancy-manager').textContent(),
      `${third!.lastName} ${third!.firstName}`,
    );
    t.equal(await targetRow.getByTestId('vacancy-rule').textContent(), 'По настройкам');
    const words = target.name.split(' ')[0]!.toLowerCase();
    await app.getByTestId('rule-match-name').check();
    await app.getByTestId('rule-name').waitFor();
    await app.getByTestId('rule-name').fill(words);
    await app.getByTestId('rule-entity-deal').check();
    await app.getByTestId('rule-pipeline').selectOption(String(recruiting.id));
    await app
      .locator(`[data-field=stageForResponse] option[value="C${recruiting.id}:NEW"]`)
      .waitFor({ state: 'attached' });
    await app.locator('[data-field=stageForInvitation]').selectOption(`C${recruiting.id}:PREPARATION`);
    await app.getByTestId('rule-user').selectOption(String(secondUser.ID));
    await app.getByTestId('rule-save').click();
    await app.getByText('Правило добавлено. Оно применяется к новым откликам.').waitFor();
    t.equal(await app.getByTestId('rule').count(), 1);
    t.match(
      await app.getByTestId('rule').textContent(),
      new RegExp(`Название содержит «${words}» →\\s+Сделка, Подбор, ${secondUser.NAME}`),
    );
    t.equal(
      await app
        .locator(`[data-testid=vacancy-row][data-vacancy="${target.id}"] [data-testid=vacancy-rule]`)
        .textContent(),
      `Название содержит «${words}»`,
      'the vacancy shows the rule that takes it',
    );
    await screenshot(page, '23-vacancies');
    const [kept] = await db('portal_vacancy_rules').where({ member_id: portal.memberId });
    t.match(kept.rule, {
      match: 'name',
      value: words,
      entityType: 'deal',
      categoryId: recruiting.id,
      stageForResponse: `C${recruiting.id}:NEW`,
      stageForInvitation: `C${recruiting.id}:PREPARATION`,
      responsibleUserId: secondUser.ID,
    });
  },
);
