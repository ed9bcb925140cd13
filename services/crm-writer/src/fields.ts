/**
 * What a negotiation looks like in the CRM (the reference app's fields,
 * docs/reference/reference-app.md#required-fields), the stage it belongs in, and the rule for moving it. Pure
 * functions over the snapshot and the portal's settings.
 */
import {
  CRM_USER_FIELDS,
  type EntityType,
  type NegotiationSnapshot,
  type PortalLang,
  type PortalSettings,
  type StreamedFile,
  applicantName,
  applicantTitleName,
  bbText,
  ddmmyyyy,
  hiddenEmailText,
  hiddenPhoneText,
  portalText,
  testMarkText,
  toHhState,
  httpUrl,
} from '@hhb24/common';

/** ORIGINATOR_ID of every entity the app creates; ORIGIN_ID is the negotiation id. */
export const ORIGINATOR_ID = 'hh-b24';

const [CREATED_AT, STATUS, VACANCY, RESUME, CITY] = CRM_USER_FIELDS.map((f) => f.name) as [
  string,
  string,
  string,
  string,
  string,
];
export const RESUME_FIELD = RESUME;

export const stageFieldOf = (type: EntityType): 'STATUS_ID' | 'STAGE_ID' =>
  type === 'lead' ? 'STATUS_ID' : 'STAGE_ID';

