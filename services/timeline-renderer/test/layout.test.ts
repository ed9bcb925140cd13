import t from 'tap';
import type { NegotiationSnapshot, OtherResponse } from '@hhb24/common';
import { validateLayout } from '@hhb24/sim-b24';
import { httpUrl } from '@hhb24/common';
import { MAX_BLOCKS, buildLayout, plain } from '../src/layout.js';
import { layoutProblems } from '../src/validate.js';

const snapshot: NegotiationSnapshot = {
  memberId: 'm',
  accountId: 'a',
  negotiationId: '1300000042',
  version: 3,
  kind: 'response',
  vacancy: { id: 'v', name: 'Бухгалтер', url: 'https://hh.ru/vacancy/v' },
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
    salary: null,
    skills: [],
    pdf: null,
  },
};

const others = (n: number): OtherResponse[] =>
  Array.from({ length: n }, (_, i) => ({
    negotiationId: String(2000 + i),
    vacancyName: `Вакансия ${i}`,
    stateName: 'Отклик',
    createdAt: '2024-01-02T10:00:00+0300',
    kind: 'response' as const,
    entity: i % 5 === 4 ? null : { type: 'deal' as const, id: 100 + i },
  }));

/** The simulator enforces Bitrix24's validators: ours must agree with it. */
const simAccepts = (layout: unknown) =>
  validateLayout(layout, { lang: 'en', languages: ['ru', 'en'] }).errors;

t.test('the activity: title, every block, both buttons; accepted by the portal', async (t) => {
  const layout = buildLayout(snapshot, null) as Record<string, any>;
  t.equal(layout['header'].title, 'Отклик');
  t.equal(
    buildLayout({ ...snapshot, kind: 'invitation' }, null)['header'] &&
      (buildLayout({ ...snapshot, kind: 'invitation' }, null) as any).header.title,
    'Приглашение',
  );
  t.same(Object.keys(layout['body'].blocks), ['vacancy', 'name', 'city', 'phone', 'email', 'status', 'date']);
  t.equal(
    layout['body'].blocks.date.properties.block.properties.value,
    '04.12.2023',
    'the date in Moscow time',
  );
  t.same(layout['footer'].buttons.resume.action, { type: 'redirect', uri: 'https://hh.ru/resume/r1' });
  t.same(layoutProblems(layout), []);
  t.same(simAccepts(layout), []);
});

t.test('an English portal: the activity in English', async (t) => {
  const layout = buildLayout(snapshot, { responses: others(30) }, 'en') as Record<string, any>;
  t.equal(layout['header'].title, 'Response');
  const titles = Object.values(layout['body'].blocks as Record<string, any>)
    .filter((b) => b.type === 'withTitle')
    .map((b) => b.properties.title);
  t.same(titles, ['Vacancy', 'Full name', 'City', 'Phone', 'E-mail', 'HH status', 'Response date']);
  t.equal(layout['body'].blocks.others_title.properties.value, 'Other responses (30):');
  t.equal(layout['body'].blocks.others_all.properties.text, 'All responses (30)');
  t.same(
    Object.values(layout['footer'].buttons as Record<string, any>).map((b) => b.title),
    ['Resume', 'Other responses'],
  );
  t.same(simAccepts(layout), []);
});

t.test('hidden data gets the placeholders; a deleted resume has no «Резюме»', async (t) => {
  const hidden = buildLayout(
    {
      ...snapshot,
      applicant: {
        ...snapshot.applicant,
        fullName: null,
        phones: [],
        email: null,
        hidden: { name: true, phones: true, email: true },
      },
    },
    null,
  ) as any;
  t.equal(hidden.body.blocks.name.properties.block.properties.value, 'Соискатель r1 скрыл ФИО');
  t.equal(hidden.body.blocks.phone.properties.block.properties.value, 'Соискатель r1 скрыл телефон');
  t.equal(hidden.body.blocks.email.properties.block.properties.value, 'Соискатель r1 скрыл e-mail');
  const tombstone = buildLayout(
    {
      ...snapshot,
      resume: null,
      applicant: {
        ...snapshot.applicant,
        resumeId: null,
        fullName: null,
        hidden: { name: true, phones: true, email: true },
      },
    },
    null,
  ) as any;
  t.equal(
    tombstone.body.blocks.name.properties.block.properties.value,
    'Соискатель 1300000042 удалил резюме',
  );
  t.same(Object.keys(tombstone.footer.buttons), ['others']);
  t.same(simAccepts(tombstone), []);
});

