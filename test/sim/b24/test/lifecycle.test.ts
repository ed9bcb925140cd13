import t from 'tap';
import { collector, rest, sim } from './helpers.js';

t.test(
  'install: ONAPPINSTALL as a PHP-bracket form, per-portal application_token, INSTALLED after installFinish',
  async (t) => {
    const running = await sim(t, { rateLimit: false });
    const app = await collector(t);
    running.sim.updateApp('hh-b24-dev', { installEventUrl: `${app.url}/b24/events/install` });
    const portal = running.sim.createPortal({ lang: 'en' });
    const install = await running.sim.install(portal.memberId);
    await running.sim.idle();
    t.equal(app.received.length, 1);
    const call = app.received[0]!;
    t.equal(call.contentType, 'application/x-www-form-urlencoded');
    t.match(
      call.raw,
      /^event=ONAPPINSTALL&data%5BVERSION%5D=1&data%5BACTIVE%5D=Y&data%5BINSTALLED%5D=N&data%5BLANGUAGE_ID%5D=en&ts=\d+&auth%5Baccess_token%5D=/,
    );
    t.match(call.body, {
      event: 'ONAPPINSTALL',
      auth: {
        access_token: install.accessToken,
        refresh_token: install.refreshToken,
        expires_in: '3600',
        member_id: portal.memberId,
        domain: portal.domain,
        client_endpoint: portal.clientEndpoint,
        server_endpoint: portal.serverEndpoint,
        application_token: install.applicationToken,
        scope: 'crm,placement,bizproc,im,user_brief',
      },
    });
    const second = running.sim.createPortal();
    const other = await running.sim.install(second.memberId);
    t.not(other.applicationToken, install.applicationToken, 'application_token differs per portal');
    t.equal(
      ((await rest(portal, install.accessToken, 'app.info')).body.result as { INSTALLED: boolean }).INSTALLED,
      false,
    );
    running.sim.finishInstall(portal.memberId);
    t.equal(
      ((await rest(portal, install.accessToken, 'app.info')).body.result as { INSTALLED: boolean }).INSTALLED,
      true,
    );
  },
);

t.test('placements and events: the binding rules, and nothing delivered before installFinish', async (t) => {
  const running = await sim(t, { rateLimit: false });
  const app = await collector(t);
  running.sim.updateApp('hh-b24-dev', { installEventUrl: '' });
  const portal = running.sim.createPortal();
  const { accessToken: token } = await running.sim.install(portal.memberId);
  const bind = (params: Record<string, unknown>) => rest(portal, token, 'placement.bind', params);
  const tab = { PLACEMENT: 'CRM_DEAL_DETAIL_TAB', HANDLER: `${app.url}/b24/tab`, TITLE: 'HH.ru' };
  t.same((await bind(tab)).body.result, true);
  t.same((await bind(tab)).body, {
    error: 'ERROR_CORE',
    error_description: 'Unable to set placement handler: Handler already binded',
  });
  t.same((await bind({ ...tab, HANDLER: 'http://localhost:3000/b24/tab' })).body, {
    error: 'ERROR_WRONG_HANDLER_URL',
    error_description: 'Wrong handler URL',
  });
  t.same(
    (await bind({ ...tab, HANDLER: 'ftp://app.example.com/tab' })).body.error,
    'ERROR_UNSUPPORTED_PROTOCOL',
  );
  t.same((await bind({ ...tab, PLACEMENT: 'DEFAULT' })).body.error, 'ERROR_ARGUMENT');
  t.same((await bind({ ...tab, PLACEMENT: 'NO_SUCH_PLACE' })).body, {
    error: 'ERROR_PLACEMENT_NOT_FOUND',
    error_description: 'Placement not found',
  });
  t.same((await bind({ HANDLER: tab.HANDLER })).body, {
    error: 'ERROR_ARGUMENT',
    error_description: "Argument 'The placement code is not specified' is null or empty",
    argument: 'The placement code is not specified',
  });
  await bind({ ...tab, HANDLER: `${app.url}/b24/tab2` });
  t.same(
    (
      await rest(portal, token, 'placement.unbind', {
        PLACEMENT: 'CRM_DEAL_DETAIL_TAB',
        HANDLER: `${app.url}/b24/tab2`,
      })
    ).body.result,
    { count: 2 },
    'the unbind count quirk: found + deleted',
  );
  t.match((await rest(portal, token, 'placement.get')).body.result, [
    { placement: 'CRM_DEAL_DETAIL_TAB', handler: tab.HANDLER, title: 'HH.ru', userId: 0 },
  ]);

  const ev = (event: string, handler = `${app.url}/b24/events`) =>
    rest(portal, token, 'event.bind', { event, handler });
  t.same((await ev('onCrmLeadUpdate')).body.result, true, 'event names are upper-cased');
  t.same((await ev('ONCRMLEADUPDATE')).body, {
    error: 'ERROR_CORE',
    error_description: 'Unable to set event handler: Handler already binded',
  });
  t.same((await ev('ONNOTHING')).body, {
    error: 'ERROR_EVENT_NOT_FOUND',
    error_description: 'Event not found',
  });
  t.match((await rest(portal, token, 'event.get')).body.result, [
    { event: 'ONCRMLEADUPDATE', handler: `${app.url}/b24/events`, auth_type: '0', offline: 0 },
  ]);

  const leadId = (await rest(portal, token, 'crm.lead.add', { fields: { TITLE: 'x' } })).body
    .result as number;
  await rest(portal, token, 'crm.lead.update', { id: leadId, fields: { TITLE: 'y' } });
  await running.sim.idle();
  t.equal(app.received.length, 0, 'events wait for installFinish');
  running.sim.finishInstall(portal.memberId);
  await rest(portal, token, 'crm.lead.update', { id: leadId, fields: { TITLE: 'z' } });
  await running.sim.idle();
  t.equal(app.received.length, 1, 'the app’s own REST change is not suppressed');
  t.match(app.received[0]!.body, {
    event: 'ONCRMLEADUPDATE',
    event_handler_id: String,
    data: { FIELDS: { ID: String(leadId) } },
    auth: { member_id: portal.memberId, user_id: '1', access_token: String },
  });
  t.match(app.received[0]!.raw, /data%5BFIELDS%5D%5BID%5D=/);
  t.notOk(
    'refresh_token' in (app.received[0]!.body['auth'] as object),
    'ordinary events carry no refresh token',
  );
});

