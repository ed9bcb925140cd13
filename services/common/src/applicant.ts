import type { NegotiationSnapshot } from './contracts.js';

/**
 * How an applicant is named wherever the app shows one (the CRM entity, the PDF's name, the
 * timeline): the full name, or the reference app's placeholder when hh.ru hides it («Соискатель [ID]
 * скрыл ФИО», docs/reference/reference-app.md#the-crm-card). The id is the resume's, or the negotiation's
 * when the resume is gone (a tombstone).
 */
function applicantId(s: NegotiationSnapshot): string {
  return s.applicant.resumeId ?? s.negotiationId;
}

export function applicantName(s: NegotiationSnapshot): string {
  if (s.applicant.fullName) return s.applicant.fullName;
  if (s.applicant.hidden.name) return `Соискатель ${applicantId(s)} скрыл ФИО`;
  return `Соискатель ${applicantId(s)} удалил резюме`;
}

/** The placeholder written where hh.ru hides the phones. */
export function hiddenPhoneText(s: NegotiationSnapshot): string {
  return `Соискатель ${applicantId(s)} скрыл телефон`;
}

/** The placeholder written where hh.ru hides the e-mail. */
export function hiddenEmailText(s: NegotiationSnapshot): string {
  return `Соискатель ${applicantId(s)} скрыл e-mail`;
}

/**
 * `2024-05-19T18:14:13+0300` → `19-05-2024`: the date as hh.ru wrote it (its own offset), as the reference
 * app shows it (docs/reference/reference-app.md#the-crm-card).
 */
export function ddmmyyyy(hhDate: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(hhDate);
  if (!m) throw new Error(`not an hh.ru date: ${hhDate}`);
  return `${m[3]}-${m[2]}-${m[1]}`;
}

/**
 * «ФИО_Вакансия DD-MM-YYYY.pdf», after the reference app's example file
 * (docs/reference/reference-app.md#the-crm-card), without characters file systems refuse.
 */
export function resumePdfName(name: string, vacancyName: string, date: string): string {
  const clean = (s: string) =>
    s
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
      .replace(/[\\/:*?"<>|\u0000-\u001f]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
  return `${clean(name)}_${clean(vacancyName)} ${ddmmyyyy(date)}.pdf`;
}
