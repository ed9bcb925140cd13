import t from 'tap';
import { ERROR_TEXTS, type UiRequest, createService, loadConfig, rpc } from '@hhb24/common';
import { createTestEnv } from '@hhb24/common/testing';
import { buildSettings, schema } from '../src/app.js';

t.test(
  'the pages’ forms by schema: a form that does not fit is a 400 or the field’s own message, and nothing is stored',
  async (t) => {
    const env = createTestEnv({ SETTINGS_PORT: '0' });
    t.teardown(() => env.cleanup());
    const settings = buildSettings(loadConfig('settings', schema, env.env));
    await settings.runtime.start();
    t.teardown(() => settings.app.close());
    const asker = createService({ name: 'asker', config: env.config });
    await asker.runtime.start();
    t.teardown(() => asker.app.close());
    const { db } = settings.runtime;
    const rows = async (table: string) => Number((await db(table).count({ n: '*' }))[0]!['n']);
    const stored = async () =>
      (await rows('feedback')) + (await rows('portal_settings')) + (await rows('outbox'));

    const ask = (method: 'GET' | 'POST', route: string, form: UiRequest['form']) =>
      asker.runtime.call(rpc.settingsUi, {
        session: { memberId: 'portal-a', userId: 1, isAdmin: true, crmAccess: true, lang: 'ru' },
        token: 'page-token',
        route,
        method,
        form,
        links: { bx24Script: 'https://b24.example/bx24.js', hhSignup: 'https://hh.example/auth' },
        ...(method === 'POST' ? { adminCheck: 'fresh' as const } : {}),
      });
    const invalid = ERROR_TEXTS['error.invalidRequest'].ru;

    const refused: Array<[method: 'GET' | 'POST', route: string, form: UiRequest['form'], what: string]> = [
      ['GET', 'health/events', { before: 'abc' }, '«Показать ещё» before a row that is no number'],
      ['GET', 'health/events', { before: ['1', '2'] }, '«Показать ещё» with two rows'],
      ['POST', 'health/retry', { negotiationId: '1;drop' }, '«Повторить» on a response id that is none'],
      ['POST', 'failures/retry', { negotiationId: 'x'.repeat(30) }, '«Повторить» on the results, a bad id'],
      ['GET', 'settings/users', { userQuery: 'a'.repeat(101) }, 'a user search of 101 characters'],
      ['POST', 'settings/save', { action: 'delete', entityType: 'lead' }, 'a save with an unknown button'],
      [
        'GET',
        'settings/users',
        { analyticsViewerIds: ['5', 'x'] },
        'a viewer search keeping a user that is no id',
      ],
      ['GET', 'tab/analytics', { from: 'вчера' }, '«Аналитика» from a day that is no date'],
      ['GET', 'tab/analytics', { to: '2026-02-30' }, '«Аналитика» to a day the calendar has not'],
      ['GET', 'tab/analytics', { bucket: 'month' }, '«Аналитика» by month'],
      ['GET', 'tab/analytics', { from: ['2026-01-01', '2026-02-01'] }, '«Аналитика» from two days'],
      ['GET', 'tab/analytics', { vacancy: ['1', '2;drop'] }, '«Аналитика» of a vacancy that is no id'],
      [
        'GET',
        'tab/analytics',
        { vacancy: Array.from({ length: 201 }, (_, i) => String(i + 1)) },
        '«Аналитика» of 201 vacancies',
      ],
    ];
    for (const [method, route, form, what] of refused) {
      const res = await ask(method, route, form);
      t.equal(res.status, 400, `${what}: 400`);
      t.match(res.html, invalid, `${what}: the catalogue's text`);
    }

    const blank = await ask('POST', 'feedback/send', { message: '   ', contact: '' });
    t.equal(blank.status, 200, 'feedback of spaces: the form again');
    t.match(blank.html, 'Напишите сообщение', 'its field says what is missing');
    const long = await ask('POST', 'feedback/send', { message: 'x'.repeat(4001), contact: 'c'.repeat(201) });
    t.match(long.html, 'Сообщение длиннее 4000 символов', 'a message too long says so');
    t.match(long.html, 'Контакт длиннее 200 символов', 'and a contact too long');

    const unsaved = await ask('POST', 'settings/save', {
      action: 'save',
      entityType: 'contact',
      responsibleUserId: '0',
      stageForResponse: 'NEW',
      stageForInvitation: 'x y',
    });
    t.not(unsaved.status, 500, 'settings that do not fit: no failure');
    t.equal(await stored(), 0, 'no feedback, no settings, nothing in the outbox for any of them');
  },
);
