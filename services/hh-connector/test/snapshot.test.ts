import t from 'tap';
import type { HhNegotiation } from '../src/hh/index.js';
import {
  buildSnapshot,
  e164,
  keepResume,
  kindFromFirstAuthor,
  kindFromItem,
  normaliseEmail,
  personKeys,
  sameSnapshot,
} from '../src/sync/snapshot.js';

t.test('phones become E.164, e-mails are normalised, anything else is dropped', async (t) => {
  t.equal(
    e164({ country: '7', city: '495', number: '5527367', formatted: '+7 (495) 552-73-67' }),
    '+74955527367',
  );
  t.equal(e164('8 (916) 123-45-67'), '+79161234567', 'a domestic Russian number');
  t.equal(e164('+44 20 7946 0958'), '+442079460958');
  t.equal(e164('12-34'), null);
  t.equal(e164(null), null, 'hidden');
  t.equal(normaliseEmail(' Ivan.Petrov@Mail.RU '), 'ivan.petrov@mail.ru');
  t.equal(normaliseEmail('not an address'), null);
});

t.test('response or invitation, from what the item says, else from the first message', async (t) => {
  const item = (employer: string, applicant: string, source = 'NEGOTIATION', messages = 2) => ({
    employer_state: { id: employer, name: '' },
    state: { id: applicant, name: '' },
    source,
    counters: { messages, unread_messages: 0 },
  });
  t.equal(kindFromItem(item('response', 'response')), 'response', 'employer state response');
  t.equal(
    kindFromItem(item('interview', 'response')),
    'response',
    'moved without a message: the applicant still sees a response',
  );
  t.equal(
    kindFromItem(item('phone_interview', 'invitation', 'AUTO_INVITE')),
    'invitation',
    'an automatic invitation',
  );
  t.equal(
    kindFromItem(item('phone_interview', 'invitation')),
    null,
    'an invitation, or a response moved with a message: the item cannot tell',
  );
  t.equal(
    kindFromItem(item('phone_interview', 'invitation', 'NEGOTIATION', 1)),
    'invitation',
    'the applicant sees an invitation and there is one message: the employer wrote it, and first',
  );
  t.equal(
    kindFromItem(item('phone_interview', 'invitation', 'NEGOTIATION', 0)),
    'invitation',
    'an invitation without a message',
  );
  t.equal(
    kindFromItem({ ...item('phone_interview', 'invitation'), counters: null }),
    null,
    'no counters: the messages are read',
  );
  t.equal(kindFromItem(item('discard_by_employer', 'discard')), null);
  t.equal(
    kindFromItem(item('discard_by_employer', 'discard', 'NEGOTIATION', 1)),
    null,
    'a refusal with one message: the item cannot tell',
  );
  t.equal(kindFromFirstAuthor('applicant'), 'response');
  t.equal(kindFromFirstAuthor('employer'), 'invitation');
  t.equal(kindFromFirstAuthor(undefined), null);
});

const item = (resume: Partial<NonNullable<HhNegotiation['resume']>> | null): HhNegotiation => ({
  id: '1300000042',
  created_at: '2024-05-19T18:14:13+0300',
  updated_at: '2024-05-20T09:00:00+0300',
  state: { id: 'response', name: 'Отклик' },
  employer_state: { id: 'response', name: 'Отклик' },
  has_updates: true,
  url: 'x',
  actions: [],
  resume: resume && {
    id: 'r1',
    title: 'Бухгалтер',
    url: 'u',
    alternate_url: 'a',
    first_name: 'Иван',
    last_name: 'Петров',
    middle_name: null,
    area: { id: '1', name: 'Москва' },
    hidden_fields: [],
    actions: { download: { pdf: { url: 'p' }, rtf: { url: 'r' } } },
    ...resume,
  },
});

