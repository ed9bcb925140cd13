import { createHash } from 'node:crypto';
import type { Clock } from './time.js';
import {
  type ApplicantState,
  type Employer,
  type Manager,
  type Negotiation,
  type Resume,
  type Vacancy,
  INVITING_STATES,
  STATE_BY_ID,
  TRANSITIONS,
  testMark,
} from './model.js';
import type { SimSettings } from './settings.js';

/** Something that happened in the simulated hh.ru: the change log tests read, and the source of webhooks. */
export type SimEvent =
  | {
      type: 'negotiation.created';
      negotiationId: string;
      vacancyId: string;
      resumeId: string;
      initiator: 'applicant' | 'employer';
    }
  | {
      type: 'negotiation.moved';
      negotiationId: string;
      vacancyId: string;
      resumeId: string;
      from: string;
      to: string;
      byManagerId: string;
      message: string | null;
      applicantState: ApplicantState;
    }
  | { type: 'negotiation.viewed'; negotiationId: string; byManagerId: string }
  | { type: 'resume.deleted'; resumeId: string }
  | { type: 'vacancy.published'; vacancyId: string; managerId: string }
  | { type: 'vacancy.archived'; vacancyId: string }
  | { type: 'vacancy.changed'; vacancyId: string; field: 'manager' }
  | { type: 'password.changed'; userId: string; revokedTokens: number }
  | { type: 'token.issued'; userId: string | null; clientId: string; grant: string }
  | { type: 'token.revoked'; userId: string; clientId: string };

export type LoggedEvent = SimEvent & { seq: number; at: string };

export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function stableHex(kind: string, n: number, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++)
    out += createHash('sha256').update(`${kind}:${n}:${i}`).digest('hex');
  return out.slice(0, length);
}

/**
 * The simulated hh.ru's data, in memory, with the indexes the API needs to answer quickly for a
 * hundred employers and tens of thousands of negotiations.
 */
export class Store {
  readonly employers = new Map<string, Employer>();
  readonly managers = new Map<string, Manager>();
  readonly managersByUser = new Map<string, Manager>();
  readonly vacancies = new Map<string, Vacancy>();
  readonly vacanciesByEmployer = new Map<string, Vacancy[]>();
  readonly resumes = new Map<string, Resume>();
  readonly negotiations = new Map<string, Negotiation>();
  readonly negotiationsByVacancy = new Map<string, Negotiation[]>();
  readonly negotiationsByResume = new Map<string, Negotiation[]>();
  /** Resume views per manager and Moscow day, counted per distinct resume. */
  readonly views = new Map<string, { day: string; resumes: Set<string> }>();
  readonly events: LoggedEvent[] = [];
  private readonly listeners: Array<(e: LoggedEvent) => void> = [];
  private counters = { employer: 0, manager: 0, vacancy: 0, resume: 0, negotiation: 0, owner: 0 };
  private seq = 0;
  private muted = false;

  constructor(
    readonly clock: Clock,
    public settings: SimSettings,
  ) {}

  onEvent(listener: (e: LoggedEvent) => void): void {
    this.listeners.push(listener);
  }

  emit(event: SimEvent): LoggedEvent {
    const logged = { ...event, seq: ++this.seq, at: new Date(this.clock.now()).toISOString() };
    if (this.muted) return logged;
    this.events.push(logged);
    if (this.events.length > 100_000) this.events.splice(0, this.events.length - 100_000);
    for (const l of this.listeners) l(logged);
    return logged;
  }

  /** Runs `fn` without logging its events or telling listeners (seeding data is not news). */
  quietly<T>(fn: () => T): T {
    this.muted = true;
    try {
      return fn();
    } finally {
      this.muted = false;
    }
  }

