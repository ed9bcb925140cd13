import { Auth } from './auth.js';
import type { RequestRecord, SimContext } from './context.js';
import { Buckets, type FaultRule, Faults } from './faults.js';
import { type GenerateOptions, type GenerateSummary, generate, makeResume } from './generator.js';
import type { Area, HiddenField, Manager, Negotiation, Resume, Vacancy } from './model.js';
import { PdfPool } from './pdf-pool.js';
import { Rng } from './random.js';
import { Renderer } from './render.js';
import { type SettingsPatch, type SimSettings, applySettings } from './settings.js';
import { type LoggedEvent, SimError, Store } from './store.js';
import { Clock } from './time.js';
import { type Delivery, Webhooks } from './webhooks.js';

export interface RespondInput {
  vacancyId: string;
  /** An existing resume; without it a new applicant is made up. */
  resumeId?: string;
  hidden?: HiddenField[];
  title?: string;
  /** The applicant's cover letter (absent: none). */
  coverLetter?: string | null;
  /** The score of the vacancy's test (absent: no test). */
  testScore?: number | null;
}

/**
 * The control object of a running simulator: what tests, the benchmark and the demo use to seed
 * data, make things happen (a response arrives, the employer invites, a password changes), switch
 * faults and read what happened. The HTTP control API under /_sim/ calls the same methods.
 */
export class HhSim {
  readonly clock = new Clock();
  readonly store: Store;
  readonly auth: Auth;
  readonly faults = new Faults();
  readonly webhooks: Webhooks;
  readonly context: SimContext;
  private rng: Rng;
  private lastGenerate: GenerateOptions | false;

  constructor(settings: SimSettings, generateOptions: GenerateOptions | false) {
    this.store = new Store(this.clock, settings);
    this.auth = new Auth(this.clock, this.store, () => this.store.settings);
    this.webhooks = new Webhooks(this.store, this.faults);
    this.context = {
      store: this.store,
      auth: this.auth,
      webhooks: this.webhooks,
      faults: this.faults,
      buckets: new Buckets(),
      render: new Renderer(this.store),
      pdfs: new PdfPool(),
      requests: [],
      apiRoutes: [],
    };
    this.lastGenerate = generateOptions;
    this.rng = new Rng(generateOptions ? (generateOptions.seed ?? 1) + 1 : 2);
  }

  get settings(): SimSettings {
    return this.store.settings;
  }

  configure(patch: SettingsPatch): SimSettings {
    this.store.settings = applySettings(this.store.settings, patch);
    return this.store.settings;
  }

  /** Forgets everything (data, tokens, subscriptions, logs, faults, clock) and generates again unless told not to. */
  reset(options: { generate?: GenerateOptions | false } = {}): GenerateSummary | null {
    this.store.clear();
    this.auth.clear();
    this.webhooks.clear();
    this.faults.clear();
    this.context.buckets.clear();
    this.context.requests.length = 0;
    this.clock.reset();
    if (options.generate !== undefined) this.lastGenerate = options.generate;
    this.rng = new Rng(this.lastGenerate ? (this.lastGenerate.seed ?? 1) + 1 : 2);
    return this.lastGenerate === false ? null : generate(this.store, this.lastGenerate);
  }

  /** Adds generated data to what is there. */
  generate(options: GenerateOptions = {}): GenerateSummary {
    return generate(this.store, options);
  }

  addEmployer(input: { name: string; paidApiAccess?: boolean; area?: Area; id?: string }) {
    return this.store.addEmployer({
      name: input.name,
      paidApiAccess: input.paidApiAccess ?? true,
      area: input.area ?? { id: '1', name: 'Москва' },
      id: input.id,
    });
  }

