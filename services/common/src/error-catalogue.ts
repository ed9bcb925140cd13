import { AppError } from './errors.js';

/**
 * Every refusal the gateway and the app pages answer with, in one place: its code (stable: logs,
 * JSON answers and tests name it), its HTTP status, and the key of the text a person reads
 * (ERROR_TEXTS, in Russian and English; the pages' texts in settings include them). A route
 * refuses with `new Refusal('session_required')`, never with a status and a string of its own.
 */
export const ERROR_TEXTS = {
  'error.notFound': {
    ru: 'Такой страницы в приложении нет. Обновите страницу.',
    en: 'The app has no such page. Reload the page.',
  },
  'error.sessionExpired': {
    ru: 'Страница открыта слишком давно. Обновите её.',
    en: 'The page has been open too long. Reload it.',
  },
  'error.crossOrigin': {
    ru: 'Запрос пришёл не со страницы приложения и не выполнен.',
    en: 'The request did not come from the app page and was not carried out.',
  },
  'error.adminOnly': {
    ru: 'Это может сделать только администратор портала.',
    en: 'Only a portal administrator can do this.',
  },
  'error.manageOnly': {
    ru: 'Изменять настройки приложения могут только администраторы портала и сотрудники, которых они назначили в настройках («Кто может управлять приложением»). Ничего не изменено.',
    en: 'Only portal administrators and the employees they named in the settings (Who can manage the app) can change the app’s settings. Nothing was changed.',
  },
  'error.analyticsOnly': {
    ru: 'Аналитику видят администраторы портала и сотрудники, которых они назначили в настройках («Кто может видеть аналитику»).',
    en: 'Analytics is open to portal administrators and the employees they named in the settings (Who can see analytics).',
  },
  'error.adminUnconfirmed': {
    ru: 'Не удалось подтвердить в Битрикс24 ваши права администратора: обновите страницу. Ничего не изменено.',
    en: 'Your administrator rights could not be confirmed with Bitrix24: reload the page. Nothing was changed.',
  },
  'error.methodNotAllowed': {
    ru: 'Запрос отправлен не тем способом и не выполнен. Обновите страницу.',
    en: 'The request was sent the wrong way and was not carried out. Reload the page.',
  },
  'error.negotiationRequired': {
    ru: 'Не указан отклик.',
    en: 'No response was named.',
  },
  'error.pdfForbidden': {
    ru: 'Это резюме относится к другому лиду или сделке.',
    en: 'This resume belongs to another lead or deal.',
  },
  'error.pdfNotFound': {
    ru: 'Файла резюме нет: hh.ru его не отдал или соискатель удалил резюме.',
    en: 'There is no resume file: hh.ru did not give it, or the applicant deleted the resume.',
  },
  'error.pdfUnavailable': {
    ru: 'Резюме сейчас не загрузить. Попробуйте через минуту.',
    en: 'The resume cannot be downloaded right now. Try again in a minute.',
  },
  'error.pageUnavailable': {
    ru: 'Страница приложения сейчас недоступна. Обновите её через минуту.',
    en: 'The app page is not available right now. Reload it in a minute.',
  },
  'error.notInstalled': {
    ru: 'Приложение не установлено на этом портале или запрос пришёл не от него. Откройте приложение из портала; если ошибка повторяется, переустановите приложение.',
    en: 'The app is not installed on this portal, or the request did not come from it. Open the app from the portal; if this keeps happening, reinstall the app.',
  },
  'error.staleAuth': {
    ru: 'Не удалось подтвердить вход в Битрикс24: обновите страницу.',
    en: 'Your Bitrix24 sign-in could not be confirmed: reload the page.',
  },
  'error.portalBusy': {
    ru: 'Портал сейчас не отвечает или перегружен. Обновите страницу через минуту.',
    en: 'The portal is not answering or is overloaded. Reload the page in a minute.',
  },
  'error.portalNotAllowed': {
    ru: 'Этот портал не может установить приложение: его адрес не входит в список разрешённых. Обратитесь к администратору сервиса.',
    en: 'This portal cannot install the app: its address is not on the allowed list. Contact the service operator.',
  },
  'error.installNotConfirmed': {
    ru: 'Битрикс24 не подтвердил установку. Откройте установку приложения заново из Маркета.',
    en: 'Bitrix24 did not confirm the installation. Start the installation again from the Market.',
  },
  'error.installAdminOnly': {
    ru: 'Установить приложение может только администратор портала.',
    en: 'Only a portal administrator can install the app.',
  },
  'error.uninstallUnconfirmed': {
    ru: 'Битрикс24 не подтвердил, что приложение удалено с портала: ничего не изменено.',
    en: 'Bitrix24 did not confirm that the app was removed from the portal: nothing was changed.',
  },
  'error.hhNotConnected': {
    ru: 'Приложение не подключено к hh.ru: войдите на вкладке «Авторизация».',
    en: 'The app is not connected to hh.ru: sign in on the Sign in tab.',
  },
  'error.hhLoginRequired': {
    ru: 'hh.ru отозвал доступ приложения: требуется повторный вход на вкладке «Авторизация».',
    en: 'hh.ru revoked the app’s access: sign in again on the Sign in tab.',
  },
  'error.rateLimited': {
    ru: 'Слишком много запросов. Повторите через минуту.',
    en: 'Too many requests. Try again in a minute.',
  },
  'error.invalidRequest': {
    ru: 'Запрос составлен неверно и не выполнен.',
    en: 'The request is malformed and was not carried out.',
  },
  'error.badRequest': {
    ru: 'Запрос не похож на уведомление hh.ru: нужны id, action_type и payload.',
    en: 'Not an hh.ru callback: id, action_type and payload are required.',
  },
} as const satisfies Record<string, { ru: string; en: string }>;

