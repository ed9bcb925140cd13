import t from 'tap';
import { installedPortal, rest, sim } from './helpers.js';

const PDF = Buffer.from('%PDF-1.4\n% resume\n').toString('base64');

t.test(
  'leads and deals: defaults, unknown fields ignored, multi-fields, update, stages per pipeline',
  async (t) => {
    const running = await sim(t, { rateLimit: false });
    const { portal, token } = await installedPortal(running, { lang: 'ru' });
    const add = await rest(portal, token, 'crm.lead.add', {
      fields: {
        NAME: 'Алексей',
        UF_CRM_TYPO: 'x',
        APPLICANT_CITY: 'Москва',
        EMAIL: [{ VALUE: 'a@example.com', VALUE_TYPE: 'WORK' }],
        ORIGINATOR_ID: 'hh',
        ORIGIN_ID: 'n-1',
      },
    });
    const id = add.body.result as number;
    const lead = (await rest(portal, token, 'crm.lead.get', { id })).body.result as Record<string, unknown>;
    t.match(lead, {
      ID: String(id),
      TITLE: `Лид #${id}`,
      STATUS_ID: 'NEW',
      NAME: 'Алексей',
      ORIGIN_ID: 'n-1',
      HAS_EMAIL: 'Y',
      ASSIGNED_BY_ID: '1',
    });
    t.notOk('UF_CRM_TYPO' in lead || 'APPLICANT_CITY' in lead, 'unknown fields are dropped silently');
    const emailId = (lead['EMAIL'] as Array<{ ID: string }>)[0]!.ID;
    await rest(portal, token, 'crm.lead.update', {
      id,
      fields: {
        TITLE: '',
        STATUS_ID: 'IN_PROCESS',
        EMAIL: [
          { ID: emailId, DELETE: 'Y' },
          { VALUE: 'b@example.com', VALUE_TYPE: 'HOME' },
        ],
      },
    });
    const updated = running.sim.entity(portal.memberId, 'lead', id)!;
    t.match(
      updated,
      {
        TITLE: `Лид #${id}`,
        STATUS_ID: 'IN_PROCESS',
        EMAIL: [{ VALUE: 'b@example.com', VALUE_TYPE: 'HOME' }],
      },
      'empty TITLE on update is ignored; multi-field items deleted and added',
    );
    t.same((await rest(portal, token, 'crm.lead.update', { id: 0, fields: {} })).body, {
      error: '',
      error_description: 'ID is not defined or invalid.',
    });
    t.same((await rest(portal, token, 'crm.lead.add', { fields: 'x' })).body, {
      error: '',
      error_description: "Parameter 'fields' must be array.",
    });

    const pipeline = running.sim.addPipeline(portal.memberId, 'Подбор');
    const dealId = (
      await rest(portal, token, 'crm.deal.add', {
        fields: { TITLE: 'Вакансия', CATEGORY_ID: pipeline.id, STAGE_ID: `C${pipeline.id}:PREPARATION` },
      })
    ).body.result as number;
    t.match(running.sim.entity(portal.memberId, 'deal', dealId), {
      CATEGORY_ID: String(pipeline.id),
      STAGE_ID: `C${pipeline.id}:PREPARATION`,
      STAGE_SEMANTIC_ID: 'P',
      CLOSED: 'N',
    });
    const foreignStage = (
      await rest(portal, token, 'crm.deal.add', { fields: { CATEGORY_ID: pipeline.id, STAGE_ID: 'WON' } })
    ).body.result as number;
    t.equal(
      running.sim.entity(portal.memberId, 'deal', foreignStage)!['STAGE_ID'],
      `C${pipeline.id}:NEW`,
      'a stage of another pipeline falls back to the first stage',
    );
    await rest(portal, token, 'crm.deal.update', {
      id: dealId,
      fields: { STAGE_ID: `C${pipeline.id}:WON`, CATEGORY_ID: 0 },
    });
    t.match(
      running.sim.entity(portal.memberId, 'deal', dealId),
      {
        STAGE_ID: `C${pipeline.id}:WON`,
        CATEGORY_ID: String(pipeline.id),
        CLOSED: 'Y',
        STAGE_SEMANTIC_ID: 'S',
      },
      'CATEGORY_ID cannot change through update',
    );

    const categories = await rest(portal, token, 'crm.category.list', { entityTypeId: 2 });
    t.same(categories.body.result, {
      categories: [
        { id: 0, name: 'Общее', sort: 100, entityTypeId: 2, isDefault: 'Y', originId: '', originatorId: '' },
        {
          id: pipeline.id,
          name: 'Подбор',
          sort: 200,
          entityTypeId: 2,
          isDefault: 'N',
          originId: '',
          originatorId: '',
        },
      ],
    });
    t.equal(categories.body.total, 2);
    const stages = (
      await rest(portal, token, 'crm.status.entity.items', { entityId: `DEAL_STAGE_${pipeline.id}` })
    ).body.result as Array<{ STATUS_ID: string }>;
    t.same(
      stages.map((s) => s.STATUS_ID),
      ['NEW', 'PREPARATION', 'PREPAYMENT_INVOICE', 'EXECUTING', 'FINAL_INVOICE', 'WON', 'LOSE'].map(
        (s) => `C${pipeline.id}:${s}`,
      ),
    );
    const added = running.sim.addStage(portal.memberId, {
      categoryId: pipeline.id,
      name: 'Интервью',
      after: `C${pipeline.id}:PREPARATION`,
    });
    t.match(
      added.statusId,
      new RegExp(`^C${pipeline.id}:UC_[0-9A-Z]{6}$`),
      'an added stage gets an id like Bitrix24’s own',
    );
    const withAdded = (
      await rest(portal, token, 'crm.status.entity.items', { entityId: `DEAL_STAGE_${pipeline.id}` })
    ).body.result as Array<{ STATUS_ID: string; NAME: string }>;
    t.same(
      withAdded.slice(1, 4).map((s) => s.NAME),
      ['Подготовка документов', 'Интервью', 'Счёт на предоплату'],
      'it sits after the stage it was added after',
    );
    t.throws(() => running.sim.addStage(portal.memberId, { categoryId: 99, name: 'x' }), /no pipeline 99/);
    const sources = (await rest(portal, token, 'crm.status.list', { filter: { ENTITY_ID: 'SOURCE' } })).body
      .result as Array<{ STATUS_ID: string; NAME: string }>;
    t.match(sources[0], { STATUS_ID: 'CALL', NAME: 'Звонок' });
    const leadStatuses = (
      await rest(portal, token, 'crm.status.list', {
        filter: { ENTITY_ID: 'STATUS' },
        order: { SORT: 'ASC' },
      })
    ).body.result as Array<{ STATUS_ID: string; EXTRA: { SEMANTICS: string } }>;
    t.same(
      leadStatuses.map((s) => `${s.STATUS_ID}:${s.EXTRA.SEMANTICS}`),
      ['NEW:process', 'IN_PROCESS:process', 'PROCESSED:process', 'JUNK:failure', 'CONVERTED:success'],
    );
    const fields = (await rest(portal, token, 'crm.deal.fields')).body.result as Record<
      string,
      { title: string; isImmutable: boolean }
    >;
    t.match(fields['CATEGORY_ID'], { title: 'Воронка', isImmutable: true });
  },
);

