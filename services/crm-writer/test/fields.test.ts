import t from 'tap';
import { Bitrix24Error, type NegotiationSnapshot, type PortalSettings, StreamedFile } from '@hhb24/common';
import {
  commentsOf,
  contactFieldsForAdd,
  fieldsForAdd,
  fieldsForUpdate,
  nameFields,
  searchableContacts,
  stageToSet,
  targetStage,
  titleOf,
} from '../src/fields.js';
import { refusalOf, requiredFieldOf } from '../src/fixes.js';

const snapshot: NegotiationSnapshot = {
  memberId: 'm',
  accountId: 'a',
  negotiationId: '1300000042',
  version: 3,
  kind: 'response',
  vacancy: { id: 'v', name: 'Бухгалтер', url: null },
  state: { id: 'phone_interview', name: 'Тел. интервью' },
  createdAt: '2023-12-04T23:30:00+0300',
  updatedAt: '2023-12-05T10:00:00+0300',
  personId: 'p',
  applicant: {
    resumeId: 'r1',
    fullName: 'Малыш Алексей Александрович',
    phones: ['+73517935442'],
    email: 'a@mail.ru',
    city: 'Челябинск',
    hidden: { name: false, phones: false, email: false },
  },
  resume: {
    title: 'Проектный программист',
    url: 'https://hh.ru/resume/r1',
    experienceMonths: 27,
    salary: '90 000 руб.',
    skills: ['SQL', 'Excel'],
    pdf: { filename: 'x.pdf' },
  },
};
const settings: PortalSettings = {
  memberId: 'm',
  responsibleUserId: 7,
  entityType: 'lead',
  categoryId: 0,
  sourceId: 'WEB',
  extendedSync: false,
  stageForResponse: 'NEW',
  stageForInvitation: 'IN_PROCESS',
  stageByState: {},
  twoWayStatus: false,
  twoWayDiscard: false,
  updatedAt: '',
};

t.test('the fields of a new lead, as the reference app writes them', async (t) => {
  const file = new StreamedFile(4, () => [Buffer.from('%PDF')]);
  const f = fieldsForAdd(snapshot, settings, 'NEW', { name: 'x.pdf', file });
  t.match(f, {
    TITLE: 'Отклик: Бухгалтер — Малыш Алексей Александрович',
    NAME: 'Малыш Алексей Александрович',
    ORIGINATOR_ID: 'hh-b24',
    ORIGIN_ID: '1300000042',
    ASSIGNED_BY_ID: 7,
    SOURCE_ID: 'WEB',
    STATUS_ID: 'NEW',
    PHONE: [{ VALUE: '+73517935442', VALUE_TYPE: 'MOBILE' }],
    EMAIL: [{ VALUE: 'a@mail.ru', VALUE_TYPE: 'WORK' }],
    UF_CRM_NH_CREATED_AT: '04-12-2023',
    UF_CRM_NH_STATUS: 'Тел. интервью',
    UF_CRM_NH_VACANCIES: 'Бухгалтер',
    UF_CRM_APPLICANT_CITY: 'Челябинск',
    UF_CRM_HH_RESUME: { fileData: ['x.pdf', file] },
  });
  t.notOk('CATEGORY_ID' in f, 'leads have no pipeline');
  t.equal(
    commentsOf(snapshot),
    'Резюме: Проектный программист\nОпыт работы: 2 года 3 месяца\nЖелаемая зарплата: 90 000 руб.\nНавыки: SQL, Excel\nРезюме на hh.ru: https://hh.ru/resume/r1',
  );
  t.equal(
    titleOf({ ...snapshot, kind: 'invitation' }),
    'Приглашение: Бухгалтер — Малыш Алексей Александрович',
  );
});

/** The applicant hid name, phones and e-mail. */
const hidden = {
  ...snapshot,
  applicant: {
    ...snapshot.applicant,
    fullName: null,
    phones: [],
    email: null,
    hidden: { name: true, phones: true, email: true },
  },
};

t.test('hidden data gets the reference app’s placeholders; a deal carries them in its comment', async (t) => {
  const f = fieldsForAdd(hidden, { ...settings, entityType: 'deal', categoryId: 3 }, 'C3:NEW', null);
  t.match(f, {
    NAME: 'Соискатель r1 скрыл ФИО',
    PHONE: [{ VALUE: 'Соискатель r1 скрыл телефон' }],
    EMAIL: [{ VALUE: 'Соискатель r1 скрыл e-mail' }],
    CATEGORY_ID: 3,
    STAGE_ID: 'C3:NEW',
  });
  t.notOk('UF_CRM_HH_RESUME' in f, 'no file without a PDF');
  t.match(
    String(f['COMMENTS']),
    /^Соискатель: Соискатель r1 скрыл ФИО\nТелефон: Соискатель r1 скрыл телефон\nE-mail: Соискатель r1 скрыл e-mail\nРезюме: /,
  );
  const tomb = {
    ...snapshot,
    resume: null,
    applicant: { ...snapshot.applicant, resumeId: null, fullName: null, phones: [], email: null },
  };
  t.equal(titleOf(tomb), 'Отклик: Бухгалтер — Соискатель удалил резюме', 'a title names no long id');
});

