import t from 'tap';
import { installedPortal, rest, sim } from './helpers.js';

type Obj = Record<string, unknown>;

function layout(
  overrides: { blocks?: number; header?: Obj; icon?: Obj; footer?: Obj; body?: Obj } = {},
): Obj {
  const blocks: Obj = {};
  for (let i = 1; i <= (overrides.blocks ?? 2); i++)
    blocks[`b${i}`] = { type: 'text', properties: { value: `Строка ${i}` } };
  return {
    icon: overrides.icon ?? { code: 'document' },
    header: overrides.header ?? { title: 'Отклик', tags: { st: { title: 'новый', type: 'primary' } } },
    body: overrides.body ?? { logo: { code: 'document' }, blocks },
    ...(overrides.footer ? { footer: overrides.footer } : {}),
  };
}

t.test('the 21st block fails with the exact message, in the portal’s language', async (t) => {
  const running = await sim(t, { rateLimit: false });
  for (const [lang, text] of [
    ['ru', 'Поле blocks объекта BodyDto может содержать не более 20 значений.'],
    ['en', 'The field blocks of BodyDto can only contain up to 20 values.'],
  ] as const) {
    const { portal, token } = await installedPortal(running, { lang });
    const lead = running.sim.createEntity(portal.memberId, 'lead', { TITLE: 'x' });
    const twenty = await rest(portal, token, 'crm.activity.configurable.add', {
      ownerTypeId: 1,
      ownerId: Number(lead['ID']),
      fields: {},
      layout: layout({ blocks: 20 }),
    });
    t.equal(twenty.status, 200, `${lang}: 20 blocks are fine`);
    const res = await rest(portal, token, 'crm.activity.configurable.add', {
      ownerTypeId: 1,
      ownerId: Number(lead['ID']),
      fields: {},
      layout: layout({ blocks: 21 }),
    });
    t.same(
      [res.status, res.body],
      [400, { error: 'TOO_MANY_ITEMS', error_description: text }],
      `${lang}: 21 blocks`,
    );
    t.equal(
      running.sim.activities(portal.memberId).length,
      1,
      `${lang}: the refused activity was not stored`,
    );
  }
});

