/**
 * The import and the continuous sync end to end, against both simulators: two portals (an
 * employer's admin into leads; a manager without admin rights into deals of a pipeline with the
 * extended mapping), then new responses and invitations by webhook, lost and duplicated
 * webhooks, state changes against a stage a person chose, and a portal that refuses a write until
 * its admin fixes a required field.
 */
import t from 'tap';
import { FileStore, rpc } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { checkPortal, extendedStages, visibleNegotiations } from './expect.js';
import { World } from './world.js';

t.test('import, then continuous sync, with both simulators', async (t) => {
  const world = await World.start();
  t.teardown(() => world.close());
  const { hh, b24 } = world;
  const store = hh.sim.store;
  const paid = [...store.employers.values()].find((e) => e.paidApiAccess)!;
  const [admin, , , plain] = [...store.managers.values()].filter((m) => m.employerId === paid.id);

  // Portal A: the employer's admin, leads, simple mode.
  const portalA = await world.installPortal();
  const viewA = await world.connect(portalA, admin!.userId);
  t.match(viewA, { status: 'active', isAdmin: true, employerName: paid.name }, 'the admin is connected');
  t.equal(
    hh.sim.webhooks
      .of(admin!.userId, hh.sim.settings.apps[0]!.clientId)
      ?.url.startsWith(`${world.env['PUBLIC_URL']}/hh/webhook/${viewA.accountId}.`),
    true,
    'hh.ru calls the account’s secret URL',
  );
  const settingsA = await world.saveSettings(portalA, {
    responsibleUserId: 2,
    entityType: 'lead',
    sourceId: 'WEB',
    stageForResponse: 'NEW',
    stageForInvitation: 'IN_PROCESS',
  });

  // Portal B: a manager without admin rights, deals in a pipeline of its own, extended mapping.
  const portalB = await world.installPortal();
  const pipeline = b24.sim.addPipeline(portalB, 'Подбор');
  const viewB = await world.connect(portalB, plain!.userId);
  t.match(viewB, { status: 'active', isAdmin: false }, 'the manager is connected');
  const settingsB = await world.saveSettings(portalB, {
    responsibleUserId: 3,
    entityType: 'deal',
    categoryId: pipeline.id,
    sourceId: 'CALL',
    extendedSync: true,
    stageByState: extendedStages(pipeline.id),
  });

  t.equal((await world.progress(portalA)).state, 'never', 'nothing runs before «Сохранить и начать импорт»');
  await world.requestImport(portalA);
  await world.requestImport(portalB);
  const doneA = await world.waitForImport(portalA);
  const doneB = await world.waitForImport(portalB);

  await t.test(
    'the admin’s portal: every negotiation of the employer is one lead, every field right, the PDF attached',
    async (t) => {
      const expected = visibleNegotiations(hh.sim, admin!.id);
      const r = store.resumes;
      t.ok(
        expected.some((n) => r.get(n.resumeId)!.deleted),
        'the employer has tombstones',
      );
      t.ok(
        expected.some((n) => r.get(n.resumeId)!.hidden.includes('names_and_photo')),
        'and applicants who hid their name',
      );
      t.ok(
        expected.some((n) => r.get(n.resumeId)!.hidden.includes('phones')),
        'and hidden phones',
      );
      t.ok(
        expected.some((n) => n.initiator === 'employer'),
        'and invitations',
      );
      const check = checkPortal(hh.sim, b24.sim, portalA, admin!.id, settingsA);
      t.same(
        { missing: check.missing, duplicated: check.duplicated, foreign: check.foreign, wrong: check.wrong },
        { missing: [], duplicated: [], foreign: [], wrong: [] },
        `${check.expected} negotiations, ${check.entities} leads`,
      );
      t.equal(check.entities, check.expected, 'exactly one lead each');
      t.equal(
        check.withPdf,
        expected.filter((n) => !r.get(n.resumeId)!.deleted).length,
        'every lead with a resume has its PDF',
      );
      t.match(
        doneA,
        {
          state: 'finished',
          found: expected.length,
          loaded: expected.length,
          imported: expected.length,
          failed: 0,
        },
        '«Откликов загружено» and «Лидов импортировано» say the same',
      );
      t.equal(doneA.vacanciesDone, doneA.vacanciesTotal);
    },
  );

  await t.test('one applicant with 30+ responses is one person; the card tab lists the others', async (t) => {
    const heavy = [...store.resumes.values()].find(
      (res) => (store.negotiationsByResume.get(res.id) ?? []).length >= 30,
    )!;
    const theirs = store.negotiationsByResume.get(heavy.id)!;
    t.ok(theirs.length >= 30, `${theirs.length} responses`);
    const lead = b24.sim.entities(portalA, 'lead').find((e) => e['ORIGIN_ID'] === theirs[0]!.id)!;
    const card = await world.call(rpc.hhCard, {
      memberId: portalA,
      entityType: 'lead',
      entityId: Number(lead['ID']),
    });
    t.equal(
      card?.snapshot.negotiationId,
      theirs[0]!.id,
      'the card tab finds the negotiation behind the lead',
    );
    t.equal(card?.others.length, theirs.length - 1, 'and every other response of the same person');
    t.ok(
      card?.others.every((o) => o.entity?.type === 'lead'),
      'each with its lead',
    );
    t.ok(card?.pdfAvailable);
    const file = b24.sim.file(portalA, (lead['UF_CRM_HH_RESUME'] as { id: number }).id)!;
    const pdf = await world.call(rpc.hhPdf, { memberId: portalA, negotiationId: theirs[0]!.id });
    t.equal(pdf!.size, file.content.length, 'hh-connector names the stored PDF and its size');
    const stored: Buffer[] = [];
    for await (const part of new FileStore(world.db).read(portalA, pdf!.file, pdf!.size)) stored.push(part);
    t.same(Buffer.concat(stored), file.content, 'the lead’s file is the PDF hh-connector stored');
    const resumeReads = hh.sim.requests({ path: `/resumes/${heavy.id}`, userId: admin!.userId });
    t.equal(
      resumeReads.filter((q) => !q.path.includes('/download/')).length,
      1,
      'the portal read the resume once for all of them',
    );
    t.equal(
      resumeReads.filter((q) => q.path.includes('/download/')).length,
      1,
      'and downloaded its PDF once',
    );
  });

  await t.test(
    'the manager without admin rights: only their vacancies, deals in the pipeline at the mapped stages',
    async (t) => {
      const expected = visibleNegotiations(hh.sim, plain!.id);
      t.ok(
        expected.length > 0 && expected.length < visibleNegotiations(hh.sim, admin!.id).length,
        `${expected.length} of the employer’s negotiations`,
      );
      const check = checkPortal(hh.sim, b24.sim, portalB, plain!.id, settingsB);
      t.same(
        { missing: check.missing, duplicated: check.duplicated, foreign: check.foreign, wrong: check.wrong },
        { missing: [], duplicated: [], foreign: [], wrong: [] },
      );
      t.equal(b24.sim.entities(portalB, 'lead').length, 0, 'no leads');
      t.match(doneB, { state: 'finished', imported: expected.length });
    },
  );

  const dealOf = (negotiationId: string) =>
    b24.sim.entities(portalB, 'deal').filter((e) => e['ORIGIN_ID'] === negotiationId);
  const ownVacancy = [...store.vacancies.values()].find((v) => v.managerId === plain!.id && !v.archived)!;
  const stages = extendedStages(pipeline.id);

  await t.test('new responses and invitations arrive by webhook', async (t) => {
    const started = Date.now();
    const response = hh.sim.respond({ vacancyId: ownVacancy.id });
    const invitation = hh.sim.invite({ vacancyId: ownVacancy.id });
    await eventually(() => dealOf(response.id).length === 1 && dealOf(invitation.id).length === 1, {
      timeoutMs: 15_000,
      what: 'both deals',
    });
    t.ok(Date.now() - started < 10_000, `in the portal within ${Date.now() - started} ms`);
    const check = checkPortal(
      hh.sim,
      b24.sim,
      portalB,
      plain!.id,
      settingsB,
      new Set([response.id, invitation.id]),
    );
    t.same(check.wrong, []);
    t.match(dealOf(invitation.id)[0], { TITLE: /^Приглашение: /, STAGE_ID: stages.phone_interview });
    t.match(dealOf(response.id)[0], { TITLE: /^Отклик: /, STAGE_ID: stages.response });
  });

  await t.test(
    'a state change moves the deal; a stage a person chose later is never passed backwards',
    async (t) => {
      const n = hh.sim.respond({ vacancyId: ownVacancy.id });
      await eventually(() => dealOf(n.id).length === 1, { what: 'the deal' });
      const id = Number(dealOf(n.id)[0]!['ID']);
      hh.sim.move(n.id, 'consider');
      await eventually(() => dealOf(n.id)[0]!['STAGE_ID'] === stages.consider, {
        what: 'the move to «Подумать»',
      });
      t.equal(dealOf(n.id)[0]!['UF_CRM_NH_STATUS'], 'Подумать');

      b24.sim.moveStage(portalB, 'deal', id, stages.offer);
      hh.sim.move(n.id, 'interview');
      await eventually(() => dealOf(n.id)[0]!['UF_CRM_NH_STATUS'] === 'Интервью', { what: 'the new status' });
      t.equal(
        dealOf(n.id)[0]!['STAGE_ID'],
        stages.offer,
        'the deal stays where the person put it (interview comes before it)',
      );
      hh.sim.move(n.id, 'hired');
      await eventually(() => dealOf(n.id)[0]!['STAGE_ID'] === stages.hired, {
        what: 'the move past the person’s stage',
      });
      t.equal(dealOf(n.id).length, 1, 'still one deal');
    },
  );

  await t.test('duplicated webhooks create nothing twice', async (t) => {
    hh.sim.addFault({ kind: 'duplicate_webhook', times: 4 });
    const a = hh.sim.respond({ vacancyId: ownVacancy.id });
    const b = hh.sim.respond({ vacancyId: ownVacancy.id });
    await eventually(() => dealOf(a.id).length === 1 && dealOf(b.id).length === 1, { what: 'both deals' });
    await eventually(
      () => hh.sim.deliveries().filter((d) => d.duplicate && d.state === 'delivered').length >= 2,
      { what: 'the copies delivered' },
    );
    await new Promise((r) => setTimeout(r, 1000));
    t.equal(dealOf(a.id).length + dealOf(b.id).length, 2, 'one deal each');
    hh.sim.clearFaults();
  });

  await t.test(
    'with webhooks lost, «Новые отклики» counts them and the reconciliation brings them',
    async (t) => {
      hh.sim.addFault({ kind: 'drop_webhook' });
      const lost = [
        hh.sim.respond({ vacancyId: ownVacancy.id }),
        hh.sim.respond({ vacancyId: ownVacancy.id }),
        hh.sim.invite({ vacancyId: ownVacancy.id }),
      ];
      await new Promise((r) => setTimeout(r, 1500));
      t.ok(
        lost.every((n) => dealOf(n.id).length === 0),
        'nothing arrived by itself',
      );
      const answer = await world.call(rpc.hhNewResponses, { memberId: portalB, repair: true });
      t.equal(answer.newCount, 3, '«Найдено новых откликов: 3»');
      t.equal(answer.subscription, 'ok', 'the subscription is in place');
      await eventually(() => lost.every((n) => dealOf(n.id).length === 1), {
        timeoutMs: 20_000,
        what: 'the lost ones',
      });
      t.same(
        checkPortal(hh.sim, b24.sim, portalB, plain!.id, settingsB, new Set(lost.map((n) => n.id))).wrong,
        [],
      );
      hh.sim.clearFaults();
    },
  );

  await t.test(
    'a required field: the refusal is kept with what to fix, and «Повторить» writes it after the fix',
    async (t) => {
      await world.b24Client.call(portalB, 'crm.deal.userfield.add', {
        fields: { FIELD_NAME: 'PASSPORT', USER_TYPE_ID: 'string', LABEL: 'Паспорт' },
      });
      b24.sim.setRequired(portalB, 'deal', 'UF_CRM_PASSPORT');
      const n = hh.sim.respond({ vacancyId: ownVacancy.id });
      const failure = await eventually(
        async () =>
          (await world.call(rpc.crmFailures, { memberId: portalB })).items.find(
            (f) => f.negotiationId === n.id,
          ),
        { what: 'the refusal' },
      );
      t.match(failure, {
        code: 'required_field',
        fix: /^Сделать поле необязательным: «Паспорт»/,
        message: /Паспорт/,
      });
      await eventually(async () => (await world.progress(portalB)).failed === 1, {
        what: 'the failure in the progress figures',
      });
      t.equal(dealOf(n.id).length, 0, 'nothing written meanwhile');

      b24.sim.setRequired(portalB, 'deal', 'UF_CRM_PASSPORT', false);
      t.same(await world.call(rpc.crmRetry, { memberId: portalB, negotiationId: n.id }), { retried: 1 });
      await eventually(() => dealOf(n.id).length === 1, { what: 'the deal after «Повторить»' });
      // The deal is on the portal a moment before crm-writer commits the write that clears the refusal.
      await eventually(
        async () => (await world.call(rpc.crmFailures, { memberId: portalB })).items.length === 0,
        { what: 'no refusal left' },
      );
      await eventually(async () => (await world.progress(portalB)).failed === 0, { what: 'the figures' });

      // Refused again; this time saving the settings is what retries it.
      b24.sim.setRequired(portalB, 'deal', 'UF_CRM_PASSPORT');
      const m = hh.sim.respond({ vacancyId: ownVacancy.id });
      await eventually(
        async () => (await world.call(rpc.crmFailures, { memberId: portalB })).items.length === 1,
        { what: 'the second refusal' },
      );
      b24.sim.setRequired(portalB, 'deal', 'UF_CRM_PASSPORT', false);
      await world.saveSettings(portalB, settingsB);
      await eventually(() => dealOf(m.id).length === 1, { what: 'the deal after the settings were saved' });
    },
  );

  await t.test(
    'a stage deleted on the portal: the refusal says to choose the stages again, and saving them writes it',
    async (t) => {
      const statuses = b24.sim.portal(portalB).statuses;
      statuses.splice(
        statuses.findIndex((st) => st.STATUS_ID === stages.response),
        1,
      );
      const n = hh.sim.respond({ vacancyId: ownVacancy.id });
      const failure = await eventually(
        async () =>
          (await world.call(rpc.crmFailures, { memberId: portalB })).items.find(
            (f) => f.negotiationId === n.id,
          ),
        { what: 'the refusal' },
      );
      t.match(failure, { code: 'stage_missing', fix: /вкладке «Настройки»/ });
      t.equal(dealOf(n.id).length, 0, 'not written into some other stage');
      await world.saveSettings(portalB, {
        ...settingsB,
        stageByState: { ...settingsB.stageByState, response: stages.consider },
      });
      await eventually(() => dealOf(n.id)[0]?.['STAGE_ID'] === stages.consider, {
        what: 'the deal in the newly chosen stage',
      });
    },
  );

  t.same(
    checkPortal(hh.sim, b24.sim, portalA, admin!.id, settingsA).duplicated,
    [],
    'portal A is untouched by all of it',
  );
});
