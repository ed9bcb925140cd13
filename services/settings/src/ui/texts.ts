/**
 * Every text of the app's pages, in Russian (the reference app's wording, docs/reference/reference-app.md)
 * and English. Templates ask for a key with `{{t "key"}}`; `{name}` placeholders are filled from the helper's
 * hash.
 */
import { ERROR_TEXTS, type ErrorTextKey, textOf } from '@hhb24/common';

export type Lang = 'ru' | 'en';

const ru = {
  'app.title': 'HH.ru',
  'app.syncActive': 'Синхронизация активна',
  'app.loginRequired': 'Требуется повторный вход',
  'app.notConnected': 'hh.ru не подключён',
  'tabs.label': 'Разделы приложения',
  'tabs.auth': 'Авторизация',
  'tabs.settings': 'Настройки',
  'tabs.newResponses': 'Новые отклики',
  'tabs.feedback': 'Обратная связь',

  'tabs.health': 'Состояние',
  'health.ok': 'Всё работает: отклики приходят и добавляются на портал',
  'health.warning': 'Работает, но есть на что обратить внимание',
  'health.error': 'Есть проблемы: часть откликов не попадает на портал',
  'health.errorLogin': 'hh.ru отозвал доступ: отклики не приходят, пока вы не войдёте снова',
  'health.needsLogin': 'станет известно после входа',
  'health.hhTitle': 'Подключение к hh.ru',
  'health.hhUnavailable':
    'Не удалось получить состояние подключения к hh.ru. Обновите страницу через минуту.',
  'health.crmUnavailable': 'Не удалось получить состояние записи на портал. Обновите страницу через минуту.',
  'health.token': 'Доступ к hh.ru',
  'health.tokenValid': 'действует',
  'health.tokenRelogin': 'требуется повторный вход',
  'health.adminRights': 'Права администратора компании',
  'health.paidAccess': 'Платный доступ к API',
  'health.paidYes': 'есть',
  'health.paidNo': 'нет — hh.ru не отдаёт отклики и резюме без платного доступа',
  'health.unknown': 'hh.ru не ответил',
  'health.views': 'Просмотры резюме сегодня',
  'health.viewsLeft': 'осталось {left} из {limit}',
  'health.viewsParked': 'лимит исчерпан, загрузка резюме продолжится {until}',
  'health.subscription': 'Уведомления о новых откликах',
  'health.subscriptionOk': 'подписка есть',
  'health.subscriptionWrong':
    'подписка указывает не на это приложение — нажмите «Проверить» на вкладке «Новые отклики»',
  'health.subscriptionMissing': 'подписки нет — нажмите «Проверить» на вкладке «Новые отклики»',
  'health.lastDelivery': 'Последнее уведомление от hh.ru',
  'health.reconciliation': 'Последняя сверка с hh.ru',
  'health.reconcileFound':
    'найдено откликов, о которых hh.ru не сообщил: {n} (вакансий проверено: {vacancies})',
  'health.reconcileNothing': 'расхождений нет (вакансий проверено: {vacancies})',
  'health.none': 'ещё не было',
  'health.goLogin': 'Войти снова',
  'health.portalTitle': 'Портал Битрикс24',
  'health.portalTokens': 'Доступ приложения к порталу',
  'health.portalReinstall': 'портал отозвал доступ — переустановите приложение',
  'health.appVersion': 'Версия приложения на портале',
  'health.appVersionCurrent': '{installed} — актуальная',
  'health.appVersionBehind': '{installed}, актуальная {current} — недостающее добавляется',
  'health.appVersionUnknown': 'не установлена полностью, актуальная {current} — недостающее добавляется',
  'health.lastWrite': 'Последняя успешная запись',
  'health.waits': 'Ожиданий из-за лимита запросов за час',
  'health.countsTitle': 'Отклики',
  'health.received': 'Получено',
  'health.imported': 'Добавлено',
  'health.updated': 'Обновлено',
  'health.failed': 'Ошибок',
  'health.today': 'Сегодня',
  'health.total': 'Всего',
  'health.failuresTitle': 'Ошибки: {n}',
  'health.failuresIntro':
    'Эти отклики не удалось загрузить с hh.ru или добавить на портал. Исправьте причину и нажмите «Повторить».',
  'health.incidentSince': 'Ошибки начались {since}; администратор и ответственный получили уведомление.',
  'health.noFailures': 'Ошибок нет.',
  'health.negotiation': 'Отклик {id}',
  'health.onHh': 'Открыть на hh.ru',
  'health.logTitle': 'Журнал событий',
  'health.logIntro': 'Уведомления hh.ru и то, что нашла сверка через API. Хранится {days} дн.',
  'health.logTime': 'Время',
  'health.logSource': 'Источник',
  'health.logType': 'Событие',
  'health.logNegotiation': 'Отклик',
  'health.logOutcome': 'Результат',
  'health.logEmpty': 'Событий пока нет.',
  'health.logMore': 'Показать ещё',
  'health.sourceWebhook': 'Уведомление hh.ru',
  'health.sourceReconcile': 'Сверка (API)',
  'health.sourceImport': 'Импорт (API)',
  'health.typeNew': 'Новый отклик или приглашение',
  'health.typeState': 'Смена статуса',
  'health.typeFound': 'Найден новый отклик',
  'health.typeChanged': 'Найдено изменение',
  'health.outcomeProcessed': 'Загружен с hh.ru',
  'health.outcomeIgnored': 'Пропущен: {why}',
  'health.outcomeNew': 'Загружен с hh.ru',
  'health.outcomeChanged': 'Обновлён',
  'health.loadFailed': 'Не удалось загрузить с hh.ru',
  'health.whyLogin': 'вход в hh.ru не действует',
  'health.whyNoImport': 'импорт ещё не запускали',
  'health.whyNotNegotiation': 'событие не об отклике',
  'health.whyNoTopic': 'hh.ru не указал отклик',
  'health.whyInvisible': 'отклик не виден этой учётной записи hh.ru',
  'health.whyNoVacancy': 'у отклика нет вакансии',
  'tabs.lockedHint': 'Станет доступно после входа в учётную запись работодателя',

  'auth.intro':
    'Войдите в учётную запись работодателя на hh.ru, чтобы отклики и приглашения попадали на портал.',
  'auth.login': 'Войти',
  'auth.signup': 'Зарегистрироваться',
  'auth.logout': 'Выйти',
  'auth.loginHint':
    'Откроется страница входа hh.ru в новом окне. Введите логин и пароль и подтвердите доступ.',
  'auth.waiting': 'Ждём подтверждения входа на hh.ru…',
  'auth.employer': 'Работодатель',
  'auth.manager': 'Менеджер',
  'auth.adminYes':
    'У учётной записи есть права администратора компании: на портал попадают отклики по всем вакансиям работодателя.',
  'auth.adminNo':
    'У учётной записи нет прав администратора компании: на портал попадут только вакансии, за которые отвечает этот менеджер. Чтобы получать отклики по всем вакансиям, войдите под администратором.',
  'auth.reloginText':
    'hh.ru отозвал доступ приложения (например, после смены пароля). Войдите снова: синхронизация продолжится с того места, где остановилась, ничего не потеряется.',
  'auth.loggedOut': 'Вы вышли из учётной записи hh.ru. Загруженные отклики остались на портале.',
  'auth.unavailable':
    'Не удалось узнать состояние подключения к hh.ru: сервис временно недоступен. Обновите страницу через минуту.',
  'auth.logoutFailed': 'Не удалось выйти из учётной записи hh.ru. Попробуйте ещё раз через минуту.',

  'settings.title': 'Настройки',
  'settings.intro':
    'Задайте, как отклики попадут в CRM. Эти настройки нужно выбрать до начала первичного импорта; после него изменения применяются к новым откликам.',
  'settings.responsible': 'Ответственный в карточке CRM',
  'settings.responsibleSearch': 'Найти сотрудника',
  'settings.responsibleHint':
    'Лиды или сделки будут назначены на этого сотрудника. Рекомендуем HR-менеджера, который ведёт подбор на hh.ru.',
  'settings.entityType': 'Тип сущности CRM',
  'settings.lead': 'Лид',
  'settings.deal': 'Сделка',
  'settings.pipeline': 'Воронка',
  'settings.source': 'Источник сущности',
  'settings.sourceNone': 'Не указывать',
  'settings.extended': 'Расширенная синхронизация',
  'settings.extendedHint':
    'Стадия воронки для каждого статуса резюме на hh.ru. Если выключено, отдельные стадии задаются только для откликов и приглашений.',
  'settings.twoWay': 'Менять статус на hh.ru при смене стадии',
  'settings.twoWayDiscard': 'В том числе отказ',
  'settings.twoWayHint':
    'Перенос лида или сделки на стадию, сопоставленную статусу hh.ru, переводит отклик в этот статус на hh.ru. Отказ отправляется, только если включён отдельно.',
  'settings.mappingState': 'Статус резюме',
  'settings.mappingStage': 'Стадия воронки',
  'settings.responses': 'Отклики',
  'settings.invitations': 'Приглашения',
  'settings.saveAndImport': 'Сохранить и начать импорт',
  'settings.managers': 'Кто может управлять приложением',
  'settings.managersHint':
    'Кроме администраторов портала, менять настройки, входить в hh.ru и выходить, запускать импорт и «Повторить» смогут выбранные сотрудники. Остальные видят вкладки только для чтения.',
  'settings.managersAdminOnly': 'Этот список меняют только администраторы портала.',
  'manage.readOnlyAdmins': 'Изменять настройки могут только администраторы портала.',
  'manage.readOnlyNamed': 'Изменять настройки могут администраторы портала и {names}.',
  'settings.save': 'Сохранить',
  'settings.saved': 'Настройки сохранены. Они применяются к новым откликам.',
  'settings.invalid': 'Проверьте настройки: некоторые поля заполнены неверно.',
  'settings.portalUnavailable':
    'Портал не ответил, списки сотрудников и стадий не загрузились. Обновите вкладку через минуту.',
  'settings.importUnavailable': 'Не удалось узнать состояние импорта: сервис hh.ru временно недоступен.',

  'import.starting': 'Импорт запускается…',
  'import.running': 'Идёт первичный импорт откликов. Настройки появятся снова, когда он закончится.',
  'import.paused': 'Импорт приостановлен. Он продолжится сам, как только станет возможно.',
  'import.pausedLogin':
    'Импорт приостановлен: hh.ru отозвал доступ. Войдите снова на вкладке «Авторизация» — импорт продолжится с того места, где остановился.',
  'import.pausedViews':
    'Импорт приостановлен: на сегодня исчерпан лимит просмотров резюме на hh.ru. Он продолжится сам, когда лимит обновится.',
  'import.pausedPayment':
    'Импорт приостановлен: hh.ru не отдаёт отклики и резюме без платного доступа к API. Как только работодатель подключит его на hh.ru, импорт продолжится сам (доступ проверяется каждые несколько минут).',
  'import.found': 'Найдено откликов: {n}',
  'import.loadedProgress': 'Загружено: {n}',
  'import.importedProgress': 'Импортировано на портал: {n}',
  'import.failed': 'Не удалось импортировать: {n}',
  'import.progressLabel': 'Ход импорта',
  'import.resultLoaded': 'Откликов загружено: {n}',
  'import.resultLeads': 'Лидов импортировано: {n}',
  'import.resultDeals': 'Сделок импортировано: {n}',
  'import.mismatch':
    'Если количество загруженных и импортированных откликов не сходится, напишите нам через «Обратную связь».',

  'failures.title': 'Не удалось добавить на портал: {n}',
  'failures.intro':
    'Портал отказал в записи этих откликов. Исправьте причину и нажмите «Повторить»; после изменения настроек они повторяются сами.',
  'failures.retry': 'Повторить',
  'failures.retryAll': 'Повторить все',
  'failures.retried': 'Отправлено повторно: {n}.',

  'new.found': 'Найдено новых откликов: {n}. Они появятся на портале в течение нескольких минут.',
  'new.none': 'Новых откликов нет: все отклики уже на портале.',
  'new.subscriptionCreated': 'Подписка на уведомления hh.ru была отключена — мы её восстановили.',
  'new.subscriptionRenewed': 'Подписка на уведомления hh.ru обновлена.',
  'new.subscriptionFailed':
    'Не удалось проверить подписку на уведомления hh.ru: новые отклики найдёт плановая проверка.',
  'new.unavailable':
    'Не удалось проверить новые отклики: сервис hh.ru временно недоступен. Попробуйте через минуту.',
  'new.subscriptionMissing':
    'Подписка на уведомления hh.ru отключена или устарела: новые отклики приходят только при проверке. Нажмите «Проверить ещё раз», чтобы восстановить её.',
  'new.subscriptionMissingReadOnly':
    'Подписка на уведомления hh.ru отключена или устарела: новые отклики приходят только при проверке. Восстановить её может тот, кто управляет приложением.',
  'new.check': 'Проверить ещё раз',
  'new.loginRequired':
    'hh.ru отозвал доступ приложения: войдите снова на вкладке «Авторизация». Отклики, пришедшие за это время, не потеряются.',

  'feedback.title': 'Обратная связь',
  'feedback.intro': 'Расскажите, что улучшить в приложении: мы читаем каждое сообщение.',
  'feedback.text': 'Ваше сообщение',
  'feedback.contact': 'Как с вами связаться (необязательно)',
  'feedback.send': 'Отправить',
  'feedback.sent': 'Сообщение отправлено',
  'feedback.notSent': 'Не удалось отправить сообщение. Оно сохранено, мы повторим попытку.',
  'feedback.waiting': 'Ожидают отправки: {n}',
  'feedback.waitingItem': 'Сообщение от {at} (Мск): попыток {attempts}, следующая в {next}',
  'feedback.textRequired': 'Напишите сообщение',
  'feedback.textTooLong': 'Сообщение длиннее {n} символов',
  'feedback.contactTooLong': 'Контакт длиннее {n} символов',

  'card.title': 'Соискатель с hh.ru',
  'card.none': 'Эта карточка создана не приложением hh.ru: данных с hh.ru для неё нет.',
  'card.unavailable': 'Данные с hh.ru сейчас недоступны. Обновите вкладку через минуту.',
  'card.name': 'ФИО',
  'card.hiddenName': 'Соискатель скрыл ФИО',
  'card.city': 'Город',
  'card.phone': 'Телефон',
  'card.hiddenPhone': 'Соискатель скрыл телефон',
  'card.email': 'E-mail',
  'card.hiddenEmail': 'Соискатель скрыл e-mail',
  'card.vacancy': 'Вакансия',
  'card.status': 'Статус',
  'card.created': 'Дата отклика',
  'card.kindResponse': 'Отклик',
  'card.kindInvitation': 'Приглашение',
  'card.resume': 'Резюме на hh.ru',
  'card.pdf': 'Скачать резюме (PDF)',
  'card.history': 'История статусов',
  'card.others': 'Другие отклики этого соискателя',
  'card.noOthers': 'Других откликов на портале нет.',
  'card.openEntity': 'Открыть',
  'card.notImported': 'ещё не на портале',
  'card.deletedResume': 'Резюме удалено соискателем.',

  'install.title': 'Установка приложения HH.ru',
  'install.intro': 'Нажмите «Готово», чтобы завершить установку. Приложение добавит на портал:',
  'install.fields': 'Поля в лидах и сделках',
  'install.tabs': 'Вкладка HH.ru в карточках лидов и сделок',
  'install.robot': 'Робот «Обновить статус HH» для лидов и сделок',
  'install.robotChange': 'Робот «Сменить статус на HH» для лидов и сделок',
  'install.robots': 'Роботы «Обновить статус HH» и «Сменить статус на HH» для лидов и сделок',
  'install.event': 'Обработчик удаления приложения',
  'install.eventTimeline': 'Обработчик кнопки «Другие отклики» в делах',
  'install.eventStageLead': 'Обработчик смены стадии лидов (двусторонняя синхронизация статуса)',
  'install.eventStageDeal': 'Обработчик смены стадии сделок (двусторонняя синхронизация статуса)',
  'install.eventUpdate': 'Обработчик обновления приложения (новая версия добавит недостающее)',
  'install.done': 'Готово',
  'install.retry': 'Повторить',
  'install.complete': 'Всё готово. Завершаем установку…',
  'install.someFailed':
    'Часть шагов не выполнилась. Исправьте причину и нажмите «Повторить»: выполненные шаги не повторятся.',
  'install.stepDone': 'готово',
  'install.stepFailed': 'ошибка',
  'install.stepPending': 'ожидает',
  'install.fieldOn': 'Поле «{label}» в {entity}',
  'install.inLeads': 'лидах',
  'install.inDeals': 'сделках',
  'install.tabOn': 'Вкладка в карточке {entity}',
  'install.tabLead': 'лида',
  'install.tabDeal': 'сделки',
  'install.fixAccess': 'Недостаточно прав: «Готово» должен нажать администратор портала.',
  'install.fixBusy': 'Портал временно не ответил. Нажмите «Повторить» через минуту.',
  'install.fixReinstall': 'Портал отозвал доступ приложения. Удалите приложение и установите его снова.',
  'install.fixOther': 'Портал отказал: {error}. Нажмите «Повторить»; если ошибка повторится, напишите нам.',

  'login.connected':
    'Учётная запись hh.ru подключена: {employer}, {manager}. Вернитесь в приложение — это окно закроется само.',
  'login.denied':
    'Вход отменён: доступ на hh.ru не подтверждён. Чтобы подключить учётную запись, нажмите «Войти» в приложении ещё раз.',
  'login.invalid': 'Ссылка для входа устарела или уже использована. Нажмите «Войти» в приложении ещё раз.',
  'login.failed':
    'Не удалось подключить учётную запись hh.ru ({code}). Нажмите «Войти» в приложении ещё раз.',
  'login.expired': 'Страница приложения открыта слишком давно. Обновите её и нажмите «Войти» снова.',
  'login.forbidden':
    'Подключать hh.ru могут администраторы портала и сотрудники, которых они назначили в настройках («Кто может управлять приложением»).',
  'login.unconfirmed':
    'Не удалось подтвердить в Битрикс24 ваши права: обновите страницу приложения и нажмите «Войти» снова.',
  'login.close': 'Закрыть окно',

  'access.title': 'Нет доступа к приложению',
  'access.text':
    'Для работы с приложением нужны права администратора портала или доступ к CRM. Обратитесь к администратору портала.',
  'access.admin': 'Права администратора портала',
  'access.crm': 'Доступ к CRM',
  'access.yes': 'есть',
  'access.no': 'нет',
  'access.entity':
    'У вас нет доступа к этому лиду или сделке в CRM, поэтому отклик не показан. Обратитесь к администратору портала.',

  'common.error': 'Что-то пошло не так. Обновите страницу.',
  'common.sessionExpired': 'Страница открыта слишком давно. Обновите её.',
  'common.reload': 'Обновить',
};