t.test('only the first error comes back, in Bitrix’s order', async (t) => {
  const running = await sim(t, { rateLimit: false });
  const { portal, token } = await installedPortal(running, { lang: 'ru' });
  const leadId = Number(running.sim.createEntity(portal.memberId, 'lead', { TITLE: 'x' })['ID']);
  const add = (fields: Obj, l: unknown) =>
    rest(portal, token, 'crm.activity.configurable.add', {
      ownerTypeId: 1,
      ownerId: leadId,
      fields,
      layout: l,
    });
  const cases: Array<[string, Obj, unknown, string, string]> = [
    [
      'an unknown icon before 21 blocks',
      {},
      layout({ blocks: 21, icon: { code: 'unicorn' } }),
      'WRONG_FIELD_VALUE',
      'Некорректное значение поля code в IconDto.',
    ],
    [
      'a bad field before any layout error',
      { completed: 'maybe' },
      layout({ blocks: 21 }),
      'WRONG_FIELD_VALUE',
      'Некорректное значение поля completed',
    ],
    [
      'incoming with a deadline',
      { isIncomingChannel: 'Y', deadline: '2026-12-01T10:00:00+03:00' },
      layout(),
      'INCOMING_ACTIVITY_CAN_NOT_BE_WITH_DEADLINE',
      'Входящее дело не может иметь крайний срок',
    ],
    [
      'a missing header',
      {},
      { icon: { code: 'document' }, body: { logo: { code: 'document' }, blocks: {} } },
      'FIELD_IS_REQUIRED',
      'Поле header в LayoutDto должно быть заполнено.',
    ],
    [
      'an unknown key (no final period in Russian)',
      {},
      { ...layout(), extra: 1 },
      'FIELD_IS_REDUNDANT',
      'Поле extra лишнее для объекта LayoutDto',
    ],
    [
      'three tags',
      {},
      layout({
        header: {
          title: 'x',
          tags: {
            a: { title: 'a', type: 'primary' },
            b: { title: 'b', type: 'primary' },
            c: { title: 'c', type: 'primary' },
          },
        },
      }),
      'TOO_MANY_ITEMS',
      'Поле tags объекта HeaderDto может содержать не более 2 значений.',
    ],
    [
      'a key with a dot',
      {},
      layout({
        body: { logo: { code: 'document' }, blocks: { 'b.1': { type: 'text', properties: { value: 'x' } } } },
      }),
      'KEY_CONTAIN_WRONG_SYMBOLS',
      'Значение ключа b.1 содержит недопустимые символы.',
    ],
    [
      'a language the portal lacks',
      {},
      layout({ header: { title: { ru: 'Отклик', xx: 'Response' } } }),
      'WRONG_LANG',
      'Язык xx не найден',
    ],
    [
      'a tag type Bitrix does not know',
      {},
      layout({ header: { title: 'x', tags: { a: { title: 'a', type: 'lavender' } } } }),
      'WRONG_FIELD_VALUE',
      'Некорректное значение поля type в TagDto.',
    ],
    [
      'three buttons',
      {},
      layout({
        footer: {
          buttons: Object.fromEntries(
            ['a', 'b', 'c'].map((k) => [
              k,
              { title: k, type: 'primary', action: { type: 'redirect', uri: '/x/' } },
            ]),
          ),
        },
      }),
      'TOO_MANY_ITEMS',
      'Поле buttons объекта FooterDto может содержать не более 2 значений.',
    ],
    [
      'a restEvent without id',
      {},
      layout({ footer: { buttons: { a: { title: 'a', type: 'primary', action: { type: 'restEvent' } } } } }),
      'FIELD_IS_REQUIRED',
      'Поле id в ActionDto должно быть заполнено.',
    ],
    [
      '21 action params',
      {},
      layout({
        footer: {
          buttons: {
            a: {
              title: 'a',
              type: 'primary',
              action: {
                type: 'openRestApp',
                actionParams: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`p${i}`, i])),
              },
            },
          },
        },
      }),
      'TOO_MANY_ITEMS',
      'Поле actionParams объекта ActionDto может содержать не более 20 значений.',
    ],
    [
      'a large text inside withTitle',
      {},
      layout({
        body: {
          logo: { code: 'document' },
          blocks: {
            w: {
              type: 'withTitle',
              properties: { title: 't', block: { type: 'largeText', properties: { value: 'v' } } },
            },
          },
        },
      }),
      'WRONG_FIELD_VALUE',
      'Некорректное значение поля type в ContentBlockDto.',
    ],
    [
      'eleven menu items',
      {},
      layout({
        footer: {
          menu: {
            items: Object.fromEntries(
              Array.from({ length: 11 }, (_, i) => [
                `m${i}`,
                { title: 'm', action: { type: 'redirect', uri: '/' } },
              ]),
            ),
          },
        },
      }),
      'TOO_MANY_ITEMS',
      'Поле items объекта FooterMenuDto может содержать не более 10 значений.',
    ],
    ['an empty layout', {}, {}, 'ERROR_EMPTY_LAYOUT', 'Поле layout должно быть заполнено'],
  ];
  for (const [what, fields, l, code, text] of cases) {
    const res = await add(fields, l);
    t.same([res.status, res.body], [400, { error: code, error_description: text }], what);
  }
  const noLayout = await rest(portal, token, 'crm.activity.configurable.add', {
    ownerTypeId: 1,
    ownerId: leadId,
    fields: {},
  });
  t.same(
    noLayout.body,
    { error: 100, error_description: 'Could not find value for parameter {layout}' },
    'a missing argument',
  );
  t.equal(running.sim.activities(portal.memberId).length, 0, 'nothing was stored');
});

