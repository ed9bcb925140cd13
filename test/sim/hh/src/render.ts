/** hh.ru's JSON shapes, rendered from the simulator's records (checked against the OpenAPI spec by the conformance test). */
import {
  APPLICANT_STATES,
  EDUCATION_LEVELS,
  EMPLOYER_STATES,
  HIDDEN_FIELD_NAMES,
  INVITING_STATES,
  STATE_BY_ID,
  TRANSITIONS,
  type Area,
  type Employer,
  type Manager,
  type Negotiation,
  type Phone,
  type Resume,
  type Vacancy,
} from './model.js';
import type { Store } from './store.js';
import { hhDate } from './time.js';

export const ORDER_TYPES: Readonly<Record<string, string>> = {
  last_change_time_except_employer_inbox: 'По дате создания и активности соискателя',
  created_at: 'По дате отклика',
  relevance: 'лучшие',
};

export function orderTypesOf(collection: string): string[] {
  return collection === 'response'
    ? ['last_change_time_except_employer_inbox', 'relevance', 'created_at']
    : ['last_change_time_except_employer_inbox', 'created_at'];
}

export class Renderer {
  constructor(private readonly store: Store) {}

  private get base(): string {
    return this.store.settings.baseUrl;
  }

  area(area: Area) {
    return { id: area.id, name: area.name, url: `${this.base}/areas/${area.id}` };
  }

  formatPhone(p: Phone): string {
    const n = p.number.padStart(7, '0');
    return `+${p.country} (${p.city}) ${n.slice(0, 3)}-${n.slice(3, 5)}-${n.slice(5)}`;
  }

  employerShort(e: Employer) {
    return {
      id: e.id,
      name: e.name,
      url: `${this.base}/employers/${e.id}`,
      alternate_url: `${this.base}/employer/${e.id}`,
      logo_urls: null,
      vacancies_url: `${this.base}/vacancies?employer_id=${e.id}`,
      accredited_it_employer: false,
      trusted: true,
    };
  }

  me(m: Manager) {
    const employer = this.store.employers.get(m.employerId)!;
    return {
      auth_type: 'employer',
      id: m.userId,
      first_name: m.firstName,
      last_name: m.lastName,
      middle_name: m.middleName,
      email: m.email,
      phone: `${m.phone.country}${m.phone.city}${m.phone.number}`,
      is_admin: false,
      is_applicant: false,
      is_employer: true,
      is_application: false,
      is_employer_integration: false,
      is_in_search: null,
      resumes_url: null,
      negotiations_url: null,
      counters: null,
      profile_videos: null,
      // Deprecated in the spec; kept because real answers still carry it. Clients use manager.id.
      employer: { id: employer.id, name: employer.name, manager_id: m.id },
      manager: {
        id: m.id,
        has_admin_rights: m.isAdmin,
        is_main_contact_person: m.isAdmin,
        has_multiple_manager_accounts: false,
        manager_settings_url: `${this.base}/employers/${employer.id}/managers/${m.id}/settings`,
      },
      personal_manager: {
        id: '1234567',
        first_name: 'Николай',
        last_name: 'Смирнов',
        email: 'pm@hh.example',
        photo_urls: null,
        is_available: true,
        unavailable: null,
      },
    };
  }

  managerItem(m: Manager, viewer: Manager) {
    const full = [m.lastName, m.firstName, m.middleName].filter(Boolean).join(' ');
    return {
      id: m.id,
      first_name: m.firstName,
      last_name: m.lastName,
      middle_name: m.middleName,
      full_name: full,
      name: full,
      email: m.email,
      position: m.position,
      is_main_contact_person: m.isAdmin,
      area: this.area(m.area),
      phone: {
        country: m.phone.country,
        city: m.phone.city,
        number: m.phone.number,
        formatted: this.formatPhone(m.phone),
        comment: null,
      },
      special_note_1: null,
      special_note_2: null,
      vacancies_count: this.store.canSeeManager(viewer, m.id)
        ? this.store.vacanciesByEmployer.get(m.employerId)!.filter((v) => v.managerId === m.id && !v.archived)
            .length
        : null,
    };
  }

