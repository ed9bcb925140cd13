/**
 * What the portal must hold, derived from the simulated hh.ru's own records (not from our
 * tables): for every negotiation the account may see, exactly one lead or deal with every field
 * the reference app writes (docs/reference/reference-app.md#required-fields), and the resume PDF attached.
 */
import { HH_STATES, type HhState, type PortalSettings, toHhState } from '@hhb24/common';
import { EMPLOYER_STATES, type HhSim, type Negotiation } from '@hhb24/sim-hh';
import type { B24Sim } from '@hhb24/sim-b24';

const STATE_NAMES = new Map(EMPLOYER_STATES.map((s) => [s.id, s.name]));

/** dd-mm-yyyy of an instant as hh.ru writes it (Moscow time, +0300). */
export function moscowDate(ms: number): string {
  const [y, m, d] = new Date(ms + 3 * 3600_000).toISOString().slice(0, 10).split('-');
  return `${d}-${m}-${y}`;
}

/** The negotiations a manager sees on hh.ru: those of active vacancies they may work with. */
export function visibleNegotiations(sim: HhSim, managerId: string): Negotiation[] {
  const manager = sim.store.managers.get(managerId)!;
  return [...sim.store.negotiations.values()].filter((n) => {
    const v = sim.store.vacancies.get(n.vacancyId)!;
    return !v.archived && sim.store.canSee(manager, v);
  });
}

export interface Expected {
  name: string;
  fields: Record<string, unknown>;
  phones: string[];
  /** Each phone as `{value}/{VALUE_TYPE}`: hh.ru's cell MOBILE, work WORK, home HOME; a placeholder MOBILE. */
  typedPhones: string[];
  emails: string[];
  pdfName: string | null;
}

const PHONE_TYPES: Record<string, string> = { cell: 'MOBILE', work: 'WORK', home: 'HOME' };

export function expectedEntity(sim: HhSim, n: Negotiation, settings: PortalSettings): Expected {
  const r = sim.store.resumes.get(n.resumeId)!;
  const vacancy = sim.store.vacancies.get(n.vacancyId)!.name;
  const kind = n.initiator === 'applicant' ? 'response' : 'invitation';
  const hidden = new Set(r.deleted ? [] : r.hidden);
  const name = r.deleted
    ? `Соискатель ${n.id} удалил резюме`
    : hidden.has('names_and_photo')
      ? `Соискатель ${r.id} скрыл ФИО`
      : [r.lastName, r.firstName, r.middleName].filter(Boolean).join(' ');
  const mapped = settings.extendedSync
    ? settings.stageByState[toHhState(n.employerState) as HhState]
    : undefined;
  const stage = mapped ?? (kind === 'invitation' ? settings.stageForInvitation : settings.stageForResponse);
  const sorted = [...r.phones].sort((a, b) => Number(b.type === 'cell') - Number(a.type === 'cell'));
  const phones = r.deleted
    ? []
    : hidden.has('phones')
      ? [`Соискатель ${r.id} скрыл телефон`]
      : sorted.map((p) => `+${p.country}${p.city}${p.number}`);
  const typedPhones =
    r.deleted || hidden.has('phones')
      ? phones.map((p) => `${p}/MOBILE`)
      : sorted.map((p, i) => `${phones[i]}/${PHONE_TYPES[p.type] ?? 'OTHER'}`);
  // hh.ru shows that the e-mail is hidden, not whether there is one: the placeholder goes in either way.
  const emails = r.deleted
    ? []
    : hidden.has('email')
      ? [`Соискатель ${r.id} скрыл e-mail`]
      : r.email === null
        ? []
        : [r.email.toLowerCase()];
  const fields: Record<string, unknown> = {
    // A title names the applicant without the long resume id.
    TITLE: `${kind === 'invitation' ? 'Приглашение' : 'Отклик'}: ${vacancy} — ${name.replace(/^Соискатель \S+ /, 'Соискатель ')}`,
    ORIGINATOR_ID: 'hh-b24',
    ORIGIN_ID: n.id,
    ASSIGNED_BY_ID: String(settings.responsibleUserId),
    SOURCE_ID: settings.sourceId,
    UF_CRM_NH_CREATED_AT: moscowDate(n.createdAt),
    UF_CRM_NH_STATUS: STATE_NAMES.get(n.employerState),
    UF_CRM_NH_VACANCIES: vacancy,
    UF_CRM_APPLICANT_CITY: r.deleted ? null : r.area.name,
    [settings.entityType === 'lead' ? 'STATUS_ID' : 'STAGE_ID']: stage,
  };
  if (settings.entityType === 'deal') fields['CATEGORY_ID'] = String(settings.categoryId);
  else Object.assign(fields, nameFields(r, name, hidden.has('names_and_photo')));
  return {
    name,
    fields,
    phones,
    typedPhones,
    emails,
    pdfName: r.deleted ? null : `${name}_${vacancy} ${moscowDate(r.updatedAt)}.pdf`,
  };
}

/** NAME, LAST_NAME and SECOND_NAME of a lead or contact: the name's parts, or the placeholder in NAME. */
export function nameFields(
  r: { deleted: boolean; firstName: string; lastName: string; middleName: string | null },
  name: string,
  hidden: boolean,
): Record<string, string | null> {
  return r.deleted || hidden
    ? { NAME: name, LAST_NAME: null, SECOND_NAME: null }
    : { NAME: r.firstName || null, LAST_NAME: r.lastName || null, SECOND_NAME: r.middleName || null };
}

