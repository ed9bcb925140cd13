import t from 'tap';
import { AppError, ValidationError, createService, rpc, subjects } from '@hhb24/common';
import { createTestEnv, eventually } from '@hhb24/common/testing';
import { buildSettings, parseSettings, saveSettings, schema } from '../src/app.js';
import { loadConfig } from '@hhb24/common';
import { saveManagerUsers } from '../src/settings-store.js';

t.test('settings from a form: every problem named in Russian, simple and extended modes', async (t) => {
  const err = t.throws(() =>
    parseSettings('m1', { entityType: 'contact', stageForResponse: 'x y' }),
  ) as ValidationError;
  t.type(err, ValidationError);
  t.same(err.details?.['fields'], {
    responsibleUserId: 'Выберите ответственного',
    entityType: 'Выберите тип сущности: Лид или Сделка',
    stageForResponse: 'Выберите стадию',
    stageForInvitation: 'Выберите стадию',
  });

  const simple = parseSettings('m1', {
    responsibleUserId: '7',
    entityType: 'lead',
    categoryId: '3',
    stageForResponse: 'NEW',
    stageForInvitation: 'IN_PROCESS',
    sourceId: 'WEB',
  });
  t.equal(simple.categoryId, 0, 'leads have no pipeline');
  t.equal(simple.extendedSync, false);
  t.same(simple.stageByState, {});

  const partial = t.throws(() =>
    parseSettings('m1', {
      responsibleUserId: 7,
      entityType: 'deal',
      categoryId: 2,
      extendedSync: 'on',
      stageByState: { response: 'C2:NEW' },
    }),
  ) as ValidationError;
  t.equal(
    Object.keys(partial.details?.['fields'] as object).length,
    7,
    'extended mode needs a stage for each of the other seven states',
  );

  const states = {
    response: 'C2:NEW',
    consider: 'C2:A',
    phone_interview: 'C2:B',
    assessment: 'C2:C',
    interview: 'C2:D',
    offer: 'C2:E',
    hired: 'C2:WON',
    discard: 'C2:LOSE',
  };
  const extended = parseSettings('m1', {
    responsibleUserId: 7,
    entityType: 'deal',
    categoryId: 2,
    extendedSync: 'on',
    stageByState: states,
    twoWayStatus: 'on',
  });
  t.equal(extended.categoryId, 2);
  t.same(extended.stageByState, states);
  t.equal(extended.twoWayStatus, true);
  t.equal(extended.twoWayDiscard, false, 'discards stay one-way unless asked');
});

t.test(
  '«Кто может видеть аналитику»: the users named, once each; a wrong id or too many named in Russian',
  async (t) => {
    const base = {
      responsibleUserId: '7',
      entityType: 'lead',
      stageForResponse: 'NEW',
      stageForInvitation: 'IN_PROCESS',
    };
    t.same(parseSettings('m1', base).analyticsViewerIds, [], 'none named: only the portal’s admins');
    t.same(
      parseSettings('m1', { ...base, analyticsViewerIds: '5' }).analyticsViewerIds,
      [5],
      'one, as a form sends it',
    );
    t.same(
      parseSettings('m1', { ...base, analyticsViewerIds: ['5', '', '9', '5'] }).analyticsViewerIds,
      [5, 9],
      'many, blanks and repeats left out',
    );
    const wrong = t.throws(() =>
      parseSettings('m1', { ...base, analyticsViewerIds: ['5', 'all'] }),
    ) as ValidationError;
    t.same(wrong.details?.['fields'], { analyticsViewerIds: 'Выберите сотрудников из списка' });
    const many = t.throws(() =>
      parseSettings('m1', {
        ...base,
        analyticsViewerIds: Array.from({ length: 51 }, (_, i) => String(i + 1)),
      }),
    ) as ValidationError;
    t.same(many.details?.['fields'], { analyticsViewerIds: 'Можно назначить не больше 50 сотрудников' });
  },
);

t.test('saved settings are announced in the same transaction and served to other services', async (t) => {
  const env = createTestEnv({ SETTINGS_PORT: '0' });
  t.teardown(() => env.cleanup());
  const settings = buildSettings(loadConfig('settings', schema, env.env));
  await settings.runtime.start();
  t.teardown(() => settings.app.close());
  const asker = createService({ name: 'asker', config: env.config });
  await asker.runtime.start();
  t.teardown(() => asker.app.close());

  t.equal(await asker.runtime.call(rpc.settingsGet, { memberId: 'portal-a' }), null, 'nothing saved yet');
  const saved = parseSettings('portal-a', {
    responsibleUserId: 1,
    entityType: 'lead',
    stageForResponse: 'NEW',
    stageForInvitation: 'IN_PROCESS',
  });
  await saveSettings(settings.runtime.db, saved, 1);
  t.same(
    await asker.runtime.call(rpc.settingsGet, { memberId: 'portal-a' }),
    { ...saved, managerUsers: [], vacancyRules: [] },
    'served with «Ответственные по менеджерам hh.ru» (none chosen yet)',
  );
  const stream = asker.runtime.naming.stream('PORTAL');
  const published = await eventually(
    async () => {
      const info = await asker.runtime.nats.jsm.streams.info(stream);
      return info.state.messages === 1
        ? asker.runtime.nats.jsm.streams.getMessage(stream, { seq: 1 })
        : undefined;
    },
    { what: 'portal.settings.saved published by the relay' },
  );
  t.equal(published.subject, asker.runtime.naming.subject(subjects.portalSettingsSaved));
  t.same(published.json<{ settings: unknown }>().settings, saved);

  // A manager's user saved: served with the settings and announced, so crm-writer forgets its copy.
  const mapped = [
    { employerId: '10', managerId: '100', userId: 7 },
    { employerId: '10', managerId: '101', userId: null },
  ];
  await saveManagerUsers(settings.runtime.db, 'portal-a', mapped, 1);
  t.same(await asker.runtime.call(rpc.settingsGet, { memberId: 'portal-a' }), {
    ...saved,
    managerUsers: mapped,
    vacancyRules: [],
  });
  const announced = await eventually(
    async () => {
      const info = await asker.runtime.nats.jsm.streams.info(stream);
      return info.state.messages === 2
        ? asker.runtime.nats.jsm.streams.getMessage(stream, { seq: 2 })
        : undefined;
    },
    { what: 'portal.settings.saved of the managers’ users' },
  );
  t.same(announced.json<{ settings: { managerUsers: unknown } }>().settings.managerUsers, mapped);

  const bad = await asker.runtime.call(rpc.settingsGet, { memberId: '' }).catch((e: AppError) => e);
  t.equal((bad as AppError).status, 400);
});