t.test(
  'user fields: name normalisation, files in and out, a list sent to a single file field stores nothing',
  async (t) => {
    const running = await sim(t, { rateLimit: false });
    const { portal, token } = await installedPortal(running);
    const names = ['NH_STATUS', 'UF_NH_VACANCIES', 'UF_CRM_HH_RESUME'];
    for (const [i, name] of names.entries()) {
      const res = await rest(portal, token, 'crm.lead.userfield.add', {
        fields: {
          FIELD_NAME: name,
          USER_TYPE_ID: i === 2 ? 'file' : 'string',
          LABEL: 'Поле',
          EDIT_FORM_LABEL: { ru: 'Резюме', en: 'Resume' },
        },
      });
      t.equal(typeof res.body.result, 'number', `${name} added`);
    }
    t.same(
      running.sim.userFields(portal.memberId, 'lead').map((f) => f.FIELD_NAME),
      ['UF_CRM_NH_STATUS', 'UF_CRM_NH_VACANCIES', 'UF_CRM_HH_RESUME'],
      'every form ends up as UF_CRM_*',
    );
    const dup = await rest(portal, token, 'crm.lead.userfield.add', {
      fields: { FIELD_NAME: 'NH_STATUS', USER_TYPE_ID: 'string' },
    });
    t.equal(dup.body.error, 'ERROR_CORE', 'a second field with the same name is refused');
    t.same(
      (await rest(portal, token, 'crm.lead.userfield.add', { fields: { USER_TYPE_ID: 'string' } })).body,
      { error: '', error_description: "The 'FIELD_NAME' field is not found." },
    );
    t.same(
      (
        await rest(portal, token, 'crm.lead.userfield.add', {
          fields: { FIELD_NAME: 'BAD-NAME', USER_TYPE_ID: 'string' },
        })
      ).body.error_description,
      'Field name contains invalid characters. Allowed characters are: A-Z, 0-9 and _.',
    );
    const listed = (
      await rest(portal, token, 'crm.lead.userfield.list', {
        filter: { FIELD_NAME: 'UF_CRM_HH_RESUME', LANG: 'ru' },
      })
    ).body.result as Array<Record<string, unknown>>;
    t.match(listed, [
      {
        FIELD_NAME: 'UF_CRM_HH_RESUME',
        USER_TYPE_ID: 'file',
        EDIT_FORM_LABEL: 'Резюме',
        LIST_COLUMN_LABEL: 'Поле',
      },
    ]);

    const id = (
      await rest(portal, token, 'crm.lead.add', {
        fields: {
          TITLE: 'Отклик',
          UF_CRM_NH_STATUS: 'response',
          UF_CRM_HH_RESUME: {
            fileData: ['Малыш Алексей Александрович_Проектный программист 13-05-2019.pdf', PDF],
          },
        },
      })
    ).body.result as number;
    const got = (await rest(portal, token, 'crm.lead.get', { id })).body.result as Record<
      string,
      { id: number; showUrl: string; downloadUrl: string }
    >;
    const file = got['UF_CRM_HH_RESUME']!;
    t.match(file, {
      id: Number,
      showUrl: /^\/bitrix\/components\/bitrix\/crm\.lead\.show\/show_file\.php\?/,
      downloadUrl: new RegExp(`&auth=${token}$`),
    });
    const portalBase = portal.clientEndpoint.replace(/rest\/$/, '');
    const download = await fetch(`${portalBase}${file.downloadUrl.slice(1)}`);
    t.equal(download.status, 200, 'the file downloads from the portal with the token');
    t.equal(Buffer.from(await download.arrayBuffer()).toString('base64'), PDF, 'byte for byte');
    t.match(download.headers.get('content-disposition'), /filename\*=UTF-8''%D0%9C%D0%B0%D0%BB/);
    t.equal(
      (await fetch(`${portalBase}${file.showUrl.slice(1)}&auth=wrong`)).status,
      401,
      'a wrong token is refused',
    );
    t.equal(
      running.sim.file(portal.memberId, file.id)!.name,
      'Малыш Алексей Александрович_Проектный программист 13-05-2019.pdf',
    );

    await rest(portal, token, 'crm.lead.update', {
      id,
      fields: { UF_CRM_HH_RESUME: [{ fileData: ['other.pdf', PDF] }] },
    });
    t.equal(
      (running.sim.entity(portal.memberId, 'lead', id)!['UF_CRM_HH_RESUME'] as { id: number }).id,
      file.id,
      'a list sent to a single file field changes nothing',
    );
    await rest(portal, token, 'crm.lead.update', {
      id,
      fields: { UF_CRM_HH_RESUME: { fileData: ['new.pdf', PDF] } },
    });
    const replaced = running.sim.entity(portal.memberId, 'lead', id)!['UF_CRM_HH_RESUME'] as { id: number };
    t.not(replaced.id, file.id, 'a new fileData replaces the file');
    const empty = (await rest(portal, token, 'crm.lead.add', { fields: { TITLE: 'без файла' } })).body
      .result as number;
    t.notOk(
      'UF_CRM_HH_RESUME' in
        ((await rest(portal, token, 'crm.lead.get', { id: empty })).body.result as object),
      'an empty single file field is left out',
    );
  },
);

