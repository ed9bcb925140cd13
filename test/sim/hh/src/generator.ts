import type { Area, Experience, HiddenField, Manager, Negotiation, Phone, Resume, Vacancy } from './model.js';
import { TRANSITIONS, testMark } from './model.js';
import { Rng } from './random.js';
import type { Store } from './store.js';

/** What to generate. The defaults make a small, varied data set; the benchmark asks for 100 employers and 10 000+ negotiations. */
export interface GenerateOptions {
  seed?: number;
  employers?: number;
  /** Managers per employer (the first one is a company admin). */
  managersPerEmployer?: number;
  vacanciesPerManager?: number;
  /** Negotiations in total, spread over all vacancies. */
  negotiations?: number;
  /** Share of negotiations started by the employer (invitations). */
  invitationShare?: number;
  /** Share of applicants who hid their name or contacts. */
  hiddenShare?: number;
  /** Resumes deleted after responding: their negotiations become `resume: null` tombstones. */
  tombstones?: number;
  /** One applicant responds to this many vacancies of the first employer (0: none); part of `negotiations`. */
  heavyApplicantResponses?: number;
  /** Employers (counted from the last) without paid API access. */
  unpaidEmployers?: number;
}

export const DEFAULT_GENERATE: Required<GenerateOptions> = {
  seed: 1,
  employers: 3,
  managersPerEmployer: 4,
  vacanciesPerManager: 9,
  negotiations: 400,
  invitationShare: 0.15,
  hiddenShare: 0.12,
  tombstones: 4,
  heavyApplicantResponses: 32,
  unpaidEmployers: 1,
};

export interface GenerateSummary {
  seed: number;
  employers: Array<{
    id: string;
    name: string;
    paidApiAccess: boolean;
    admin: { managerId: string; userId: string };
    managers: Array<{ managerId: string; userId: string; isAdmin: boolean; name: string }>;
    vacancies: number;
  }>;
  vacancies: number;
  resumes: number;
  negotiations: number;
  heavyApplicant: { resumeId: string; negotiations: number } | null;
  hiddenResumes: string[];
  tombstones: string[];
}

export const AREAS: readonly Area[] = [
  { id: '1', name: 'Москва' },
  { id: '2', name: 'Санкт-Петербург' },
  { id: '3', name: 'Екатеринбург' },
  { id: '4', name: 'Новосибирск' },
  { id: '88', name: 'Казань' },
  { id: '66', name: 'Нижний Новгород' },
  { id: '78', name: 'Самара' },
  { id: '76', name: 'Ростов-на-Дону' },
  { id: '53', name: 'Краснодар' },
  { id: '104', name: 'Челябинск' },
  { id: '99', name: 'Уфа' },
  { id: '26', name: 'Воронеж' },
];
const CITY_CODES: Record<string, string> = {
  '1': '495',
  '2': '812',
  '3': '343',
  '4': '383',
  '88': '843',
  '66': '831',
  '78': '846',
  '76': '863',
  '53': '861',
  '104': '351',
  '99': '347',
  '26': '473',
};

const MALE_FIRST = [
  'Алексей',
  'Иван',
  'Дмитрий',
  'Сергей',
  'Андрей',
  'Михаил',
  'Никита',
  'Артём',
  'Павел',
  'Егор',
  'Роман',
  'Владимир',
  'Константин',
  'Максим',
  'Григорий',
];
const FEMALE_FIRST = [
  'Анна',
  'Мария',
  'Екатерина',
  'Ольга',
  'Татьяна',
  'Наталья',
  'Елена',
  'Дарья',
  'Ксения',
  'Юлия',
  'Алина',
  'Светлана',
  'Виктория',
  'Полина',
  'Ирина',
];
const LAST = [
  'Иванов',
  'Смирнов',
  'Кузнецов',
  'Попов',
  'Васильев',
  'Петров',
  'Соколов',
  'Михайлов',
  'Новиков',
  'Фёдоров',
  'Морозов',
  'Волков',
  'Алексеев',
  'Лебедев',
  'Семёнов',
  'Егоров',
  'Павлов',
  'Козлов',
  'Степанов',
  'Николаев',
  'Орлов',
  'Андреев',
  'Макаров',
  'Никитин',
  'Захаров',
  'Малыш',
];
const PATRONYMIC_ROOTS = [
  'Александров',
  'Сергеев',
  'Иванов',
  'Дмитриев',
  'Андреев',
  'Михайлов',
  'Петров',
  'Владимиров',
  'Николаев',
  'Викторов',
];
const COMPANIES = [
  'Северсталь-Инфо',
  'Ромашка',
  'ТехноПарк',
  'Уральские самоцветы',
  'Вектор',
  'СтройИнвест',
  'Альфа-Логистик',
  'Медиа Групп',
  'Зелёный берег',
  'Инфосистемы Джет',
  'Сибирская сеть',
  'Волга-Трейд',
];
const EMPLOYER_NAMES = [
  'ООО «Ромашка»',
  'АО «ТехноПарк»',
  'ООО «Северный ветер»',
  'ПАО «Волга-Трейд»',
  'ООО «Инфосистемы»',
  'ООО «Уральский завод»',
  'АО «Медиа Групп»',
  'ООО «Зелёный берег»',
  'ООО «Альфа-Логистик»',
  'ООО «СтройИнвест»',
];
const POSITIONS = [
  'Менеджер по продажам',
  'Бухгалтер',
  'Проектный программист',
  'Frontend-разработчик',
  'Backend-разработчик',
  'Аналитик данных',
  'Водитель-экспедитор',
  'Кладовщик',
  'Администратор салона',
  'HR-менеджер',
  'Инженер-конструктор',
  'Оператор call-центра',
  'Маркетолог',
  'Юрист',
  'Системный администратор',
  'Курьер',
  'Продавец-консультант',
  'Секретарь',
  'Главный бухгалтер',
  'Тестировщик',
  'Менеджер проектов',
  'Дизайнер интерфейсов',
  'Логист',
  'Экономист',
];
const SKILLS = [
  'Excel',
  '1С: Бухгалтерия',
  'Деловая переписка',
  'Переговоры',
  'TypeScript',
  'SQL',
  'Python',
  'Управление проектами',
  'Работа с CRM',
  'Английский язык',
  'AutoCAD',
  'Холодные звонки',
];

