import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError, type TokenPair } from '../auth.js';
import { type SimContext, caller, formFields, hhError } from '../context.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>${esc(title)}</title><style>body{font-family:sans-serif;max-width:36em;margin:2em auto}label,select,button{display:block;margin:.6em 0}button{padding:.5em 1.2em}.muted{color:#777}</style></head><body><p class="muted">hh.ru — симулятор</p>${body}</body></html>`,
    );
}

/** hh.ru's authorize page and both token endpoints (docs/reference/hh-api.md#login-oauth-20). */
export function oauthRoutes(app: FastifyInstance, ctx: SimContext): void {
  const { store, auth } = ctx;

  /** Checks client and redirect_uri; an app or URI that fails gets an error page, never a redirect. */
  const checkAuthorize = (q: Record<string, string | undefined>, reply: FastifyReply) => {
    const app = auth.app(q['client_id']);
    if (!app)
      return {
        failed: page(reply, 400, 'Ошибка', '<h1>Приложение не найдено</h1><p>Неизвестный client_id.</p>'),
      };
    if (q['response_type'] !== 'code')
      return {
        failed: page(reply, 400, 'Ошибка', '<h1>Неверный запрос</h1><p>response_type должен быть code.</p>'),
      };
    const given = q['redirect_uri'] || null;
    if (given !== null && !auth.redirectAllowed(app, given))
      return {
        failed: page(
          reply,
          400,
          'Ошибка',
          '<h1>Неверный redirect_uri</h1><p>Адрес не совпадает с указанным в настройках приложения.</p>',
        ),
      };
    return { app, redirect: given ?? app.redirectUri, given };
  };

  const redirectWith = (reply: FastifyReply, target: string, params: Record<string, string | undefined>) => {
    const url = new URL(target);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    return reply.redirect(url.toString(), 302);
  };

  app.get<{ Querystring: Record<string, string | undefined> }>('/oauth/authorize', async (req, reply) => {
    const q = req.query;
    const checked = checkAuthorize(q, reply);
    if ('failed' in checked) return checked.failed;
    // A user who is logged in (cookie) and granted access before goes straight back with skip_choose_account.
    const session = /(?:^|;\s*)hhsim_user=(\d+)/.exec(req.headers.cookie ?? '')?.[1];
    if (
      q['skip_choose_account'] === 'true' &&
      q['force_login'] !== 'true' &&
      session &&
      auth.granted.has(`${session}:${checked.app.clientId}`)
    ) {
      return redirectWith(reply, checked.redirect, {
        code: auth.issueCode(checked.app.clientId, session, checked.given),
        state: q['state'],
      });
    }
    const hidden = ['response_type', 'client_id', 'state', 'redirect_uri']
      .map((k) => (q[k] === undefined ? '' : `<input type="hidden" name="${k}" value="${esc(q[k])}">`))
      .join('');
    const groups = [...store.employers.values()]
      .map((e) => {
        const options = [...store.managers.values()]
          .filter((m) => m.employerId === e.id)
          .map(
            (m) =>
              `<option value="${m.userId}"${m.userId === session ? ' selected' : ''}>${esc(`${m.lastName} ${m.firstName}`)} — ${m.isAdmin ? 'администратор' : 'менеджер'} (${esc(m.email)})</option>`,
          )
          .join('');
        return `<optgroup label="${esc(e.name)}">${options}</optgroup>`;
      })
      .join('');
    return page(
      reply,
      200,
      'Вход для работодателя',
      `<h1>Вход для работодателя</h1><p>Приложение «${esc(checked.app.name)}» запрашивает доступ к вашему аккаунту работодателя.</p>
<form method="post" action="/oauth/authorize">${hidden}
<label for="user_id">Войти как</label><select id="user_id" name="user_id" required>${groups}</select>
<button type="submit" name="decision" value="allow">Разрешить</button>
<button type="submit" name="decision" value="deny">Отказать</button></form>`,
    );
  });

  app.post<{ Body: Record<string, string | undefined> | undefined }>(
    '/oauth/authorize',
    async (req, reply) => {
      const form = req.body ?? {};
      const checked = checkAuthorize(form, reply);
      if ('failed' in checked) return checked.failed;
      if (form['decision'] !== 'allow')
        return redirectWith(reply, checked.redirect, { error: 'access_denied', state: form['state'] });
      const manager = store.managersByUser.get(form['user_id'] ?? '');
      if (!manager) return page(reply, 400, 'Ошибка', '<h1>Пользователь не найден</h1>');
      reply.header('set-cookie', `hhsim_user=${manager.userId}; Path=/; HttpOnly; SameSite=Lax`);
      return redirectWith(reply, checked.redirect, {
        code: auth.issueCode(checked.app.clientId, manager.userId, checked.given),
        state: form['state'],
      });
    },
  );

  const userToken = (pair: TokenPair) => ({
    access_token: pair.accessToken,
    token_type: 'bearer',
    expires_in: Math.max(0, Math.round((pair.accessExpiresAt - store.clock.now()) / 1000)),
    refresh_token: pair.refreshToken,
  });

  const tokenEndpoint = async (req: FastifyRequest, reply: FastifyReply) => {
    // hh.ru reads the token request's fields from a form body only: any other body (JSON) has no
    // grant_type for it and gets unsupported_grant_type (hhru/api#553 shows that answer to a JSON body).
    const form = (formFields(req) ?? {}) as Record<string, string | undefined>;
    try {
      switch (form['grant_type']) {
        case 'authorization_code':
          return userToken(auth.exchangeCode(form));
        case 'refresh_token':
          return userToken(auth.refresh(form));
        case 'client_credentials':
          return { access_token: auth.applicationToken(form).accessToken, token_type: 'bearer' };
        default:
          throw new OAuthError('unsupported_grant_type', 'unsupported grant_type');
      }
    } catch (err) {
      if (err instanceof OAuthError)
        return reply.code(err.status).send({ error: err.error, error_description: err.description });
      throw err;
    }
  };
  app.post('/token', tokenEndpoint);
  app.post('/oauth/token', tokenEndpoint);

  app.delete('/oauth/token', async (req, reply) => {
    const who = caller(ctx, req, reply);
    if (!who) return reply;
    if (who.kind !== 'user') return hhError(reply, 403, [{ type: 'oauth', value: 'user_auth_expected' }]);
    auth.revoke(who.pair);
    return reply.code(204).send();
  });
}