type Key = keyof typeof ru;

const en: Record<Key, string> = {
  'app.title': 'HH.ru',
  'app.syncActive': 'Sync is active',
  'app.loginRequired': 'Sign in again',
  'app.notConnected': 'hh.ru is not connected',
  'tabs.label': 'App sections',
  'tabs.auth': 'Sign in',
  'tabs.settings': 'Settings',
  'tabs.newResponses': 'New responses',
  'tabs.feedback': 'Feedback',

  'tabs.health': 'Status',
  'health.ok': 'All is well: responses arrive and reach the portal',
  'health.warning': 'Working, with something to look at',
  'health.error': 'There are problems: some responses do not reach the portal',
  'health.errorLogin': 'hh.ru revoked the access: no responses arrive until you sign in again',
  'health.needsLogin': 'known after you sign in',
  'health.hhTitle': 'hh.ru connection',
  'health.hhUnavailable': 'The hh.ru connection state is not available. Refresh the page in a minute.',
  'health.crmUnavailable': 'The portal write state is not available. Refresh the page in a minute.',
  'health.token': 'hh.ru access',
  'health.tokenValid': 'valid',
  'health.tokenRelogin': 'sign in again',
  'health.adminRights': 'Company admin rights',
  'health.paidAccess': 'Paid API access',
  'health.paidYes': 'yes',
  'health.paidNo': 'no — hh.ru gives no responses or resumes without it',
  'health.unknown': 'hh.ru did not answer',
  'health.views': 'Resume views today',
  'health.viewsLeft': '{left} of {limit} left',
  'health.viewsParked': 'used up, resumes load again {until}',
  'health.subscription': 'New response notifications',
  'health.subscriptionOk': 'subscribed',
  'health.subscriptionWrong': 'the subscription points elsewhere — press Check on the New responses tab',
  'health.subscriptionMissing': 'no subscription — press Check on the New responses tab',
  'health.lastDelivery': 'Last notification from hh.ru',
  'health.reconciliation': 'Last reconciliation with hh.ru',
  'health.reconcileFound': 'found responses hh.ru did not notify about: {n} (vacancies checked: {vacancies})',
  'health.reconcileNothing': 'no differences (vacancies checked: {vacancies})',
  'health.none': 'not yet',
  'health.goLogin': 'Sign in again',
  'health.portalTitle': 'Bitrix24 portal',
  'health.portalTokens': 'The app’s access to the portal',
  'health.portalReinstall': 'the portal revoked it — reinstall the app',
  'health.appVersion': 'App version on the portal',
  'health.appVersionCurrent': '{installed} — up to date',
  'health.appVersionBehind': '{installed}, current {current} — what is missing is being added',
  'health.appVersionUnknown': 'not fully installed, current {current} — what is missing is being added',
  'health.lastWrite': 'Last successful write',
  'health.waits': 'Waits for the request limit in the last hour',
  'health.countsTitle': 'Responses',
  'health.received': 'Received',
  'health.imported': 'Added',
  'health.updated': 'Updated',
  'health.failed': 'Failed',
  'health.today': 'Today',
  'health.total': 'All time',
  'health.failuresTitle': 'Failures: {n}',
  'health.failuresIntro':
    'These responses could not be loaded from hh.ru or added to the portal. Fix the cause and press Retry.',
  'health.incidentSince': 'Failures began {since}; the admin and the responsible user were notified.',
  'health.noFailures': 'No failures.',
  'health.negotiation': 'Response {id}',
  'health.onHh': 'Open on hh.ru',
  'health.logTitle': 'Event log',
  'health.logIntro': 'hh.ru notifications and what reconciliation found through the API. Kept {days} days.',
  'health.logTime': 'Time',
  'health.logSource': 'Source',
  'health.logType': 'Event',
  'health.logNegotiation': 'Response',
  'health.logOutcome': 'Outcome',
  'health.logEmpty': 'No events yet.',
  'health.logMore': 'Show more',
  'health.sourceWebhook': 'hh.ru notification',
  'health.sourceReconcile': 'Reconciliation (API)',
  'health.sourceImport': 'Import (API)',
  'health.typeNew': 'New response or invitation',
  'health.typeState': 'Status change',
  'health.typeFound': 'New response found',
  'health.typeChanged': 'Change found',
  'health.outcomeProcessed': 'Loaded from hh.ru',
  'health.outcomeIgnored': 'Skipped: {why}',
  'health.outcomeNew': 'Loaded from hh.ru',
  'health.outcomeChanged': 'Updated',
  'health.loadFailed': 'Could not be loaded from hh.ru',
  'health.whyLogin': 'the hh.ru login is not valid',
  'health.whyNoImport': 'the import has not been started',
  'health.whyNotNegotiation': 'not about a response',
  'health.whyNoTopic': 'hh.ru named no response',
  'health.whyInvisible': 'the response is not visible to this hh.ru account',
  'health.whyNoVacancy': 'the response names no vacancy',
  'tabs.lockedHint': 'Available once you sign in to the employer account',

  'auth.intro': 'Sign in to your hh.ru employer account so that responses and invitations reach the portal.',
  'auth.login': 'Sign in',
  'auth.signup': 'Sign up',
  'auth.logout': 'Sign out',
  'auth.loginHint':
    'The hh.ru sign-in page opens in a new window. Enter your login and password and confirm the access.',
  'auth.waiting': 'Waiting for the hh.ru sign-in…',
  'auth.employer': 'Employer',
  'auth.manager': 'Manager',
  'auth.adminYes':
    'The account has company admin rights: responses to every vacancy of the employer reach the portal.',
  'auth.adminNo':
    'The account has no company admin rights: only the vacancies this manager is responsible for reach the portal. Sign in as an admin to get responses to every vacancy.',
  'auth.reloginText':
    'hh.ru revoked the app’s access (for example after a password change). Sign in again: the sync continues where it stopped and nothing is lost.',
  'auth.loggedOut': 'You signed out of the hh.ru account. The responses already imported stay on the portal.',
  'auth.unavailable':
    'Could not read the hh.ru connection: the service is temporarily unavailable. Reload the page in a minute.',
  'auth.logoutFailed': 'Could not sign out of the hh.ru account. Try again in a minute.',

  'settings.title': 'Settings',
  'settings.intro':
    'Choose how responses reach the CRM. Set this up before the initial import; after it, changes apply to new responses.',
  'settings.responsible': 'Responsible person in the CRM card',
  'settings.responsibleSearch': 'Find an employee',
  'settings.responsibleHint':
    'Leads or deals are assigned to this employee. We suggest the HR manager who recruits on hh.ru.',
  'settings.entityType': 'CRM entity type',
  'settings.lead': 'Lead',
  'settings.deal': 'Deal',
  'settings.pipeline': 'Pipeline',
  'settings.source': 'Source',
  'settings.sourceNone': 'Not set',
  'settings.extended': 'Extended sync',
  'settings.extendedHint':
    'A pipeline stage for each resume status on hh.ru. When off, only responses and invitations get stages of their own.',
  'settings.twoWay': 'Change the status on hh.ru when the stage changes',
  'settings.twoWayDiscard': 'Discards too',
  'settings.twoWayHint':
    'Moving a lead or deal to a stage mapped to an hh.ru status moves the response to that status on hh.ru. A discard is sent only when allowed separately.',
  'settings.mappingState': 'Resume status',
  'settings.mappingStage': 'Pipeline stage',
  'settings.responses': 'Responses',
  'settings.invitations': 'Invitations',
  'settings.saveAndImport': 'Save and start the import',
  'settings.managers': 'Who can manage the app',
  'settings.managersHint':
    'Besides portal administrators, the chosen employees can change the settings, sign in to hh.ru and out, start the import and retry. Everyone else sees the tabs read-only.',
  'settings.managersAdminOnly': 'Only portal administrators change this list.',
  'manage.readOnlyAdmins': 'Only portal administrators can change the settings.',
  'manage.readOnlyNamed': 'Portal administrators and {names} can change the settings.',
  'settings.save': 'Save',
  'settings.saved': 'Settings saved. They apply to new responses.',
  'settings.invalid': 'Check the settings: some fields are not right.',
  'settings.portalUnavailable':
    'The portal did not answer, so the lists of employees and stages did not load. Reload the tab in a minute.',
  'settings.importUnavailable':
    'Could not read the import state: the hh.ru service is temporarily unavailable.',

  'import.starting': 'The import is starting…',
  'import.running': 'The initial import of responses is running. The settings come back when it ends.',
  'import.paused': 'The import is paused. It continues by itself as soon as it can.',
  'import.pausedLogin':
    'The import is paused: hh.ru revoked the access. Sign in again on the Sign in tab and the import continues where it stopped.',
  'import.pausedViews':
    'The import is paused: today’s resume views on hh.ru are used up. It continues by itself when the limit resets.',
  'import.pausedPayment':
    'The import is paused: hh.ru gives no responses or resumes without paid API access. Once the employer has it on hh.ru, the import continues by itself (access is checked every few minutes).',
  'import.found': 'Responses found: {n}',
  'import.loadedProgress': 'Loaded: {n}',
  'import.importedProgress': 'Imported to the portal: {n}',
  'import.failed': 'Could not import: {n}',
  'import.progressLabel': 'Import progress',
  'import.resultLoaded': 'Responses loaded: {n}',
  'import.resultLeads': 'Leads imported: {n}',
  'import.resultDeals': 'Deals imported: {n}',
  'import.mismatch': 'If the numbers of loaded and imported responses differ, write to us through Feedback.',

  'failures.title': 'Could not add to the portal: {n}',
  'failures.intro':
    'The portal refused to write these responses. Fix the cause and press Retry; after the settings change they are retried by themselves.',
  'failures.retry': 'Retry',
  'failures.retryAll': 'Retry all',
  'failures.retried': 'Sent again: {n}.',

  'new.found': 'New responses found: {n}. They will appear on the portal within a few minutes.',
  'new.none': 'No new responses: every response is on the portal already.',
  'new.subscriptionCreated': 'The hh.ru notification subscription was off; we restored it.',
  'new.subscriptionRenewed': 'The hh.ru notification subscription was renewed.',
  'new.subscriptionFailed':
    'Could not check the hh.ru notification subscription: the scheduled check will find new responses.',
  'new.unavailable':
    'Could not check for new responses: the hh.ru service is temporarily unavailable. Try again in a minute.',
  'new.subscriptionMissing':
    'The hh.ru notification subscription is off or out of date: new responses arrive only when checked. Press Check again to restore it.',
  'new.subscriptionMissingReadOnly':
    'The hh.ru notification subscription is off or out of date: new responses arrive only when checked. Whoever manages the app can restore it.',
  'new.check': 'Check again',
  'new.loginRequired':
    'hh.ru revoked the app’s access: sign in again on the Sign in tab. Responses that arrive meanwhile are not lost.',

  'feedback.title': 'Feedback',
  'feedback.intro': 'Tell us what to improve in the app: we read every message.',
  'feedback.text': 'Your message',
  'feedback.contact': 'How to reach you (optional)',
  'feedback.send': 'Send',
  'feedback.sent': 'Message sent',
  'feedback.notSent': 'The message could not be sent. It is kept, and we will try again.',
  'feedback.waiting': 'Waiting to be sent: {n}',
  'feedback.waitingItem': 'Message of {at} (Moscow time): {attempts} attempts, the next at {next}',
  'feedback.textRequired': 'Write a message',
  'feedback.textTooLong': 'The message is longer than {n} characters',
  'feedback.contactTooLong': 'The contact is longer than {n} characters',

  'card.title': 'Applicant from hh.ru',
  'card.none': 'This card was not created by the hh.ru app: there is no hh.ru data for it.',
  'card.unavailable': 'The hh.ru data is not available right now. Reload the tab in a minute.',
  'card.name': 'Full name',
  'card.hiddenName': 'The applicant hid their name',
  'card.city': 'City',
  'card.phone': 'Phone',
  'card.hiddenPhone': 'The applicant hid their phone',
  'card.email': 'E-mail',
  'card.hiddenEmail': 'The applicant hid their e-mail',
  'card.vacancy': 'Vacancy',
  'card.status': 'Status',
  'card.created': 'Response date',
  'card.kindResponse': 'Response',
  'card.kindInvitation': 'Invitation',
  'card.resume': 'Resume on hh.ru',
  'card.pdf': 'Download the resume (PDF)',
  'card.history': 'Status history',
  'card.others': 'Other responses of this applicant',
  'card.noOthers': 'No other responses on the portal.',
  'card.openEntity': 'Open',
  'card.notImported': 'not on the portal yet',
  'card.deletedResume': 'The applicant deleted the resume.',

  'install.title': 'Installing the HH.ru app',
  'install.intro': 'Press Done to finish the installation. The app adds to the portal:',
  'install.fields': 'Fields on leads and deals',
  'install.tabs': 'An HH.ru tab on lead and deal cards',
  'install.robot': 'The “Refresh HH status” automation rule for leads and deals',
  'install.robotChange': 'The “Change HH status” automation rule for leads and deals',
  'install.robots': 'The “Refresh HH status” and “Change HH status” automation rules for leads and deals',
  'install.event': 'A handler for the app’s removal',
  'install.eventTimeline': 'A handler for the “Other responses” button of activities',
  'install.eventStageLead': 'A handler for lead stage moves (two-way status)',
  'install.eventStageDeal': 'A handler for deal stage moves (two-way status)',
  'install.eventUpdate': 'A handler for app updates (a new version adds what is missing)',
  'install.done': 'Done',
  'install.retry': 'Retry',
  'install.complete': 'All set. Finishing the installation…',
  'install.someFailed':
    'Some steps failed. Fix the cause and press Retry: the steps already done are not repeated.',
  'install.stepDone': 'done',
  'install.stepFailed': 'failed',
  'install.stepPending': 'waiting',
  'install.fieldOn': 'Field “{label}” on {entity}',
  'install.inLeads': 'leads',
  'install.inDeals': 'deals',
  'install.tabOn': 'Tab on the {entity} card',
  'install.tabLead': 'lead',
  'install.tabDeal': 'deal',
  'install.fixAccess': 'Not enough rights: a portal administrator must press Done.',
  'install.fixBusy': 'The portal did not answer for now. Press Retry in a minute.',
  'install.fixReinstall': 'The portal revoked the app’s access. Remove the app and install it again.',
  'install.fixOther': 'The portal refused: {error}. Press Retry; if it happens again, write to us.',

  'login.connected':
    'The hh.ru account is connected: {employer}, {manager}. Go back to the app — this window closes by itself.',
  'login.denied':
    'Sign-in cancelled: the access was not confirmed on hh.ru. To connect the account, press Sign in in the app again.',
  'login.invalid': 'The sign-in link has expired or was used already. Press Sign in in the app again.',
  'login.failed': 'Could not connect the hh.ru account ({code}). Press Sign in in the app again.',
  'login.expired': 'The app page has been open too long. Reload it and press Sign in again.',
  'login.forbidden':
    'Portal administrators and the employees they named in the settings (Who can manage the app) can connect hh.ru.',
  'login.unconfirmed':
    'Your rights could not be confirmed with Bitrix24: reload the app page and press Sign in again.',
  'login.close': 'Close the window',

  'access.title': 'No access to the app',
  'access.text': 'The app needs portal administrator rights or CRM access. Ask your portal administrator.',
  'access.admin': 'Portal administrator rights',
  'access.crm': 'CRM access',
  'access.entity':
    'You have no access to this lead or deal in the CRM, so the response is not shown. Ask your portal administrator.',
  'access.yes': 'yes',
  'access.no': 'no',

  'common.error': 'Something went wrong. Reload the page.',
  'common.sessionExpired': 'The page has been open too long. Reload it.',
  'common.reload': 'Reload',
};