export interface PortalCheck {
  /** Negotiations the account sees. */
  expected: number;
  /** Entities with our ORIGINATOR_ID in the portal. */
  entities: number;
  /** Negotiations with no entity, or with more than one. */
  missing: string[];
  duplicated: string[];
  /** Entities of negotiations the account must not see. */
  foreign: string[];
  /** Field by field, what differs (first 20). */
  wrong: string[];
  withPdf: number;
}

/** Compares the portal's entities (as crm.*.get shows them) with what hh.ru holds. */
export function checkPortal(
  hh: HhSim,
  b24: B24Sim,
  memberId: string,
  managerId: string,
  settings: PortalSettings,
  only?: Set<string>,
): PortalCheck {
  const rows = b24.entities(memberId, settings.entityType).filter((r) => r['ORIGINATOR_ID'] === 'hh-b24');
  const byOrigin = new Map<string, Array<Record<string, unknown>>>();
  for (const r of rows)
    byOrigin.set(String(r['ORIGIN_ID']), [...(byOrigin.get(String(r['ORIGIN_ID'])) ?? []), r]);
  const negotiations = visibleNegotiations(hh, managerId).filter((n) => !only || only.has(n.id));
  const seen = new Set(negotiations.map((n) => n.id));
  const check: PortalCheck = {
    expected: negotiations.length,
    entities: rows.length,
    missing: [],
    duplicated: [],
    foreign: [],
    wrong: [],
    withPdf: 0,
  };
  for (const id of byOrigin.keys()) if (!seen.has(id) && !only) check.foreign.push(id);
  for (const n of negotiations) {
    const found = byOrigin.get(n.id) ?? [];
    if (found.length === 0) check.missing.push(n.id);
    if (found.length > 1) check.duplicated.push(n.id);
    const row = found[0];
    if (!row) continue;
    const want = expectedEntity(hh, n, settings);
    for (const [key, value] of Object.entries(want.fields)) {
      if ((row[key] ?? null) !== (value ?? null))
        check.wrong.push(`${n.id} ${key}: ${JSON.stringify(row[key])} ≠ ${JSON.stringify(value)}`);
    }
    const comments = String(row['COMMENTS'] ?? '');
    if (settings.entityType === 'lead') {
      const values = (key: string) =>
        ((row[key] as Array<{ VALUE: string; VALUE_TYPE: string }> | undefined) ?? []).map(
          (m) => `${m.VALUE}/${m.VALUE_TYPE}`,
        );
      const phones = want.typedPhones;
      const emails = want.emails.map((e) => `${e}/WORK`);
      if (JSON.stringify(values('PHONE')) !== JSON.stringify(phones))
        check.wrong.push(`${n.id} PHONE: ${JSON.stringify(values('PHONE'))} ≠ ${JSON.stringify(phones)}`);
      if (JSON.stringify(values('EMAIL')) !== JSON.stringify(emails))
        check.wrong.push(`${n.id} EMAIL: ${JSON.stringify(values('EMAIL'))} ≠ ${JSON.stringify(emails)}`);
    } else {
      // A deal keeps the applicant's name and contacts at the top of its comment.
      const head = [
        `Соискатель: ${want.name}`,
        ...(want.phones.length ? [`Телефон: ${want.phones.join(', ')}`] : []),
        ...(want.emails.length ? [`E-mail: ${want.emails[0]}`] : []),
      ].join('\n');
      if (!comments.startsWith(head))
        check.wrong.push(
          `${n.id} COMMENTS: ${JSON.stringify(comments.slice(0, 120))} does not start with ${JSON.stringify(head)}`,
        );
      // Every deal is bound to its applicant's contact.
      const contactId = Number(row['CONTACT_ID']);
      if (!(contactId > 0) || !b24.entity(memberId, 'contact', contactId))
        check.wrong.push(`${n.id} CONTACT_ID: ${JSON.stringify(row['CONTACT_ID'])} is not a contact`);
    }
    const r = hh.store.resumes.get(n.resumeId)!;
    if (r.deleted ? !comments.includes('Резюме удалено') : !comments.includes(`Резюме: ${r.title}`))
      check.wrong.push(`${n.id} COMMENTS: ${JSON.stringify(comments.slice(0, 80))}`);
    const file = row['UF_CRM_HH_RESUME'] as { id: number } | undefined;
    if (want.pdfName === null) {
      if (file) check.wrong.push(`${n.id} UF_CRM_HH_RESUME: a tombstone has no resume file`);
    } else if (!file) {
      check.wrong.push(`${n.id} UF_CRM_HH_RESUME: missing`);
    } else {
      const stored = b24.file(memberId, file.id);
      if (stored?.name !== want.pdfName)
        check.wrong.push(
          `${n.id} file name: ${JSON.stringify(stored?.name)} ≠ ${JSON.stringify(want.pdfName)}`,
        );
      else if (stored.content.subarray(0, 5).toString('latin1') !== '%PDF-' || stored.content.length < 1000)
        check.wrong.push(`${n.id} file: not a PDF`);
      else check.withPdf++;
    }
  }
  check.wrong = check.wrong.slice(0, 20);
  return check;
}

/** Extended mapping onto a pipeline's stages: each hh.ru state its own stage, in the pipeline's order where it can. */
export function extendedStages(categoryId: number): Record<HhState, string> {
  const p = (s: string) => (categoryId === 0 ? s : `C${categoryId}:${s}`);
  const order = [
    'NEW',
    'PREPARATION',
    'PREPAYMENT_INVOICE',
    'EXECUTING',
    'EXECUTING',
    'FINAL_INVOICE',
    'WON',
    'LOSE',
  ];
  return Object.fromEntries(HH_STATES.map((s, i) => [s, p(order[i]!)])) as Record<HhState, string>;
}
