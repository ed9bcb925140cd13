/**
 * The portal as a person sees it (Russian UI): the simulator's portal list and the «create
 * portal» form, each portal's desk, market (install/uninstall), the app page with the app in an
 * iframe, lead and deal lists, the card (fields, downloadable files, stage bar, placement tabs,
 * timeline with clickable activity buttons), automation (robots on stages, run now), users and
 * notifications. Elements carry data-testid / data-* attributes for browser tests.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { entityRow, fieldsDescription, stageFieldOf, stagesOf, store } from '../crm.js';
import { type ContactBinding, ENTITY_TYPE_ID, type EntityType, type Portal, type User } from '../model.js';
import { parsePhpQuery } from '../php-form.js';
import type { B24Sim } from '../sim.js';
import { frameConfig, frameHtml } from './frames.js';
import { type Raw, esc, html, raw, scriptJson } from './html.js';
import { renderActivity, translate } from './timeline.js';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string> }>;

const ENTITY_NAMES: Record<EntityType, { one: string; many: string }> = {
  lead: { one: 'Лид', many: 'Лиды' },
  deal: { one: 'Сделка', many: 'Сделки' },
};

/** A phone or e-mail type as the card names it. */
const MULTI_LABELS: Record<string, string> = {
  MOBILE: 'мобильный',
  WORK: 'рабочий',
  HOME: 'домашний',
  FAX: 'факс',
  PAGER: 'пейджер',
  MAILING: 'для рассылок',
  OTHER: 'другой',
};

/**
 * «Клиент» on a lead or deal card: each bound contact's name, its phones as tel: links (a click
 * calls) and its e-mails as mailto: links, each with its type, as the portal's card shows them.
 */
function clientBlock(portal: Portal, bindings: ContactBinding[]): Raw | string {
  const contacts = bindings.flatMap((b) => portal.contacts.get(b.CONTACT_ID) ?? []);
  if (contacts.length === 0) return '';
  return html`<section class="client" data-testid="client"><h2 style="margin-top:0">Клиент</h2>${contacts.map(
    (c) => {
      const name = ['LAST_NAME', 'NAME', 'SECOND_NAME']
        .map((k) => String(c.fields[k] ?? '').trim())
        .filter(Boolean)
        .join(' ');
      const link = (kind: 'PHONE' | 'EMAIL') =>
        (c.multi[kind] ?? []).map(
          (m) =>
            html`<div><a href="${kind === 'PHONE' ? 'tel:' : 'mailto:'}${m.VALUE}" data-testid="client-${kind.toLowerCase()}" data-value-type="${m.VALUE_TYPE}">${m.VALUE}</a> <span class="muted">${MULTI_LABELS[m.VALUE_TYPE] ?? m.VALUE_TYPE}</span></div>`,
        );
      return html`<div class="client-contact" data-testid="client-contact" data-contact-id="${c.id}"><strong data-testid="client-name">${name || 'Без имени'}</strong>${link('PHONE')}${link('EMAIL')}</div>`;
    },
  )}</section>`;
}

function form(req: FastifyRequest): Record<string, string> {
  const body =
    typeof req.body === 'string' ? parsePhpQuery(req.body) : ((req.body as Record<string, unknown>) ?? {});
  return Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : String(v ?? '')]),
  );
}

function cookies(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

function entityTypeOf(raw: string | undefined): EntityType | null {
  return raw === 'lead' || raw === 'deal' ? raw : null;
}

function bbcode(text: string): Raw {
  let out = esc(text);
  out = out
    .replace(/\[B\]([\s\S]*?)\[\/B\]/gi, '<b>$1</b>')
    .replace(/\[I\]([\s\S]*?)\[\/I\]/gi, '<i>$1</i>')
    .replace(/\[BR\]/gi, '<br>');
  out = out.replace(/\[URL=([^\]]+)\]([\s\S]*?)\[\/URL\]/gi, (_m, href: string, label: string) =>
    /^(https?:\/\/|\/)/i.test(href) ? `<a href="${href}" target="_blank" rel="noopener">${label}</a>` : label,
  );
  return raw(out.replace(/\n/g, '<br>'));
}