  managerInfo(m: Manager, viewer: Manager) {
    // The spec types middle_name here as a string, neither nullable nor required (it is nullable
    // in the list's items): a manager without one has no middle_name key.
    const { middle_name, ...item } = this.managerItem(m, viewer);
    return {
      ...item,
      ...(middle_name === null ? {} : { middle_name }),
      manager_type: m.isAdmin
        ? { id: 'main_contact_person', name: 'Администратор' }
        : { id: 'manager', name: 'Менеджер' },
      permissions: [
        { id: 'can_create_vacancy', name: 'Может создавать вакансии' },
        { id: 'can_view_resume_contacts', name: 'Может просматривать контакты' },
        ...(m.isAdmin ? [{ id: 'can_see_all_vacancies', name: 'Видит все вакансии компании' }] : []),
      ],
    };
  }

  vacancyCounters(v: Vacancy) {
    const list = this.store.negotiationsByVacancy.get(v.id) ?? [];
    let responses = 0;
    let unread = 0;
    let invitations = 0;
    let inProgress = 0;
    for (const n of list) {
      if (n.initiator === 'applicant') {
        responses++;
        if (!n.viewed) unread++;
      } else {
        invitations++;
      }
      if (n.employerState !== 'response' && n.employerState !== 'discard_by_employer') inProgress++;
    }
    return {
      views: v.views,
      responses,
      unread_responses: unread,
      resumes_in_progress: inProgress,
      invitations,
      invitations_and_responses: responses + invitations,
      calls: 0,
      new_missed_calls: 0,
    };
  }

  vacancyShort(v: Vacancy) {
    const employer = this.store.employers.get(v.employerId)!;
    return {
      id: v.id,
      name: v.name,
      premium: false,
      department: null,
      response_letter_required: false,
      has_test: false,
      area: this.area(v.area),
      salary: v.salary,
      salary_range: v.salary
        ? {
            from: v.salary.from,
            to: v.salary.to,
            currency: v.salary.currency,
            gross: v.salary.gross,
            mode: { id: 'MONTH', name: 'За месяц' },
            frequency: null,
          }
        : null,
      type: { id: 'open', name: 'Открытая' },
      address: null,
      published_at: hhDate(v.publishedAt),
      created_at: hhDate(v.createdAt),
      archived: v.archived,
      apply_alternate_url: `${this.base}/applicant/vacancy_response?vacancyId=${v.id}`,
      url: `${this.base}/vacancies/${v.id}`,
      alternate_url: `${this.base}/vacancy/${v.id}`,
      relations: [],
      employer: this.employerShort(employer),
      insider_interview: null,
      response_url: null,
      sort_point_distance: null,
      show_logo_in_search: null,
    };
  }

  vacancyActive(v: Vacancy) {
    const manager = this.store.managers.get(v.managerId)!;
    const list = this.store.negotiationsByVacancy.get(v.id) ?? [];
    return {
      ...this.vacancyShort(v),
      billing_type: { id: 'standard', name: 'Стандарт' },
      can_upgrade_billing_type: true,
      counters: this.vacancyCounters(v),
      expires_at: hhDate(v.expiresAt),
      manager: {
        id: manager.id,
        first_name: manager.firstName,
        last_name: manager.lastName,
        middle_name: manager.middleName,
      },
      has_updates: list.some((n) => n.hasUpdates),
    };
  }

