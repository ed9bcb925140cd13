/**
 * From what hh.ru returned to what the rest of the mesh reads: the negotiation snapshot, the
 * applicant's normalised contacts, and whether a negotiation is a response or an invitation.
 * Pure functions: no I/O, so every rule here is tested on its own.
 */
import { type NegotiationSnapshot, applicantName, resumePdfName } from '@hhb24/common';
import type { HhContact, HhMessage, HhNegotiation, HhPhoneValue, HhResume } from '../hh/index.js';

export type Kind = 'response' | 'invitation';

/** The parts of a full resume we keep (hh_resumes.data): contacts, the summary, the download link. */
export interface KeptResume {
  id: string;
  title: string | null;
  firstName: string | null;
  lastName: string | null;
  middleName: string | null;
  city: string | null;
  /** E.164, mobile first. */
  phones: Array<{
    number: string;
    /** hh.ru's contact type id: cell, work, home (kept open for values it may add). */ type: string;
  }>;
  email: string | null;
  hidden: string[];
  url: string | null;
  pdfUrl: string | null;
  experienceMonths: number | null;
  salary: string | null;
  skills: string[];
  updatedAt: string;
}

/** `{country:'7', city:'495', number:'5527367'}` → `+74955527367`; null when hidden or not a number. */
export function e164(value: HhPhoneValue | string | null): string | null {
  if (value === null) return null;
  const raw =
    typeof value === 'string' ? value : `${value.country ?? ''}${value.city ?? ''}${value.number ?? ''}`;
  let digits = raw.replace(/\D/g, '');
  // A Russian number written the domestic way: 8 (xxx) … is +7 (xxx) ….
  if (digits.length === 11 && digits.startsWith('8')) digits = `7${digits.slice(1)}`;
  return digits.length >= 10 && digits.length <= 15 ? `+${digits}` : null;
}

export function normaliseEmail(value: string | null | undefined): string | null {
  const v = value?.trim().toLowerCase();
  return v && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? v : null;
}

function salaryText(salary: HhResume['salary']): string | null {
  if (!salary || typeof salary.amount !== 'number') return null;
  return `${salary.amount.toLocaleString('ru-RU').replace(/\u00a0/g, ' ')} ${salary.currency === 'RUR' ? 'руб.' : salary.currency}`;
}

export function keepResume(r: HhResume): KeptResume {
  const contacts: HhContact[] = Array.isArray(r.contact) ? r.contact : [];
  const phones = contacts
    .filter((c) => c.type?.id !== 'email')
    .map((c) => ({ number: e164(c.value), type: c.type?.id ?? 'cell' }))
    .filter((p): p is { number: string; type: string } => p.number !== null)
    .sort((a, b) => Number(b.type === 'cell') - Number(a.type === 'cell'));
  const email =
    contacts
      .filter((c) => c.type?.id === 'email')
      .map((c) => normaliseEmail(typeof c.value === 'string' ? c.value : null))
      .find(Boolean) ?? null;
  return {
    id: r.id,
    title: r.title ?? null,
    firstName: r.first_name ?? null,
    lastName: r.last_name ?? null,
    middleName: r.middle_name ?? null,
    city: r.area?.name ?? null,
    phones,
    email,
    hidden: (r.hidden_fields ?? []).map((h) => h.id),
    url: r.alternate_url ?? null,
    pdfUrl: r.actions?.download?.pdf?.url ?? null,
    experienceMonths: r.total_experience?.months ?? null,
    salary: salaryText(r.salary),
    skills: r.skill_set ?? [],
    updatedAt: r.updated_at,
  };
}

export function fullName(p: {
  lastName: string | null;
  firstName: string | null;
  middleName: string | null;
}): string | null {
  const name = [p.lastName, p.firstName, p.middleName]
    .filter((x) => x && x.trim())
    .join(' ')
    .trim();
  return name || null;
}

/**
 * Response or invitation, from what the item itself says (docs/reference/hh-api.md#response-or-invitation):
 * hh.ru's staff say a response is in employer state `response`; the applicant still sees `response` on a
 * response the employer moved without a message (an invitation shows `invitation` from the start);
 * `AUTO_INVITE` marks automatic invitations. An applicant state `invitation` comes only with a message of
 * the employer's (the invitation's own, or the move's), so when the item counts at most one message that
 * message is the employer's and it is the first: the messages would say «invitation», and they are not
 * read. Anything else cannot be told from the item: null, and the caller reads who wrote the first message.
 */
export function kindFromItem(
  n: Pick<HhNegotiation, 'employer_state' | 'state' | 'source' | 'counters'>,
): Kind | null {
  if (n.source === 'AUTO_INVITE') return 'invitation';
  if (n.employer_state?.id === 'response') return 'response';
  if (n.state?.id === 'response') return 'response';
  const messages = n.counters?.messages;
  if (n.state?.id === 'invitation' && typeof messages === 'number' && messages <= 1) return 'invitation';
  return null;
}

/** The first message's author started the negotiation: the applicant (a response) or the employer (an invitation). */
export function kindFromFirstAuthor(participantType: string | undefined): Kind | null {
  if (participantType === 'applicant') return 'response';
  if (participantType === 'employer') return 'invitation';
  return null;
}

