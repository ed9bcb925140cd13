import { createTransport } from 'nodemailer';
import type { Config } from './config.js';
import type { FeedbackLetter } from './feedback-store.js';

/** One way a message reaches a person; `send` resolves only once the other side took it. */
export interface FeedbackChannel {
  readonly name: 'email' | 'webhook';
  send(letter: FeedbackLetter): Promise<void>;
}

/**
 * Why a channel failed, in words safe to log and store: the SMTP server's or the webhook's answer
 * code and the error's kind, never an address with its token or a password.
 */
export class ChannelError extends Error {
  constructor(
    readonly channel: string,
    message: string,
  ) {
    super(`${channel}: ${message}`);
    this.name = 'ChannelError';
  }
}

/** The message as plain text: the same for the e-mail and the webhook. */
export function letterText(letter: FeedbackLetter): string {
  const c = letter.context;
  const unknown = '—';
  const lines = [
    `Обратная связь #${letter.id} (${letter.createdAt.toISOString()})`,
    `Портал: ${c.domain ?? unknown} (member_id ${letter.memberId})`,
    `Пользователь: ${letter.userName ?? unknown} (id ${letter.userId})`,
    `Контакт: ${letter.contact ?? unknown}`,
    `Версия приложения: ${c.app.release}, регистрации на портале ${c.app.registrations === null ? unknown : `v${c.app.registrations}`}`,
    `hh.ru: ${c.hh?.status ?? unknown}`,
    `Импорт: ${
      c.import
        ? `${c.import.state}, найдено ${c.import.found}, загружено ${c.import.loaded}, импортировано ${c.import.imported}, ошибок загрузки ${c.import.failed}`
        : unknown
    }`,
    `Отклонённых порталом записей: ${c.refusedWrites ?? unknown}`,
    '',
    letter.message,
  ];
  return lines.join('\n');
}

/** The structured part a webhook's receiver may read instead of the text. */
function letterJson(letter: FeedbackLetter) {
  return {
    id: letter.id,
    createdAt: letter.createdAt.toISOString(),
    portal: { memberId: letter.memberId, domain: letter.context.domain },
    user: { id: letter.userId, name: letter.userName },
    contact: letter.contact,
    message: letter.message,
    app: letter.context.app,
    state: {
      hh: letter.context.hh,
      import: letter.context.import,
      refusedWrites: letter.context.refusedWrites,
    },
  };
}

function mailChannel(config: Config): FeedbackChannel {
  const transport = createTransport({
    host: config.FEEDBACK_SMTP_HOST,
    port: config.FEEDBACK_SMTP_PORT,
    secure: config.FEEDBACK_SMTP_SECURE,
    auth: config.FEEDBACK_SMTP_USER
      ? { user: config.FEEDBACK_SMTP_USER, pass: config.FEEDBACK_SMTP_PASSWORD }
      : undefined,
    connectionTimeout: config.FEEDBACK_SEND_TIMEOUT_MS,
    greetingTimeout: config.FEEDBACK_SEND_TIMEOUT_MS,
    socketTimeout: config.FEEDBACK_SEND_TIMEOUT_MS,
    // Never nodemailer's own logger: it would print the conversation, the login included.
    logger: false,
  });
  return {
    name: 'email',
    async send(letter) {
      try {
        await transport.sendMail({
          from: config.FEEDBACK_MAIL_FROM,
          to: config.FEEDBACK_MAIL_TO,
          subject: `Обратная связь: ${letter.context.domain ?? letter.memberId}`,
          text: letterText(letter),
          // The reader's «Reply» goes to the sender when they left an address.
          replyTo:
            letter.contact && /^[^\s@<>]+@[^\s@<>]+$/.test(letter.contact) ? letter.contact : undefined,
        });
      } catch (err) {
        const e = err as { code?: string; responseCode?: number };
        throw new ChannelError('email', `${e.code ?? 'error'}${e.responseCode ? ` ${e.responseCode}` : ''}`);
      }
    },
  };
}

function webhookChannel(config: Config): FeedbackChannel {
  const url = config.FEEDBACK_WEBHOOK_URL;
  return {
    name: 'webhook',
    async send(letter) {
      const body =
        config.FEEDBACK_WEBHOOK_FORMAT === 'bitrix24'
          ? { USER_ID: config.FEEDBACK_WEBHOOK_USER_ID, MESSAGE: letterText(letter) }
          : { text: letterText(letter), feedback: letterJson(letter) };
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          redirect: 'error',
          signal: AbortSignal.timeout(config.FEEDBACK_SEND_TIMEOUT_MS),
        });
      } catch (err) {
        // fetch's own message never carries the URL; its cause's code says what went wrong.
        const cause = (err as { cause?: { code?: string } }).cause;
        throw new ChannelError(
          'webhook',
          (err as Error).name === 'TimeoutError' ? 'timeout' : (cause?.code ?? 'unreachable'),
        );
      }
      const answer = await res.text().catch(() => '');
      if (!res.ok) throw new ChannelError('webhook', `HTTP ${res.status}`);
      // Bitrix24 answers some refusals with 200 and an error in the body.
      if (config.FEEDBACK_WEBHOOK_FORMAT === 'bitrix24' && /"error"\s*:/.test(answer))
        throw new ChannelError('webhook', 'Bitrix24 refused the notification');
    },
  };
}

/** The channels the operator configured (none: messages are kept until one is). */
export function feedbackChannels(config: Config): FeedbackChannel[] {
  return [
    ...(config.FEEDBACK_SMTP_HOST ? [mailChannel(config)] : []),
    ...(config.FEEDBACK_WEBHOOK_URL ? [webhookChannel(config)] : []),
  ];
}
