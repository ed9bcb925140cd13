import { readFileSync, readdirSync } from 'node:fs';
import t from 'tap';
import { Renderer } from '../src/ui/render.js';
import { VALIDATION_EN, text } from '../src/ui/texts.js';
import { parseSettings } from '../src/app.js';
import { ValidationError } from '@hhb24/common';

const templates = new URL('../../../../templates/', import.meta.url);

function templateFiles(dir: URL): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? templateFiles(new URL(`${e.name}/`, dir))
      : e.name.endsWith('.hbs')
        ? [readFileSync(new URL(e.name, dir), 'utf8')]
        : [],
  );
}

t.test('every text the templates ask for exists in Russian and in English', async (t) => {
  const keys = new Set(
    templateFiles(templates).flatMap((src) => [...src.matchAll(/\{\{t "([\w.]+)"/g)].map((m) => m[1]!)),
  );
  t.ok(keys.size > 50, `${keys.size} texts`);
  for (const key of keys) {
    t.doesNotThrow(() => text('ru', key), key);
    t.notMatch(text('en', key), /[А-Яа-яЁё]/, `${key} has an English text`);
  }
  for (const message of [
    'Выберите ответственного',
    'Выберите стадию',
    'Выберите воронку',
    'Выберите источник из списка',
    'Выберите тип сущности: Лид или Сделка',
  ]) {
    t.ok(VALIDATION_EN[message], `parseSettings’ «${message}» has an English text`);
  }
  const err = t.throws(() => parseSettings('m', {})) as ValidationError;
  for (const m of Object.values(err.details?.['fields'] as Record<string, string>))
    t.ok(VALIDATION_EN[m], `«${m}» is translated`);
});

t.test('rendering escapes what came from outside and lets only http(s) links through', async (t) => {
  const r = new Renderer();
  const html = r.render('card', {
    lang: 'en',
    card: {
      snapshot: {
        kind: 'response',
        state: { name: '<b>x</b>' },
        vacancy: { name: 'V"><script>1</script>', url: 'javascript:alert(1)' },
        createdAt: '2026-12-01T10:00:00+0300',
        resume: { url: 'https://hh.ru/resume/1' },
      },
      pdfAvailable: false,
    },
    a: {
      fullName: '<script>alert(1)</script>',
      phones: ['+7 900'],
      hidden: { phones: false, email: true },
      city: 'Москва',
    },
    history: [],
    others: [],
  });
  t.notMatch(html, /<script>/, 'no markup from the data');
  t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'shown as text');
  t.notMatch(html, /javascript:/, 'a javascript: URL is dropped');
  t.match(html, /href="https:\/\/hh\.ru\/resume\/1"/);
  t.match(html, /The applicant hid their e-mail/, 'English page');
  t.match(html, /01\.12\.2026/, 'the date as hh.ru wrote it');
});

t.test('«Состояние» escapes the portal’s words and hh.ru’s links, and shows Moscow time', async (t) => {
  const r = new Renderer();
  const html = r.render('tab-health', {
    lang: 'ru',
    canManage: true,
    overall: 'error',
    hh: {
      account: { status: 'active', employerName: '<b>ООО</b>', managerName: 'М', isAdmin: true },
      subscription: { present: true, url: 'https://x/hh/webhook/a.•••', matches: true },
      lastDelivery: null,
      reconciliation: null,
    },
    crm: { portalStatus: 'installed', lastWriteAt: '2026-12-01T21:30:00.000Z', rateLimitWaitsLastHour: 2 },
    subscriptionState: 'ok',
    paidState: 'yes',
    counts: {
      today: { received: 1, imported: 0, updated: 0, failed: 1 },
      total: { received: 1, imported: 0, updated: 0, failed: 1 },
    },
    failures: [
      {
        kind: 'write',
        negotiationId: '1',
        applicantName: '<script>x</script>',
        vacancyName: 'V',
        message: 'Не введено <img src=x>',
        fix: null,
        failedAt: '2026-12-01T00:00:00Z',
        hhUrl: 'javascript:alert(1)',
        retryField: 'negotiationId',
        retryValue: '1',
      },
    ],
    events: [],
    next: null,
  });
  t.notMatch(html, /<script>x|<img src=x>|<b>ООО/, 'nothing from outside became markup');
  t.match(html, /&lt;script&gt;x&lt;\/script&gt;/);
  t.notMatch(html, /javascript:/, 'a javascript: link is dropped');
  t.match(html, /02\.12\.2026 00:30:00/, 'instants in Moscow time');
  t.match(html, /data-testid="health-retry-all"/, '«Повторить все»');
});

t.test('read-only tabs: no control that changes anything, and the line that says who can', async (t) => {
  const r = new Renderer();
  const readOnly = { names: 'Игорь Смирнов, <b>Мария</b>' };
  const failure = {
    kind: 'write',
    negotiationId: '1',
    applicantName: 'A',
    vacancyName: 'V',
    message: 'M',
    fix: null,
    failedAt: '2026-12-01T00:00:00Z',
    hhUrl: null,
    retryField: 'negotiationId',
    retryValue: '1',
  };
  const health = r.render('tab-health', {
    lang: 'ru',
    canManage: false,
    readOnly,
    overall: 'error',
    hh: { account: { status: 'active' } },
    failures: [failure, failure],
    events: [],
  });
  t.notMatch(health, /health\/retry/, '«Состояние»: no «Повторить»');
  t.match(
    health,
    /Изменять настройки могут администраторы портала и Игорь Смирнов, &lt;b&gt;Мария&lt;\/b&gt;\./,
    'the line names the named users, as text',
  );
  const auth = r.render('tab-auth', {
    lang: 'en',
    canManage: false,
    readOnly: { names: '' },
    account: { status: 'active' },
  });
  t.notMatch(auth, /auth\/logout|oauth\/start/, '«Авторизация»: neither «Выйти» nor «Войти»');
  t.match(auth, /Only portal administrators can change the settings\./, 'in English, none named');
  const out = r.render('tab-auth', {
    lang: 'ru',
    canManage: false,
    readOnly: { names: '' },
    account: { status: 'not_connected' },
  });
  t.notMatch(out, /oauth\/start/, 'no «Войти» either when nobody is connected');
  const fresh = r.render('tab-new-responses', {
    lang: 'ru',
    canManage: false,
    readOnly,
    count: 2,
    subscription: 'missing',
  });
  t.notMatch(fresh, /hx-post/, '«Новые отклики»: nothing posts');
  t.match(fresh, /Восстановить её может тот, кто управляет приложением/);
  const managing = r.render('tab-new-responses', {
    lang: 'ru',
    canManage: true,
    readOnly: null,
    count: 2,
    subscription: 'missing',
  });
  t.match(managing, /hx-post="\/ui\/new-responses\/check"/, 'a manager’s «Проверить ещё раз» repairs');
  t.notMatch(managing, /data-testid="read-only"/);
});

t.test('«Состояние» shows the version of the app on the portal', async (t) => {
  const r = new Renderer();
  const base = {
    canManage: true,
    overall: 'ok',
    hh: null,
    hhUnavailable: true,
    crm: { portalStatus: 'installed', lastWriteAt: null, rateLimitWaitsLastHour: 0 },
    counts: {
      today: { received: 0, imported: 0, updated: 0, failed: 0 },
      total: { received: 0, imported: 0, updated: 0, failed: 0 },
    },
    failures: [],
    events: [],
    next: null,
  };
  const version = (html: string) => /data-testid="health-app-version"[^>]*>(.*?)<\/dd>/.exec(html)?.[1] ?? '';
  const at = (lang: 'ru' | 'en', appVersion: unknown) =>
    version(r.render('tab-health', { ...base, lang, appVersion }));
  t.match(at('ru', { installed: 2, current: 2, behind: false }), /2 — актуальная/);
  t.match(at('ru', { installed: 1, current: 2, behind: true }), /1, актуальная 2 — недостающее добавляется/);
  t.match(at('ru', { installed: null, current: 2, behind: true }), /не установлена полностью, актуальная 2/);
  t.match(at('en', { installed: 2, current: 2, behind: false }), /2 — up to date/);
  t.equal(at('ru', null), '', 'no line without crm-writer’s answer');
});