  clear(): void {
    for (const m of [
      this.employers,
      this.managers,
      this.managersByUser,
      this.vacancies,
      this.vacanciesByEmployer,
      this.resumes,
      this.negotiations,
      this.negotiationsByVacancy,
      this.negotiationsByResume,
      this.views,
    ]) {
      m.clear();
    }
    this.events.length = 0;
    this.counters = { employer: 0, manager: 0, vacancy: 0, resume: 0, negotiation: 0, owner: 0 };
  }

  addEmployer(input: Omit<Employer, 'id'> & { id?: string }): Employer {
    const employer: Employer = { ...input, id: input.id ?? String(10_000 + ++this.counters.employer) };
    if (this.employers.has(employer.id)) throw new SimError(409, `employer ${employer.id} exists`);
    this.employers.set(employer.id, employer);
    this.vacanciesByEmployer.set(employer.id, []);
    return employer;
  }

  addManager(
    input: Omit<Manager, 'id' | 'userId' | 'grants'> & {
      id?: string;
      userId?: string;
      grants?: Iterable<string>;
    },
  ): Manager {
    if (!this.employers.has(input.employerId)) throw new SimError(404, `no employer ${input.employerId}`);
    const n = ++this.counters.manager;
    const manager: Manager = {
      ...input,
      id: input.id ?? String(200_000 + n),
      userId: input.userId ?? String(5_000_000 + n),
      grants: new Set(input.grants ?? []),
    };
    if (this.managers.has(manager.id) || this.managersByUser.has(manager.userId))
      throw new SimError(409, `manager ${manager.id} or user ${manager.userId} exists`);
    this.managers.set(manager.id, manager);
    this.managersByUser.set(manager.userId, manager);
    return manager;
  }

  addVacancy(
    input: Omit<
      Vacancy,
      'id' | 'employerId' | 'createdAt' | 'publishedAt' | 'expiresAt' | 'archived' | 'views'
    > &
      Partial<Pick<Vacancy, 'createdAt' | 'archived' | 'views'>> & { id?: string },
  ): Vacancy {
    const manager = this.managers.get(input.managerId);
    if (!manager) throw new SimError(404, `no manager ${input.managerId}`);
    const createdAt = input.createdAt ?? this.clock.now();
    const vacancy: Vacancy = {
      ...input,
      id: input.id ?? String(80_000_000 + ++this.counters.vacancy),
      employerId: manager.employerId,
      createdAt,
      publishedAt: createdAt,
      expiresAt: createdAt + 30 * 86_400_000,
      archived: input.archived ?? false,
      views: input.views ?? 0,
    };
    if (this.vacancies.has(vacancy.id)) throw new SimError(409, `vacancy ${vacancy.id} exists`);
    this.vacancies.set(vacancy.id, vacancy);
    this.vacanciesByEmployer.get(vacancy.employerId)!.push(vacancy);
    this.negotiationsByVacancy.set(vacancy.id, []);
    this.emit({ type: 'vacancy.published', vacancyId: vacancy.id, managerId: vacancy.managerId });
    return vacancy;
  }

  /**
   * The vacancy handed to another manager of the same employer (on hh.ru: the vacancy's edit with
   * `manager.id`, or a manager deleted with a successor). Its negotiations stay with it.
   */
  moveVacancy(vacancyId: string, managerId: string): Vacancy {
    const vacancy = this.need(this.vacancies, vacancyId, 'vacancy');
    const manager = this.need(this.managers, managerId, 'manager');
    if (manager.employerId !== vacancy.employerId)
      throw new SimError(400, `manager ${managerId} is not a manager of employer ${vacancy.employerId}`);
    if (vacancy.managerId !== managerId) {
      vacancy.managerId = managerId;
      this.emit({ type: 'vacancy.changed', vacancyId, field: 'manager' });
    }
    return vacancy;
  }

  archiveVacancy(vacancyId: string): Vacancy {
    const vacancy = this.need(this.vacancies, vacancyId, 'vacancy');
    if (!vacancy.archived) {
      vacancy.archived = true;
      this.emit({ type: 'vacancy.archived', vacancyId });
    }
    return vacancy;
  }

