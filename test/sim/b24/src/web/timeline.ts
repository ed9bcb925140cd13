/**
 * A configurable activity drawn from its layout: header (icon, title, tags), body (logo and
 * blocks: text, largeText, link, withTitle, lineOfBlocks, deadline), footer (buttons, menu).
 * Every action becomes a control: redirect a link, openRestApp a link that opens the app in a
 * slider, restEvent a form that makes the portal send ONCRMTIMELINEITEMACTION.
 */
import type { Activity, Portal } from '../model.js';
import { isoDate } from '../crm.js';
import { type Raw, html, raw } from './html.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj =>
  v && typeof v === 'object' && !Array.isArray(v)
    ? (v as Obj)
    : Array.isArray(v)
      ? Object.fromEntries(v.map((x, i) => [String(i), x]))
      : {};

export function translate(value: unknown, lang: string): string {
  if (typeof value === 'string') return value;
  const t = obj(value) as Record<string, string>;
  return t[lang] ?? t['en'] ?? Object.values(t)[0] ?? '';
}

interface Ctx {
  portal: Portal;
  base: string;
  cardUrl: string;
  activity: Activity;
}

function actionControl(
  ctx: Ctx,
  action: unknown,
  path: string[],
  label: Raw | string,
  options: { className?: string; testId?: string; key?: string } = {},
): Raw {
  const a = obj(action);
  const type = String(a['type'] ?? '');
  const common = { testId: options.testId ?? 'activity-action', key: options.key ?? path.join('.') };
  if (type === 'redirect') {
    const uri = String(a['uri'] ?? '');
    const external = /^[a-z]+:\/\//i.test(uri);
    const href = external ? uri : `${ctx.base}${uri.replace(/^\//, '')}`;
    return html`<a class="${options.className ?? ''}" href="${href}" ${external ? raw('target="_blank" rel="noopener"') : ''} data-testid="${common.testId}" data-button-key="${common.key}" data-action-type="redirect">${label}</a>`;
  }
  if (type === 'openRestApp') {
    const href = `${ctx.cardUrl}?app=${ctx.activity.id}&path=${encodeURIComponent(path.join('.'))}`;
    return html`<a class="${options.className ?? ''}" href="${href}" data-testid="${common.testId}" data-button-key="${common.key}" data-action-type="openRestApp">${label}</a>`;
  }
  if (type === 'restEvent') {
    const disabled = ctx.activity.busy === 'disable' || ctx.activity.busy === 'loader';
    return html`<form method="post" action="${ctx.base}crm/activity/${ctx.activity.id}/action"><input type="hidden" name="path" value="${path.join('.')}"><button type="submit" class="${options.className ?? 'btn secondary'}" ${disabled ? raw('disabled') : ''} data-testid="${common.testId}" data-button-key="${common.key}" data-action-type="restEvent">${label}</button></form>`;
  }
  return html`<span>${label}</span>`;
}

function block(ctx: Ctx, b: unknown, path: string[]): Raw {
  const blk = obj(b);
  const type = String(blk['type'] ?? '');
  const p = obj(blk['properties']);
  const lang = ctx.portal.lang;
  switch (type) {
    case 'text': {
      const text = translate(p['value'], lang);
      const lines = p['multiline']
        ? text.split('\n').map((l, i) => html`${i > 0 ? raw('<br>') : ''}${l}`)
        : [html`${text}`];
      const cls = [String(p['size'] ?? ''), String(p['color'] ?? '')].join(' ');
      return html`<span class="${cls}" title="${translate(p['title'], lang)}">${p['bold'] ? html`<b>${lines}</b>` : lines}</span>`;
    }
    case 'largeText':
      return html`<details><summary>Показать полностью</summary><div style="white-space:pre-wrap">${translate(p['value'], lang)}</div></details>`;
    case 'link':
      return actionControl(
        ctx,
        p['action'],
        [...path, 'properties', 'action'],
        p['bold'] ? html`<b>${translate(p['text'], lang)}</b>` : translate(p['text'], lang),
        { testId: 'activity-link' },
      );
    case 'deadline':
      return html`<span class="deadline">${ctx.activity.fields.deadline ? `Крайний срок: ${ctx.activity.fields.deadline}` : 'Без срока'}</span>`;
    case 'withTitle':
      return html`<span class="title">${translate(p['title'], lang)}</span>${block(ctx, p['block'], [...path, 'properties', 'block'])}`;
    case 'lineOfBlocks':
      return html`${Object.entries(obj(p['blocks'])).map(([k, inner]) => html`${block(ctx, inner, [...path, 'properties', 'blocks', k])} `)}`;
    default:
      return html``;
  }
}