t.test('whatever hh.ru sends is plain text, kept as written; only http(s) becomes a link', async (t) => {
  t.equal(
    plain('<b>Иван</b>\u0000\n<script>x</script> Петров'),
    '<b>Иван</b> <script>x</script> Петров',
    'markup stays as text, control characters and line breaks go',
  );
  t.equal(plain('a'.repeat(400)).length, 255);
  t.equal(httpUrl('javascript:alert(1)'), null);
  t.equal(httpUrl('/relative'), null);
  const nasty = buildLayout(
    {
      ...snapshot,
      vacancy: { id: 'v', name: '<img src=x onerror=alert(1)>Кассир', url: 'javascript:alert(1)' },
      resume: { ...snapshot.resume!, url: 'data:text/html,x' },
    },
    null,
  ) as any;
  t.same(
    nasty.body.blocks.vacancy.properties.block,
    { type: 'text', properties: { value: '<img src=x onerror=alert(1)>Кассир' } },
    'not a link, and the text as hh.ru gave it',
  );
  t.notOk(nasty.footer.buttons.resume, 'no «Резюме» to a non-http address');
  t.same(simAccepts(nasty), []);
});

t.test('«Другие отклики»: none, a few, and more than fit, always within 20 blocks', async (t) => {
  t.match(
    (buildLayout(snapshot, { responses: [] }) as any).body.blocks.others_none.properties.value,
    'Других откликов нет',
  );
  const few = buildLayout(snapshot, { responses: others(3) }) as any;
  t.same(
    Object.keys(few.body.blocks).filter((k: string) => k.startsWith('others_')),
    ['others_title', 'others_0', 'others_1', 'others_2'],
  );
  t.same(few.body.blocks.others_0.properties.blocks.p0.properties.action, {
    type: 'redirect',
    uri: '/crm/deal/details/100/',
  });
  for (const n of [12, 13, 20, 31, 200]) {
    const layout = buildLayout(snapshot, { responses: others(n) }) as any;
    const keys = Object.keys(layout.body.blocks);
    t.ok(keys.length <= MAX_BLOCKS, `${n} others: ${keys.length} blocks`);
    t.equal(keys.includes('others_all'), n > 12, `${n} others: «Все отклики» only when they do not all fit`);
    if (n > 12) t.equal(layout.body.blocks.others_all.properties.text, `Все отклики (${n})`);
    t.same(layoutProblems(layout), [], `${n} others: our check accepts it`);
    t.same(simAccepts(layout), [], `${n} others: the portal accepts it`);
  }
});

t.test('our check refuses what the portal refuses', async (t) => {
  const base = () => JSON.parse(JSON.stringify(buildLayout(snapshot, null)));
  const broken: Array<[string, (l: any) => void]> = [
    [
      '21 blocks',
      (l) => {
        for (let i = 0; i < 14; i++) l.body.blocks[`x${i}`] = { type: 'text', properties: { value: 'x' } };
      },
    ],
    [
      'three buttons',
      (l) => {
        l.footer.buttons.third = { title: 'x', type: 'primary', action: { type: 'redirect', uri: '/x' } };
      },
    ],
    [
      'three tags',
      (l) => {
        l.header.tags.a = { title: 'a', type: 'success' };
        l.header.tags.b = { title: 'b', type: 'success' };
      },
    ],
    [
      'a tag colour Bitrix24 lacks',
      (l) => {
        l.header.tags.status.type = 'lavender';
      },
    ],
    [
      'an unknown icon',
      (l) => {
        l.icon.code = 'hh-ru';
      },
    ],
    [
      'a key with a dot',
      (l) => {
        l.body.blocks['a.b'] = { type: 'text', properties: { value: 'x' } };
      },
    ],
    [
      'an unknown field',
      (l) => {
        l.body.blocks.name.properties.colour = 'red';
      },
    ],
    [
      'a withTitle inside a withTitle',
      (l) => {
        l.body.blocks.name.properties.block = {
          type: 'withTitle',
          properties: { block: { type: 'text', properties: { value: 'x' } } },
        };
      },
    ],
    [
      'a redirect without uri',
      (l) => {
        delete l.footer.buttons.resume.action.uri;
      },
    ],
    [
      'a restEvent without id',
      (l) => {
        delete l.footer.buttons.others.action.id;
      },
    ],
    [
      'an object as an action param',
      (l) => {
        l.footer.buttons.others.action.actionParams.x = { a: 1 };
      },
    ],
    [
      'no body',
      (l) => {
        delete l.body;
      },
    ],
  ];
  for (const [what, breakIt] of broken) {
    const layout = base();
    breakIt(layout);
    t.not(simAccepts(layout).length, 0, `${what}: the portal refuses it`);
    t.not(layoutProblems(layout).length, 0, `${what}: so do we`);
  }
});