t.test('required fields: only when the portal checks them over REST, with the portal’s texts', async (t) => {
  const running = await sim(t, { rateLimit: false });
  for (const lang of ['ru', 'en'] as const) {
    const { portal, token } = await installedPortal(running, { lang });
    running.sim.setRequired(portal.memberId, 'lead', 'SOURCE_ID', true, { restCheck: false });
    t.equal(
      (await rest(portal, token, 'crm.lead.add', { fields: { TITLE: 'a' } })).status,
      200,
      `${lang}: not checked while the REST check is off`,
    );
    running.sim.setRequired(portal.memberId, 'lead', 'SOURCE_ID');
    const missing = await rest(portal, token, 'crm.lead.add', { fields: { TITLE: 'b' } });
    t.same(
      [missing.status, missing.body],
      [
        400,
        {
          error: '',
          error_description:
            lang === 'ru'
              ? 'Не введено значение обязательного поля "Источник"<br>'
              : 'The field "Source" is required.<br>',
        },
      ],
      `${lang}: a required standard field`,
    );
    t.equal(
      (await rest(portal, token, 'crm.lead.add', { fields: { TITLE: 'c', SOURCE_ID: 'WEB' } })).status,
      200,
    );
    await rest(portal, token, 'crm.lead.userfield.add', {
      fields: {
        FIELD_NAME: 'HH_RESUME',
        USER_TYPE_ID: 'file',
        EDIT_FORM_LABEL: { ru: 'Резюме', en: 'Resume' },
      },
    });
    running.sim.setRequired(portal.memberId, 'lead', 'UF_CRM_HH_RESUME');
    const uf = await rest(portal, token, 'crm.lead.add', { fields: { TITLE: 'd', SOURCE_ID: 'WEB' } });
    t.same(
      uf.body,
      {
        error: 'ERROR_CORE',
        error_description:
          lang === 'ru'
            ? 'Не введено значение обязательного поля Резюме.<br>'
            : 'The required field Resume is missing.<br>',
      },
      `${lang}: a mandatory user field`,
    );
    t.equal(running.sim.entities(portal.memberId, 'lead').length, 2, 'refused adds store nothing');
  }
});

