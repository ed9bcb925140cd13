import type { NegotiationSnapshot } from './contracts.js';
import { type PortalLang, portalText } from './portal-texts.js';

/**
 * How an applicant is named wherever the app shows one (the CRM entity, the PDF's name, the
 * timeline): the full name, or the reference app's placeholder when hh.ru hides it («Соискатель [ID]
 * скрыл ФИО», docs/reference/reference-app.md#the-crm-card). The id is the resume's, or the negotiation's
 * when the resume is gone (a tombstone).
 */
function applicantId(s: NegotiationSnapshot): string {
  return s.applicant.resumeId ?? s.negotiationId;
}

export function applicantName(s: NegotiationSnapshot, lang: PortalLang = 'ru'): string {
  if (s.applicant.fullName) return s.applicant.fullName;
  const id = applicantId(s);
  return portalText(lang, s.applicant.hidden.name ? 'applicant.hiddenName' : 'applicant.deletedResume', {
    id,
  });
}

/**
 * The name for a title, where the long resume id only clutters: the full name, or «Соискатель скрыл
 * ФИО» / «Соискатель удалил резюме» without the id.
 */
export function applicantTitleName(s: NegotiationSnapshot, lang: PortalLang = 'ru'): string {
  if (s.applicant.fullName) return s.applicant.fullName;
  return portalText(
    lang,
    s.applicant.hidden.name ? 'applicant.hiddenNameShort' : 'applicant.deletedResumeShort',
  );
}

/** The placeholder written where hh.ru hides the phones. */
export function hiddenPhoneText(s: NegotiationSnapshot, lang: PortalLang = 'ru'): string {
  return portalText(lang, 'applicant.hiddenPhone', { id: applicantId(s) });
}

/** The placeholder written where hh.ru hides the e-mail. */
export function hiddenEmailText(s: NegotiationSnapshot, lang: PortalLang = 'ru'): string {
  return portalText(lang, 'applicant.hiddenEmail', { id: applicantId(s) });
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