t.test('robots run when an entity enters their stage; bizproc.event.send completes them', async (t) => {
  const running = await sim(t, { rateLimit: false });
  const app = await collector(t);
  running.sim.updateApp('hh-b24-dev', { installEventUrl: '' });
  const portal = running.sim.createPortal({ lang: 'ru' });
  const { accessToken: token, applicationToken } = await running.sim.install(portal.memberId);
  running.sim.finishInstall(portal.memberId);
  const robot = {
    CODE: 'hh_refresh_status',
    HANDLER: `${app.url}/b24/robot`,
    AUTH_USER_ID: 1,
    NAME: { ru: 'Обновить статус HH', en: 'Refresh HH status' },
    PROPERTIES: {
      mode: { Name: 'Режим', Type: 'select', Options: { full: 'Полный', light: 'Краткий' }, Default: 'full' },
      note: { NAME: 'Заметка', Type: 'string' },
    },
    RETURN_PROPERTIES: { hhStatus: { Name: 'Статус HH', Type: 'string' } },
  };
  t.same((await rest(portal, token, 'bizproc.robot.add', robot)).body.result, true);
  t.same((await rest(portal, token, 'bizproc.robot.add', robot)).body, {
    error: 'ERROR_ACTIVITY_ALREADY_INSTALLED',
    error_description: 'Activity or Robot already installed!',
  });
  t.same((await rest(portal, token, 'bizproc.robot.add', { ...robot, CODE: 'bad code!' })).body, {
    error: 'ERROR_ACTIVITY_VALIDATION_FAILURE',
    error_description: 'Wrong activity code!',
  });
  t.same(
    (
      await rest(portal, token, 'bizproc.robot.add', {
        ...robot,
        CODE: 'x',
        PROPERTIES: { '1bad': { Name: 'x' } },
      })
    ).body.error_description,
    'Wrong property key (1bad)!',
  );
  t.same((await rest(portal, token, 'bizproc.robot.list')).body.result, ['hh_refresh_status']);

  const rule = running.sim.addAutomationRule(portal.memberId, {
    entityType: 'lead',
    stageId: 'IN_PROCESS',
    code: 'hh_refresh_status',
    properties: { note: 'из теста' },
  });
  const leadId = (await rest(portal, token, 'crm.lead.add', { fields: { TITLE: 'Кандидат' } })).body
    .result as number;
  await running.sim.idle();
  t.equal(app.received.length, 0, 'no robot on the first stage');

  await rest(portal, token, 'crm.lead.update', { id: leadId, fields: { STATUS_ID: 'IN_PROCESS' } });
  await running.sim.idle();
  t.equal(app.received.length, 1, 'entering the stage ran its robot');
  const call = app.received[0]!;
  t.match(call.body, {
    workflow_id: String,
    code: 'hh_refresh_status',
    document_id: ['crm', 'CCrmDocumentLead', `LEAD_${leadId}`],
    document_type: ['crm', 'CCrmDocumentLead', 'LEAD'],
    event_token: String,
    properties: { mode: 'full', note: 'из теста' },
    use_subscription: 'Y',
    auth: {
      access_token: String,
      refresh_token: String,
      member_id: portal.memberId,
      application_token: applicationToken,
      user_id: '1',
    },
  });
  t.match(call.raw, /document_id%5B0%5D=crm&document_id%5B1%5D=CCrmDocumentLead/);
  const [run] = running.sim.robotRuns(portal.memberId);
  t.match(run, { status: 'waiting', ruleId: rule.id, entityId: leadId, stageId: 'IN_PROCESS' });

  t.same((await rest(portal, token, 'bizproc.event.send', { event_token: 'forged' })).body, {
    error: 'ACCESS_DENIED',
    error_description: 'Access denied!',
  });
  const forgedLog = await rest(portal, token, 'bizproc.activity.log', {
    event_token: 'forged',
    log_message: 'x',
  });
  t.same(
    [forgedLog.status, forgedLog.body],
    [403, { error: 'ACCESS_DENIED', error_description: 'Access denied!' }],
    'bizproc.activity.log: a token the portal never issued',
  );
  const logged = await rest(portal, token, 'bizproc.activity.log', {
    EVENT_TOKEN: call.body['event_token'],
    LOG_MESSAGE: 'принято',
  });
  t.same(logged.body.result, true, 'a live run takes a log line');
  t.same(
    (await rest(portal, token, 'bizproc.activity.log', { event_token: call.body['event_token'] })).body.error,
    'ERROR_EMPTY_LOG_MESSAGE',
  );
  const sent = await rest(portal, token, 'bizproc.event.send', {
    EVENT_TOKEN: call.body['event_token'],
    RETURN_VALUES: { HHSTATUS: 'interview', unknown: 'x' },
    LOG_MESSAGE: 'готово',
  });
  t.same(sent.body.result, true);
  t.match(running.sim.robotRuns(portal.memberId)[0], {
    status: 'completed',
    returnValues: { hhStatus: 'interview' },
    log: ['принято', 'готово'],
  });
  t.same(
    (await rest(portal, token, 'bizproc.event.send', { event_token: call.body['event_token'] })).body.error,
    'ACCESS_DENIED',
    'a token completes its robot once',
  );
  t.same(
    (
      await rest(portal, token, 'bizproc.activity.log', {
        event_token: call.body['event_token'],
        log_message: 'ещё',
      })
    ).body,
    { error: '0', error_description: 'WorkflowNotFound' },
    'a finished run’s token: its workflow is gone',
  );

  const runs = running.sim.moveStage(portal.memberId, 'lead', leadId, 'IN_PROCESS');
  t.equal(runs.length, 0, 'staying on a stage runs nothing');
  running.sim.moveStage(portal.memberId, 'lead', leadId, 'NEW');
  t.equal(
    running.sim.moveStage(portal.memberId, 'lead', leadId, 'IN_PROCESS').length,
    1,
    'coming back runs it again',
  );
  await running.sim.idle();
  t.equal(app.received.length, 2);
});