function patronymic(rng: Rng, gender: 'male' | 'female'): string {
  return `${rng.pick(PATRONYMIC_ROOTS)}${gender === 'male' ? 'ич' : 'на'}`;
}

function lastName(rng: Rng, gender: 'male' | 'female'): string {
  const base = rng.pick(LAST);
  if (gender === 'male' || base === 'Малыш') return base;
  return `${base}а`;
}

function mobile(rng: Rng): Phone {
  return {
    country: '7',
    city: String(rng.pick([903, 905, 910, 915, 916, 917, 919, 925, 926, 985, 999])),
    number: rng.digits(7),
  };
}

function translit(s: string): string {
  const map: Record<string, string> = {
    а: 'a',
    б: 'b',
    в: 'v',
    г: 'g',
    д: 'd',
    е: 'e',
    ё: 'e',
    ж: 'zh',
    з: 'z',
    и: 'i',
    й: 'y',
    к: 'k',
    л: 'l',
    м: 'm',
    н: 'n',
    о: 'o',
    п: 'p',
    р: 'r',
    с: 's',
    т: 't',
    у: 'u',
    ф: 'f',
    х: 'h',
    ц: 'ts',
    ч: 'ch',
    ш: 'sh',
    щ: 'sch',
    ы: 'y',
    э: 'e',
    ю: 'yu',
    я: 'ya',
    ь: '',
    ъ: '',
  };
  return [...s.toLowerCase()].map((c) => map[c] ?? c).join('');
}

/** A Russian person: name, gender, a mobile phone and an e-mail made from the name. */
export function person(rng: Rng) {
  const gender: 'male' | 'female' = rng.chance(0.5) ? 'male' : 'female';
  const firstName = rng.pick(gender === 'male' ? MALE_FIRST : FEMALE_FIRST);
  const last = lastName(rng, gender);
  return {
    gender,
    firstName,
    lastName: last,
    middleName: rng.chance(0.85) ? patronymic(rng, gender) : null,
    phone: mobile(rng),
    email: `${translit(firstName)}.${translit(last)}${rng.int(1, 999)}@${rng.pick(['mail.ru', 'yandex.ru', 'gmail.com', 'bk.ru'])}`,
  };
}