export function registerWebRoutes(app: FastifyInstance, sim: B24Sim): void {
  const userOf = (req: FastifyRequest, portal: Portal): User => {
    const id = Number(cookies(req)[`b24sim_user_${portal.name}`]);
    return portal.users.get(id) ?? portal.users.get(1) ?? [...portal.users.values()][0]!;
  };

  const page = (
    portal: Portal | null,
    user: User | null,
    title: string,
    content: Raw,
    active = '',
  ): string => {
    const base = portal ? sim.portalBase(portal) : '/';
    const apps = portal
      ? [...portal.installs.values()].map((i) => sim.apps.get(i.clientId)).filter((a) => a !== undefined)
      : [];
    const unread = portal && user ? portal.notifications.filter((n) => n.userId === user.ID).length : 0;
    const link = (href: string, label: string, key: string, testId: string) =>
      html`<a href="${href}" class="${active === key ? 'active' : ''}" data-testid="${testId}">${label}</a>`;
    const menu = portal
      ? html`<nav class="menu">
  ${link(base, 'Рабочий стол', 'desk', 'menu-desk')}
  <div class="section">CRM</div>
  ${link(`${base}crm/lead/list/`, 'Лиды', 'lead', 'menu-leads')}
  ${link(`${base}crm/deal/list/`, 'Сделки', 'deal', 'menu-deals')}
  ${link(`${base}crm/deal/automation/`, 'Роботы', 'automation', 'menu-automation')}
  <div class="section">Приложения</div>
  ${apps.map((a) => link(`${base}app/${encodeURIComponent(a.clientId)}/`, a.name, `app:${a.clientId}`, 'menu-app'))}
  ${link(`${base}marketplace/`, 'Маркет', 'market', 'menu-market')}
  <div class="section">Компания</div>
  ${link(`${base}notifications/`, `Уведомления${unread ? ` (${unread})` : ''}`, 'notifications', 'menu-notifications')}
  ${link(`${base}users/`, 'Сотрудники', 'users', 'menu-users')}
  ${sim.links.length ? html`<div class="section">Рядом</div>${sim.links.map((l) => html`<a href="${l.url}" target="_blank" rel="noopener" data-testid="menu-link">${l.label}</a>`)}` : ''}
</nav>`
      : html``;
    const switcher =
      portal && user
        ? html`<form method="post" action="${base}switch-user"><span>Вы:</span><select name="userId" data-testid="user-switch" onchange="this.form.submit()">${[
            ...portal.users.values(),
          ].map(
            (u) =>
              html`<option value="${u.ID}" ${u.ID === user.ID ? raw('selected') : ''}>${u.NAME} ${u.LAST_NAME}${u.isAdmin ? ' (админ)' : ''}</option>`,
          )}</select></form>`
        : html``;
    return `<!doctype html>${html`<html lang="ru"><head><meta charset="utf-8"><title>${title}${portal ? ` — ${portal.name}` : ''}</title>
<link rel="stylesheet" href="/static/portal.css"><script src="/static/app-layout.js"></script><script>window.B24SimPortalBase = ${scriptJson(base)};</script></head>
<body data-portal="${portal?.name ?? ''}" data-member-id="${portal?.memberId ?? ''}" data-user-id="${user?.ID ?? ''}">
<header class="topbar"><span class="logo">Битрикс<b>24</b></span><span class="portal-name">${portal ? sim.domain(portal) : 'симулятор'}</span><span class="spacer"></span>${switcher}<a href="/" style="color:#fff">Все порталы</a></header>
<div class="layout">${menu}<main class="main">${content}</main></div></body></html>`}`;
  };

  const send = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).header('content-type', 'text/html; charset=utf-8').send(body);

  /** Resolves the portal of the URL, or answers 404. */
  const withPortal =
    (handler: (req: Req, reply: FastifyReply, portal: Portal, user: User) => unknown) =>
    async (req: Req, reply: FastifyReply) => {
      const portal = sim.findPortal(req.params['portal'] ?? '');
      if (!portal || portal.name !== req.params['portal'])
        return send(
          reply,
          page(
            null,
            null,
            'Портал не найден',
            html`<h1>Портал не найден</h1><p><a href="/">К списку порталов</a></p>`,
          ),
          404,
        );
      return handler(req, reply, portal, userOf(req, portal));
    };

  // ---- the simulator's home: portals and «create portal» ----------------------------------------

  app.get('/', async (_req, reply) => {
    const rows = sim.portals().map(
      (
        p,
      ) => html`<tr data-testid="portal-row" data-portal="${p.name}"><td><a href="${p.baseUrl}">${p.name}</a></td><td>${p.lang}</td><td><code>${p.memberId}</code></td>
<td>${p.installs.map((i) => html`${i.clientId}: ${i.installed ? 'установлено' : 'установка не завершена'} `)}</td></tr>`,
    );
    return send(
      reply,
      page(
        null,
        null,
        'Порталы',
        html`<h1>Порталы симулятора Битрикс24</h1>
<div class="card"><h2 style="margin-top:0">Новый портал</h2>
<form method="post" action="/portals" data-testid="create-portal-form">
<div class="form-row"><label for="portal-name">Имя портала</label><input type="text" id="portal-name" name="name" pattern="[a-z0-9][a-z0-9-]{0,62}" placeholder="acme" data-testid="portal-name"></div>
<div class="form-row"><label for="portal-lang">Язык</label><select id="portal-lang" name="lang" data-testid="portal-lang"><option value="ru">Русский</option><option value="en">English</option></select></div>
<button class="btn" type="submit" data-testid="create-portal">Создать портал</button></form></div>
<table class="grid"><tr><th>Портал</th><th>Язык</th><th>member_id</th><th>Приложения</th></tr>${rows}</table>`,
      ),
    );
  });

  app.post('/portals', async (req, reply) => {
    const f = form(req);
    try {
      const p = sim.createPortal({ name: f['name'] || undefined, lang: f['lang'] === 'en' ? 'en' : 'ru' });
      return reply.redirect(p.baseUrl, 303);
    } catch (err) {
      return send(
        reply,
        page(
          null,
          null,
          'Ошибка',
          html`<div class="notice error" data-testid="error">${(err as Error).message}</div><a href="/">Назад</a>`,
        ),
        400,
      );
    }
  });

  // ---- desk, users, notifications ------------------------------------------------------------------

  app.get(
    '/portal/:portal/',
    withPortal((_req, reply, portal, user) => {
      const base = sim.portalBase(portal);
      const content = html`<h1>Рабочий стол</h1>
<div class="card"><p>Портал <b>${sim.domain(portal)}</b>, язык ${portal.lang}, member_id <code data-testid="member-id">${portal.memberId}</code></p>
<p><a href="${base}crm/lead/list/">Лидов: ${portal.leads.size}</a> · <a href="${base}crm/deal/list/">Сделок: ${portal.deals.size}</a> · Дел в таймлайне: ${portal.activities.size}</p>
<p>REST: <code>${sim.clientEndpoint(portal)}</code></p></div>
<p><a class="btn" href="${base}marketplace/">Приложения</a></p>`;
      return send(reply, page(portal, user, 'Рабочий стол', content, 'desk'));
    }),
  );

  app.post(
    '/portal/:portal/switch-user',
    withPortal((req, reply, portal) => {
      const id = Number(form(req)['userId']);
      const target = portal.users.has(id) ? id : 1;
      return reply
        .header('set-cookie', `b24sim_user_${portal.name}=${target}; Path=/; SameSite=Lax`)
        .redirect(
          req.headers.referer && req.headers.referer.includes(`/portal/${portal.name}/`)
            ? req.headers.referer
            : sim.portalBase(portal),
          303,
        );
    }),
  );

  app.get(
    '/portal/:portal/users/',
    withPortal((_req, reply, portal, user) => {
      const rows = [...portal.users.values()].map(
        (u) =>
          html`<tr data-testid="user-row" data-user-id="${u.ID}"><td>${u.ID}</td><td>${u.NAME} ${u.LAST_NAME}</td><td>${u.WORK_POSITION}</td><td>${u.isAdmin ? 'да' : 'нет'}</td><td>${u.crmAccess ? 'есть' : 'нет'}</td></tr>`,
      );
      const content = html`<h1>Сотрудники</h1><table class="grid"><tr><th>ID</th><th>Имя</th><th>Должность</th><th>Администратор</th><th>Доступ к CRM</th></tr>${rows}</table>
<div class="card" style="margin-top:18px"><h2 style="margin-top:0">Новый сотрудник</h2><form method="post" action="${sim.portalBase(portal)}users/add" data-testid="add-user-form">
<div class="form-row"><label>Имя</label><input type="text" name="NAME" required></div>
<div class="form-row"><label>Фамилия</label><input type="text" name="LAST_NAME"></div>
<div class="form-row"><label><input type="checkbox" name="isAdmin" value="Y"> администратор</label></div>
<div class="form-row"><label><input type="checkbox" name="crmAccess" value="Y" checked> доступ к CRM</label></div>
<button class="btn" type="submit">Добавить</button></form></div>`;
      return send(reply, page(portal, user, 'Сотрудники', content, 'users'));
    }),
  );

  app.post(
    '/portal/:portal/users/add',
    withPortal((req, reply, portal) => {
      const f = form(req);
      sim.addUser(portal.memberId, {
        NAME: f['NAME'] ?? '',
        LAST_NAME: f['LAST_NAME'] ?? '',
        isAdmin: f['isAdmin'] === 'Y',
        crmAccess: f['crmAccess'] === 'Y',
      });
      return reply.redirect(`${sim.portalBase(portal)}users/`, 303);
    }),
  );

  app.get(
    '/portal/:portal/notifications/',
    withPortal((_req, reply, portal, user) => {
      const items = portal.notifications
        .filter((n) => n.userId === user.ID)
        .slice()
        .reverse()
        .map(
          (n) =>
            html`<div class="notification" data-testid="notification" data-tag="${n.tag}"><div class="muted">${sim.apps.get(n.clientId)?.name ?? n.clientId} · ${new Date(n.at).toLocaleString('ru-RU')}</div>${bbcode(n.message)}</div>`,
        );
      const content = html`<h1>Уведомления</h1>${items.length ? items : html`<p class="muted" data-testid="no-notifications">Уведомлений нет</p>`}`;
      return send(reply, page(portal, user, 'Уведомления', content, 'notifications'));
    }),
  );

  // ---- market and the app page ---------------------------------------------------------------------

  app.get(
    '/portal/:portal/marketplace/',
    withPortal((_req, reply, portal, user) => {
      const base = sim.portalBase(portal);
      const rows = [...sim.apps.values()].map((a) => {
        const install = portal.installs.get(a.clientId);
        const state = !install
          ? 'Не установлено'
          : install.installed
            ? 'Установлено'
            : 'Установка не завершена';
        const id = encodeURIComponent(a.clientId);
        return html`<tr data-testid="market-app" data-client-id="${a.clientId}"><td><b>${a.name}</b><div class="muted">${a.code}</div></td><td data-testid="app-state">${state}</td><td>
${install ? html`<a class="btn secondary" href="${base}app/${id}/">Открыть</a>` : ''}
${!install && user.isAdmin ? html`<form method="post" action="${base}marketplace/${id}/install" style="display:inline"><button class="btn" data-testid="install-app" data-client-id="${a.clientId}">Установить</button></form>` : ''}
${install && user.isAdmin ? html`<form method="post" action="${base}marketplace/${id}/uninstall" style="display:inline"><label class="muted"><input type="checkbox" name="clean" value="Y"> удалить данные</label> <button class="btn danger" data-testid="uninstall-app">Удалить</button></form>` : ''}
</td></tr>`;
      });
      const content = html`<h1>Маркет</h1>${user.isAdmin ? '' : html`<div class="notice">Устанавливать приложения может только администратор.</div>`}<table class="grid"><tr><th>Приложение</th><th>Состояние</th><th></th></tr>${rows}</table>`;
      return send(reply, page(portal, user, 'Маркет', content, 'market'));
    }),
  );

  app.post(
    '/portal/:portal/marketplace/:clientId/install',
    withPortal(async (req, reply, portal, user) => {
      const clientId = req.params['clientId']!;
      if (!sim.apps.has(clientId) || !user.isAdmin)
        return send(
          reply,
          page(portal, user, 'Ошибка', html`<div class="notice error">Установка недоступна</div>`),
          403,
        );
      await sim.install(portal.memberId, { clientId, userId: user.ID });
      return reply.redirect(`${sim.portalBase(portal)}app/${encodeURIComponent(clientId)}/`, 303);
    }),
  );

  app.post(
    '/portal/:portal/marketplace/:clientId/uninstall',
    withPortal(async (req, reply, portal, user) => {
      if (!user.isAdmin)
        return send(
          reply,
          page(
            portal,
            user,
            'Ошибка',
            html`<div class="notice error">Удалять приложения может только администратор</div>`,
          ),
          403,
        );
      await sim.uninstall(portal.memberId, {
        clientId: req.params['clientId']!,
        clean: form(req)['clean'] === 'Y',
      });
      return reply.redirect(`${sim.portalBase(portal)}marketplace/`, 303);
    }),
  );

  app.get(
    '/portal/:portal/app/:clientId/',
    withPortal((req, reply, portal, user) => {
      const appSpec = sim.apps.get(req.params['clientId']!);
      if (!appSpec)
        return send(reply, page(portal, user, 'Нет приложения', html`<h1>Приложение не найдено</h1>`), 404);
      const install = portal.installs.get(appSpec.clientId);
      const base = sim.portalBase(portal);
      let body: Raw;
      if (!install) {
        body = html`<div class="notice" data-testid="app-not-installed">Приложение не установлено на этом портале.</div><a class="btn" href="${base}marketplace/">В маркет</a>`;
      } else if (!install.installed && !user.isAdmin) {
        body = html`<div class="notice" data-testid="app-not-installed">Приложение ещё не установлено до конца. Обратитесь к администратору портала.</div>`;
      } else {
        const finished = req.query['install_finished'];
        const banner = !install.installed
          ? html`<div class="notice" data-testid="app-installing">Установка приложения. Завершите её на странице приложения.</div>`
          : finished === 'Y'
            ? html`<div class="notice ok" data-testid="install-finished">Установка приложения завершена.</div>`
            : '';
        const config = frameConfig(sim, portal, appSpec, user, {
          placement: 'DEFAULT',
          placementOptions: {},
        });
        body = html`${banner}${frameHtml(config, { height: 640 })}`;
      }
      const content = html`<h1 id="app-title" data-testid="app-title">${appSpec.name}</h1>${body}`;
      return send(reply, page(portal, user, appSpec.name, content, `app:${appSpec.clientId}`));
    }),
  );

  app.post(
    '/portal/:portal/app/:clientId/install-finish',
    withPortal((req, reply, portal, user) => {
      const install = portal.installs.get(req.params['clientId']!);
      if (!install || !user.isAdmin) return reply.send({ result: false });
      const value = (req.body as { value?: unknown } | undefined)?.value !== false;
      if (value) sim.finishInstall(portal.memberId, install.clientId);
      else install.installed = false;
      return reply.send({ result: value });
    }),
  );

  app.post(
    '/portal/:portal/app/:clientId/refresh-auth',
    withPortal((req, reply, portal, user) => {
      if (!portal.installs.has(req.params['clientId']!))
        return reply.code(404).send({ error: 'not installed' });
      const t = sim.issueToken(portal, req.params['clientId']!, user.ID);
      return reply.send({
        access_token: t.accessToken,
        refresh_token: t.refreshToken,
        expires_in: sim.tokens.accessTtlSec,
      });
    }),
  );

  app.post(
    '/portal/:portal/app/:clientId/frame',
    withPortal((req, reply, portal, user) => {
      const appSpec = sim.apps.get(req.params['clientId']!);
      if (!appSpec || !portal.installs.get(appSpec.clientId)?.installed)
        return reply.code(404).send({ error: 'not installed' });
      const b = (req.body ?? {}) as { placement?: string; options?: Record<string, unknown> };
      return reply.send(
        frameConfig(sim, portal, appSpec, user, {
          placement: b.placement ?? 'DEFAULT',
          placementOptions: b.options ?? {},
        }),
      );
    }),
  );

  // ---- CRM lists and cards -------------------------------------------------------------------------

  const stageBadge = (portal: Portal, type: EntityType, stageId: unknown, categoryId: number) => {
    const s = stagesOf(portal, type, categoryId).find((x) => x.STATUS_ID === stageId);
    return html`<span class="tag" style="background:${s?.COLOR || '#a8b0b7'}">${s?.NAME ?? String(stageId ?? '')}</span>`;
  };

  app.get(
    '/portal/:portal/crm/:type/list/',
    withPortal((req, reply, portal, user) => {
      const type = entityTypeOf(req.params['type']);
      if (!type) return reply.callNotFound();
      const base = sim.portalBase(portal);
      const category = Number(req.query['category'] ?? 0);
      const entities = [...store(portal, type).values()]
        .filter((e) => type === 'lead' || Number(e.fields['CATEGORY_ID'] ?? 0) === category)
        .reverse();
      const rows = entities.map((e) => {
        const assigned = portal.users.get(Number(e.fields['ASSIGNED_BY_ID']));
        return html`<tr data-testid="entity-row" data-entity-id="${e.id}"><td>${e.id}</td><td><a href="${base}crm/${type}/details/${e.id}/">${String(e.fields['TITLE'] ?? '')}</a></td>
<td>${stageBadge(portal, type, e.fields[stageFieldOf(type)], Number(e.fields['CATEGORY_ID'] ?? 0))}</td><td>${assigned ? `${assigned.NAME} ${assigned.LAST_NAME}` : ''}</td>
<td>${new Date(Number(e.fields['DATE_CREATE'])).toLocaleString('ru-RU')}</td></tr>`;
      });
      const pipelines =
        type === 'deal'
          ? html`<div class="tabs">${portal.categories.map((c) => html`<a href="?category=${c.id}" class="${c.id === category ? 'active' : ''}" data-testid="pipeline-tab" data-category-id="${c.id}">${c.name}</a>`)}</div>`
          : '';
      const content = html`<h1>${ENTITY_NAMES[type].many}</h1>${pipelines}
<div class="card"><form method="post" action="${base}crm/${type}/add" data-testid="add-entity-form" style="display:flex;gap:8px;align-items:center">
<input type="text" name="TITLE" placeholder="Название" required> <input type="text" name="NAME" placeholder="Имя контакта">
${type === 'deal' ? html`<input type="hidden" name="CATEGORY_ID" value="${category}">` : ''}<button class="btn" type="submit" data-testid="add-entity">Создать</button></form></div>
<table class="grid" data-testid="entity-list"><tr><th>ID</th><th>Название</th><th>Стадия</th><th>Ответственный</th><th>Создан</th></tr>${rows}</table>
${entities.length === 0 ? html`<p class="muted">Пока пусто</p>` : ''}`;
      return send(reply, page(portal, user, ENTITY_NAMES[type].many, content, type));
    }),
  );

  app.post(
    '/portal/:portal/crm/:type/add',
    withPortal((req, reply, portal, user) => {
      const type = entityTypeOf(req.params['type']);
      if (!type) return reply.callNotFound();
      const f = form(req);
      const row = sim.createEntity(
        portal.memberId,
        type,
        { TITLE: f['TITLE'], NAME: f['NAME'], CATEGORY_ID: f['CATEGORY_ID'] },
        { userId: user.ID },
      );
      return reply.redirect(`${sim.portalBase(portal)}crm/${type}/details/${String(row['ID'])}/`, 303);
    }),
  );

  app.get(
    '/portal/:portal/crm/:type/details/:id/',
    withPortal((req, reply, portal, user) => {
      const type = entityTypeOf(req.params['type']);
      const entity = type ? store(portal, type).get(Number(req.params['id'])) : undefined;
      if (!type || !entity)
        return send(reply, page(portal, user, 'Не найдено', html`<h1>Элемент не найден</h1>`), 404);
      const base = sim.portalBase(portal);
      const cardUrl = `${base}crm/${type}/details/${entity.id}/`;
      const categoryId = Number(entity.fields['CATEGORY_ID'] ?? 0);
      const stages = stagesOf(portal, type, categoryId);
      const current = entity.fields[stageFieldOf(type)];
      const currentIndex = stages.findIndex((s) => s.STATUS_ID === current);
      const stageBar = html`<div class="stages" data-testid="stage-bar">${stages.map(
        (s, i) =>
          html`<form method="post" action="${cardUrl}stage"><input type="hidden" name="stageId" value="${s.STATUS_ID}"><button class="stage ${s.STATUS_ID === current ? 'current' : i < currentIndex ? 'passed' : ''}" style="background:${s.COLOR || '#a8b0b7'}" data-testid="stage-button" data-stage-id="${s.STATUS_ID}" ${s.STATUS_ID === current ? raw('data-current="true"') : ''}>${s.NAME}</button></form>`,
      )}</div>`;

      const placementCode = type === 'lead' ? 'CRM_LEAD_DETAIL_TAB' : 'CRM_DEAL_DETAIL_TAB';
      const tabs = portal.placements.filter(
        (p) => p.placement === placementCode && portal.installs.get(p.clientId)?.installed,
      );
      const tab = req.query['tab'] ?? 'main';
      const tabLinks = html`<div class="tabs"><a href="${cardUrl}" class="${tab === 'main' ? 'active' : ''}" data-testid="tab-main">Общее</a>${tabs.map(
        (p) =>
          html`<a href="${cardUrl}?tab=placement-${p.id}" class="${tab === `placement-${p.id}` ? 'active' : ''}" data-testid="placement-tab" data-placement-id="${p.id}">${p.langAll[portal.lang]?.TITLE || p.title || sim.apps.get(p.clientId)?.name}</a>`,
      )}</div>`;

      const notices: Raw[] = [];
      if (req.query['robots'] !== undefined)
        notices.push(
          html`<div class="notice ok" data-testid="robots-started">Стадия изменена. Запущено роботов: ${req.query['robots']}</div>`,
        );
      if (req.query['event'] === 'sent')
        notices.push(
          html`<div class="notice ok" data-testid="event-sent">Событие отправлено приложению</div>`,
        );

      let content: Raw;
      const placement = tabs.find((p) => `placement-${p.id}` === tab);
      if (placement) {
        const appSpec = sim.app(placement.clientId);
        const config = frameConfig(sim, portal, appSpec, user, {
          placement: placementCode,
          placementOptions: { ID: String(entity.id) },
          url: placement.handler,
        });
        content = frameHtml(config, { height: 560, testId: 'placement-iframe' });
      } else {
        const row = entityRow(portal, entity, null);
        const described = fieldsDescription(portal, type) as Record<
          string,
          { title?: string; formLabel?: string }
        >;
        const show = (key: string, value: unknown): Raw => {
          if (
            value === null ||
            value === undefined ||
            value === '' ||
            (Array.isArray(value) && value.length === 0)
          )
            return html`<span class="muted">—</span>`;
          if (Array.isArray(value))
            return html`${value.map((v, i) => html`${i ? ', ' : ''}${show(key, v)}`)}`;
          if (typeof value === 'object') {
            const v = value as { showUrl?: string; VALUE?: string; VALUE_TYPE?: string; id?: number };
            if (v.showUrl) {
              const file = portal.files.get(Number(v.id));
              return html`<a href="${base}${v.showUrl.replace(/^\//, '')}" data-testid="file-link" data-field="${key}">${file?.name ?? `файл ${v.id}`}</a>`;
            }
            if (v.VALUE !== undefined) return html`${v.VALUE} <span class="muted">${v.VALUE_TYPE}</span>`;
            return html`${JSON.stringify(value)}`;
          }
          if (key === 'ASSIGNED_BY_ID' || key === 'CREATED_BY_ID' || key === 'MODIFY_BY_ID') {
            const u = portal.users.get(Number(value));
            return html`${u ? `${u.NAME} ${u.LAST_NAME}` : String(value)}`;
          }
          return html`${String(value)}`;
        };
        const fields = Object.entries(row).map(
          ([k, v]) =>
            html`<dt>${described[k]?.formLabel || described[k]?.title || k}</dt><dd data-field="${k}">${show(k, v)}</dd>`,
        );
        const timelineItems = [
          ...[...portal.activities.values()]
            .filter((a) => a.ownerTypeId === ENTITY_TYPE_ID[type] && a.ownerId === entity.id)
            .map((a) => ({ at: a.createdAt, html: renderActivity(portal, a, base, cardUrl) })),
          ...portal.comments
            .filter((c) => c.entityType === type && c.entityId === entity.id)
            .map((c) => ({
              at: c.createdAt,
              html: html`<div class="tl-comment" data-testid="timeline-comment">${bbcode(c.comment)}</div>`,
            })),
        ].sort((a, b) => b.at - a.at);
        content = html`<div class="columns"><div class="fields card">${clientBlock(portal, entity.contacts ?? [])}<dl class="fields-list" data-testid="entity-fields">${fields}</dl></div>
<div class="timeline" data-testid="timeline"><h2 style="margin-top:0">История</h2>${timelineItems.length ? timelineItems.map((i) => i.html) : html`<p class="muted">Записей пока нет</p>`}</div></div>`;
      }

      let slider: Raw | string = '';
      const appPath = req.query['path']?.split('.') ?? [];
      // Opening the app has no side effect on the portal; any other action waits for a POST.
      if (
        req.query['app'] &&
        sim.timelineActionAt(portal.memberId, Number(req.query['app']), appPath)?.type === 'openRestApp'
      ) {
        const result = sim.timelineAction(portal.memberId, Number(req.query['app']), appPath, {
          userId: user.ID,
        });
        if (result.type === 'openRestApp') {
          const appSpec = sim.app(result.clientId);
          const title = result.params['bx24_title'] ?? appSpec.name;
          const width = result.params['bx24_width'];
          const options = Object.fromEntries(
            Object.entries(result.params).filter(([k]) => !k.startsWith('bx24_')),
          );
          const config = {
            ...frameConfig(sim, portal, appSpec, user, { placement: 'DEFAULT', placementOptions: options }),
            sliderWidth: width,
          };
          slider = html`<script>document.addEventListener('DOMContentLoaded', function () { B24SimLayout.openSlider(${scriptJson(config)}, ${scriptJson(title)}, function () { history.replaceState(null, '', ${scriptJson(cardUrl)}); }); });</script>`;
        }
      }

      const page_ = html`<h1 data-testid="entity-title">${String(entity.fields['TITLE'] ?? '')}</h1>
<div class="muted">${ENTITY_NAMES[type].one} #${entity.id}${type === 'deal' ? ` · ${portal.categories.find((c) => c.id === categoryId)?.name ?? ''}` : ''}</div>
${stageBar}${notices}${tabLinks}${content}${slider}`;
      return send(reply, page(portal, user, String(entity.fields['TITLE'] ?? ''), page_, type));
    }),
  );

  app.post(
    '/portal/:portal/crm/:type/details/:id/stage',
    withPortal((req, reply, portal, user) => {
      const type = entityTypeOf(req.params['type']);
      if (!type) return reply.callNotFound();
      const runs = sim.moveStage(
        portal.memberId,
        type,
        Number(req.params['id']),
        form(req)['stageId'] ?? '',
        { userId: user.ID },
      );
      return reply.redirect(
        `${sim.portalBase(portal)}crm/${type}/details/${req.params['id']}/?robots=${runs.length}`,
        303,
      );
    }),
  );

  app.post(
    '/portal/:portal/crm/activity/:id/action',
    withPortal((req, reply, portal, user) => {
      const activity = portal.activities.get(Number(req.params['id']));
      if (!activity) return reply.callNotFound();
      const path = (form(req)['path'] ?? '').split('.');
      const result = sim.timelineAction(portal.memberId, activity.id, path, { userId: user.ID });
      const type = activity.ownerTypeId === 1 ? 'lead' : 'deal';
      const card = `${sim.portalBase(portal)}crm/${type}/details/${activity.ownerId}/`;
      if (result.type === 'redirect')
        return reply.redirect(
          /^[a-z]+:\/\//i.test(result.uri)
            ? result.uri
            : `${sim.portalBase(portal)}${result.uri.replace(/^\//, '')}`,
          303,
        );
      if (result.type === 'openRestApp')
        return reply.redirect(`${card}?app=${activity.id}&path=${encodeURIComponent(path.join('.'))}`, 303);
      return reply.redirect(`${card}?event=sent`, 303);
    }),
  );

  app.get(
    '/portal/:portal/bitrix/components/bitrix/:component/show_file.php',
    withPortal((req, reply, portal) => {
      const type = entityTypeOf(/^crm\.(lead|deal)\.show$/.exec(req.params['component'] ?? '')?.[1]);
      const q = req.query;
      if (q['auth'] !== undefined) {
        const check = sim.tokens.check(q['auth']);
        if (!check.ok || check.token.memberId !== portal.memberId)
          return reply.code(401).send({ error: check.ok ? 'invalid_token' : check.error });
      }
      const entity = type ? store(portal, type).get(Number(q['ownerId'])) : undefined;
      const value = entity?.uf[q['fieldName'] ?? ''];
      const fileId = Number(q['fileId']);
      const owned = Array.isArray(value) ? value.includes(fileId) : value === fileId;
      const file = owned ? portal.files.get(fileId) : undefined;
      if (!file)
        return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send('Файл не найден');
      return reply
        .header(
          'content-type',
          file.name.toLowerCase().endsWith('.pdf') ? 'application/pdf' : 'application/octet-stream',
        )
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`)
        .send(file.content);
    }),
  );

  // ---- automation: robots on stages ---------------------------------------------------------------

  app.get(
    '/portal/:portal/crm/:type/automation/',
    withPortal((req, reply, portal, user) => {
      const type = entityTypeOf(req.params['type']);
      if (!type) return reply.callNotFound();
      const base = sim.portalBase(portal);
      const category = Number(req.query['category'] ?? 0);
      const stages = stagesOf(portal, type, category);
      const robots = portal.robots.filter((r) => portal.installs.get(r.clientId)?.installed);
      const robotName = (clientId: string, code: string) => {
        const r = portal.robots.find((x) => x.clientId === clientId && x.code === code);
        return r ? translate(r.name, portal.lang) : code;
      };
      // The values a run returned, by the names the robot gave them (as the automation designer lists its
      // variables); an empty one is left out.
      const returned = (clientId: string, code: string, values: Record<string, unknown>) => {
        const r = portal.robots.find((x) => x.clientId === clientId && x.code === code);
        return Object.entries(values)
          .filter(([, v]) => v !== '' && v !== null && v !== undefined)
          .map(
            ([k, v]) =>
              `${r?.returnProperties[k] ? translate(r.returnProperties[k].Name, portal.lang) : k}: ${String(v)}`,
          )
          .join('; ');
      };
      const columns = stages.map((s) => {
        const rules = portal.automation.filter((r) => r.entityType === type && r.stageId === s.STATUS_ID);
        return html`<div class="robots-col" data-testid="robots-stage" data-stage-id="${s.STATUS_ID}"><h3 style="background:${s.COLOR || '#a8b0b7'}">${s.NAME}</h3>
${rules.map(
  (
    r,
  ) => html`<div class="robot" data-testid="automation-rule" data-rule-id="${r.id}" data-code="${r.code}">${robotName(r.clientId, r.code)}
${
  Object.keys(r.properties).length
    ? html`<div class="muted">${Object.entries(r.properties)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}</div>`
    : ''
}
<form method="post" action="${base}crm/${type}/automation/${r.id}/delete"><button class="btn secondary" data-testid="delete-rule">Убрать</button></form></div>`,
)}
${rules.length ? '' : html`<div class="muted">Роботов нет</div>`}</div>`;
      });
      const entityIds = [...store(portal, type).values()]
        .filter((e) => type === 'lead' || Number(e.fields['CATEGORY_ID'] ?? 0) === category)
        .map((e) => e.id);
      const robotForms = robots.map((r) => {
        const props = Object.entries(r.properties).map(
          ([k, p]) =>
            html`<div class="form-row"><label>${translate(p.Name, portal.lang)}${p.Required === 'Y' ? ' *' : ''}</label>${
              p.Type === 'select' && p.Options
                ? html`<select name="prop_${k}">${Object.entries(p.Options).map(([v, label]) => html`<option value="${v}" ${String(p.Default ?? '') === v ? raw('selected') : ''}>${label}</option>`)}</select>`
                : html`<input type="text" name="prop_${k}" value="${p.Default === undefined || p.Default === null ? '' : String(p.Default)}">`
            }</div>`,
        );
        return html`<div class="card" data-testid="robot-card" data-code="${r.code}"><h2 style="margin-top:0">${translate(r.name, portal.lang)} <span class="muted">${r.code}</span></h2>
<form method="post" action="${base}crm/${type}/automation/add" data-testid="add-robot-form"><input type="hidden" name="clientId" value="${r.clientId}"><input type="hidden" name="code" value="${r.code}">
<div class="form-row"><label>Стадия</label><select name="stageId" data-testid="robot-stage">${stages.map((s) => html`<option value="${s.STATUS_ID}">${s.NAME}</option>`)}</select></div>
${props}<button class="btn" data-testid="add-robot">Добавить на стадию</button></form>
<form method="post" action="${base}crm/${type}/automation/run" data-testid="run-robot-form" style="margin-top:10px"><input type="hidden" name="clientId" value="${r.clientId}"><input type="hidden" name="code" value="${r.code}">
<label>${ENTITY_NAMES[type].one} №</label> <select name="entityId" data-testid="run-robot-entity">${entityIds.map((id) => html`<option value="${id}">${id}</option>`)}</select>
<button class="btn secondary" data-testid="run-robot" ${entityIds.length ? '' : raw('disabled')}>Запустить сейчас</button></form></div>`;
      });
      const runs = portal.robotRuns
        .filter((r) => r.entityType === type)
        .slice(-50)
        .reverse()
        .map(
          (
            r,
          ) => html`<tr data-testid="robot-run" data-run-id="${r.id}" data-status="${r.status}" data-code="${r.code}" data-entity-id="${r.entityId}"><td>${r.id}</td><td>${robotName(r.clientId, r.code)}</td>
<td><a href="${base}crm/${type}/details/${r.entityId}/">${ENTITY_NAMES[type].one} #${r.entityId}</a></td><td>${r.stageId}</td><td data-testid="robot-run-status">${
            {
              running: 'выполняется',
              waiting: 'ждёт ответа приложения',
              completed: 'выполнен',
              failed: 'ошибка',
            }[r.status]
          }${r.deliveryError ? ` (${r.deliveryError})` : ''}</td><td><span data-testid="robot-run-returned">${returned(r.clientId, r.code, r.returnValues)}</span>${r.log.length ? html`<div class="muted">${r.log.join('; ')}</div>` : ''}</td></tr>`,
        );
      const pipelines =
        type === 'deal'
          ? html`<div class="tabs">${portal.categories.map((c) => html`<a href="?category=${c.id}" class="${c.id === category ? 'active' : ''}" data-testid="pipeline-tab" data-category-id="${c.id}">${c.name}</a>`)}</div>`
          : '';
      const content = html`<h1>Роботы: ${ENTITY_NAMES[type].many.toLowerCase()}</h1>
<div class="tabs"><a href="${base}crm/lead/automation/" class="${type === 'lead' ? 'active' : ''}">Лиды</a><a href="${base}crm/deal/automation/" class="${type === 'deal' ? 'active' : ''}">Сделки</a></div>
${pipelines}<div class="robots-board" data-testid="robots-board">${columns}</div>
<h2>Роботы приложений</h2>${robotForms.length ? robotForms : html`<p class="muted" data-testid="no-robots">Приложения ещё не добавили роботов.</p>`}
<h2>Запуски</h2><table class="grid"><tr><th>№</th><th>Робот</th><th>Элемент</th><th>Стадия</th><th>Состояние</th><th>Результат</th></tr>${runs}</table>`;
      return send(reply, page(portal, user, 'Роботы', content, 'automation'));
    }),
  );

  const propsOf = (f: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(f)
        .filter(([k]) => k.startsWith('prop_'))
        .map(([k, v]) => [k.slice(5), v]),
    );

  app.post(
    '/portal/:portal/crm/:type/automation/add',
    withPortal((req, reply, portal) => {
      const type = entityTypeOf(req.params['type']);
      if (!type) return reply.callNotFound();
      const f = form(req);
      sim.addAutomationRule(portal.memberId, {
        entityType: type,
        stageId: f['stageId'] ?? '',
        code: f['code'] ?? '',
        clientId: f['clientId'],
        properties: propsOf(f),
      });
      return reply.redirect(`${sim.portalBase(portal)}crm/${type}/automation/`, 303);
    }),
  );

  app.post(
    '/portal/:portal/crm/:type/automation/:rule/delete',
    withPortal((req, reply, portal) => {
      sim.removeAutomationRule(portal.memberId, Number(req.params['rule']));
      return reply.redirect(`${sim.portalBase(portal)}crm/${req.params['type']}/automation/`, 303);
    }),
  );

  app.post(
    '/portal/:portal/crm/:type/automation/run',
    withPortal((req, reply, portal) => {
      const type = entityTypeOf(req.params['type']);
      if (!type) return reply.callNotFound();
      const f = form(req);
      sim.runRobot(portal.memberId, {
        entityType: type,
        entityId: Number(f['entityId']),
        code: f['code'] ?? '',
        clientId: f['clientId'],
      });
      return reply.redirect(`${sim.portalBase(portal)}crm/${type}/automation/`, 303);
    }),
  );
}
