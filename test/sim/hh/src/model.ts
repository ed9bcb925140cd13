/** The simulator's own records. The API renders them into hh.ru's shapes (render.ts). */
export interface Area {
  id: string;
  name: string;
}

export interface Employer {
  id: string;
  name: string;
  /** Paid API access (method_access groups 1 and 3): without it negotiation lists and resumes answer 403 action_must_be_payed. */
  paidApiAccess: boolean;
  area: Area;
}

export interface Manager {
  id: string;
  /** The hh.ru user behind the manager: /me `id`, the owner of tokens. */
  userId: string;
  employerId: string;
  firstName: string;
  lastName: string;
  middleName: string | null;
  email: string;
  phone: Phone;
  position: string;
  area: Area;
  /** Company admin rights (`manager.has_admin_rights`): sees every vacancy of the employer. */
  isAdmin: boolean;
  /** Other managers whose vacancies this one may work with (docs/reference/hh-api.md#vacancies). */
  grants: Set<string>;
  /** Per-manager override of the daily resume-view limit. */
  resumeViewsPerDay: number | null;
}

export interface Phone {
  country: string;
  city: string;
  number: string;
}

export interface Vacancy {
  id: string;
  employerId: string;
  managerId: string;
  name: string;
  area: Area;
  salary: { from: number | null; to: number | null; currency: string; gross: boolean } | null;
  createdAt: number;
  publishedAt: number;
  expiresAt: number;
  archived: boolean;
  views: number;
}

export type HiddenField = 'names_and_photo' | 'phones' | 'email' | 'other_contacts' | 'experience';

export interface Experience {
  start: string;
  end: string | null;
  company: string;
  position: string;
  area: Area;
  description: string;
}

export interface Resume {
  id: string;
  ownerId: string;
  firstName: string;
  lastName: string;
  middleName: string | null;
  birthDate: string;
  gender: 'male' | 'female';
  area: Area;
  title: string;
  salary: { amount: number; currency: string } | null;
  phones: Array<Phone & { type: 'cell' | 'home' | 'work'; comment: string | null }>;
  email: string | null;
  hidden: HiddenField[];
  /** Deleted or hidden by the applicant: negotiations keep a `resume: null` tombstone. */
  deleted: boolean;
  experience: Experience[];
  skills: string[];
  educationLevel: 'secondary' | 'special_secondary' | 'unfinished_higher' | 'higher' | 'bachelor' | 'master';
  createdAt: number;
  updatedAt: number;
}

export type ApplicantState = 'response' | 'invitation' | 'discard' | 'hidden';

export interface Negotiation {
  id: string;
  vacancyId: string;
  resumeId: string;
  /** Who started it: the applicant (отклик) or the employer (приглашение). */
  initiator: 'applicant' | 'employer';
  employerState: string;
  state: ApplicantState;
  createdAt: number;
  updatedAt: number;
  /** The employer opened the resume through the negotiation (or marked it read). */
  viewed: boolean;
  hasUpdates: boolean;
  viewedByOpponent: boolean;
  messages: number;
  /** The applicant's cover letter: the text of the response's first message (null: none written). */
  coverLetter: string | null;
  /** Messages from the applicant the employer has not read (`counters.unread_messages`). */
  unread: number;
  /** What the applicant wrote after the first message, oldest first. */
  applicantMessages: Array<{ text: string; at: number }>;
  /** The vacancy's test, as the applicant passed it (`test_result`); null: no test. */
  testResult: { score: number; mark: TestMark } | null;
}

/** hh.ru's marks of a test: 0–14 UNFAIR, 15–44 FAIR, 45–79 GOOD, 80–100 EXCELLENT. */
export type TestMark = 'UNFAIR' | 'FAIR' | 'GOOD' | 'EXCELLENT';
export function testMark(score: number): TestMark {
  return score < 15 ? 'UNFAIR' : score < 45 ? 'FAIR' : score < 80 ? 'GOOD' : 'EXCELLENT';
}

/** Employer states (and the collections named after them) of every simulated vacancy. hh.ru says not to hard-code them; clients read them per vacancy. */
export const EMPLOYER_STATES: ReadonlyArray<{
  id: string;
  name: string;
  collection: string;
  action: string;
}> = [
  { id: 'response', name: 'Отклик', collection: 'Все неразобранные', action: 'Отклик' },
  { id: 'consider', name: 'Подумать', collection: 'Подумать', action: 'Подумать' },
  {
    id: 'phone_interview',
    name: 'Тел. интервью',
    collection: 'Телефонное интервью',
    action: 'Телефонное интервью',
  },
  { id: 'assessment', name: 'Оценка', collection: 'Оценка', action: 'Оценка' },
  { id: 'interview', name: 'Интервью', collection: 'Интервью', action: 'Интервью' },
  {
    id: 'offer',
    name: 'Предложение о работе',
    collection: 'Предложение о работе',
    action: 'Предложение о работе',
  },
  { id: 'hired', name: 'Выход на работу', collection: 'Выход на работу', action: 'Выход на работу' },
  { id: 'discard_by_employer', name: 'Отказано', collection: 'Отказ', action: 'Отказ' },
];

export const STATE_BY_ID = new Map(EMPLOYER_STATES.map((s) => [s.id, s]));

/** Where a negotiation may go from each employer state (a design choice: hh.ru publishes actions per item, not a table). */
export const TRANSITIONS: Readonly<Record<string, readonly string[]>> = {
  response: ['consider', 'phone_interview', 'assessment', 'interview', 'offer', 'discard_by_employer'],
  consider: ['phone_interview', 'assessment', 'interview', 'offer', 'discard_by_employer'],
  phone_interview: ['consider', 'assessment', 'interview', 'offer', 'discard_by_employer'],
  assessment: ['consider', 'interview', 'offer', 'discard_by_employer'],
  interview: ['consider', 'offer', 'hired', 'discard_by_employer'],
  offer: ['hired', 'discard_by_employer'],
  hired: ['discard_by_employer'],
  discard_by_employer: ['consider'],
};

/** Actions that invite the applicant somewhere: a message with them turns the applicant's state into `invitation`. */
export const INVITING_STATES = new Set(['phone_interview', 'assessment', 'interview', 'offer', 'hired']);

export const APPLICANT_STATES: Readonly<Record<ApplicantState, string>> = {
  response: 'Отклик',
  invitation: 'Приглашение',
  discard: 'Отказ',
  hidden: 'Скрытый',
};

export const HIDDEN_FIELD_NAMES: Readonly<Record<HiddenField, string>> = {
  names_and_photo: 'ФИО и фотография',
  phones: 'Все указанные телефоны',
  email: 'Электронная почта',
  other_contacts: 'Другие контакты',
  experience: 'Названия компаний и организаций в опыте работы',
};

export const EDUCATION_LEVELS: Readonly<Record<Resume['educationLevel'], string>> = {
  secondary: 'Среднее',
  special_secondary: 'Среднее специальное',
  unfinished_higher: 'Неоконченное высшее',
  higher: 'Высшее',
  bachelor: 'Бакалавр',
  master: 'Магистр',
};

export const WEBHOOK_ACTION_TYPES = [
  'NEW_NEGOTIATION_VACANCY',
  'NEW_RESPONSE_OR_INVITATION_VACANCY',
  'NEGOTIATION_EMPLOYER_STATE_CHANGE',
  'VACANCY_PUBLICATION_FOR_VACANCY_MANAGER',
  'VACANCY_ARCHIVATION',
  'VACANCY_PROLONGATION',
  'VACANCY_CHANGE',
] as const;
export type WebhookActionType = (typeof WEBHOOK_ACTION_TYPES)[number];