  collections(v: Vacancy) {
    const list = this.store.negotiationsByVacancy.get(v.id) ?? [];
    const collections = EMPLOYER_STATES.map((s) => {
      const members = list.filter((n) => n.employerState === s.id);
      const url = `${this.base}/negotiations/${s.id}?vacancy_id=${v.id}`;
      return {
        id: s.id,
        name: s.collection,
        description:
          s.id === 'response'
            ? 'Отклики, которые ещё не разобраны'
            : `Отклики и приглашения в состоянии «${s.name}»`,
        hidden: false,
        url,
        counters: { total: members.length, with_updates: members.filter((n) => n.hasUpdates).length },
        order_types: orderTypesOf(s.id).map((id) => ({
          id,
          name: ORDER_TYPES[id]!,
          url: `${url}&order_by=${id}`,
        })),
        sub_collections: [],
      };
    });
    return {
      collections,
      generated_collections: [],
      employer_states: EMPLOYER_STATES.map((s) => ({ id: s.id, name: s.name })),
    };
  }

  private downloadLinks(r: Resume, n: Negotiation | null) {
    const name = encodeURIComponent(this.fileName(r));
    const q = n ? `&topic_id=${n.id}&vacancy_id=${n.vacancyId}` : '';
    return {
      pdf: { url: `${this.base}/resumes/${r.id}/download/${name}.pdf?type=pdf${q}` },
      rtf: { url: `${this.base}/resumes/${r.id}/download/${name}.rtf?type=rtf${q}` },
    };
  }

  /** Download file names carry the applicant's name, or the desired position when the name is hidden. */
  fileName(r: Resume): string {
    return r.hidden.includes('names_and_photo') ? r.title : `${r.lastName} ${r.firstName}`;
  }

  age(r: Resume): number {
    const now = new Date(this.store.clock.now());
    const born = new Date(`${r.birthDate}T00:00:00Z`);
    let age = now.getUTCFullYear() - born.getUTCFullYear();
    if (
      now.getUTCMonth() < born.getUTCMonth() ||
      (now.getUTCMonth() === born.getUTCMonth() && now.getUTCDate() < born.getUTCDate())
    )
      age--;
    return age;
  }

  private resumeCommon(r: Resume, n: Negotiation | null) {
    const hidden = new Set(r.hidden);
    const names = !hidden.has('names_and_photo');
    const links = this.downloadLinks(r, n);
    const months = r.experience.reduce(
      (sum, e) => sum + monthsBetween(e.start, e.end ?? hhDate(this.store.clock.now()).slice(0, 10)),
      0,
    );
    return {
      id: r.id,
      title: r.title,
      url: n ? `${this.base}/resumes/${r.id}?topic_id=${n.id}` : `${this.base}/resumes/${r.id}`,
      alternate_url: n
        ? `${this.base}/resume/${r.id}?t=${n.id}&vacancyId=${n.vacancyId}`
        : `${this.base}/resume/${r.id}`,
      first_name: names ? r.firstName : null,
      last_name: names ? r.lastName : null,
      middle_name: names ? r.middleName : null,
      age: this.age(r),
      gender: { id: r.gender, name: r.gender === 'male' ? 'Мужской' : 'Женский' },
      area: this.area(r.area),
      salary: r.salary,
      photo: null,
      total_experience: { months },
      certificate: [],
      education: {
        level: { id: r.educationLevel, name: EDUCATION_LEVELS[r.educationLevel] },
        primary: [],
        additional: [],
        attestation: [],
        elementary: [],
      },
      experience: r.experience.map((e) => ({
        start: e.start,
        end: e.end,
        company: hidden.has('experience') ? null : e.company,
        company_id: null,
        company_url: null,
        employer: null,
        area: this.area(e.area),
        industries: [],
        industry: null,
        position: e.position,
        description: e.description,
      })),
      hidden_fields: r.hidden.map((id) => ({ id, name: HIDDEN_FIELD_NAMES[id] })),
      can_view_full_info: true,
      created_at: hhDate(r.createdAt),
      updated_at: hhDate(r.updatedAt),
      real_id: r.id,
      platform: { id: 'headhunter' },
      download: links,
      actions: { download: links },
      owner: {
        id: r.ownerId,
        comments: { url: `${this.base}/applicant_comments/${r.ownerId}`, counters: { total: 0 } },
      },
      negotiations_history: { url: `${this.base}/resumes/${r.id}/negotiations_history` },
      favorited: false,
      marked: false,
      tags: [],
    };
  }