t.test('stages: by kind in simple mode, by hh.ru state in extended mode', async (t) => {
  t.equal(targetStage(snapshot, settings), 'NEW');
  t.equal(targetStage({ ...snapshot, kind: 'invitation' }, settings), 'IN_PROCESS');
  const extended = {
    ...settings,
    extendedSync: true,
    stageByState: { response: 'NEW', phone_interview: 'PROCESSED', discard: 'JUNK' },
  };
  t.equal(targetStage(snapshot, extended), 'PROCESSED');
  t.equal(
    targetStage({ ...snapshot, state: { id: 'discard_by_employer', name: 'Отказано' } }, extended),
    'JUNK',
    'every refusal id is «Отказ»',
  );
  t.equal(
    targetStage(
      { ...snapshot, kind: 'invitation', state: { id: 'invitation', name: 'Приглашение' } },
      extended,
    ),
    'IN_PROCESS',
    'a state the mapping does not know: by kind',
  );
  t.same(
    fieldsForUpdate(snapshot, 'lead', null, null),
    { UF_CRM_NH_STATUS: 'Тел. интервью' },
    'an update without a move changes only the hh.ru status',
  );
});

t.test(
  'the stage rule: follow hh.ru until a person moves the entity, then only forward from their stage',
  async (t) => {
    const order = new Map([
      ['NEW', 10],
      ['PREPARATION', 20],
      ['EXECUTING', 40],
      ['FINAL_INVOICE', 50],
      ['WON', 60],
      ['LOSE', 70],
    ]);
    t.equal(
      stageToSet({ target: 'EXECUTING', current: 'PREPARATION', ourLast: 'PREPARATION', order }),
      'EXECUTING',
      'untouched: forward',
    );
    t.equal(
      stageToSet({ target: 'NEW', current: 'PREPARATION', ourLast: 'PREPARATION', order }),
      'NEW',
      'untouched: back too (hh.ru is followed)',
    );
    t.equal(
      stageToSet({ target: 'EXECUTING', current: 'FINAL_INVOICE', ourLast: 'PREPARATION', order }),
      null,
      'a person chose a later stage: never back over it',
    );
    t.equal(
      stageToSet({ target: 'WON', current: 'FINAL_INVOICE', ourLast: 'PREPARATION', order }),
      'WON',
      'forward from the person’s stage',
    );
    t.equal(
      stageToSet({ target: 'GONE', current: 'NEW', ourLast: 'NEW', order }),
      null,
      'a deleted stage: stay',
    );
    t.equal(stageToSet({ target: 'NEW', current: 'NEW', ourLast: 'NEW', order }), null, 'already there');
  },
);