/** The portal's status list that holds an entity's stages: lead statuses, or one pipeline's deal stages. */
export function stageListOf(type: EntityType, categoryId: number): string {
  if (type === 'lead') return 'STATUS';
  return categoryId === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${categoryId}`;
}

/**
 * «Отклик: {Вакансия} — {ФИО}», «Приглашение: …» for invitations, in the portal's language; a hidden
 * name without the resume's long id («Соискатель скрыл ФИО»).
 */
export function titleOf(s: NegotiationSnapshot, lang: PortalLang = 'ru'): string {
  return portalText(lang, s.kind === 'invitation' ? 'title.invitation' : 'title.response', {
    vacancy: s.vacancy.name,
    name: applicantTitleName(s, lang),
  });
}

function plural(n: number, one: string, few: string, many: string): string {
  const n10 = n % 10;
  const n100 = n % 100;
  if (n10 === 1 && n100 !== 11) return one;
  if (n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14)) return few;
  return many;
}

function experienceText(months: number, lang: PortalLang): string {
  const y = Math.floor(months / 12);
  const m = months % 12;
  const parts =
    lang === 'en'
      ? [
          y > 0 ? `${y} ${y === 1 ? 'year' : 'years'}` : '',
          m > 0 ? `${m} ${m === 1 ? 'month' : 'months'}` : '',
        ]
      : [
          y > 0 ? `${y} ${plural(y, 'год', 'года', 'лет')}` : '',
          m > 0 ? `${m} ${plural(m, 'месяц', 'месяца', 'месяцев')}` : '',
        ];
  const said = parts.filter(Boolean);
  return said.length > 0 ? said.join(' ') : portalText(lang, 'comment.noExperience');
}

/**
 * COMMENTS: a short summary of the resume (title, experience, salary, skills). A deal has no name,
 * phone or e-mail fields of its own (Bitrix24 keeps those on contacts and ignores them on
 * crm.deal.add), so for deals the applicant's name and contacts open the comment.
 */
export function commentsOf(
  s: NegotiationSnapshot,
  entityType: EntityType = 'lead',
  lang: PortalLang = 'ru',
): string {
  const line = (key: Parameters<typeof portalText>[1], v: string) => portalText(lang, key, { v });
  const lines: string[] = [];
  if (entityType === 'deal') {
    lines.push(line('comment.applicant', applicantName(s, lang)));
    const phones = s.applicant.hidden.phones ? [hiddenPhoneText(s, lang)] : s.applicant.phones;
    if (phones.length > 0) lines.push(line('comment.phone', phones.join(', ')));
    const email = s.applicant.hidden.email ? hiddenEmailText(s, lang) : s.applicant.email;
    if (email) lines.push(line('comment.email', email));
  }
  lines.push(...wordsLines(s, lang));
  if (!s.resume) return [...lines, portalText(lang, 'comment.noResume')].join('\n');
  lines.push(line('comment.resume', s.resume.title ?? '—'));
  if (s.resume.experienceMonths !== null)
    lines.push(line('comment.experience', experienceText(s.resume.experienceMonths, lang)));
  if (s.resume.salary) lines.push(line('comment.salary', s.resume.salary));
  if (s.resume.skills.length > 0) lines.push(line('comment.skills', s.resume.skills.join(', ')));
  if (s.resume.url) lines.push(line('comment.resumeUrl', s.resume.url));
  return lines.join('\n');
}

/**
 * The applicant's own words in the comment: the cover letter as written (lines and all) and the
 * test's score, mark and page. Text from hh.ru stays text: BB code the portal would read in it is
 * neutralised (bbText), nothing is deleted.
 */
function wordsLines(s: NegotiationSnapshot, lang: PortalLang): string[] {
  const lines: string[] = [];
  const w = s.words;
  if (!w) return lines;
  if (w.coverLetter) lines.push(portalText(lang, 'comment.coverLetter', { v: bbText(w.coverLetter) }));
  if (w.test) {
    lines.push(
      portalText(lang, 'comment.test', { score: w.test.score, mark: testMarkText(lang, w.test.mark) }),
    );
    const url = httpUrl(w.test.url);
    if (url) lines.push(portalText(lang, 'comment.testUrl', { v: url }));
  }
  return lines;
}

/**
 * The stage the settings give this negotiation: in extended mode the stage mapped to its hh.ru
 * state; otherwise (or for a state the mapping does not know) the stage for responses or for
 * invitations.
 */
export function targetStage(s: NegotiationSnapshot, settings: PortalSettings): string {
  if (settings.extendedSync) {
    const state = toHhState(s.state.id);
    const mapped = state ? settings.stageByState[state] : undefined;
    if (mapped) return mapped;
  }
  return s.kind === 'invitation' ? settings.stageForInvitation : settings.stageForResponse;
}

/**
 * Whether to move an entity after an hh.ru state change, and where. The rule: the CRM is the
 * people's; hh.ru only pushes. If nobody moved the entity since our last write (its stage is
 * still the one we set), it follows hh.ru in either direction. If a person (or a robot) moved it
 * since, it only ever goes forward from the stage they chose (a later stage in the pipeline's
 * order), never back over it. An unknown or deleted target stage leaves it where it is.
 */
export function stageToSet(input: {
  target: string | null;
  current: string | null;
  ourLast: string | null;
  order: Map<string, number>;
}): string | null {
  const { target, current, ourLast, order } = input;
  if (!target || target === current || !order.has(target)) return null;
  if (current === null || ourLast === null || current === ourLast) return target;
  const from = order.get(current);
  const to = order.get(target)!;
  return from !== undefined && to > from ? target : null;
}

/** A resume file for the «Резюме» field: its name and the stored file, streamed into the request as base64. */
export interface Pdf {
  name: string;
  file: StreamedFile;
}

/**
 * The applicant's contact in the portal, as `crm.contact.add` takes it, or `$result[…]` of the batch
 * command that adds it.
 */
export type ContactRef = number | string;

/**
 * Every field of a new lead or deal (docs/reference/reference-app.md#required-fields), bound to the
 * applicant's contact when there is one (a lead's CONTACT_ID, a deal's CONTACT_IDS).
 */
export function fieldsForAdd(
  s: NegotiationSnapshot,
  settings: PortalSettings,
  stage: string,
  pdf: Pdf | null,
  lang: PortalLang = 'ru',
  contact: ContactRef | null = null,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    TITLE: titleOf(s, lang),
    ...nameFields(s, lang),
    COMMENTS: commentsOf(s, settings.entityType, lang),
    ORIGINATOR_ID,
    ORIGIN_ID: s.negotiationId,
    ASSIGNED_BY_ID: settings.responsibleUserId,
    ...contactFields(s, lang),
    [CREATED_AT]: ddmmyyyy(s.createdAt),
    [STATUS]: s.state.name,
    [VACANCY]: s.vacancy.name,
    [CITY]: s.applicant.city ?? '',
    [stageFieldOf(settings.entityType)]: stage,
  };
  if (settings.sourceId) fields['SOURCE_ID'] = settings.sourceId;
  if (settings.entityType === 'deal') fields['CATEGORY_ID'] = settings.categoryId;
  if (pdf) fields[RESUME] = { fileData: [pdf.name, pdf.file] };
  if (contact !== null) {
    if (settings.entityType === 'deal') fields['CONTACT_IDS'] = [contact];
    else fields['CONTACT_ID'] = contact;
  }
  return fields;
}

/**
 * A new contact for the applicant: the name in its three fields, the phones and e-mail (or the
 * placeholders), the responsible person and source of the settings. ORIGIN_ID is the person, so a
 * contact added by a write that did not live to record it is found again.
 */
export function contactFieldsForAdd(
  s: NegotiationSnapshot,
  settings: PortalSettings,
  lang: PortalLang = 'ru',
): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    ...nameFields(s, lang),
    ...contactFields(s, lang),
    ORIGINATOR_ID,
    ORIGIN_ID: s.personId,
    ASSIGNED_BY_ID: settings.responsibleUserId,
  };
  if (settings.sourceId) fields['SOURCE_ID'] = settings.sourceId;
  return fields;
}

/**
 * LAST_NAME, NAME and SECOND_NAME from hh.ru's last, first and middle name; the whole name (or the
 * placeholder) in NAME when the parts are not known (hidden, a deleted resume, an older snapshot).
 */
export function nameFields(s: NegotiationSnapshot, lang: PortalLang = 'ru'): Record<string, string> {
  const names = s.applicant.names;
  if (!names || !(names.first || names.last || names.middle)) return { NAME: applicantName(s, lang) };
  const fields: Record<string, string> = {};
  if (names.last) fields['LAST_NAME'] = names.last;
  if (names.first) fields['NAME'] = names.first;
  if (names.middle) fields['SECOND_NAME'] = names.middle;
  return fields;
}

/** hh.ru's contact type of a phone → Bitrix24's VALUE_TYPE (an unknown type is OTHER). */
const PHONE_TYPES: Record<string, string> = { cell: 'MOBILE', home: 'HOME', work: 'WORK' };

/** The phones and e-mail that identify the applicant in the portal's duplicate search (placeholders never). */
export function searchableContacts(s: NegotiationSnapshot): { phones: string[]; email: string | null } {
  return {
    phones: s.applicant.hidden.phones ? [] : s.applicant.phones.slice(0, 20),
    email: s.applicant.hidden.email ? null : s.applicant.email,
  };
}

/** What a later version changes on an existing entity: the hh.ru status, a stage move, the resume file when it was missing. */
export function fieldsForUpdate(
  s: NegotiationSnapshot,
  entityType: EntityType,
  stage: string | null,
  pdf: Pdf | null,
): Record<string, unknown> {
  const fields: Record<string, unknown> = { [STATUS]: s.state.name };
  if (stage) fields[stageFieldOf(entityType)] = stage;
  if (pdf) fields[RESUME] = { fileData: [pdf.name, pdf.file] };
  return fields;
}

/**
 * PHONE typed by hh.ru's contact type (cell MOBILE, home HOME, work WORK; MOBILE in snapshots made
 * before the types were kept) and EMAIL (WORK), or the reference app's placeholders where the
 * applicant hid them (docs/reference/reference-app.md#the-crm-card).
 */
function contactFields(s: NegotiationSnapshot, lang: PortalLang): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const types = s.applicant.phoneTypes;
  if (s.applicant.hidden.phones) out['PHONE'] = [{ VALUE: hiddenPhoneText(s, lang), VALUE_TYPE: 'MOBILE' }];
  else if (s.applicant.phones.length > 0)
    out['PHONE'] = s.applicant.phones.map((p, i) => ({
      VALUE: p,
      VALUE_TYPE: types ? (PHONE_TYPES[types[i] ?? ''] ?? 'OTHER') : 'MOBILE',
    }));
  if (s.applicant.hidden.email) out['EMAIL'] = [{ VALUE: hiddenEmailText(s, lang), VALUE_TYPE: 'WORK' }];
  else if (s.applicant.email) out['EMAIL'] = [{ VALUE: s.applicant.email, VALUE_TYPE: 'WORK' }];
  return out;
}