t.test('users, profile, notifications, comments', async (t) => {
  const running = await sim(t, { rateLimit: false });
  const { portal, token } = await installedPortal(running, { lang: 'ru' });
  running.sim.addUser(portal.memberId, { NAME: 'Пётр', LAST_NAME: 'Петров', WORK_POSITION: 'Рекрутер' });
  const users = await rest(portal, token, 'user.get', { FILTER: { ACTIVE: true }, sort: 'ID' });
  t.equal(users.body.total, 4);
  t.match((users.body.result as unknown[])[0], {
    ID: '1',
    ACTIVE: true,
    NAME: String,
    UF_DEPARTMENT: [1],
    USER_TYPE: 'employee',
  });
  t.notOk('EMAIL' in ((users.body.result as object[])[0] as object), 'user_brief does not show e-mails');
  const found = await rest(portal, token, 'user.search', { FILTER: { FIND: 'петр' } });
  t.same(
    (found.body.result as Array<{ NAME: string }>).map((u) => u.NAME),
    ['Пётр'],
    'FIND searches names',
  );
  t.same(
    (await rest(portal, token, 'user.get', { ID: 2 })).body.total,
    1,
    'filter keys may come at the top level',
  );

  const first = await rest(portal, token, 'im.notify.system.add', {
    USER_ID: 2,
    MESSAGE: 'Отклики [B]1, 2[/B]',
    TAG: 'hh|other|1',
  });
  t.equal(typeof first.body.result, 'number');
  await rest(portal, token, 'im.notify.system.add', {
    USER_ID: 2,
    MESSAGE: 'Новый текст',
    TAG: 'hh|other|1',
  });
  t.same(
    running.sim.notifications(portal.memberId, 2).map((n) => n.message),
    ['Новый текст'],
    'the same tag replaces the older notification',
  );
  t.same((await rest(portal, token, 'im.notify.system.add', { MESSAGE: 'x' })).body, {
    error: 'USER_ID_EMPTY',
    error_description: "User ID can't be empty",
  });
  t.same((await rest(portal, token, 'im.notify.system.add', { USER_ID: 2 })).body, {
    error: 'MESSAGE_EMPTY',
    error_description: "Message can't be empty",
  });

  const leadId = (await rest(portal, token, 'crm.lead.add', { fields: { TITLE: 'x' } })).body
    .result as number;
  t.same(
    (
      await rest(portal, token, 'crm.timeline.comment.add', {
        fields: { ENTITY_TYPE: 'lead', ENTITY_ID: 999, COMMENT: 'x' },
      })
    ).body.error,
    'OWNER_NOT_FOUND',
  );
  t.same(
    (
      await rest(portal, token, 'crm.timeline.comment.add', {
        fields: { ENTITY_TYPE: 'lead', ENTITY_ID: leadId, COMMENT: ' ' },
      })
    ).body.error,
    'INVALID_ARG_VALUE',
  );
  const comment = await rest(portal, token, 'crm.timeline.comment.add', {
    fields: { ENTITY_TYPE: 'lead', ENTITY_ID: leadId, COMMENT: 'Создан из отклика' },
  });
  t.equal(typeof comment.body.result, 'number');

  const limited = running.sim.addUser(portal.memberId, { crmAccess: false });
  const user = running.sim.issueUserToken(portal.memberId, { userId: limited.ID });
  t.same(
    (await rest(portal, user.accessToken, 'crm.lead.list')).body,
    { error: '', error_description: 'Access denied.' },
    'a user without CRM access',
  );
  t.same(
    (
      await rest(portal, user.accessToken, 'placement.bind', {
        PLACEMENT: 'CRM_LEAD_DETAIL_TAB',
        HANDLER: 'https://app.example.com/x',
      })
    ).body,
    { error: 'ACCESS_DENIED', error_description: 'Access denied!' },
    'a non-admin binding a placement',
  );

  // «Свои»: reads see only what is assigned to the user.
  const own = running.sim.addUser(portal.memberId, { crmOwnOnly: true });
  const ownToken = running.sim.issueUserToken(portal.memberId, { userId: own.ID }).accessToken;
  const mine = (
    await rest(portal, token, 'crm.lead.add', { fields: { TITLE: 'мой', ASSIGNED_BY_ID: own.ID } })
  ).body.result as number;
  t.match(
    (await rest(portal, ownToken, 'crm.lead.get', { id: mine })).body,
    { result: { ID: String(mine) } },
    'one’s own lead reads',
  );
  t.same(
    (await rest(portal, ownToken, 'crm.lead.get', { id: leadId })).body,
    { error: '', error_description: 'Access denied.' },
    'another’s is refused',
  );
  t.same(
    (await rest(portal, ownToken, 'crm.lead.list', { select: ['ID'] })).body.result,
    [{ ID: String(mine) }],
    'and left out of lists',
  );
});