export function makeResume(
  store: Store,
  rng: Rng,
  options: { title?: string; hidden?: HiddenField[]; area?: Area; createdAt?: number } = {},
): Resume {
  const p = person(rng);
  const area = options.area ?? rng.pick(AREAS);
  const now = store.clock.now();
  const birthYear = new Date(now).getUTCFullYear() - rng.int(19, 58);
  const experience: Experience[] = [];
  let year = birthYear + 21;
  const thisYear = new Date(now).getUTCFullYear();
  while (year < thisYear && experience.length < 3) {
    const end = Math.min(thisYear, year + rng.int(1, 5));
    experience.unshift({
      start: `${year}-${String(rng.int(1, 12)).padStart(2, '0')}-01`,
      end: end >= thisYear ? null : `${end}-${String(rng.int(1, 12)).padStart(2, '0')}-01`,
      company: `ООО «${rng.pick(COMPANIES)}»`,
      position: rng.pick(POSITIONS),
      area,
      description: 'Вела (вёл) ключевых клиентов, отвечала (отвечал) за отчётность и сроки.',
    });
    year = end + 1;
  }
  const phones: Resume['phones'] = [
    { ...p.phone, type: 'cell', comment: rng.chance(0.2) ? 'Звонить после 12' : null },
  ];
  if (rng.chance(0.15))
    phones.push({
      country: '7',
      city: CITY_CODES[area.id] ?? '495',
      number: rng.digits(7),
      type: 'work',
      comment: null,
    });
  return store.addResume({
    firstName: p.firstName,
    lastName: p.lastName,
    middleName: p.middleName,
    gender: p.gender,
    birthDate: `${birthYear}-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`,
    area,
    title: options.title ?? rng.pick(POSITIONS),
    salary: rng.chance(0.7) ? { amount: rng.int(4, 30) * 10_000, currency: 'RUR' } : null,
    phones,
    email: rng.chance(0.9) ? p.email : null,
    hidden: options.hidden ?? [],
    experience,
    skills: Array.from(new Set(Array.from({ length: rng.int(0, 4) }, () => rng.pick(SKILLS)))),
    educationLevel: rng.pick([
      'secondary',
      'special_secondary',
      'unfinished_higher',
      'higher',
      'bachelor',
      'master',
    ] as const),
    createdAt: options.createdAt ?? now - rng.int(10, 900) * 86_400_000,
  });
}

function hiddenSet(rng: Rng): HiddenField[] {
  return rng.pick<HiddenField[]>([
    ['names_and_photo'],
    ['phones'],
    ['email'],
    ['phones', 'email'],
    ['names_and_photo', 'phones', 'email', 'other_contacts'],
  ]);
}

/** Walks a negotiation forward through plausible states, so every collection has members. */
function advance(store: Store, rng: Rng, negotiationId: string, managerId: string): void {
  const steps = rng.int(0, 3);
  for (let i = 0; i < steps; i++) {
    const n = store.negotiations.get(negotiationId)!;
    const options = TRANSITIONS[n.employerState] ?? [];
    if (options.length === 0) return;
    store.moveNegotiation(n.id, rng.pick(options), {
      byManagerId: managerId,
      message: rng.chance(0.5) ? 'Здравствуйте! Спасибо за отклик.' : null,
    });
  }
}

/**
 * Fills the store with a deterministic, realistic data set (the same seed gives the same ids and
 * names). Events raised while generating are not sent as webhooks: nobody has subscribed yet.
 */
export function generate(store: Store, input: GenerateOptions = {}): GenerateSummary {
  // Generation is history, not news: no webhooks, nothing in the change log.
  return store.quietly(() => fill(store, input));
}

