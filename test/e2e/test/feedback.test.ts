/**
 * «Обратная связь» reaches a person: on a portal that has not connected hh.ru, a user writes from
 * the first screen; the message goes to a local SMTP server (smtp-server) and to a local webhook,
 * with the portal, the user, the version and the state; when neither answers the user is told it
 * was not sent, the message is kept, and the worker delivers it once they answer again.
 */
import { existsSync } from 'node:fs';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import t from 'tap';
import { SMTPServer } from 'smtp-server';
import { eventually } from '@hhb24/common/testing';
import { browser, freePort, startStack } from './stack.js';

const SMTP_USER = 'feedback-bot';
const SMTP_PASSWORD = 'smtp-Secret-42';
const WEBHOOK_TOKEN = 'wh0oktok3nSECRET';

/** A mail body as sent: quoted-printable or base64, back to UTF-8 text. */
function decodeMail(raw: string): string {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const body = rest.join('\n\n');
  if (/content-transfer-encoding:\s*base64/i.test(head)) return Buffer.from(body, 'base64').toString('utf8');
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head))
    return Buffer.from(
      body
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  return body;
}

/** A local SMTP server that takes mail only with the right login; `stop`/`start` make it unreachable and back. */
async function smtpServer(port: number) {
  const mails: Array<{ from: string; to: string[]; text: string; raw: string }> = [];
  const make = () =>
    new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, done) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) done(null, { user: SMTP_USER });
        else done(new Error('Invalid username or password'));
      },
      onData(stream, session, done) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            text: decodeMail(raw),
            raw,
          });
          done();
        });
      },
    });
  let server: SMTPServer | null = null;
  const start = async () => {
    server = make();
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  };
  const stop = async () => {
    await new Promise<void>((resolve) => (server ? server.close(resolve) : resolve()));
    server = null;
  };
  await start();
  return { mails, start, stop };
}

