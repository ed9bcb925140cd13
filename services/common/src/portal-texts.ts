/**
 * Every text the app writes into a portal (titles, comments, the timeline activity, notifications,
 * robot results, the fixes of refused writes), in Russian (the reference app's wording,
 * docs/reference/reference-app.md) and English. A write takes the portal's language as the portal
 * last named it (`b24_portals.language`: the install, every page and placement call, an update).
 * `{name}` placeholders are filled from the values given.
 */
import { textOf } from './text.js';

export type PortalLang = 'ru' | 'en';

/** The portal's language as Bitrix24 names it (`LANG`, `LANGUAGE_ID`); ours is Russian or English, Russian for any other. */
export function portalLang(raw: unknown): PortalLang {
  return raw === 'en' ? 'en' : 'ru';
}

const ru = {
  'kind.response': 'Отклик',
  'kind.invitation': 'Приглашение',
  'title.response': 'Отклик: {vacancy} — {name}',
  'title.invitation': 'Приглашение: {vacancy} — {name}',

  'applicant.hiddenName': 'Соискатель {id} скрыл ФИО',
  'applicant.deletedResume': 'Соискатель {id} удалил резюме',
  'applicant.hiddenPhone': 'Соискатель {id} скрыл телефон',
  'applicant.hiddenEmail': 'Соискатель {id} скрыл e-mail',
  'applicant.hiddenNameShort': 'Соискатель скрыл ФИО',
  'applicant.deletedResumeShort': 'Соискатель удалил резюме',

  'comment.applicant': 'Соискатель: {v}',
  'comment.phone': 'Телефон: {v}',
  'comment.email': 'E-mail: {v}',
  'comment.noResume': 'Резюме удалено или скрыто соискателем.',
  'comment.resume': 'Резюме: {v}',
  'comment.experience': 'Опыт работы: {v}',
  'comment.salary': 'Желаемая зарплата: {v}',
  'comment.skills': 'Навыки: {v}',
  'comment.resumeUrl': 'Резюме на hh.ru: {v}',
  'comment.noExperience': 'нет',
  'comment.coverLetter': 'Сопроводительное письмо: {v}',
  'comment.test': 'Тест: {score} из 100{mark}',
  'comment.testUrl': 'Результат теста: {v}',

  'activity.vacancy': 'Вакансия',
  'activity.name': 'ФИО',
  'activity.city': 'Город',
  'activity.phone': 'Телефон',
  'activity.email': 'E-mail',
  'activity.status': 'Статус НН',
  'activity.responseDate': 'Дата отклика',
  'activity.invitationDate': 'Дата приглашения',
  'activity.resume': 'Резюме',
  'activity.others': 'Другие отклики',
  'activity.othersTitle': 'Другие отклики ({n}):',
  'activity.othersNone': 'Других откликов нет',
  'activity.othersAll': 'Все отклики ({n})',
  'activity.coverLetter': 'Сопроводительное письмо',
  'activity.test': 'Тест',
  'activity.testScore': '{score} из 100{mark}',
  'activity.testOpen': 'Результат',
  'activity.unread': 'Непрочитанных сообщений от соискателя',
  'activity.chat': 'Открыть переписку на hh.ru',
  'mark.UNFAIR': 'неудовлетворительно',
  'mark.FAIR': 'удовлетворительно',
  'mark.GOOD': 'хорошо',
  'mark.EXCELLENT': 'отлично',

  'robot.taken': 'Приложение HH.ru приняло задание робота',
  'robot.status': 'Статус НН: {status}',
  'robot.moved': 'Отклик переведён на hh.ru в статус «{status}»',
  'robot.already': 'Отклик уже в статусе «{status}» на hh.ru',
  'robot.error': 'Ошибка: {text}',
  'robot.hhRefused': 'hh.ru отказал: {message}',
  'robot.hhSilent': 'hh.ru не ответил: попробуйте запустить робота ещё раз позже.',
  'robot.entity_not_ours': 'Этот элемент CRM создан не приложением HH.ru: статуса на hh.ru у него нет.',
  'robot.hh_not_connected': 'Приложение не подключено к hh.ru: войдите на вкладке «Авторизация».',
  'robot.hh_login_required':
    'hh.ru отозвал доступ приложения: требуется повторный вход на вкладке «Авторизация».',
  'robot.hh_action_unavailable': 'hh.ru не позволяет перевести отклик в этот статус из текущего.',
  'robot.hh_message_required': 'hh.ru требует текст сообщения соискателю для этого действия.',
  'robot.message_required': 'Укажите текст сообщения соискателю для отказа с сообщением.',
  'robot.unknown_action': 'Не выбран статус hh.ru, в который перевести отклик.',

  'entity.leads': 'лидов',
  'entity.deals': 'сделок',
  'entity.leadsAcc': 'лиды',
  'entity.dealsAcc': 'сделки',
  'entity.leadDeleted': 'Лид удалён',
  'entity.dealDeleted': 'Сделка удалена',
  'fix.required':
    'Сделать поле необязательным: «{field}» (настройки полей {entities} в CRM), затем нажать «Повторить».',
  'fix.requiredSource':
    'Выбрать источник на вкладке «Настройки» и сохранить: портал требует поле «{field}». Отклики будут записаны снова.',
  'fix.accessDenied':
    'Выдать пользователю, установившему приложение, право добавлять и изменять {entities} (CRM → Настройки → Права доступа) или переустановить приложение от имени администратора, затем нажать «Повторить».',
  'fix.reinstall': 'Переустановить приложение на портале: портал больше не принимает его ключи доступа.',
  'fix.tooLarge':
    'Портал прислал ответ больше допустимого размера (B24_MAX_RESPONSE_BYTES): сообщите администратору сервиса, затем нажмите «Повторить».',
  'fix.moved':
    'Портал ответил перенаправлением на другой адрес: если адрес портала изменился, переустановите приложение, затем нажмите «Повторить».',
  'fix.deleted': '{deleted} на портале. Нажать «Повторить», чтобы создать заново.',
  'fix.rejected': 'Исправить на портале то, на что он указывает, затем нажать «Повторить».',
  'stage.missing': 'Стадии {stage} на портале нет',
  'fix.stageMissing':
    'Выбрать стадии заново на вкладке «Настройки» и сохранить: стадия {stage} удалена или перенесена. Отклики будут записаны снова.',
  'settings.missing': 'Настройки приложения не сохранены',
  'fix.settingsMissing': 'Сохранить настройки на вкладке «Настройки»: после этого отклики будут записаны.',

  'notify.opened':
    'hh.ru: не удалось добавить на портал откликов: {n}.{reason} Откройте приложение, вкладка «Состояние»: там причина каждого отклика и кнопка «Повторить». Когда ошибок не останется, придёт ещё одно сообщение.',
  'notify.reason': ' Причина: {message}.',
  'notify.fix': ' Что сделать: {fix}.',
  'notify.reasonLoads': ' Причина: hh.ru не отдал отклик или резюме.',
  'notify.cleared': 'hh.ru: ошибок больше нет — все отклики снова добавляются на портал.',
  'notify.others':
    'Другие отклики: {name} — {n}. В деле показаны первые, все остальные по ссылке «Все отклики». Идентификаторы: {list}',
  'notify.othersSomeone': 'соискателя {id}',
  'notify.loginRequired':
    'hh.ru: требуется повторный вход. hh.ru больше не принимает вход {manager} ({employer}) — обычно после смены пароля. Загрузка откликов приостановлена, ничего не потеряно. Откройте приложение и нажмите «Войти»: синхронизация продолжится с того места, где остановилась.',
  'notify.lead': 'Лид {id}',
  'notify.deal': 'Сделка {id}',
};