export type ErrorTextKey = keyof typeof ERROR_TEXTS;

export interface ErrorSpec {
  status: number;
  text: ErrorTextKey;
}

export const ERRORS = {
  // The app pages' own requests (/ui/*) and the hh.ru login window.
  not_found: { status: 404, text: 'error.notFound' },
  method_not_allowed: { status: 405, text: 'error.methodNotAllowed' },
  session_required: { status: 401, text: 'error.sessionExpired' },
  csrf_origin: { status: 403, text: 'error.crossOrigin' },
  admin_only: { status: 403, text: 'error.adminOnly' },
  // A change (settings, hh.ru login, import, «Повторить», the subscription) by someone who is neither
  // a portal admin (asked of Bitrix24 with their own token) nor named in «Кто может управлять приложением».
  manage_only: { status: 403, text: 'error.manageOnly' },
  // «Аналитика» opened by someone who is neither a portal admin nor named in «Кто может видеть аналитику».
  analytics_only: { status: 403, text: 'error.analyticsOnly' },
  // A change by a user whose admin rights could not be asked again (their token from the page load has expired).
  admin_unconfirmed: { status: 403, text: 'error.adminUnconfirmed' },
  negotiation_required: { status: 400, text: 'error.negotiationRequired' },
  pdf_forbidden: { status: 403, text: 'error.pdfForbidden' },
  pdf_not_found: { status: 404, text: 'error.pdfNotFound' },
  pdf_unavailable: { status: 503, text: 'error.pdfUnavailable' },
  page_unavailable: { status: 503, text: 'error.pageUnavailable' },

  // What Bitrix24 sends us: page loads, the installer, events and robots.
  b24_application_token: { status: 401, text: 'error.notInstalled' },
  b24_domain_mismatch: { status: 403, text: 'error.notInstalled' },
  b24_portal_unknown: { status: 401, text: 'error.notInstalled' },
  b24_auth_missing: { status: 401, text: 'error.staleAuth' },
  b24_auth_failed: { status: 401, text: 'error.staleAuth' },
  b24_access_denied: { status: 403, text: 'error.staleAuth' },
  b24_portal_busy: { status: 503, text: 'error.portalBusy' },
  b24_portal_not_allowed: { status: 403, text: 'error.portalNotAllowed' },
  b24_oauth_not_allowed: { status: 403, text: 'error.portalNotAllowed' },
  b24_install_incomplete: { status: 400, text: 'error.installNotConfirmed' },
  b24_install_malformed: { status: 400, text: 'error.installNotConfirmed' },
  b24_install_mismatch: { status: 403, text: 'error.installNotConfirmed' },
  b24_install_unconfirmed: { status: 401, text: 'error.installNotConfirmed' },
  b24_oauth_unavailable: { status: 503, text: 'error.installNotConfirmed' },
  b24_install_unavailable: { status: 503, text: 'error.installNotConfirmed' },
  // An answer at install too big to read, or a redirect (never followed: the call carries a secret).
  b24_oauth_answer_refused: { status: 502, text: 'error.installNotConfirmed' },
  b24_install_answer_refused: { status: 502, text: 'error.installNotConfirmed' },
  b24_install_not_admin: { status: 403, text: 'error.installAdminOnly' },
  // ONAPPUNINSTALL the portal does not confirm (it still answers for the app, or refuses otherwise).
  b24_uninstall_unconfirmed: { status: 403, text: 'error.uninstallUnconfirmed' },

  // hh.ru's webhooks.
  bad_request: { status: 400, text: 'error.badRequest' },

  // Any route: a parameter, query or body that does not fit the route's schema (gateway/src/schemas.ts);
  // the answer names the field.
  invalid_request: { status: 400, text: 'error.invalidRequest' },

  // Any public route: an address or a portal sent more than its limit (Retry-After says when to come back).
  rate_limited: { status: 429, text: 'error.rateLimited' },

  // hh-connector's answers the pages act on (it raises them; the pages say what to do).
  hh_not_connected: { status: 409, text: 'error.hhNotConnected' },
  hh_login_required: { status: 409, text: 'error.hhLoginRequired' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The text of an error in the reader's language. */
export function errorText(code: ErrorCode, lang: 'ru' | 'en'): string {
  return ERROR_TEXTS[ERRORS[code].text][lang];
}

/** Whether something thrown carries one of the catalogue's codes (whoever raised it). */
export function hasErrorCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof AppError && err.code === code;
}

/**
 * A request refused with one of the catalogue's errors: its status and text come from there.
 * `details` go to the log line only, never to the answer.
 */
export class Refusal extends AppError {
  declare readonly code: ErrorCode;

  constructor(code: ErrorCode, details: Record<string, unknown> = {}, options: { status?: number } = {}) {
    super(code, ERROR_TEXTS[ERRORS[code].text].en, {
      status: options.status ?? ERRORS[code].status,
      retryable: false,
      details,
    });
    this.name = 'Refusal';
  }

  /** Both texts, for a page shown before the reader's language is known. */
  get texts(): { ru: string; en: string } {
    return ERROR_TEXTS[ERRORS[this.code].text];
  }
}