t.test(
  'add, get, update, list; another app may not update; the app’s update ends a button’s loader',
  async (t) => {
    const running = await sim(t, { rateLimit: false });
    const { portal, token } = await installedPortal(running, { lang: 'en' });
    const dealId = Number(
      running.sim.createEntity(portal.memberId, 'deal', { TITLE: 'Vacancy', ASSIGNED_BY_ID: 2 })['ID'],
    );
    const full = layout({
      footer: {
        buttons: {
          others: {
            title: { en: 'Other responses', ru: 'Другие отклики' },
            type: 'primary',
            action: {
              type: 'restEvent',
              id: 'others',
              animationType: 'loader',
              actionParams: { negotiation: 42 },
            },
          },
          resume: {
            title: 'Resume',
            type: 'secondary',
            action: { type: 'redirect', uri: 'https://hh.ru/resume/abc' },
          },
        },
      },
      body: {
        logo: { code: 'document' },
        blocks: {
          v: {
            type: 'withTitle',
            properties: {
              title: 'Vacancy',
              inline: 'Y',
              block: { type: 'text', properties: { value: 'Developer', bold: 'true' } },
            },
          },
        },
      },
    });
    const created = await rest(portal, token, 'crm.activity.configurable.add', {
      ownerTypeId: 2,
      ownerId: dealId,
      fields: { originatorId: 'hh', originId: 'n-42', pingOffsets: [0, '15', 15] },
      layout: full,
    });
    const id = (created.body.result as { activity: { id: number } }).activity.id;
    const got = (
      (await rest(portal, token, 'crm.activity.configurable.get', { id })).body.result as { activity: Obj }
    ).activity;
    t.match(got, {
      id,
      ownerTypeId: 2,
      ownerId: dealId,
      fields: {
        typeId: 'CONFIGURABLE',
        completed: false,
        responsibleId: 2,
        originId: 'n-42',
        pingOffsets: [0, 15],
      },
    });
    t.match(
      got['layout'],
      { body: { blocks: { v: { properties: { inline: true, block: { properties: { bold: true } } } } } } },
      'values are cast as Bitrix stores them',
    );
    t.match(
      got['layout'],
      { footer: { buttons: { others: { action: { actionParams: { negotiation: '42' } } } } } },
      'action params become strings',
    );

    running.sim.timelineAction(portal.memberId, id, ['footer', 'buttons', 'others', 'action']);
    t.equal(running.sim.activities(portal.memberId)[0]!.busy, 'loader', 'a loader button stays busy');
    running.sim.registerApp({ clientId: 'other-app', clientSecret: 's' });
    const other = await running.sim.install(portal.memberId, { clientId: 'other-app' });
    const foreign = await rest(portal, other.accessToken, 'crm.activity.configurable.update', {
      id,
      fields: { completed: 'Y' },
    });
    t.same(foreign.body, {
      error: 'ERROR_WRONG_APPLICATION',
      error_description: 'Activity can only be updated by the app that created it.',
    });
    const updated = await rest(portal, token, 'crm.activity.configurable.update', {
      id,
      fields: { completed: 'Y' },
    });
    t.equal(updated.status, 200);
    t.match(
      running.sim.activities(portal.memberId)[0],
      { busy: null, fields: { completed: true } },
      'the update ends the loader; the layout is kept',
    );
    const list = await rest(portal, token, 'crm.activity.list', {
      filter: { PROVIDER_ID: 'CONFIGURABLE_REST_APP', OWNER_TYPE_ID: 2, OWNER_ID: dealId },
    });
    t.match(list.body.result, [{ ID: String(id), SUBJECT: 'Отклик', COMPLETED: 'Y', ORIGIN_ID: 'n-42' }]);
    t.same((await rest(portal, token, 'crm.activity.configurable.get', { id: 999 })).body, {
      error: 'NOT_FOUND',
      error_description: 'Item was not found.',
    });
  },
);