/** The error catalogue's texts (services/common) are the pages' texts too: `{{t "error.adminOnly"}}`. */
const errorTexts = (lang: Lang) =>
  Object.fromEntries(Object.entries(ERROR_TEXTS).map(([k, v]) => [k, v[lang]])) as Record<
    ErrorTextKey,
    string
  >;

const dictionaries: Record<Lang, Record<Key | ErrorTextKey, string>> = {
  ru: { ...ru, ...errorTexts('ru') },
  en: { ...en, ...errorTexts('en') },
};

export function text(lang: Lang, key: string, values: Record<string, unknown> = {}): string {
  const template = dictionaries[lang][key as Key] ?? dictionaries.ru[key as Key];
  if (template === undefined) throw new Error(`no text for ${key}`);
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => textOf(values[name]));
}

/**
 * hh states by their names in the app (the Russian ones are the reference app's,
 * docs/reference/reference-app.md#settings).
 */
export const STATE_NAMES_EN: Record<string, string> = {
  response: 'Responses',
  consider: 'Think it over',
  phone_interview: 'Phone interview',
  assessment: 'Assessment',
  interview: 'Interview',
  offer: 'Job offer',
  hired: 'Starting work',
  discard: 'Rejection',
};

/** parseSettings speaks Russian (the reference app's pages); an English page shows these instead. */
export const VALIDATION_EN: Record<string, string> = {
  'Выберите ответственного': 'Choose the responsible person',
  'Выберите тип сущности: Лид или Сделка': 'Choose the entity type: Lead or Deal',
  'Выберите воронку': 'Choose a pipeline',
  'Выберите источник из списка': 'Choose a source from the list',
  'Выберите стадию': 'Choose a stage',
  'Выберите сотрудников из списка': 'Choose employees from the list',
  'Можно назначить не больше 20 сотрудников': 'At most 20 employees can be named',
};