t.test(
  'a restEvent button sends ONCRMTIMELINEITEMACTION to the app that made the activity; uninstall cleans up',
  async (t) => {
    const running = await sim(t, { rateLimit: false });
    const app = await collector(t);
    running.sim.updateApp('hh-b24-dev', { installEventUrl: '' });
    const portal = running.sim.createPortal();
    const { accessToken: token, applicationToken } = await running.sim.install(portal.memberId);
    running.sim.finishInstall(portal.memberId);
    await rest(portal, token, 'event.bind', {
      event: 'ONCRMTIMELINEITEMACTION',
      handler: `${app.url}/b24/events`,
    });
    await rest(portal, token, 'event.bind', { event: 'ONAPPUNINSTALL', handler: `${app.url}/b24/events` });
    await rest(portal, token, 'placement.bind', {
      PLACEMENT: 'CRM_LEAD_DETAIL_TAB',
      HANDLER: `${app.url}/b24/tab`,
    });
    const leadId = Number(running.sim.createEntity(portal.memberId, 'lead', { TITLE: 'x' })['ID']);
    const added = await rest(portal, token, 'crm.activity.configurable.add', {
      ownerTypeId: 1,
      ownerId: leadId,
      fields: {},
      layout: {
        icon: { code: 'document' },
        header: { title: 'Отклик' },
        body: { logo: { code: 'document' }, blocks: {} },
        footer: {
          buttons: {
            others: {
              title: 'Другие отклики',
              type: 'primary',
              action: { type: 'restEvent', id: 'others', actionParams: { negotiation: 'n-1' } },
            },
          },
        },
      },
    });
    const activityId = (added.body.result as { activity: { id: number } }).activity.id;
    running.sim.timelineAction(portal.memberId, activityId, ['footer', 'buttons', 'others', 'action'], {
      userId: 2,
    });
    await running.sim.idle();
    t.match(app.received[0]!.body, {
      event: 'ONCRMTIMELINEITEMACTION',
      data: {
        negotiation: 'n-1',
        entityTypeId: '1',
        entityId: String(leadId),
        activityId: String(activityId),
        id: 'others',
      },
      auth: { user_id: '2', application_token: applicationToken },
    });

    await running.sim.uninstall(portal.memberId, { clean: true });
    await running.sim.idle();
    const bye = app.received[1]!;
    t.match(bye.body, {
      event: 'ONAPPUNINSTALL',
      data: { LANGUAGE_ID: 'ru', CLEAN: '1' },
      auth: { member_id: portal.memberId, application_token: applicationToken },
    });
    t.notOk('access_token' in (bye.body['auth'] as object), 'the uninstall event carries no tokens');
    t.same(
      [running.sim.eventBindings(portal.memberId), running.sim.placements(portal.memberId)],
      [[], []],
      'bindings and placements are gone',
    );
    t.equal((await rest(portal, token, 'profile')).body.error, 'APPLICATION_NOT_FOUND');
  },
);