  addManager(input: {
    employerId: string;
    firstName: string;
    lastName: string;
    middleName?: string | null;
    isAdmin?: boolean;
    email?: string;
    grants?: string[];
    resumeViewsPerDay?: number | null;
  }): Manager {
    const employer = this.store.need(this.store.employers, input.employerId, 'employer');
    return this.store.addManager({
      employerId: employer.id,
      firstName: input.firstName,
      lastName: input.lastName,
      middleName: input.middleName ?? null,
      email: input.email ?? `manager${this.store.managers.size + 1}@employer${employer.id}.example`,
      phone: { country: '7', city: '495', number: this.rng.digits(7) },
      position: input.isAdmin ? 'Руководитель отдела персонала' : 'Менеджер по подбору персонала',
      area: employer.area,
      isAdmin: input.isAdmin ?? false,
      grants: input.grants,
      resumeViewsPerDay: input.resumeViewsPerDay ?? null,
    });
  }

  setManager(
    managerId: string,
    patch: { isAdmin?: boolean; grants?: string[]; resumeViewsPerDay?: number | null },
  ): Manager {
    const m = this.store.need(this.store.managers, managerId, 'manager');
    if (patch.isAdmin !== undefined) m.isAdmin = patch.isAdmin;
    if (patch.grants !== undefined) m.grants = new Set(patch.grants);
    if (patch.resumeViewsPerDay !== undefined) m.resumeViewsPerDay = patch.resumeViewsPerDay;
    return m;
  }

  setEmployer(employerId: string, patch: { paidApiAccess?: boolean }) {
    const e = this.store.need(this.store.employers, employerId, 'employer');
    if (patch.paidApiAccess !== undefined) e.paidApiAccess = patch.paidApiAccess;
    return e;
  }

  addVacancy(input: { managerId: string; name: string; area?: Area; salaryFrom?: number | null }): Vacancy {
    const m = this.store.need(this.store.managers, input.managerId, 'manager');
    return this.store.addVacancy({
      managerId: m.id,
      name: input.name,
      area: input.area ?? m.area,
      salary: input.salaryFrom ? { from: input.salaryFrom, to: null, currency: 'RUR', gross: false } : null,
    });
  }

  /** Hands the vacancy to another manager of its employer (hh.ru's VACANCY_CHANGE follows). */
  moveVacancy(vacancyId: string, managerId: string): Vacancy {
    return this.store.moveVacancy(vacancyId, managerId);
  }

  addResume(
    input: { title?: string; hidden?: HiddenField[] } & Partial<
      Pick<Resume, 'firstName' | 'lastName' | 'middleName' | 'email'>
    > = {},
  ): Resume {
    const resume = makeResume(this.store, this.rng, {
      title: input.title,
      hidden: input.hidden,
      createdAt: this.clock.now(),
    });
    for (const key of ['firstName', 'lastName', 'middleName', 'email'] as const) {
      if (input[key] !== undefined) (resume as unknown as Record<string, unknown>)[key] = input[key];
    }
    return resume;
  }

  /** An applicant responds: a new negotiation in `response`, and its webhooks. */
  respond(input: RespondInput): Negotiation {
    this.store.need(this.store.vacancies, input.vacancyId, 'vacancy');
    const resumeId = input.resumeId ?? this.addResume({ title: input.title, hidden: input.hidden }).id;
    return this.store.createNegotiation({
      vacancyId: input.vacancyId,
      resumeId,
      initiator: 'applicant',
      coverLetter: input.coverLetter,
      testScore: input.testScore,
    });
  }

  /** The applicant writes in a negotiation (hh.ru sends no notification of it): unread by the employer. */
  applicantWrites(negotiationId: string, text: string): Negotiation {
    return this.store.applicantWrites(negotiationId, text);
  }

  /** The employer invites a resume: a negotiation started by the employer. */
  invite(input: { vacancyId: string; resumeId?: string; employerState?: string }): Negotiation {
    const resumeId = input.resumeId ?? this.addResume().id;
    return this.store.createNegotiation({
      vacancyId: input.vacancyId,
      resumeId,
      initiator: 'employer',
      employerState: input.employerState,
    });
  }

