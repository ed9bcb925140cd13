/**
 * The parts of hh.ru's answers the product reads (shapes: docs/reference/hh-api.md and
 * test/sim/hh/spec/hh-openapi.yaml).
 */
export interface HhIdName {
  id: string;
  name: string;
}

export interface HhTokens {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_token: string;
}

export interface HhMe {
  auth_type: string;
  id: string;
  first_name: string;
  last_name: string;
  middle_name: string | null;
  email: string | null;
  employer?: { id: string; name: string; manager_id?: string } | null;
  manager?: { id: string; has_admin_rights: boolean } | null;
}

export interface HhPage<T> {
  found: number;
  pages: number;
  page: number;
  per_page: number;
  items: T[];
}

export interface HhManager {
  id: string;
  first_name: string;
  last_name: string;
  middle_name: string | null;
  email: string;
  /** null when this user may not see the manager's vacancies. */
  vacancies_count: number | null;
}

export interface HhVacancy {
  id: string;
  name: string;
  area: HhIdName & { url?: string };
  archived: boolean;
  url: string;
  alternate_url: string;
  created_at: string;
  published_at: string;
  manager: { id: string; first_name: string; last_name: string; middle_name: string | null };
  counters: { responses: number; unread_responses: number; invitations: number; [k: string]: number };
  has_updates: boolean;
}

export interface HhCollection {
  id: string;
  name: string;
  url: string;
  counters?: { total: number; with_updates: number };
  order_types: Array<HhIdName & { url: string }>;
}

export interface HhCollections {
  collections: HhCollection[];
  generated_collections: HhCollection[];
  employer_states: HhIdName[];
}

export interface HhNegotiationAction {
  id: string;
  name: string;
  enabled: boolean;
  hidden: boolean;
  method: string;
  url: string;
  resulting_employer_state: HhIdName | null;
  arguments: Array<{ id: string; required: boolean; required_arguments: Array<{ id: string }> }>;
}

export interface HhShortResume {
  id: string;
  title: string | null;
  url: string;
  alternate_url: string;
  first_name: string | null;
  last_name: string | null;
  middle_name: string | null;
  area: HhIdName | null;
  hidden_fields: HhIdName[];
  updated_at?: string;
  actions: { download: { pdf: { url: string }; rtf: { url: string } } };
}

export interface HhNegotiation {
  id: string;
  created_at: string;
  updated_at: string;
  state: HhIdName;
  employer_state: HhIdName;
  has_updates: boolean;
  url: string;
  messages_url?: string;
  /** How it started: NEGOTIATION, AUTO_INVITE (an automatic invitation), PHONE_CALL, … */
  source?: string;
  /** null: the applicant deleted or hid the resume (a tombstone). */
  resume: HhShortResume | null;
  actions: HhNegotiationAction[];
  vacancy?: { id: string; name: string; area: HhIdName; alternate_url?: string } | null;
  /** All messages, and those the employer has not read (the applicant's). */
  counters?: { messages?: number; unread_messages?: number } | null;
  /** The vacancy's test as the applicant passed it: score 0–100, mark, links; null without a test. */
  test_result?: HhTestResult | null;
}

export interface HhTestResult {
  score: number;
  /** UNFAIR (0–14), FAIR (15–44), GOOD (45–79), EXCELLENT (80–100); kept open for values hh.ru may add. */
  mark?: string;
  url?: string;
  alternate_url?: string;
}

/** One message of a negotiation (the legacy list, oldest first): who wrote the first one started it. */
export interface HhMessage {
  id: string;
  /** 'applicant' or 'employer'; kept open for values hh.ru may add. */
  author: { participant_type: string };
  created_at: string;
  state: HhIdName;
  /** null: a message without text. */
  text?: string | null;
}

export interface HhPhoneValue {
  country: string;
  city: string;
  number: string;
  formatted: string;
}

export interface HhContact {
  type: HhIdName;
  preferred: boolean;
  comment?: string | null;
  /** A phone object, an e-mail string, or null when hidden. */
  value: HhPhoneValue | string | null;
}

export interface HhResume extends Omit<HhShortResume, 'url'> {
  url: string;
  age: number | null;
  birth_date?: string | null;
  contact: HhContact[];
  salary: { amount: number; currency: string } | null;
  total_experience: { months: number } | null;
  skill_set?: string[];
  created_at: string;
  updated_at: string;
}

export interface HhWebhookAction {
  type: string;
  settings?: { vacancies_only_mine?: boolean } | null;
}

export interface HhWebhookSubscription {
  id: string;
  url: string;
  actions: HhWebhookAction[];
}

export interface HhMethodAccess {
  items: Array<{ id: string; description: string; access: { has_access: boolean } }>;
}

export interface HhResumeLimits {
  limits: { resume_view: number; resume_view_from_api?: number };
  spend: { resume_view: number; resume_view_from_api?: number };
  left: { resume_view: number; resume_view_from_api?: number };
}