t.test(
  'contacts: add/get/update/list, bound to leads and deals, the duplicate search by phone and e-mail',
  async (t) => {
    const running = await sim(t, { rateLimit: false });
    const { portal, token } = await installedPortal(running, { lang: 'ru' });
    const call = async (method: string, params: Record<string, unknown>) => {
      const { body } = await rest(portal, token, method, params);
      t.notOk(body.error, `${method}: ${body.error_description ?? ''}`);
      return body.result;
    };
    const contactId = (await call('crm.contact.add', {
      fields: {
        LAST_NAME: 'Иванова',
        NAME: 'Анна',
        SECOND_NAME: 'Сергеевна',
        TITLE: 'not a contact field',
        PHONE: [
          { VALUE: '+7 (916) 123-45-67', VALUE_TYPE: 'MOBILE' },
          { VALUE: '+74951234567', VALUE_TYPE: 'HOME' },
        ],
        EMAIL: [{ VALUE: 'Anna@Example.com', VALUE_TYPE: 'WORK' }],
        ORIGINATOR_ID: 'hh-b24',
        ORIGIN_ID: 'person-1',
      },
    })) as number;
    const contact = (await call('crm.contact.get', { id: contactId })) as Record<string, unknown>;
    t.match(contact, {
      ID: String(contactId),
      LAST_NAME: 'Иванова',
      NAME: 'Анна',
      SECOND_NAME: 'Сергеевна',
      HAS_PHONE: 'Y',
      HAS_EMAIL: 'Y',
      PHONE: [{ VALUE_TYPE: 'MOBILE' }, { VALUE: '+74951234567', VALUE_TYPE: 'HOME' }],
      EMAIL: [{ VALUE: 'Anna@Example.com', VALUE_TYPE: 'WORK' }],
    });
    t.notOk('TITLE' in contact || 'STAGE_ID' in contact, 'a contact has no title and no stage');
    await call('crm.contact.update', { id: contactId, fields: { POST: 'Бухгалтер' } });
    t.match(running.sim.entity(portal.memberId, 'contact', contactId), { POST: 'Бухгалтер' });
    t.same(
      (
        (await call('crm.contact.list', {
          filter: { '=ORIGINATOR_ID': 'hh-b24', '@ORIGIN_ID': ['person-1', 'person-2'] },
          select: ['ID', 'ORIGIN_ID'],
        })) as unknown[]
      ).length,
      1,
      'found by ORIGINATOR_ID and ORIGIN_ID',
    );

    // Duplicate search: phones by their digits, e-mails without case; nothing found is [].
    t.same(
      await call('crm.duplicate.findbycomm', {
        entity_type: 'CONTACT',
        type: 'PHONE',
        values: ['+79161234567', '+70000000000'],
      }),
      { CONTACT: [contactId] },
    );
    t.same(
      await call('crm.duplicate.findbycomm', {
        entity_type: 'CONTACT',
        type: 'EMAIL',
        values: ['anna@example.com'],
      }),
      { CONTACT: [contactId] },
    );
    t.same(
      await call('crm.duplicate.findbycomm', {
        entity_type: 'CONTACT',
        type: 'EMAIL',
        values: ['x@example.com'],
      }),
      [],
    );
    t.match((await rest(portal, token, 'crm.duplicate.findbycomm', { values: ['1'] })).body, {
      error: 'Communication type is not defined',
    });

    // A deal made with CONTACT_IDS; a second contact added; the list read back; a lead with CONTACT_ID.
    const dealId = (await call('crm.deal.add', {
      fields: { TITLE: 'D', CONTACT_IDS: [contactId, 9999] },
    })) as number;
    t.match(await call('crm.deal.get', { id: dealId }), {
      CONTACT_ID: String(contactId),
      CONTACT_IDS: [contactId],
    });
    const second = (await call('crm.contact.add', { fields: { NAME: 'Пётр' } })) as number;
    t.equal(await call('crm.deal.contact.add', { id: dealId, fields: { CONTACT_ID: second } }), true);
    t.equal(
      await call('crm.deal.contact.add', { id: dealId, fields: { CONTACT_ID: second } }),
      false,
      'a contact already bound is not added twice',
    );
    t.match(await call('crm.deal.contact.items.get', { id: dealId }), [
      { CONTACT_ID: contactId, IS_PRIMARY: 'Y', ROLE_ID: 0 },
      { CONTACT_ID: second, IS_PRIMARY: 'N' },
    ]);
    await call('crm.deal.contact.items.set', {
      id: dealId,
      items: [{ CONTACT_ID: second, IS_PRIMARY: 'Y' }],
    });
    t.match(await call('crm.deal.get', { id: dealId }), {
      CONTACT_ID: String(second),
      CONTACT_IDS: [second],
    });
    t.same((await rest(portal, token, 'crm.deal.contact.items.get', { id: 0 })).body, {
      error: '',
      error_description: "The parameter 'ownerEntityID' is invalid or not defined.",
    });
    const leadId = (await call('crm.lead.add', { fields: { TITLE: 'L', CONTACT_ID: contactId } })) as number;
    t.match(await call('crm.lead.get', { id: leadId }), { CONTACT_ID: String(contactId) });
    t.same(
      (
        (await call('crm.lead.list', { filter: { CONTACT_ID: contactId }, select: ['ID'] })) as Array<{
          ID: string;
        }>
      ).map((r) => r.ID),
      [String(leadId)],
      'leads filter by their contact',
    );

    // A contact deleted leaves the deals and leads it was bound to.
    await call('crm.contact.delete', { id: second });
    t.same(running.sim.contactBindings(portal.memberId, 'deal', dealId), []);
  },
);