  /** Moves a negotiation as the vacancy's manager would on the site. */
  move(
    negotiationId: string,
    employerState: string,
    options: { managerId?: string; message?: string | null } = {},
  ): Negotiation {
    const n = this.store.need(this.store.negotiations, negotiationId, 'negotiation');
    const byManagerId = options.managerId ?? this.store.vacancies.get(n.vacancyId)!.managerId;
    return this.store.moveNegotiation(n.id, employerState, { byManagerId, message: options.message ?? null });
  }

  changePassword(userId: string): number {
    if (!this.store.managersByUser.has(userId)) throw new SimError(404, `no user ${userId}`);
    return this.auth.changePassword(userId);
  }

  deleteResume(resumeId: string): Resume {
    return this.store.deleteResume(resumeId);
  }

  archiveVacancy(vacancyId: string): Vacancy {
    return this.store.archiveVacancy(vacancyId);
  }

  /** A token pair without the browser (the benchmark and the demo log in many accounts at once). */
  issueTokens(userId: string, clientId = this.settings.apps[0]!.clientId) {
    if (!this.store.managersByUser.has(userId)) throw new SimError(404, `no user ${userId}`);
    if (!this.auth.app(clientId)) throw new SimError(404, `no application ${clientId}`);
    const pair = this.auth.issuePair(userId, clientId, 'control');
    return {
      access_token: pair.accessToken,
      token_type: 'bearer',
      expires_in: Math.round((pair.accessExpiresAt - this.clock.now()) / 1000),
      refresh_token: pair.refreshToken,
    };
  }

  /** An authorization code as if the user had pressed «Разрешить» on the authorize page. */
  authorize(input: { userId: string; clientId?: string; redirectUri?: string | null }): string {
    const clientId = input.clientId ?? this.settings.apps[0]!.clientId;
    if (!this.store.managersByUser.has(input.userId)) throw new SimError(404, `no user ${input.userId}`);
    if (!this.auth.app(clientId)) throw new SimError(404, `no application ${clientId}`);
    return this.auth.issueCode(clientId, input.userId, input.redirectUri ?? null);
  }

  /** Makes a user's access tokens expire now (a test need not wait 14 days, nor seconds). */
  expireAccessTokens(userId: string): number {
    let n = 0;
    for (const pair of this.auth.tokensOf(userId)) {
      if (pair.status === 'active' && pair.accessExpiresAt > this.clock.now()) {
        pair.accessExpiresAt = this.clock.now();
        n++;
      }
    }
    return n;
  }

  addFault(rule: FaultRule) {
    return this.faults.add(rule);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  requests(filter: { path?: string; userId?: string; sinceMs?: number } = {}): RequestRecord[] {
    return this.context.requests.filter(
      (r) =>
        (!filter.path || r.path.startsWith(filter.path)) &&
        (!filter.userId || r.userId === filter.userId) &&
        (!filter.sinceMs || Date.parse(r.at) >= filter.sinceMs),
    );
  }

  deliveries(filter: { subscriptionId?: string; actionType?: string } = {}): Delivery[] {
    return this.webhooks.deliveries.filter(
      (d) =>
        (!filter.subscriptionId || d.subscriptionId === filter.subscriptionId) &&
        (!filter.actionType || d.actionType === filter.actionType),
    );
  }

  events(sinceSeq = 0): LoggedEvent[] {
    return this.store.events.filter((e) => e.seq > sinceSeq);
  }

  summary() {
    const s = this.store;
    return {
      employers: s.employers.size,
      managers: s.managers.size,
      vacancies: s.vacancies.size,
      resumes: s.resumes.size,
      negotiations: s.negotiations.size,
      subscriptions: this.webhooks.subscriptions.size,
      deliveries: this.webhooks.deliveries.length,
      requests: this.context.requests.length,
      faults: this.faults.list(),
    };
  }
}