  addResume(
    input: Omit<Resume, 'id' | 'ownerId' | 'createdAt' | 'updatedAt' | 'deleted'> &
      Partial<Pick<Resume, 'createdAt' | 'deleted'>> & { id?: string },
  ): Resume {
    const n = ++this.counters.resume;
    const createdAt = input.createdAt ?? this.clock.now();
    const resume: Resume = {
      ...input,
      id: input.id ?? stableHex('resume', n, 38),
      ownerId: String(30_000_000 + ++this.counters.owner),
      createdAt,
      updatedAt: createdAt,
      deleted: input.deleted ?? false,
    };
    if (this.resumes.has(resume.id)) throw new SimError(409, `resume ${resume.id} exists`);
    this.resumes.set(resume.id, resume);
    this.negotiationsByResume.set(resume.id, []);
    return resume;
  }

  deleteResume(resumeId: string): Resume {
    const resume = this.need(this.resumes, resumeId, 'resume');
    if (!resume.deleted) {
      resume.deleted = true;
      this.emit({ type: 'resume.deleted', resumeId });
    }
    return resume;
  }

  /**
   * A new negotiation: a response (the applicant) or an invitation (the employer, landing in the
   * employer state of the invite action). One per (vacancy, resume), as on hh.ru.
   */
  createNegotiation(input: {
    vacancyId: string;
    resumeId: string;
    initiator: 'applicant' | 'employer';
    employerState?: string;
    createdAt?: number;
    silent?: boolean;
    /** The applicant's cover letter (a response's first message). */
    coverLetter?: string | null;
    /** The score of the vacancy's test (0–100), when the applicant passed one. */
    testScore?: number | null;
  }): Negotiation {
    const vacancy = this.need(this.vacancies, input.vacancyId, 'vacancy');
    const resume = this.need(this.resumes, input.resumeId, 'resume');
    if (vacancy.archived) throw new SimError(409, `vacancy ${vacancy.id} is archived`);
    if (resume.deleted) throw new SimError(409, `resume ${resume.id} is deleted`);
    if (this.negotiationsByResume.get(resume.id)!.some((n) => n.vacancyId === vacancy.id)) {
      throw new SimError(409, `resume ${resume.id} already has a negotiation on vacancy ${vacancy.id}`);
    }
    const employerState =
      input.employerState ?? (input.initiator === 'applicant' ? 'response' : 'phone_interview');
    if (!STATE_BY_ID.has(employerState)) throw new SimError(400, `unknown employer state ${employerState}`);
    if (input.initiator === 'employer' && employerState === 'response')
      throw new SimError(400, 'an invitation cannot be in the response state');
    const at = input.createdAt ?? this.clock.now();
    const negotiation: Negotiation = {
      id: String(1_300_000_000 + ++this.counters.negotiation),
      vacancyId: vacancy.id,
      resumeId: resume.id,
      initiator: input.initiator,
      employerState,
      state: input.initiator === 'applicant' ? 'response' : 'invitation',
      createdAt: at,
      updatedAt: at,
      viewed: input.initiator === 'employer',
      hasUpdates: input.initiator === 'applicant',
      viewedByOpponent: input.initiator === 'applicant',
      messages: 1,
      coverLetter: input.initiator === 'applicant' ? (input.coverLetter ?? null) : null,
      unread: input.initiator === 'applicant' && input.coverLetter ? 1 : 0,
      applicantMessages: [],
      testResult:
        input.testScore === undefined || input.testScore === null
          ? null
          : { score: input.testScore, mark: testMark(input.testScore) },
    };
    this.negotiations.set(negotiation.id, negotiation);
    this.negotiationsByVacancy.get(vacancy.id)!.push(negotiation);
    this.negotiationsByResume.get(resume.id)!.push(negotiation);
    if (!input.silent)
      this.emit({
        type: 'negotiation.created',
        negotiationId: negotiation.id,
        vacancyId: vacancy.id,
        resumeId: resume.id,
        initiator: input.initiator,
      });
    return negotiation;
  }