const words = (over: Partial<NonNullable<NegotiationSnapshot['words']>> = {}): NegotiationSnapshot => ({
  ...snapshot,
  words: {
    coverLetter: 'Здравствуйте!\n<b>Готов</b> [URL=https://evil.example]выйти[/URL] через неделю.',
    test: { score: 86, mark: 'EXCELLENT', url: 'https://hh.ru/test/1' },
    unreadMessages: 2,
    chatUrl: 'https://hh.ru/resume/r1?t=1300000042',
    ...over,
  },
});

t.test(
  'the applicant’s words: the cover letter, the test, unread messages, the conversation (ru, en)',
  async (t) => {
    const ru = buildLayout(words(), null) as any;
    const b = ru.body.blocks;
    t.same(
      Object.keys(b).slice(7),
      ['cover_letter', 'test', 'unread'],
      'after the card: the letter, the test, unread',
    );
    t.equal(b.cover_letter.properties.title, 'Сопроводительное письмо');
    t.same(
      b.cover_letter.properties.block.properties,
      {
        value: 'Здравствуйте!\n<b>Готов</b> [URL=https://evil.example]выйти[/URL] через неделю.',
        multiline: true,
      },
      'the letter as written, its lines kept, markup as text',
    );
    t.equal(b.test.properties.block.properties.text, '86 из 100, отлично');
    t.same(b.test.properties.block.properties.action, { type: 'redirect', uri: 'https://hh.ru/test/1' });
    t.equal(b.unread.properties.title, 'Непрочитанных сообщений от соискателя');
    t.equal(b.unread.properties.block.properties.value, '2');
    t.same(
      ru.footer.menu.items.chat,
      {
        title: 'Открыть переписку на hh.ru',
        action: { type: 'redirect', uri: 'https://hh.ru/resume/r1?t=1300000042' },
      },
      'the conversation is an item of the footer menu: the footer holds two buttons',
    );
    t.same(layoutProblems(ru), []);
    t.same(simAccepts(ru), []);

    const enLayout = buildLayout(words(), null, 'en') as any;
    const en = enLayout.body.blocks;
    t.equal(en.cover_letter.properties.title, 'Cover letter');
    t.equal(en.test.properties.block.properties.text, '86 of 100, excellent');
    t.equal(en.unread.properties.title, 'Unread messages from the applicant');
    t.equal(enLayout.footer.menu.items.chat.title, 'Open the conversation on hh.ru');

    const none = buildLayout(
      words({ coverLetter: null, test: null, unreadMessages: 0, chatUrl: 'javascript:alert(1)' }),
      null,
    ) as any;
    t.same(Object.keys(none.body.blocks).slice(7), [], 'no letter, no test, nothing unread');
    t.same(none.footer.menu.items, {}, 'no link that is not http(s)');
    t.same(simAccepts(none), []);
    const long = (buildLayout(words({ coverLetter: 'а'.repeat(3000) }), null) as any).body.blocks;
    t.equal(long.cover_letter.properties.block.properties.value.length, 1000, 'a long letter shortened');
    for (const n of [0, 3, 40]) {
      const layout = buildLayout(words(), { responses: others(n) }) as any;
      t.ok(
        Object.keys(layout.body.blocks).length <= MAX_BLOCKS,
        `${n} others beside the words: within 20 blocks`,
      );
      t.same(simAccepts(layout), [], `${n} others beside the words: the portal accepts it`);
    }
  },
);