const full = {
  id: 'r1',
  title: 'Бухгалтер',
  url: 'u',
  alternate_url: 'https://hh.ru/resume/r1',
  first_name: 'Иван',
  last_name: 'Петров',
  middle_name: 'Сергеевич',
  area: { id: '2', name: 'Санкт-Петербург' },
  hidden_fields: [],
  actions: { download: { pdf: { url: 'https://api.hh.ru/resumes/r1/download/x.pdf' }, rtf: { url: '' } } },
  age: 30,
  contact: [
    {
      type: { id: 'work', name: '' },
      preferred: false,
      value: { country: '7', city: '812', number: '1112233', formatted: '' },
    },
    {
      type: { id: 'cell', name: '' },
      preferred: false,
      value: { country: '7', city: '916', number: '1234567', formatted: '' },
    },
    { type: { id: 'email', name: '' }, preferred: true, value: 'I.Petrov@mail.ru' },
  ],
  salary: { amount: 120000, currency: 'RUR' },
  total_experience: { months: 40 },
  skill_set: ['Excel'],
  created_at: '2020-01-01T00:00:00+0300',
  updated_at: '2019-05-13T10:00:00+0300',
};

t.test(
  'the snapshot: contacts from the full resume, the PDF named «ФИО_Вакансия DD-MM-YYYY.pdf», hidden data marked',
  async (t) => {
    const base = {
      memberId: 'm',
      accountId: 'a',
      version: 1,
      kind: 'response' as const,
      personId: 'p',
      vacancy: { id: 'v', name: 'Проектный программист', url: null },
      hasPdf: true,
    };
    const s = buildSnapshot({ ...base, item: item({}), resume: keepResume(full) });
    t.match(s.applicant, {
      resumeId: 'r1',
      fullName: 'Петров Иван Сергеевич',
      names: { last: 'Петров', first: 'Иван', middle: 'Сергеевич' },
      phones: ['+79161234567', '+78121112233'],
      phoneTypes: ['cell', 'work'],
      email: 'i.petrov@mail.ru',
      city: 'Санкт-Петербург',
      hidden: { name: false, phones: false, email: false },
    });
    t.equal(
      s.resume?.pdf?.filename,
      'Петров Иван Сергеевич_Проектный программист 13-05-2019.pdf',
      'the date is the resume’s, not the response’s',
    );
    t.match(s.resume, {
      title: 'Бухгалтер',
      experienceMonths: 40,
      salary: '120 000 руб.',
      skills: ['Excel'],
    });
    t.same(personKeys(s), [
      'resume:r1',
      'phone:+79161234567',
      'phone:+78121112233',
      'email:i.petrov@mail.ru',
    ]);

    const hiddenFields = [
      { id: 'names_and_photo', name: '' },
      { id: 'phones', name: '' },
    ];
    const secret = {
      ...full,
      first_name: null,
      last_name: null,
      middle_name: null,
      hidden_fields: hiddenFields,
      contact: full.contact.map((c) => (c.type.id === 'email' ? c : { ...c, value: null })),
    };
    const h = buildSnapshot({
      ...base,
      item: item({ hidden_fields: hiddenFields, first_name: null, last_name: null }),
      resume: keepResume(secret),
    });
    t.match(h.applicant, {
      fullName: null,
      phones: [],
      email: 'i.petrov@mail.ru',
      hidden: { name: true, phones: true, email: false },
    });
    t.equal(h.resume?.pdf?.filename, 'Соискатель r1 скрыл ФИО_Проектный программист 13-05-2019.pdf');
    t.notOk('names' in h.applicant, 'hidden names are not kept in parts either');
    t.same(h.applicant.phoneTypes, []);

    const tomb = buildSnapshot({ ...base, item: item(null), resume: null, hasPdf: false });
    t.match(
      tomb,
      { resume: null, applicant: { resumeId: null, fullName: null, phones: [], hidden: { name: false } } },
      'a tombstone: nothing but the negotiation',
    );
    t.same(personKeys(tomb), []);
    t.ok(sameSnapshot(s, { ...s, version: 7 }), 'versions aside, the same');
    t.notOk(sameSnapshot(s, { ...s, state: { id: 'consider', name: 'Подумать' } }));
  },
);