/** A local webhook that records what it is sent; `stop`/`start` make it unreachable and back. */
async function webhookServer(port: number) {
  const posts: Array<{ url: string; body: unknown }> = [];
  let server: Server | null = null;
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  };
  const start = async () => {
    server = createServer((req, res) => {
      void read(req).then((body) => {
        posts.push({ url: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  };
  const stop = async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
  };
  await start();
  return { posts, start, stop };
}

if (!existsSync('/usr/bin/chromium')) {
  t.fail('/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium)');
} else {
  t.test(
    'feedback from a portal without hh.ru reaches the e-mail and the webhook; kept and retried when neither answers',
    { timeout: 120_000 },
    async (t) => {
      const [smtpPort, webhookPort] = [await freePort(), await freePort()];
      const smtp = await smtpServer(smtpPort);
      const webhook = await webhookServer(webhookPort);
      t.teardown(() => Promise.all([smtp.stop(), webhook.stop()]));
      const stack = await startStack(t, {
        hh: 'fixture',
        env: {
          FEEDBACK_SMTP_HOST: '127.0.0.1',
          FEEDBACK_SMTP_PORT: String(smtpPort),
          FEEDBACK_SMTP_USER: SMTP_USER,
          FEEDBACK_SMTP_PASSWORD: SMTP_PASSWORD,
          FEEDBACK_MAIL_FROM: 'app@hhb24.example',
          FEEDBACK_MAIL_TO: 'support@hhb24.example, lead@hhb24.example',
          FEEDBACK_WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/rest/1/${WEBHOOK_TOKEN}/notify`,
          FEEDBACK_SEND_TIMEOUT_MS: '2000',
          FEEDBACK_RETRY_MIN_SEC: '0.5',
          FEEDBACK_RETRY_MAX_SEC: '1',
        },
      });
      const settingsDb = stack.services[0]!.runtime.db;
      const portal = stack.b24.sim.createPortal({ name: 'feedback', lang: 'ru' });
      const b = await browser(t);
      const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
      const app = page.frameLocator('[data-testid=app-iframe]');
      await page.goto(`${portal.baseUrl}marketplace/`);
      await page.getByTestId('install-app').click();
      await app.getByTestId('install-done').click();
      await page.getByTestId('install-finished').waitFor();
      await app.getByTestId('auth-panel').waitFor();

      // ---- the first screen, hh.ru not connected: «Обратная связь» is open ----------------------
      const feedbackTab = app.locator('[data-testid=tab][data-tab=feedback]');
      t.equal(await feedbackTab.isDisabled(), false, '«Обратная связь» is open before hh.ru is connected');
      await feedbackTab.click();
      await app.getByTestId('feedback-form').waitFor();
      await app.getByTestId('feedback-message').fill('Не получается войти в hh.ru <b>помогите</b>');
      await app.getByTestId('feedback-contact').fill('hr@acme.example');
      await app.getByTestId('feedback-send').click();
      await app.getByTestId('feedback-sent').waitFor();
      t.equal(await app.getByTestId('feedback-sent').textContent(), 'Сообщение отправлено');

      t.equal(smtp.mails.length, 1, 'one e-mail');
      const mail = smtp.mails[0]!;
      t.same(
        [mail.from, mail.to],
        ['app@hhb24.example', ['support@hhb24.example', 'lead@hhb24.example']],
        'from and to as configured',
      );
      for (const part of [
        'Не получается войти в hh.ru <b>помогите</b>',
        `member_id ${portal.memberId}`,
        'Контакт: hr@acme.example',
        'Версия приложения: 0.1.0',
        'hh.ru: not_connected',
        'Импорт: never, найдено 0, загружено 0, импортировано 0, ошибок загрузки 0',
        'Отклонённых порталом записей: 0',
      ])
        t.ok(mail.text.includes(part), `the e-mail says «${part}»`);
      t.match(mail.raw, /^Reply-To: hr@acme\.example/m, 'a reply goes to the sender’s address');

      t.equal(webhook.posts.length, 1, 'one webhook call');
      t.equal(webhook.posts[0]!.url, `/rest/1/${WEBHOOK_TOKEN}/notify`);
      t.match(
        webhook.posts[0]!.body,
        {
          text: /Не получается войти в hh\.ru/,
          feedback: {
            portal: { memberId: portal.memberId },
            user: { id: 1 },
            contact: 'hr@acme.example',
            message: 'Не получается войти в hh.ru <b>помогите</b>',
            app: { release: '0.1.0' },
            state: { hh: { status: 'not_connected' }, import: { state: 'never' }, refusedWrites: 0 },
          },
        },
        'the webhook gets the text and the same facts as JSON',
      );
      const [first] = await settingsDb('feedback').where({ member_id: portal.memberId });
      t.match(
        first,
        { attempts: 1, delivered_via: ['email', 'webhook'], last_error: null },
        'delivered on the first attempt through both channels',
      );
      t.ok(first.done_at, 'and done');

      // ---- neither answers: not sent, kept, retried until delivered -----------------------------
      await smtp.stop();
      await webhook.stop();
      await app.getByTestId('feedback-message').fill('Второе сообщение');
      await app.getByTestId('feedback-send').click();
      await app.getByTestId('feedback-not-sent').waitFor();
      t.equal(
        await app.getByTestId('feedback-not-sent').textContent(),
        'Не удалось отправить сообщение. Оно сохранено, мы повторим попытку.',
        'the sender is told it was not sent and will be tried again',
      );
      t.equal(await app.getByTestId('feedback-waiting-item').count(), 1, 'the waiting message is listed');
      await eventually(
        async () =>
          Number((await settingsDb('feedback').where({ message: 'Второе сообщение' }).first()).attempts) >= 2,
        { what: 'the worker tried again while nobody answered', timeoutMs: 15_000 },
      );
      const failing = await settingsDb('feedback').where({ message: 'Второе сообщение' }).first();
      t.equal(failing.delivered_at, null, 'not delivered meanwhile');
      t.match(failing.last_error, /email: .*; webhook: /, 'why each channel failed is kept');
      t.notMatch(failing.last_error, new RegExp(`${WEBHOOK_TOKEN}|${SMTP_PASSWORD}`), 'without a secret');

      await smtp.start();
      await webhook.start();
      await eventually(
        async () =>
          (await settingsDb('feedback').where({ message: 'Второе сообщение' }).first()).done_at !== null,
        { what: 'the retry delivered it once the channels answered', timeoutMs: 15_000 },
      );
      t.ok(
        smtp.mails.some((m) => m.text.includes('Второе сообщение')),
        'the e-mail arrived on a retry',
      );
      t.ok(
        webhook.posts.some((p) => JSON.stringify(p.body).includes('Второе сообщение')),
        'and the webhook call',
      );
      await feedbackTab.click();
      await eventually(async () => (await app.getByTestId('feedback-waiting').count()) === 0, {
        what: 'the tab, opened again, lists nothing waiting',
      });
    },
  );
}