  /** Moves a negotiation to another employer state; a message also changes what the applicant sees. */
  moveNegotiation(
    negotiationId: string,
    to: string,
    options: { byManagerId: string; message?: string | null },
  ): Negotiation {
    const negotiation = this.need(this.negotiations, negotiationId, 'negotiation');
    if (!STATE_BY_ID.has(to)) throw new SimError(400, `unknown employer state ${to}`);
    if (!(TRANSITIONS[negotiation.employerState] ?? []).includes(to)) {
      throw new SimError(409, `cannot move from ${negotiation.employerState} to ${to}`);
    }
    const from = negotiation.employerState;
    const message = options.message ?? null;
    negotiation.employerState = to;
    negotiation.updatedAt = this.clock.now();
    negotiation.viewed = true;
    negotiation.hasUpdates = false;
    if (message) {
      negotiation.state =
        to === 'discard_by_employer' ? 'discard' : INVITING_STATES.has(to) ? 'invitation' : negotiation.state;
      negotiation.messages += 1;
      negotiation.viewedByOpponent = false;
    }
    this.emit({
      type: 'negotiation.moved',
      negotiationId,
      vacancyId: negotiation.vacancyId,
      resumeId: negotiation.resumeId,
      from,
      to,
      byManagerId: options.byManagerId,
      message,
      applicantState: negotiation.state,
    });
    return negotiation;
  }

  /**
   * The employer opened the response (its resume, its messages, or «read»): viewed; with
   * `messagesRead` the applicant's messages are read too. What still needs attention is an unread
   * message.
   */
  markViewed(negotiation: Negotiation, byManagerId: string, messagesRead = false): void {
    if (messagesRead) negotiation.unread = 0;
    if (negotiation.viewed && negotiation.hasUpdates === negotiation.unread > 0) return;
    negotiation.viewed = true;
    negotiation.hasUpdates = negotiation.unread > 0;
    this.emit({ type: 'negotiation.viewed', negotiationId: negotiation.id, byManagerId });
  }

  /** The applicant writes in the negotiation: one more message, unread by the employer. */
  applicantWrites(negotiationId: string, text: string): Negotiation {
    const negotiation = this.need(this.negotiations, negotiationId, 'negotiation');
    negotiation.applicantMessages.push({ text, at: this.clock.now() });
    negotiation.messages += 1;
    negotiation.unread += 1;
    negotiation.hasUpdates = true;
    return negotiation;
  }

  /** Who may see a vacancy: its manager, a company admin, or a manager granted the owner's vacancies. */
  canSee(manager: Manager, vacancy: Vacancy): boolean {
    if (vacancy.employerId !== manager.employerId) return false;
    return manager.isAdmin || vacancy.managerId === manager.id || manager.grants.has(vacancy.managerId);
  }

  canSeeManager(viewer: Manager, managerId: string): boolean {
    const other = this.managers.get(managerId);
    if (!other || other.employerId !== viewer.employerId) return false;
    return viewer.isAdmin || viewer.id === managerId || viewer.grants.has(managerId);
  }

  viewLimit(manager: Manager): number {
    return manager.resumeViewsPerDay ?? this.settings.resumeViewsPerDay;
  }

  /** Today's views of a manager (Moscow day `day`), starting a new count on a new day. */
  viewsOf(managerId: string, day: string): Set<string> {
    let v = this.views.get(managerId);
    if (!v || v.day !== day) {
      v = { day, resumes: new Set() };
      this.views.set(managerId, v);
    }
    return v.resumes;
  }

  need<T>(map: Map<string, T>, id: string, what: string): T {
    const value = map.get(id);
    if (!value) throw new SimError(404, `no ${what} ${id}`);
    return value;
  }
}
