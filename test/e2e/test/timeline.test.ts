/**
 * What a recruiter sees and does on a lead or deal, with the real services and both simulators:
 * the timeline activity of each negotiation (one each, redelivered requests included, updated in
 * place when the hh.ru status changes), «Другие отклики» for an applicant with a few responses and
 * for one with 30+, the two robots run from the portal's automation, their failures (an entity not
 * ours, hh.ru refusing the move, a revoked hh.ru login), the two-way status without echoes, and
 * the same calls forged by an employee who holds everything the browser sees: nothing reaches hh.ru
 * or anybody's notifications.
 */
import t from 'tap';
import {
  type CrmEntityWritten,
  HH_ACTION_ROBOT_CODE,
  HH_STATUS_ROBOT_CODE,
  enqueue,
  portalText,
  subjects,
} from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { EMPLOYER_STATES } from '@hhb24/sim-hh';
import { DISCARD_WITH_MESSAGE, MAX_BLOCKS } from '@hhb24/timeline-renderer';
import { TWO_WAY_DEAL_SETTINGS, World } from './world.js';

type Layout = {
  header: { title: string; tags: { status: { title: string } } };
  body: { blocks: Record<string, { type: string; properties: Record<string, unknown> }> };
  footer: { buttons: Record<string, { title: string; action: { type: string; uri?: string } }> };
};