  /**
   * The short resume inside a negotiation: no contacts
   * (docs/reference/hh-api.md#negotiations-responses-and-invitations).
   */
  resumeShort(r: Resume, n: Negotiation) {
    return {
      ...this.resumeCommon(r, n),
      viewed: n.viewed,
      salary_range: null,
      portfolio: [],
      paid_services: [],
    };
  }

  /**
   * The employer's full view of a resume, contacts in hh's shapes and hidden fields as nulls
   * (docs/reference/hh-api.md#resumes).
   */
  resumeFull(r: Resume, n: Negotiation | null) {
    const hidden = new Set(r.hidden);
    const contact: unknown[] = r.phones.map((p, i) => ({
      type: {
        id: p.type,
        name:
          p.type === 'cell'
            ? 'Мобильный телефон'
            : p.type === 'home'
              ? 'Домашний телефон'
              : 'Рабочий телефон',
      },
      preferred: i === 0 && !r.email,
      verified: p.type === 'cell' ? true : null,
      need_verification: p.type === 'cell' ? false : null,
      comment: p.comment,
      value: hidden.has('phones')
        ? null
        : { country: p.country, city: p.city, number: p.number, formatted: this.formatPhone(p) },
    }));
    if (r.email !== null) {
      contact.push({
        type: { id: 'email', name: 'Эл. почта' },
        preferred: true,
        value: hidden.has('email') ? null : r.email,
      });
    }
    return {
      ...this.resumeCommon(r, n),
      birth_date: r.birthDate,
      contact,
      site: hidden.has('other_contacts') ? [{ type: { id: 'telegram', name: 'Telegram' }, url: null }] : [],
      skill_set: r.skills,
      skills: r.skills.length ? `Ключевые навыки: ${r.skills.join(', ')}` : null,
      resume_locale: { id: 'RU', name: 'Русский' },
      citizenship: [{ id: '113', name: 'Россия', url: `${this.base}/areas/113` }],
      work_ticket: [{ id: '113', name: 'Россия', url: `${this.base}/areas/113` }],
      recommendation: [],
      relocation: { type: { id: 'no_relocation', name: 'не готов к переезду' }, area: [], district: [] },
      employments: [{ id: 'full', name: 'Полная занятость' }],
      employment: { id: 'full', name: 'Полная занятость' },
      schedule: { id: 'fullDay', name: 'Полный день' },
      schedules: [{ id: 'fullDay', name: 'Полный день' }],
      travel_time: { id: 'any', name: 'Не имеет значения' },
      business_trip_readiness: { id: 'ready', name: 'Готов к командировкам' },
      driver_license_types: [],
      has_vehicle: false,
      language: [{ id: 'rus', name: 'Русский', level: { id: 'l1', name: 'Родной' } }],
      metro: null,
      portfolio: [],
      paid_services: [],
      contacts_open_until_date: null,
      view_without_contacts_reason: null,
      get_with_contact: null,
    };
  }

  negotiationActions(n: Negotiation, r: Resume) {
    if (r.deleted) return [];
    return (TRANSITIONS[n.employerState] ?? []).map((to) => {
      const state = STATE_BY_ID.get(to)!;
      const inviting = INVITING_STATES.has(to);
      return {
        id: to,
        name: state.action,
        enabled: true,
        hidden: false,
        method: 'PUT',
        url: `${this.base}/negotiations/${to}/${n.id}`,
        resulting_employer_state: { id: to, name: state.name },
        arguments: [
          { id: 'message', required: false, required_arguments: [] },
          ...(inviting
            ? [
                { id: 'send_sms', required: false, required_arguments: [{ id: 'message' }] },
                { id: 'address_id', required: false, required_arguments: [{ id: 'message' }] },
              ]
            : []),
        ],
        templates: [
          {
            id: to,
            name: `${inviting ? 'Приглашение' : 'Сообщение'}: ${state.action}`,
            quick: false,
            url: `${this.base}/message_templates/${to}?topic_id=${n.id}`,
          },
        ],
        sub_actions: [],
      };
    });
  }

