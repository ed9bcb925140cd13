import {
  Bitrix24Client,
  ConfigError,
  type Launchable,
  type Logger,
  createService,
  rpc,
  subjects,
} from '@hhb24/common';
import { type Config, configProblems } from './config.js';
import { feedbackChannels } from './feedback-channels.js';
import { FeedbackDelivery } from './feedback-delivery.js';
import { migrations } from './migrations.js';
import { PortalData } from './portal-data.js';
import { getSettings } from './settings-store.js';
import { PageRoutes } from './ui/routes.js';
import { Renderer } from './ui/render.js';

export { schema, type Config } from './config.js';
export { getSettings, parseSettings, saveSettings } from './settings-store.js';
/** The app pages' route table (tests walk it: every route gets the bad-input set). */
export { PageRoutes } from './ui/routes.js';

/** Builds settings: owns portal settings and renders the app pages (Handlebars + htmx). */
export function buildSettings(config: Config, options: { log?: Logger } = {}): Launchable {
  const problems = configProblems(config);
  if (problems.length > 0) throw new ConfigError('settings', problems);
  const { app, runtime } = createService({
    name: 'settings',
    config,
    migrations,
    log: options.log,
    publishes: [subjects.portalSettingsSaved, subjects.hhImportRequested],
    calls: [
      rpc.hhAccount,
      rpc.hhDisconnect,
      rpc.hhImportProgress,
      rpc.hhVacancies,
      rpc.hhManagers,
      rpc.hhVacancyOverview,
      rpc.hhNewResponses,
      rpc.hhCard,
      rpc.hhAnalytics,
      rpc.hhHealth,
      rpc.hhSyncEvents,
      rpc.hhRetry,
      rpc.crmFailures,
      rpc.crmHealth,
      rpc.crmRetry,
    ],
  });
  runtime.useOutboxRelay();
  let b24: Bitrix24Client | undefined;
  const client = () => (b24 ??= Bitrix24Client.fromRuntime(runtime, config));
  const delivery = new FeedbackDelivery(runtime, config, feedbackChannels(config));
  const pages = PageRoutes.create(
    runtime,
    new PortalData(client, () => runtime.redis, config.REDIS_PREFIX),
    new Renderer(),
    delivery,
  );
  if (!delivery.configured)
    runtime.log.warn(
      'no channel for «Обратная связь» (FEEDBACK_SMTP_HOST, FEEDBACK_WEBHOOK_URL): messages are kept until one is set',
    );
  // Undelivered feedback is sent again once its wait is over (a pass at most every 5 s, sooner
  // when the first wait is shorter).
  runtime.every(
    'feedback-retry',
    Math.max(100, Math.min(5000, (config.FEEDBACK_RETRY_MIN_SEC * 1000) / 2)),
    () => delivery.retryDue(),
  );

  runtime.serve(rpc.settingsGet, (req) => getSettings(runtime.db, req.memberId));
  runtime.serve(rpc.settingsUi, (req) => pages.handle(req));

  // The portal's settings and what its users wrote in «Обратная связь»: erased at a clean
  // uninstall, or once HH_DATA_RETENTION_DAYS passed after one without CLEAN.
  runtime.erasesPortalData({
    durable: 'settings-uninstalled',
    tables: ['feedback', 'portal_settings', 'portal_manager_users', 'portal_vacancy_rules'],
  });
  return { app, runtime, port: config.SETTINGS_PORT };
}