type Key = keyof typeof ru;

const en: Record<Key, string> = {
  'kind.response': 'Response',
  'kind.invitation': 'Invitation',
  'title.response': 'Response: {vacancy} — {name}',
  'title.invitation': 'Invitation: {vacancy} — {name}',

  'applicant.hiddenName': 'Applicant {id} hid their name',
  'applicant.deletedResume': 'Applicant {id} deleted the resume',
  'applicant.hiddenPhone': 'Applicant {id} hid their phone',
  'applicant.hiddenEmail': 'Applicant {id} hid their e-mail',
  'applicant.hiddenNameShort': 'The applicant hid their name',
  'applicant.deletedResumeShort': 'The applicant deleted the resume',

  'comment.applicant': 'Applicant: {v}',
  'comment.phone': 'Phone: {v}',
  'comment.email': 'E-mail: {v}',
  'comment.noResume': 'The applicant deleted or hid the resume.',
  'comment.resume': 'Resume: {v}',
  'comment.experience': 'Experience: {v}',
  'comment.salary': 'Desired salary: {v}',
  'comment.skills': 'Skills: {v}',
  'comment.resumeUrl': 'Resume on hh.ru: {v}',
  'comment.noExperience': 'none',
  'comment.coverLetter': 'Cover letter: {v}',
  'comment.test': 'Test: {score} of 100{mark}',
  'comment.testUrl': 'Test result: {v}',

  'activity.vacancy': 'Vacancy',
  'activity.name': 'Full name',
  'activity.city': 'City',
  'activity.phone': 'Phone',
  'activity.email': 'E-mail',
  'activity.status': 'HH status',
  'activity.responseDate': 'Response date',
  'activity.invitationDate': 'Invitation date',
  'activity.resume': 'Resume',
  'activity.others': 'Other responses',
  'activity.othersTitle': 'Other responses ({n}):',
  'activity.othersNone': 'No other responses',
  'activity.othersAll': 'All responses ({n})',
  'activity.coverLetter': 'Cover letter',
  'activity.test': 'Test',
  'activity.testScore': '{score} of 100{mark}',
  'activity.testOpen': 'Result',
  'activity.unread': 'Unread messages from the applicant',
  'activity.chat': 'Open the conversation on hh.ru',
  'mark.UNFAIR': 'poor',
  'mark.FAIR': 'fair',
  'mark.GOOD': 'good',
  'mark.EXCELLENT': 'excellent',

  'robot.taken': 'The HH.ru app took the robot’s task',
  'robot.status': 'HH status: {status}',
  'robot.moved': 'The response was moved on hh.ru to “{status}”',
  'robot.already': 'The response is “{status}” on hh.ru already',
  'robot.error': 'Error: {text}',
  'robot.hhRefused': 'hh.ru refused: {message}',
  'robot.hhSilent': 'hh.ru did not answer: run the robot again later.',
  'robot.entity_not_ours': 'The HH.ru app did not create this CRM item: it has no status on hh.ru.',
  'robot.hh_not_connected': 'The app is not connected to hh.ru: sign in on the Sign in tab.',
  'robot.hh_login_required': 'hh.ru revoked the app’s access: sign in again on the Sign in tab.',
  'robot.hh_action_unavailable': 'hh.ru does not allow moving the response from its status to this one.',
  'robot.hh_message_required': 'hh.ru needs a message to the applicant for this action.',
  'robot.message_required': 'Write the message to the applicant for a rejection with a message.',
  'robot.unknown_action': 'No hh.ru status to move the response to was chosen.',

  'entity.leads': 'leads',
  'entity.deals': 'deals',
  'entity.leadsAcc': 'leads',
  'entity.dealsAcc': 'deals',
  'entity.leadDeleted': 'The lead was deleted',
  'entity.dealDeleted': 'The deal was deleted',
  'fix.required':
    'Make the field optional: “{field}” (the CRM’s field settings of {entities}), then press Retry.',
  'fix.requiredSource':
    'Choose a source on the Settings tab and save: the portal requires the field “{field}”. The responses are written again.',
  'fix.accessDenied':
    'Give the user who installed the app the right to add and change {entities} (CRM → Settings → Access permissions) or reinstall the app as an administrator, then press Retry.',
  'fix.reinstall': 'Reinstall the app on the portal: the portal no longer accepts its access keys.',
  'fix.tooLarge':
    'The portal sent an answer larger than allowed (B24_MAX_RESPONSE_BYTES): tell the service’s administrator, then press Retry.',
  'fix.moved':
    'The portal answered with a redirect to another address: if the portal’s address changed, reinstall the app, then press Retry.',
  'fix.deleted': '{deleted} on the portal. Press Retry to create it again.',
  'fix.rejected': 'Fix on the portal what it points at, then press Retry.',
  'stage.missing': 'The portal has no stage {stage}',
  'fix.stageMissing':
    'Choose the stages again on the Settings tab and save: stage {stage} was deleted or moved. The responses are written again.',
  'settings.missing': 'The app’s settings are not saved',
  'fix.settingsMissing': 'Save the settings on the Settings tab: then the responses are written.',

  'notify.opened':
    'hh.ru: responses that could not be added to the portal: {n}.{reason} Open the app, tab Status: it shows the cause of each and the Retry button. Another message comes when no failure is left.',
  'notify.reason': ' Cause: {message}.',
  'notify.fix': ' What to do: {fix}.',
  'notify.reasonLoads': ' Cause: hh.ru did not give the response or the resume.',
  'notify.cleared': 'hh.ru: no failures any more — every response reaches the portal again.',
  'notify.others':
    'Other responses: {name} — {n}. The activity shows the first ones, the rest are behind “All responses”. Ids: {list}',
  'notify.othersSomeone': 'applicant {id}',
  'notify.loginRequired':
    'hh.ru: sign in again. hh.ru no longer accepts the sign-in of {manager} ({employer}) — usually after a password change. Loading responses is paused, nothing is lost. Open the app and press Sign in: the sync continues where it stopped.',
  'notify.lead': 'Lead {id}',
  'notify.deal': 'Deal {id}',
};

const catalogues: Record<PortalLang, Record<Key, string>> = { ru, en };

export type PortalTextKey = Key;

/** A text of the catalogue in the portal's language, `{name}` filled from `values`. */
export function portalText(
  lang: PortalLang,
  key: PortalTextKey,
  values: Record<string, unknown> = {},
): string {
  return catalogues[lang][key].replace(/\{(\w+)\}/g, (_m, name: string) => textOf(values[name]));
}

/**
 * The applicant's text where BB code is read (notifications): a zero-width space after each `[`
 * keeps `[URL=…]` or `[B]` from becoming a tag; the reader sees the text as written.
 */
export function bbText(value: string): string {
  return value.replace(/\[/g, '[\u200b');
}

/** Whether a catalogue key exists (a robot refusal's code, say). */
export function isPortalTextKey(key: string): key is PortalTextKey {
  return key in ru;
}

/**
 * hh.ru's mark of a test in the portal's language, after a comma (`, отлично`); a mark hh.ru may
 * add later as hh.ru wrote it; none: nothing.
 */
export function testMarkText(lang: PortalLang, mark: string | null): string {
  if (!mark) return '';
  const key = `mark.${mark}`;
  return `, ${isPortalTextKey(key) ? portalText(lang, key) : mark}`;
}