t.test(
  'timeline activities, «Другие отклики», robots and the two-way status',
  { timeout: 240_000 },
  async (t) => {
    const world = await World.start({
      b24RateLimit: false,
      generate: {
        seed: 7,
        employers: 1,
        managersPerEmployer: 1,
        vacanciesPerManager: 36,
        negotiations: 60,
        heavyApplicantResponses: 32,
        tombstones: 1,
        unpaidEmployers: 0,
      },
    });
    t.teardown(() => world.close());
    const { hh, b24 } = world;
    const store = hh.sim.store;
    const admin = [...store.managers.values()].find((m) => m.isAdmin)!;

    // Deals in the default pipeline, extended mapping; «Интервью» is the stage «В работе» (EXECUTING).
    const portal = await world.installPortal();
    await world.registerHandlers(portal);
    await world.connect(portal, admin.userId);
    await world.saveSettings(portal, TWO_WAY_DEAL_SETTINGS);
    await world.requestImport(portal);
    await world.waitForImport(portal);

    const deals = () => b24.sim.entities(portal, 'deal');
    const activities = () => b24.sim.activities(portal);
    const activityOf = (dealId: number) =>
      activities().filter((a) => a.ownerTypeId === 2 && a.ownerId === dealId);
    const layoutOf = (dealId: number) => activityOf(dealId)[0]?.layout as unknown as Layout;
    const dealOf = (negotiationId: string) => deals().find((d) => d['ORIGIN_ID'] === negotiationId)!;

    await eventually(() => activities().length === deals().length, {
      timeoutMs: 30_000,
      what: 'an activity on every deal',
    });

    await t.test('one activity per deal with every block, «Резюме» to the resume on hh.ru', async (t) => {
      const all = deals();
      t.ok(all.length >= 50, `${all.length} deals`);
      t.same(
        all.filter((d) => activityOf(Number(d['ID'])).length !== 1).map((d) => d['ID']),
        [],
        'exactly one activity on each deal',
      );
      const withResume = store.negotiations.get(
        String(
          all.find(
            (d) => !store.resumes.get(store.negotiations.get(String(d['ORIGIN_ID']))!.resumeId)!.deleted,
          )!['ORIGIN_ID'],
        ),
      )!;
      const deal = dealOf(withResume.id);
      const layout = layoutOf(Number(deal['ID']));
      t.equal(layout.header.title, withResume.initiator === 'employer' ? 'Приглашение' : 'Отклик');
      const keys = Object.keys(layout.body.blocks);
      t.same(
        keys.filter((k) => k !== 'unread'),
        [
          ...['vacancy', 'name', 'city', 'phone', 'email', 'status', 'date'],
          ...(withResume.coverLetter ? ['cover_letter'] : []),
          ...(withResume.testResult ? ['test'] : []),
        ],
        'vacancy, name, city, phone, e-mail, hh status, date, then the applicant’s words it has',
      );
      t.equal(
        String(deal['UF_CRM_NH_STATUS']),
        layout.header.tags.status.title,
        'the status tag says what the deal says',
      );
      const resume = store.resumes.get(withResume.resumeId)!;
      t.match(
        layout.footer.buttons['resume'],
        { title: 'Резюме', action: { type: 'redirect', uri: new RegExp(`/resume/${resume.id}`) } },
        '«Резюме» opens the resume on hh.ru',
      );
      t.match(layout.footer.buttons['others'], { title: 'Другие отклики', action: { type: 'restEvent' } });
      const hidden = all
        .map((d) => store.negotiations.get(String(d['ORIGIN_ID']))!)
        .find((n) => store.resumes.get(n.resumeId)!.hidden.includes('phones'));
      if (hidden)
        t.match(
          layoutOf(Number(dealOf(hidden.id)['ID'])).body.blocks['phone']!,
          { properties: { block: { properties: { value: /^Соискатель \S+ скрыл телефон$/ } } } },
          'a hidden phone has its placeholder',
        );
    });

    await t.test(
      'redelivered render requests create one activity; a status change updates it in place',
      async (t) => {
        const n = [...store.negotiations.values()].find(
          (x) => x.employerState === 'response' && !store.resumes.get(x.resumeId)!.deleted,
        )!;
        const deal = dealOf(n.id);
        const before = activityOf(Number(deal['ID']));
        t.equal(before.length, 1);
        // The same crm.entity.written as crm-writer sent it, delivered again under other message ids.
        const { snapshot } = {
          snapshot: (
            await world.db('tl_activities').where({ member_id: portal, negotiation_id: n.id }).first()
          ).snapshot,
        };
        const again: CrmEntityWritten = {
          memberId: portal,
          negotiationId: n.id,
          version: snapshot.version,
          entityType: 'deal',
          entityId: Number(deal['ID']),
          created: true,
          snapshot,
        };
        await enqueue(
          world.db,
          [1, 2, 3].map((i) => ({
            subject: subjects.crmEntityWritten,
            msgId: `redelivered:${n.id}:${i}`,
            payload: { ...again, version: snapshot.version + 1 },
          })),
        );
        await eventually(
          async () =>
            (await world.db('tl_activities').where({ member_id: portal, negotiation_id: n.id }).first())
              .version ===
            snapshot.version + 1,
          { what: 'the redelivered request drawn' },
        );
        t.equal(activityOf(Number(deal['ID'])).length, 1, 'still one activity');
        t.equal(activityOf(Number(deal['ID']))[0]!.id, before[0]!.id, 'the same one');

        // A renderer that died after adding the activity and before recording it leaves the add marked
        // (activity 0): the next one finds the activity by ORIGIN_ID.
        await world
          .db('tl_activities')
          .where({ member_id: portal, negotiation_id: n.id })
          .update({ activity_id: 0, version: 0 });
        await enqueue(world.db, {
          subject: subjects.crmEntityWritten,
          msgId: `after-crash:${n.id}`,
          payload: { ...again, version: snapshot.version + 2 },
        });
        await eventually(
          async () =>
            (await world.db('tl_activities').where({ member_id: portal, negotiation_id: n.id }).first())
              ?.version ===
            snapshot.version + 2,
          { what: 'drawn after the crash' },
        );
        t.same(
          activityOf(Number(deal['ID'])).map((a) => a.id),
          [before[0]!.id],
          'found again, not added twice',
        );

        // A real change on hh.ru (another negotiation: the one above now has a version from the future).
        const m = [...store.negotiations.values()].find(
          (x) => x.id !== n.id && x.employerState === 'response' && !store.resumes.get(x.resumeId)!.deleted,
        )!;
        const mDeal = Number(dealOf(m.id)['ID']);
        const mBefore = activityOf(mDeal)[0]!;
        hh.sim.move(m.id, 'phone_interview');
        await eventually(
          () =>
            layoutOf(mDeal).header.tags.status.title ===
            EMPLOYER_STATES.find((x) => x.id === 'phone_interview')!.name,
          { timeoutMs: 20_000, what: 'the activity shows the new status' },
        );
        t.equal(activityOf(mDeal).length, 1, 'updated, not duplicated');
        t.equal(activityOf(mDeal)[0]!.id, mBefore.id);
      },
    );

    await t.test(
      '«Другие отклики»: a few responses, and 30+ with «Все отклики» and the notification',
      async (t) => {
        const byResume = new Map<string, string[]>();
        for (const n of store.negotiations.values())
          byResume.set(n.resumeId, [...(byResume.get(n.resumeId) ?? []), n.id]);
        const heavy = [...byResume.entries()].find(([, ids]) => ids.length >= 30)!;
        const single = [...byResume.entries()].find(
          ([r, ids]) => ids.length === 1 && !store.resumes.get(r)!.deleted,
        )!;

        const click = async (negotiationId: string) => {
          const deal = dealOf(negotiationId);
          const activity = activityOf(Number(deal['ID']))[0]!;
          b24.sim.timelineAction(portal, activity.id, ['footer', 'buttons', 'others', 'action'], {
            userId: 1,
          });
          await eventually(
            () => Object.keys(layoutOf(Number(deal['ID'])).body.blocks).some((k) => k.startsWith('others_')),
            { timeoutMs: 20_000, what: 'the other responses drawn' },
          );
          return layoutOf(Number(deal['ID'])).body.blocks;
        };

        const none = await click(single[1][0]!);
        t.match(
          none['others_none'],
          { properties: { value: 'Других откликов нет' } },
          'an applicant with one response',
        );

        const blocks = await click(heavy[1][0]!);
        const others = heavy[1].length - 1;
        t.ok(
          Object.keys(blocks).length <= MAX_BLOCKS,
          `${Object.keys(blocks).length} blocks: within Bitrix24's 20`,
        );
        t.match(blocks['others_title'], { properties: { value: `Другие отклики (${others}):` } });
        const rows = Object.keys(blocks).filter((k) => /^others_\d+$/.test(k));
        const card = Object.keys(blocks).filter((k) => !k.startsWith('others_')).length;
        t.equal(
          rows.length,
          MAX_BLOCKS - card - 2,
          `${rows.length} rows fill what the card and the applicant’s words leave, with the heading and «Все отклики»`,
        );
        t.match(
          blocks['others_all'],
          {
            type: 'link',
            properties: {
              text: `Все отклики (${others})`,
              action: { type: 'openRestApp', actionParams: { view: 'others' } },
            },
          },
          '«Все отклики (N)» opens the app with the full list',
        );
        const note = await eventually(
          () => b24.sim.notifications(portal, 1).find((x) => x.message.includes('Другие отклики')),
          { what: 'the notification' },
        );
        const ids = heavy[1].filter((id) => id !== heavy[1][0]).map((id) => Number(dealOf(id)['ID']));
        t.same(
          ids.filter((id) => !note.message.includes(`/crm/deal/details/${id}/`)),
          [],
          `the notification names all ${ids.length} deals`,
        );
      },
    );

    await t.test(
      'the robots, run from the automation: the status comes back; refusals say why',
      async (t) => {
        const run = async (dealId: number, code: string, properties?: Record<string, string>) => {
          const r = b24.sim.runRobot(portal, { entityType: 'deal', entityId: dealId, code, properties });
          return eventually(
            () =>
              b24.sim
                .robotRuns(portal)
                .find((x) => x.id === r.id && x.status !== 'running' && x.status !== 'waiting'),
            { timeoutMs: 20_000, what: `robot ${code} completed` },
          );
        };
        const n = [...store.negotiations.values()].find(
          (x) => x.employerState === 'response' && !store.resumes.get(x.resumeId)!.deleted && byOwn(x.id),
        )!;
        function byOwn(id: string) {
          return Boolean(deals().find((d) => d['ORIGIN_ID'] === id));
        }
        const dealId = Number(dealOf(n.id)['ID']);

        const refreshed = await run(dealId, HH_STATUS_ROBOT_CODE);
        t.match(
          refreshed,
          {
            status: 'completed',
            returnValues: { status: String(dealOf(n.id)['UF_CRM_NH_STATUS']), error: '' },
          },
          '«Обновить статус НН» returns the status hh.ru names',
        );
        t.match(
          refreshed.log,
          [portalText('ru', 'robot.taken'), /^Статус НН: /],
          'the run was first confirmed live, then done',
        );

        const moved = await run(dealId, HH_ACTION_ROBOT_CODE, { action: 'interview', message: '' });
        t.match(
          moved,
          { status: 'completed', returnValues: { status: 'Интервью', error: '' } },
          '«Сменить статус на НН» returns the new status',
        );
        t.equal(store.negotiations.get(n.id)!.employerState, 'interview', 'hh.ru has it');
        await eventually(() => dealOf(n.id)['UF_CRM_NH_STATUS'] === 'Интервью', {
          timeoutMs: 20_000,
          what: 'the deal follows',
        });

        const refused = await run(dealId, HH_ACTION_ROBOT_CODE, { action: 'phone_interview' });
        t.match(
          refused,
          {
            status: 'completed',
            returnValues: {
              status: '',
              error: 'hh.ru не позволяет перевести отклик в этот статус из текущего.',
            },
          },
          'hh.ru refusing the move',
        );
        t.match(refused.log.join('\n'), /Ошибка: hh\.ru не позволяет/);

        // The applicant deleted the resume: hh.ru offers no action for it any more.
        const tombstone = [...store.negotiations.values()].find(
          (x) => store.resumes.get(x.resumeId)!.deleted && x.employerState === 'response',
        )!;
        const gone = await run(Number(dealOf(tombstone.id)['ID']), HH_ACTION_ROBOT_CODE, {
          action: 'consider',
        });
        t.match(
          gone,
          {
            status: 'completed',
            returnValues: {
              status: '',
              error: 'hh.ru не позволяет перевести отклик в этот статус из текущего.',
            },
          },
          'a deleted resume cannot be moved',
        );
        t.equal(store.negotiations.get(tombstone.id)!.employerState, 'response', 'nothing moved');

        const foreign = b24.sim.createEntity(portal, 'deal', { TITLE: 'Не из hh.ru' });
        const notOurs = await run(Number(foreign['ID']), HH_STATUS_ROBOT_CODE);
        t.match(
          notOurs,
          { status: 'completed', returnValues: { error: /создан не приложением HH\.ru/ } },
          'an entity not made by us',
        );
      },
    );

    await t.test(
      'forged by an employee who holds everything the browser sees (application_token, their own AUTH_ID): robots reach no hh.ru action, «Другие отклики» notifies nobody else, a stage-move event moves nothing',
      async (t) => {
        const gateway = world.env['PUBLIC_URL']!;
        const info = b24.sim.portalInfo(portal);
        const auth = (accessToken: string | null, claimedUserId: string) => ({
          ...(accessToken ? { 'auth[access_token]': accessToken, 'auth[expires_in]': '3600' } : {}),
          'auth[domain]': info.domain,
          'auth[client_endpoint]': info.clientEndpoint,
          'auth[server_endpoint]': info.serverEndpoint,
          'auth[member_id]': portal,
          'auth[user_id]': claimedUserId,
          'auth[application_token]': info.installs[0]!.applicationToken,
        });
        const post = async (path: string, fields: Record<string, string>) =>
          (
            await fetch(`${gateway}${path}`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams(fields),
            })
          ).status;
        const employee = (userId: number) => b24.sim.issueUserToken(portal, { userId }).accessToken;
        const hhPuts = () => hh.sim.requests().filter((r) => r.method === 'PUT').length;
        const b24Calls = (method: string, since: number) =>
          b24.sim.requests(portal, { since }).filter((r) => r.method === method);
        let forged = 0;

        // «Сменить статус на НН» with «Отказ с сообщением» on a deal, with a made-up event_token.
        const n = [...store.negotiations.values()].find(
          (x) =>
            x.employerState === 'response' &&
            !store.resumes.get(x.resumeId)!.deleted &&
            deals().some((d) => d['ORIGIN_ID'] === x.id),
        )!;
        const dealId = Number(dealOf(n.id)['ID']);
        const robotCall = (eventToken: string) => ({
          workflow_id: `forged${++forged}`,
          code: HH_ACTION_ROBOT_CODE,
          'document_id[0]': 'crm',
          'document_id[1]': 'CCrmDocumentDeal',
          'document_id[2]': `DEAL_${dealId}`,
          'document_type[0]': 'crm',
          'document_type[1]': 'CCrmDocumentDeal',
          'document_type[2]': 'DEAL',
          event_token: eventToken,
          'properties[action]': DISCARD_WITH_MESSAGE,
          'properties[message]': 'Вы нам не подходите',
          use_subscription: 'Y',
          ts: String(Math.floor(Date.now() / 1000)),
          ...auth(employee(2), '1'),
        });
        const before = { puts: hhPuts(), state: n.employerState, messages: n.messages };
        let since = Date.now();
        t.equal(
          await post('/b24/robot', robotCall(`5f1a2b3c4d5e6.12345678|A1b2c3d4|${'x'.repeat(40)}`)),
          200,
          'the gateway records it (the application_token is the portal’s)',
        );
        await eventually(() => b24Calls('bizproc.activity.log', since).find((r) => r.status === 403), {
          what: 'the portal asked whether the run is live',
        });
        // A token the portal did issue, of a run that has ended: replayed.
        const ended = b24.sim
          .robotRuns(portal)
          .find((r) => r.status === 'completed' && r.code === HH_ACTION_ROBOT_CODE)!;
        t.equal(await post('/b24/robot', robotCall(ended.eventToken)), 200);
        await eventually(() => b24Calls('bizproc.activity.log', since).find((r) => r.status === 400), {
          what: 'the portal asked about the replayed token',
        });
        await new Promise((r) => setTimeout(r, 1500));
        t.equal(hhPuts(), before.puts, 'no action reached hh.ru');
        t.equal(n.employerState, before.state, 'the response is where it was');
        t.equal(n.messages, before.messages, 'the applicant got no message');
        t.same(
          b24Calls('bizproc.event.send', since).filter((r) => r.status === 200),
          [],
          'and no automation was completed',
        );

        // «Другие отклики» on the heavy applicant's activity, naming the admin (user 1) in auth[user_id].
        const byResume = new Map<string, string[]>();
        for (const x of store.negotiations.values())
          byResume.set(x.resumeId, [...(byResume.get(x.resumeId) ?? []), x.id]);
        const heavy = [...byResume.values()].find((ids) => ids.length >= 30)!;
        const heavyDeal = Number(dealOf(heavy[0]!)['ID']);
        const activity = activityOf(heavyDeal)[0]!;
        const click = (accessToken: string | null) => ({
          event: 'ONCRMTIMELINEITEMACTION',
          event_handler_id: '99',
          'data[entityTypeId]': '2',
          'data[entityId]': String(heavyDeal),
          'data[activityId]': String(activity.id),
          'data[id]': 'others',
          ts: String(Math.floor(Date.now() / 1000) + ++forged),
          ...auth(accessToken, '1'),
        });
        const notes = () => b24.sim.notifications(portal).map((x) => `${x.userId}:${x.id}`);
        b24.sim.portal(portal).users.get(2)!.crmOwnOnly = true;
        const notesBefore = notes();
        since = Date.now();
        t.equal(await post('/b24/events', click(employee(2))), 200);
        await eventually(() => b24Calls('batch', since).find((r) => r.userId === 2), {
          what: 'the portal asked what this employee may read',
        });
        t.equal(await post('/b24/events', click(null)), 200, 'and once without any token');
        await new Promise((r) => setTimeout(r, 1500));
        t.same(notes(), notesBefore, 'an employee who may not read the deal: nobody is notified');
        t.same(b24Calls('crm.activity.configurable.update', since), [], 'and the activity is not touched');

        // An employee who may read the deals: the notification goes to them, whatever auth[user_id] says.
        t.equal(await post('/b24/events', click(employee(3))), 200);
        const note = await eventually(
          () => b24.sim.notifications(portal, 3).find((x) => x.message.includes('Другие отклики')),
          { what: 'the notification of the employee who clicked' },
        );
        t.match(note.message, /\/crm\/deal\/details\/\d+\//, 'naming the deals they may read');
        t.same(
          b24.sim.notifications(portal, 1).map((x) => x.id),
          b24.sim
            .notifications(portal, 1)
            .filter((x) => notesBefore.includes(`1:${x.id}`))
            .map((x) => x.id),
          'user 1, named in auth[user_id], got nothing new',
        );
        b24.sim.portal(portal).users.get(2)!.crmOwnOnly = false;

        // ONCRMDEALUPDATE for a deal nobody moved: read again from the portal, nothing to send.
        const putsBeforeMove = hhPuts();
        t.equal(
          await post('/b24/events', {
            event: 'ONCRMDEALUPDATE',
            event_handler_id: '98',
            'data[FIELDS][ID]': String(dealId),
            ts: String(Math.floor(Date.now() / 1000) + ++forged),
            ...auth(employee(2), '1'),
          }),
          200,
        );
        await b24.sim.idle();
        await new Promise((r) => setTimeout(r, 1500));
        t.equal(hhPuts(), putsBeforeMove, 'no action reached hh.ru');
      },
    );

    await t.test(
      'two-way: a person’s stage move runs the hh.ru action; our own moves never echo',
      async (t) => {
        const n = [...store.negotiations.values()].find(
          (x) =>
            x.employerState === 'response' &&
            !store.resumes.get(x.resumeId)!.deleted &&
            deals().some((d) => d['ORIGIN_ID'] === x.id),
        )!;
        const dealId = Number(dealOf(n.id)['ID']);
        const actionsBefore = hh.sim.requests().filter((r) => r.method === 'PUT').length;

        // hh.ru moves it: crm-writer moves the deal (an ONCRMDEALUPDATE of ours) and nothing goes back to hh.ru.
        hh.sim.move(n.id, 'consider');
        await eventually(() => dealOf(n.id)['STAGE_ID'] === 'PREPARATION', {
          timeoutMs: 20_000,
          what: 'the deal follows hh.ru',
        });
        const followed = hh.sim.requests().length;
        await b24.sim.idle();
        await new Promise((r) => setTimeout(r, 1500));
        t.equal(
          hh.sim.requests().filter((r) => r.method === 'PUT').length,
          actionsBefore,
          'no action echoed to hh.ru',
        );
        t.same(
          hh.sim
            .requests()
            .slice(followed)
            .filter((r) => r.path.includes(n.id))
            .map((r) => `${r.method} ${r.path}`),
          [],
          'our own stage move was not even taken for a person’s',
        );
        t.equal(store.negotiations.get(n.id)!.employerState, 'consider');

        // A recruiter moves the deal to «Интервью»: hh.ru gets the action.
        b24.sim.moveStage(portal, 'deal', dealId, 'EXECUTING', { userId: 1 });
        await eventually(() => store.negotiations.get(n.id)!.employerState === 'interview', {
          timeoutMs: 20_000,
          what: 'hh.ru shows the interview',
        });
        await eventually(() => layoutOf(dealId).header.tags.status.title === 'Интервью', {
          timeoutMs: 20_000,
          what: 'the activity too',
        });
        t.equal(dealOf(n.id)['STAGE_ID'], 'EXECUTING', 'the deal stays where the recruiter put it');

        // A discard is not sent unless allowed.
        b24.sim.moveStage(portal, 'deal', dealId, 'LOSE', { userId: 1 });
        await b24.sim.idle();
        await new Promise((r) => setTimeout(r, 1500));
        t.equal(store.negotiations.get(n.id)!.employerState, 'interview', 'discards stay off by default');
      },
    );

    await t.test('a revoked hh.ru login: the robot says to log in again', async (t) => {
      const dealId = Number(deals()[0]!['ID']);
      hh.sim.changePassword(admin.userId);
      const r = b24.sim.runRobot(portal, {
        entityType: 'deal',
        entityId: dealId,
        code: HH_STATUS_ROBOT_CODE,
      });
      const done = await eventually(
        () => b24.sim.robotRuns(portal).find((x) => x.id === r.id && x.status === 'completed'),
        { timeoutMs: 30_000, what: 'the robot completed' },
      );
      t.match(done.returnValues, {
        status: '',
        error: /отозвал доступ приложения: требуется повторный вход/,
      });
    });
  },
);