/** A message list read and found empty: nothing to read again. */
export const NO_MESSAGE: HhMessage = {
  id: '',
  author: { participant_type: '' },
  created_at: '',
  state: { id: '', name: '' },
  text: null,
};

/** The most of a cover letter the snapshot carries (hh.ru's own limit is far above what a card shows). */
export const COVER_LETTER_MAX = 4000;

/**
 * The cover letter: the text of the first message when the applicant wrote it (a response's
 * opening message; docs/reference/hh-api.md#messages). Kept as written, only trimmed and bounded.
 */
export function coverLetterOf(first: HhMessage | undefined): string | null {
  if (!first || first.author.participant_type !== 'applicant') return null;
  const text = typeof first.text === 'string' ? first.text.trim() : '';
  if (!text) return null;
  return text.length > COVER_LETTER_MAX ? `${text.slice(0, COVER_LETTER_MAX - 1)}…` : text;
}

export interface SnapshotInput {
  memberId: string;
  accountId: string;
  version: number;
  kind: Kind;
  personId: string;
  item: HhNegotiation;
  vacancy: NegotiationSnapshot['vacancy'];
  /** The kept resume (kept even after the applicant deleted it), or null. */
  resume: KeptResume | null;
  /** The PDF is stored. */
  hasPdf: boolean;
  /** The applicant's cover letter (null: none, or not read). */
  coverLetter?: string | null;
  /** Messages from the applicant not read on hh.ru (after what we read ourselves). */
  unreadMessages?: number;
}

/** The snapshot crm-writer and timeline-renderer work from; they never read hh.ru themselves. */
export function buildSnapshot(input: SnapshotInput): NegotiationSnapshot {
  const { item, resume } = input;
  const short = item.resume;
  const hidden = new Set([...(resume?.hidden ?? []), ...(short?.hidden_fields ?? []).map((h) => h.id)]);
  const names =
    resume ??
    (short
      ? { lastName: short.last_name, firstName: short.first_name, middleName: short.middle_name }
      : null);
  const snapshot: NegotiationSnapshot = {
    memberId: input.memberId,
    accountId: input.accountId,
    negotiationId: item.id,
    version: input.version,
    kind: input.kind,
    vacancy: input.vacancy,
    state: { id: item.employer_state.id, name: item.employer_state.name },
    createdAt: item.created_at,
    updatedAt: item.updated_at,
    personId: input.personId,
    applicant: {
      resumeId: resume?.id ?? short?.id ?? null,
      fullName: hidden.has('names_and_photo') || !names ? null : fullName(names),
      ...(hidden.has('names_and_photo') || !names || !fullName(names)
        ? {}
        : {
            names: {
              last: names.lastName?.trim() || null,
              first: names.firstName?.trim() || null,
              middle: names.middleName?.trim() || null,
            },
          }),
      phones: hidden.has('phones') ? [] : (resume?.phones.map((p) => p.number) ?? []),
      phoneTypes: hidden.has('phones') ? [] : (resume?.phones.map((p) => p.type) ?? []),
      email: hidden.has('email') ? null : (resume?.email ?? null),
      city: resume?.city ?? short?.area?.name ?? null,
      hidden: {
        name: hidden.has('names_and_photo'),
        phones: hidden.has('phones'),
        email: hidden.has('email'),
      },
    },
    resume: resume
      ? {
          title: resume.title,
          url: resume.url,
          experienceMonths: resume.experienceMonths,
          salary: resume.salary,
          skills: resume.skills,
          pdf: null,
        }
      : null,
  };
  // The applicant's own words: the cover letter, the test, the messages not read yet, and where
  // the conversation is on hh.ru (the response's page: the short resume's address carries it).
  const test = item.test_result;
  snapshot.words = {
    coverLetter: input.coverLetter ?? null,
    test:
      test && typeof test.score === 'number'
        ? { score: test.score, mark: test.mark ?? null, url: test.alternate_url ?? null }
        : null,
    unreadMessages: Math.max(0, input.unreadMessages ?? item.counters?.unread_messages ?? 0),
    chatUrl: short?.alternate_url ?? null,
  };
  if (snapshot.resume && input.hasPdf && resume) {
    snapshot.resume.pdf = {
      filename: resumePdfName(applicantName(snapshot), input.vacancy.name, resume.updatedAt),
    };
  }
  return snapshot;
}

/** Two snapshots say the same (versions aside): nothing to hand on. */
export function sameSnapshot(a: NegotiationSnapshot | null, b: NegotiationSnapshot): boolean {
  if (!a) return false;
  return JSON.stringify({ ...a, version: 0 }) === JSON.stringify({ ...b, version: 0 });
}

/** The keys a person is recognised by, strongest first: resume id, then phone, then e-mail. */
export function personKeys(s: Pick<NegotiationSnapshot, 'applicant'>): string[] {
  const keys: string[] = [];
  if (s.applicant.resumeId) keys.push(`resume:${s.applicant.resumeId}`);
  for (const phone of s.applicant.phones) keys.push(`phone:${phone}`);
  if (s.applicant.email) keys.push(`email:${s.applicant.email}`);
  return keys;
}
