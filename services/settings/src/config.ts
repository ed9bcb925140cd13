import {
  type ConfigOf,
  baseSchema,
  bitrix24Schema,
  boolean,
  decimal,
  integer,
  oneOf,
  port,
  string,
  url,
} from '@hhb24/common';

/**
 * Where «Обратная связь» goes: an e-mail through an SMTP server and/or a POST to a webhook (a
 * Bitrix24 incoming webhook, a chat). Unset host and URL: messages are kept until one is set.
 */
export const feedbackSchema = {
  FEEDBACK_SMTP_HOST: string({
    default: '',
    description: 'settings: SMTP server «Обратная связь» is mailed through (empty: no e-mail).',
  }),
  FEEDBACK_SMTP_PORT: port({ default: 587, description: 'settings: port of FEEDBACK_SMTP_HOST.' }),
  FEEDBACK_SMTP_SECURE: boolean({
    default: false,
    description:
      'settings: TLS from the first byte (true, usually port 465); false upgrades with STARTTLS when the server offers it.',
  }),
  FEEDBACK_SMTP_USER: string({
    default: '',
    description: 'settings: SMTP login (empty: the server takes mail without one).',
  }),
  FEEDBACK_SMTP_PASSWORD: string({
    default: '',
    secret: true,
    description: 'settings: password of FEEDBACK_SMTP_USER.',
  }),
  FEEDBACK_MAIL_FROM: string({
    default: '',
    description: 'settings: the sender address of feedback mail (required with FEEDBACK_SMTP_HOST).',
  }),
  FEEDBACK_MAIL_TO: string({
    default: '',
    description:
      'settings: who reads feedback mail, comma-separated addresses (required with FEEDBACK_SMTP_HOST).',
  }),
  FEEDBACK_WEBHOOK_URL: url({
    protocols: ['http', 'https'],
    default: '',
    secret: true,
    description:
      'settings: «Обратная связь» is POSTed as JSON here (empty: no webhook); it usually carries a token, so it is treated as a secret.',
  }),
  FEEDBACK_WEBHOOK_FORMAT: oneOf(['json', 'bitrix24'] as const, {
    default: 'json',
    description:
      'settings: json posts {text, feedback}; bitrix24 posts {USER_ID, MESSAGE}, for an incoming webhook of im.notify.system.add.',
  }),
  FEEDBACK_WEBHOOK_USER_ID: integer({
    default: 1,
    min: 1,
    description: 'settings: with FEEDBACK_WEBHOOK_FORMAT=bitrix24, the portal user who is notified.',
  }),
  FEEDBACK_SEND_TIMEOUT_MS: integer({
    default: 10_000,
    min: 100,
    max: 120_000,
    description: 'settings: longest wait for one channel to take a message.',
  }),
  FEEDBACK_RETRY_MIN_SEC: decimal({
    default: 30,
    min: 0.1,
    max: 86_400,
    description: 'settings: first wait before an undelivered message is sent again; it doubles each time.',
  }),
  FEEDBACK_RETRY_MAX_SEC: decimal({
    default: 3600,
    min: 0.1,
    max: 86_400,
    description: 'settings: longest wait between two attempts to deliver a message.',
  }),
};

export const schema = {
  ...baseSchema,
  SETTINGS_PORT: port({
    default: 3040,
    description: 'settings: port of its HTTP server (health and metrics only).',
  }),
  ...bitrix24Schema,
  ...feedbackSchema,
};

export type Config = ConfigOf<typeof schema>;

/** What the variables cannot say one by one: an SMTP server needs a sender and readers. */
export function configProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.FEEDBACK_SMTP_HOST && (!config.FEEDBACK_MAIL_FROM || !config.FEEDBACK_MAIL_TO))
    problems.push('FEEDBACK_SMTP_HOST needs FEEDBACK_MAIL_FROM and FEEDBACK_MAIL_TO');
  if (config.FEEDBACK_RETRY_MAX_SEC < config.FEEDBACK_RETRY_MIN_SEC)
    problems.push('FEEDBACK_RETRY_MAX_SEC must not be below FEEDBACK_RETRY_MIN_SEC');
  return problems;
}