  negotiationItem(n: Negotiation) {
    const r = this.store.resumes.get(n.resumeId)!;
    const state = STATE_BY_ID.get(n.employerState)!;
    return {
      id: n.id,
      created_at: hhDate(n.createdAt),
      updated_at: hhDate(n.updatedAt),
      state: { id: n.state, name: APPLICANT_STATES[n.state] },
      employer_state: { id: state.id, name: state.name },
      has_updates: n.hasUpdates,
      viewed_by_opponent: n.viewedByOpponent,
      source: 'NEGOTIATION',
      messaging_status: r.deleted ? 'resume_deleted' : 'ok',
      counters: { messages: n.messages, unread_messages: n.unread },
      url: `${this.base}/negotiations/${n.id}`,
      messages_url: `${this.base}/negotiations/${n.id}/messages`,
      resume: r.deleted ? null : this.resumeShort(r, n),
      actions: this.negotiationActions(n, r),
      templates: [],
      test_result: n.testResult
        ? {
            score: n.testResult.score,
            mark: n.testResult.mark,
            // The spec makes `type` required without describing it; the value is the simulator's own.
            type: 'vacancy_test',
            url: `${this.base}/negotiations/${n.id}/test/solution`,
            alternate_url: `${this.base}/employer/vacancyresponses/test?topicId=${n.id}`,
          }
        : null,
      funnel_stage: { id: state.id, state: { id: state.id, name: state.name }, substate: null },
      professional_roles: [],
    };
  }

  /**
   * The messages of a negotiation, oldest first (docs/reference/hh-api.md#messages): the first one comes from
   * whoever started it (the applicant's cover letter, the employer's invitation), the later ones from the
   * employer's moves with a message.
   */
  messages(n: Negotiation) {
    const first = n.initiator === 'applicant';
    const later = n.applicantMessages.map((m, i) => ({
      id: `${n.id}9${String(i + 1).padStart(2, '0')}`,
      author: { participant_type: 'applicant' },
      created_at: hhDate(m.at),
      editable: false,
      read: true,
      state: { id: n.state, name: APPLICANT_STATES[n.state] },
      text: m.text,
      viewed_by_me: n.unread < n.applicantMessages.length - i,
      viewed_by_opponent: true,
      address: null,
      assessments: [],
    }));
    const employerSide = Math.max(1, n.messages - n.applicantMessages.length);
    const own = Array.from({ length: employerSide }, (_, i) => {
      const byApplicant = i === 0 && first;
      const state = i === 0 ? (first ? 'response' : 'invitation') : n.state;
      return {
        id: `${n.id}${String(i + 1).padStart(3, '0')}`,
        author: { participant_type: byApplicant ? 'applicant' : 'employer' },
        created_at: hhDate(i === 0 ? n.createdAt : n.updatedAt),
        editable: false,
        read: true,
        state: { id: state, name: APPLICANT_STATES[state] },
        // A response without a cover letter still opens with the applicant's (empty) message.
        text: byApplicant
          ? n.coverLetter
          : i === 0
            ? 'Приглашаем вас обсудить вакансию.'
            : 'Спасибо за интерес к вакансии.',
        viewed_by_me: byApplicant ? n.viewed : true,
        viewed_by_opponent: byApplicant ? true : n.viewedByOpponent,
        address: null,
        assessments: [],
      };
    });
    return [...own, ...later];
  }

  negotiationFull(n: Negotiation) {
    return {
      ...this.negotiationItem(n),
      vacancy: {
        ...this.vacancyShort(this.store.vacancies.get(n.vacancyId)!),
        show_contacts: false,
        professional_roles: [],
      },
    };
  }
}

function monthsBetween(start: string, end: string): number {
  const [sy, sm] = start.split('-').map(Number) as [number, number];
  const [ey, em] = end.split('-').map(Number) as [number, number];
  return Math.max(0, (ey - sy) * 12 + (em - sm));
}