function fill(store: Store, input: GenerateOptions): GenerateSummary {
  const o = { ...DEFAULT_GENERATE, ...input };
  const rng = new Rng(o.seed);
  const now = store.clock.now();
  const summary: GenerateSummary = {
    seed: o.seed,
    employers: [],
    vacancies: 0,
    resumes: 0,
    negotiations: 0,
    heavyApplicant: null,
    hiddenResumes: [],
    tombstones: [],
  };
  const allVacancies: Vacancy[] = [];
  const firstEmployerVacancies: Vacancy[] = [];

  for (let e = 0; e < o.employers; e++) {
    const name =
      e < EMPLOYER_NAMES.length
        ? EMPLOYER_NAMES[e]!
        : `${EMPLOYER_NAMES[e % EMPLOYER_NAMES.length]} ${Math.floor(e / EMPLOYER_NAMES.length) + 1}`;
    const employer = store.addEmployer({
      name,
      paidApiAccess: e < o.employers - o.unpaidEmployers,
      area: rng.pick(AREAS),
    });
    const managers: Manager[] = [];
    for (let m = 0; m < Math.max(1, o.managersPerEmployer); m++) {
      const p = person(rng);
      managers.push(
        store.addManager({
          employerId: employer.id,
          firstName: p.firstName,
          lastName: p.lastName,
          middleName: p.middleName,
          email: `${translit(p.firstName)}.${translit(p.lastName)}@${translit(name.replace(/[^А-Яа-яЁё]/g, '')) || 'company'}.example`,
          phone: p.phone,
          position:
            m === 0
              ? 'Руководитель отдела персонала'
              : rng.pick(['Менеджер по подбору персонала', 'Рекрутер', 'HR-бизнес-партнёр']),
          area: employer.area,
          isAdmin: m === 0,
          resumeViewsPerDay: null,
        }),
      );
    }
    // The third manager may work with the second one's vacancies (a grant without admin rights).
    if (managers.length >= 3) managers[2]!.grants.add(managers[1]!.id);
    for (const manager of managers) {
      for (let v = 0; v < o.vacanciesPerManager; v++) {
        const from = rng.chance(0.8) ? rng.int(4, 20) * 10_000 : null;
        const vacancy = store.addVacancy({
          managerId: manager.id,
          name: rng.pick(POSITIONS),
          area: rng.chance(0.7) ? employer.area : rng.pick(AREAS),
          salary:
            from === null
              ? null
              : {
                  from,
                  to: rng.chance(0.5) ? from + rng.int(1, 8) * 10_000 : null,
                  currency: 'RUR',
                  gross: rng.chance(0.3),
                },
          createdAt: now - rng.int(1, 25) * 86_400_000,
          views: rng.int(10, 3000),
        });
        allVacancies.push(vacancy);
        if (e === 0) firstEmployerVacancies.push(vacancy);
      }
    }
    summary.employers.push({
      id: employer.id,
      name: employer.name,
      paidApiAccess: employer.paidApiAccess,
      admin: { managerId: managers[0]!.id, userId: managers[0]!.userId },
      managers: managers.map((m) => ({
        managerId: m.id,
        userId: m.userId,
        isAdmin: m.isAdmin,
        name: `${m.lastName} ${m.firstName}`,
      })),
      vacancies: managers.length * o.vacanciesPerManager,
    });
  }
  summary.vacancies = allVacancies.length;
  if (allVacancies.length === 0) return summary;

  // The applicant who responds everywhere (one person, many responses).
  if (o.heavyApplicantResponses > 0 && o.negotiations > 0 && firstEmployerVacancies.length > 0) {
    const heavy = makeResume(store, rng, { title: 'Проектный программист' });
    const targets = firstEmployerVacancies.slice(0, Math.min(o.heavyApplicantResponses, o.negotiations));
    for (const v of targets) {
      store.createNegotiation({
        vacancyId: v.id,
        resumeId: heavy.id,
        initiator: 'applicant',
        createdAt: Math.max(v.createdAt, now - rng.int(1, 20) * 3_600_000),
        silent: true,
      });
    }
    summary.heavyApplicant = { resumeId: heavy.id, negotiations: targets.length };
    summary.resumes++;
    summary.negotiations += targets.length;
  }

  const remaining = Math.max(0, o.negotiations - summary.negotiations);
  const created: Array<{ negotiationId: string; resumeId: string }> = [];
  for (let i = 0; i < remaining; i++) {
    const vacancy = allVacancies[i % allVacancies.length]!;
    const hidden = rng.chance(o.hiddenShare) ? hiddenSet(rng) : [];
    const resume = makeResume(store, rng, { hidden });
    if (hidden.length) summary.hiddenResumes.push(resume.id);
    const invitation = rng.chance(o.invitationShare);
    const n = store.createNegotiation({
      vacancyId: vacancy.id,
      resumeId: resume.id,
      initiator: invitation ? 'employer' : 'applicant',
      employerState: invitation ? rng.pick(['phone_interview', 'interview']) : 'response',
      createdAt:
        vacancy.createdAt + rng.int(1, Math.max(1, Math.floor((now - vacancy.createdAt) / 60_000))) * 60_000,
      silent: true,
    });
    n.updatedAt = n.createdAt;
    if (rng.chance(0.45)) {
      advance(store, rng, n.id, vacancy.managerId);
      n.updatedAt = Math.min(now, n.createdAt + rng.int(1, 72) * 3_600_000);
    }
    if (rng.chance(0.4)) n.viewed = true;
    applicantWords(n);
    n.hasUpdates = n.initiator === 'applicant' && (!n.viewed || n.unread > 0);
    created.push({ negotiationId: n.id, resumeId: resume.id });
    summary.resumes++;
    summary.negotiations++;
  }
  for (let t = 0; t < Math.min(o.tombstones, created.length); t++) {
    const victim = created[Math.floor((t + 0.5) * (created.length / Math.max(1, o.tombstones)))]!;
    store.deleteResume(victim.resumeId);
    summary.tombstones.push(victim.negotiationId);
  }
  return summary;
}

const COVER_LETTERS = [
  'Здравствуйте! Прошу рассмотреть моё резюме.',
  'Добрый день! Вакансия мне очень интересна: пять лет работаю в этой области, готов выйти через две недели.\nПортфолио: https://example.org/portfolio',
  'Здравствуйте, готова к собеседованию в любой день. <b>Спасибо!</b>',
];

/**
 * A response's cover letter (two in three) and test result (one in four), from the negotiation's
 * id rather than the generator's random sequence, so the data other tests count on stays the same.
 */
function applicantWords(n: Negotiation): void {
  if (n.initiator !== 'applicant') return;
  let h = 0;
  for (const c of n.id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  n.coverLetter = h % 3 === 0 ? null : COVER_LETTERS[h % COVER_LETTERS.length]!;
  n.unread = n.coverLetter && !n.viewed ? 1 : 0;
  if (h % 4 === 1) {
    const score = h % 101;
    n.testResult = { score, mark: testMark(score) };
  }
}