export function renderActivity(portal: Portal, activity: Activity, base: string, cardUrl: string): Raw {
  const ctx: Ctx = { portal, base, cardUrl, activity };
  const layout = activity.layout;
  const header = obj(layout['header']);
  const body = obj(layout['body']);
  const footer = obj(layout['footer']);
  const lang = portal.lang;
  const title = translate(header['title'], lang);
  const titleHtml = header['titleAction']
    ? actionControl(ctx, header['titleAction'], ['header', 'titleAction'], title, {
        testId: 'activity-title-action',
      })
    : html`${title}`;
  const tags = Object.entries(obj(header['tags'])).map(([k, t]) => {
    const tag = obj(t);
    const label = html`<span class="tag ${String(tag['type'] ?? '')}" data-testid="activity-tag">${translate(tag['title'], lang)}</span>`;
    return tag['action']
      ? actionControl(ctx, tag['action'], ['header', 'tags', k, 'action'], label, {
          testId: 'activity-tag-action',
          key: k,
        })
      : label;
  });
  const blocks = Object.entries(obj(body['blocks'])).map(([k, b]) => {
    const inline = obj(obj(b)['properties'])['inline'] ? ' inline' : '';
    return html`<div class="tl-block${inline}" data-block-key="${k}">${block(ctx, b, ['body', 'blocks', k])}</div>`;
  });
  const logoCode = String(obj(body['logo'])['code'] ?? '');
  const logo = obj(body['logo'])['action']
    ? actionControl(ctx, obj(body['logo'])['action'], ['body', 'logo', 'action'], logoCode, {
        testId: 'activity-logo-action',
      })
    : html`${logoCode}`;
  const buttons = Object.entries(obj(footer['buttons'])).map(([k, b]) => {
    const btn = obj(b);
    const cls = btn['type'] === 'primary' ? 'btn primary' : 'btn secondary';
    return actionControl(
      ctx,
      btn['action'],
      ['footer', 'buttons', k, 'action'],
      translate(btn['title'], lang),
      { className: cls, testId: 'activity-button', key: k },
    );
  });
  const menuItems = Object.entries(obj(obj(footer['menu'])['items'])).map(
    ([k, item]) =>
      html`<li>${actionControl(ctx, obj(item)['action'], ['footer', 'menu', 'items', k, 'action'], translate(obj(item)['title'], lang), { testId: 'activity-menu-item', key: k })}</li>`,
  );
  const busy = activity.busy ? ` busy-${activity.busy}` : '';
  return html`<div class="tl-item${busy}" data-testid="activity" data-activity-id="${activity.id}" data-busy="${activity.busy ?? ''}">
  <div class="tl-head"><span class="tl-icon" title="${String(obj(layout['icon'])['code'] ?? '')}">${String(obj(layout['icon'])['code'] ?? '').slice(0, 3)}</span>
    <span class="tl-title" data-testid="activity-title">${titleHtml}</span>${tags}
    <span class="tl-time">${isoDate(activity.createdAt, portal.tzOffsetMinutes).replace('T', ' ').slice(0, 16)}</span></div>
  <div class="tl-body"><div class="tl-logo">${logo}</div><div class="tl-blocks">${blocks}</div></div>
  ${buttons.length || menuItems.length ? html`<div class="tl-footer">${buttons}${menuItems.length ? html`<details class="tl-menu"><summary>Ещё</summary><ul>${menuItems}</ul></details>` : ''}</div>` : ''}
  ${activity.busy === 'loader' ? html`<div class="muted" data-testid="activity-loader">Обработка…</div>` : ''}
</div>`;
}