t.test('a date filter compares instants, whatever offset the filter and the portal write', async (t) => {
  const running = await sim(t, { rateLimit: false });
  const { portal, token } = await installedPortal(running, { lang: 'ru' });
  const before = new Date(Date.now() - 1000);
  const id = (await rest(portal, token, 'crm.lead.add', { fields: { TITLE: 'a' } })).body.result as number;
  const lead = (await rest(portal, token, 'crm.lead.get', { id })).body.result as Record<string, unknown>;
  t.match(lead['DATE_MODIFY'], /[+-]\d{2}:\d{2}$/, 'the portal answers in its own offset');
  const utc = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, '+00:00');
  const ids = async (filter: Record<string, unknown>) =>
    (
      (await rest(portal, token, 'crm.lead.list', { filter, select: ['ID'] })).body.result as Array<{
        ID: string;
      }>
    ).map((r) => Number(r.ID));
  t.same(await ids({ '>=DATE_MODIFY': utc(before) }), [id], 'modified after a UTC time a second before');
  t.same(await ids({ '>=DATE_MODIFY': utc(new Date(Date.now() + 60_000)) }), [], 'not after a later one');
  const modified = String(lead['DATE_MODIFY']);
  t.same(await ids({ '>=DATE_MODIFY': modified }), [id], 'the portal’s own time, in its offset');
  t.same(
    await ids({ '<DATE_MODIFY': utc(new Date(Date.parse(modified))) }),
    [],
    'the same instant in UTC is not later than itself',
  );
});