t.test('refusals in words an admin acts on', async (t) => {
  t.equal(requiredFieldOf('Не введено значение обязательного поля "Источник"<br>'), 'Источник');
  t.equal(requiredFieldOf('Не введено значение обязательного поля Резюме.<br>'), 'Резюме');
  t.equal(requiredFieldOf('The field "Source" is required.<br>'), 'Source');
  t.equal(requiredFieldOf('The required field Resume is missing.<br>'), 'Resume');
  t.equal(requiredFieldOf('Access denied.'), null);
  const err = (code: 'b24_rejected' | 'b24_access_denied', description: string) =>
    new Bitrix24Error(code, description, {
      memberId: 'm',
      method: 'crm.lead.add',
      httpStatus: 400,
      b24Error: '',
      b24Description: description,
    });
  t.match(refusalOf(err('b24_rejected', 'Не введено значение обязательного поля "Паспорт"<br>'), 'lead'), {
    code: 'required_field',
    message: 'Не введено значение обязательного поля "Паспорт"',
    fix: /^Сделать поле необязательным: «Паспорт» \(настройки полей лидов/,
  });
  t.match(refusalOf(err('b24_access_denied', 'Access denied.'), 'deal'), {
    code: 'access_denied',
    fix: /право добавлять и изменять сделки/,
  });
  t.match(
    refusalOf(err('b24_rejected', 'Не введено значение обязательного поля "Источник"'), 'deal'),
    { code: 'required_field', fix: /^Выбрать источник на вкладке «Настройки»/ },
    'a required «Источник» is fixed by choosing a source, not by making it optional',
  );
  t.match(
    refusalOf(err('b24_rejected', 'The field "Passport" is required.'), 'lead', 'en'),
    { fix: /^Make the field optional: “Passport” \(the CRM’s field settings of leads\)/ },
    'an English portal gets the fix in English',
  );
  t.match(
    refusalOf(err('b24_rejected', 'The field "<b>Пас</b>" is required.<br>'), 'lead'),
    { message: 'The field "<b>Пас</b>" is required.', fix: /«<b>Пас<\/b>»/ },
    'what looks like markup is kept as text',
  );
});

t.test('an English portal: title, name, placeholders and comment in English', async (t) => {
  const f = fieldsForAdd(hidden, { ...settings, entityType: 'deal', categoryId: 3 }, 'C3:NEW', null, 'en');
  t.match(f, {
    TITLE: 'Response: Бухгалтер — The applicant hid their name',
    NAME: 'Applicant r1 hid their name',
    PHONE: [{ VALUE: 'Applicant r1 hid their phone' }],
    EMAIL: [{ VALUE: 'Applicant r1 hid their e-mail' }],
  });
  t.equal(
    commentsOf(snapshot, 'lead', 'en'),
    'Resume: Проектный программист\nExperience: 2 years 3 months\nDesired salary: 90 000 руб.\nSkills: SQL, Excel\nResume on hh.ru: https://hh.ru/resume/r1',
  );
  t.equal(
    titleOf({ ...snapshot, kind: 'invitation' }, 'en'),
    'Invitation: Бухгалтер — Малыш Алексей Александрович',
  );
});

t.test(
  'the name in three fields and phones typed as hh.ru types them; older snapshots as before',
  async (t) => {
    const parts = {
      ...snapshot,
      applicant: {
        ...snapshot.applicant,
        names: { last: 'Малыш', first: 'Алексей', middle: null },
        phones: ['+79161234567', '+74951112233', '+78121112233', '+70000000000'],
        phoneTypes: ['cell', 'work', 'home', 'fax'],
      },
    };
    const lead = fieldsForAdd(parts, settings, 'NEW', null, 'ru', 42);
    t.match(lead, {
      LAST_NAME: 'Малыш',
      NAME: 'Алексей',
      CONTACT_ID: 42,
      PHONE: [
        { VALUE: '+79161234567', VALUE_TYPE: 'MOBILE' },
        { VALUE: '+74951112233', VALUE_TYPE: 'WORK' },
        { VALUE: '+78121112233', VALUE_TYPE: 'HOME' },
        { VALUE: '+70000000000', VALUE_TYPE: 'OTHER' },
      ],
    });
    t.notOk('SECOND_NAME' in lead, 'no middle name, no SECOND_NAME');
    const deal = fieldsForAdd(
      parts,
      { ...settings, entityType: 'deal' },
      'NEW',
      null,
      'ru',
      '$result[contact_0]',
    );
    t.same(deal['CONTACT_IDS'], ['$result[contact_0]'], 'a deal names its contact in CONTACT_IDS');
    t.match(contactFieldsForAdd(parts, settings), {
      LAST_NAME: 'Малыш',
      NAME: 'Алексей',
      ORIGINATOR_ID: 'hh-b24',
      ORIGIN_ID: 'p',
      ASSIGNED_BY_ID: 7,
      SOURCE_ID: 'WEB',
      EMAIL: [{ VALUE: 'a@mail.ru', VALUE_TYPE: 'WORK' }],
    });
    t.same(nameFields(snapshot), { NAME: 'Малыш Алексей Александрович' }, 'without parts: the whole name');
    t.match(fieldsForAdd(snapshot, settings, 'NEW', null), { PHONE: [{ VALUE_TYPE: 'MOBILE' }] });
    t.notOk('CONTACT_ID' in fieldsForAdd(snapshot, settings, 'NEW', null), 'no contact, no CONTACT_ID');
    const phonesHidden = {
      ...parts,
      applicant: { ...parts.applicant, hidden: { name: false, phones: true, email: true } },
    };
    t.same(
      searchableContacts(phonesHidden),
      { phones: [], email: null },
      'placeholders are never searched for',
    );
    t.same(searchableContacts(parts).phones, parts.applicant.phones);
  },
);

t.test('the comment carries the applicant’s words: the cover letter and the test (ru, en)', async (t) => {
  const s: NegotiationSnapshot = {
    ...snapshot,
    words: {
      coverLetter: 'Добрый день!\n<img src=x onerror=alert(1)> [B]готов[/B]',
      test: { score: 30, mark: 'FAIR', url: 'https://hh.ru/test/1' },
      unreadMessages: 1,
      chatUrl: 'https://hh.ru/resume/r1?t=1300000042',
    },
  };
  const ru = commentsOf(s, 'lead', 'ru');
  t.match(
    ru,
    'Сопроводительное письмо: Добрый день!\n<img src=x onerror=alert(1)> [\u200bB]готов[\u200b/B]\nТест: 30 из 100, удовлетворительно\nРезультат теста: https://hh.ru/test/1\nРезюме: ',
    'the letter as written (BB code kept from being read), then the test',
  );
  t.match(
    commentsOf(s, 'lead', 'en'),
    'Cover letter: Добрый день!\n<img src=x onerror=alert(1)> [\u200bB]готов[\u200b/B]\nTest: 30 of 100, fair\nTest result: https://hh.ru/test/1\n',
  );
  const bare = commentsOf(
    {
      ...s,
      words: {
        coverLetter: null,
        test: { score: 5, mark: null, url: 'javascript:x' },
        unreadMessages: 0,
        chatUrl: null,
      },
    },
    'lead',
  );
  t.match(bare, /^Тест: 5 из 100\nРезюме: /, 'no letter; a test link that is not http(s) is left out');
  t.notMatch(commentsOf(snapshot, 'lead'), /Сопроводительное|Тест/, 'an older snapshot: nothing of the kind');
});