t.test(
  'an app update: ONAPPUPDATE with VERSION and PREVIOUS_VERSION and the admin’s tokens, robots deleted, the rest kept',
  async (t) => {
    const running = await sim(t, { rateLimit: false });
    const app = await collector(t);
    const portal = running.sim.createPortal({ lang: 'ru' });
    const install = await running.sim.install(portal.memberId);
    running.sim.finishInstall(portal.memberId);
    const token = install.accessToken;
    t.throws(() => running.sim.updateInstall(portal.memberId), /raises the app's version first/);
    await rest(portal, token, 'event.bind', { event: 'ONAPPUPDATE', handler: `${app.url}/b24/events` });
    await rest(portal, token, 'placement.bind', {
      PLACEMENT: 'CRM_LEAD_DETAIL_TAB',
      HANDLER: `${app.url}/b24/tab`,
    });
    const robot = await rest(portal, token, 'bizproc.robot.add', {
      CODE: 'r1',
      HANDLER: `${app.url}/b24/robot`,
      AUTH_USER_ID: 1,
      NAME: 'R',
    });
    t.equal(robot.body.result, true, 'a robot added');

    running.sim.updateApp('hh-b24-dev', { version: 2 });
    const sent = running.sim.updateInstall(portal.memberId);
    await running.sim.idle();
    t.equal(sent.length, 1);
    t.equal(app.received.length, 1);
    const call = app.received[0]!;
    t.match(
      call.raw,
      /^event=ONAPPUPDATE&event_handler_id=\d+&data%5BVERSION%5D=2&data%5BPREVIOUS_VERSION%5D=1&data%5BLANGUAGE_ID%5D=ru&ts=\d+&auth%5Baccess_token%5D=/,
    );
    t.match(call.body, {
      auth: {
        refresh_token: String,
        member_id: portal.memberId,
        application_token: install.applicationToken,
      },
    });
    t.same(running.sim.portal(portal.memberId).robots, [], 'the app’s robots are deleted');
    t.equal(running.sim.placements(portal.memberId).length, 1, 'placements stay');
    t.equal(running.sim.eventBindings(portal.memberId).length, 1, 'event bindings stay');
    t.equal(
      ((await rest(portal, token, 'app.info')).body.result as { VERSION: number }).VERSION,
      2,
      'app.info says the version installed',
    );
  },
);
