import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, Refusal } from '@hhb24/common';

/**
 * What every HTML answer of the gateway carries. `frameAncestors` is the one origin that may frame
 * the page (the portal, as recorded at install), or none; scripts come only from us and from where
 * BX24.js lives; forms post only to us (and may go on to hh.ru's login page).
 */
export interface PagePolicy {
  frameAncestors: string | null;
  scripts?: string[];
  formTargets?: string[];
}

export function applyPagePolicy(reply: FastifyReply, policy: PagePolicy): FastifyReply {
  const csp = [
    "default-src 'none'",
    `script-src ${["'self'", ...(policy.scripts ?? [])].join(' ')}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    `form-action ${["'self'", ...(policy.formTargets ?? [])].join(' ')}`,
    `frame-ancestors ${policy.frameAncestors ?? "'none'"}`,
    "base-uri 'none'",
  ].join('; ');
  return reply
    .header('content-security-policy', csp)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store');
}

export function sendHtml(
  reply: FastifyReply,
  status: number,
  html: string,
  policy: PagePolicy,
): FastifyReply {
  return applyPagePolicy(reply, policy).code(status).type('text/html; charset=utf-8').send(html);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A page for requests that never reached an authenticated session (the settings service renders
 * everything else): a short Russian and English message, nothing from the request echoed.
 */
export function errorPage(status: number, message: { ru: string; en: string }): string {
  return `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>hh.ru</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="app"><div class="notice error" role="alert" data-testid="gateway-error" data-status="${status}"><p>${escapeHtml(message.ru)}</p><p lang="en">${escapeHtml(message.en)}</p></div></main></body></html>`;
}

/** The raw body of a form POST (the content type parser keeps it as a string). */
export function rawBody(req: FastifyRequest): string {
  return typeof req.body === 'string' ? req.body : '';
}

/**
 * A refusal answered as JSON (a caller that is not a page: Bitrix24's queue, hh.ru, htmx): the
 * catalogue's status, its code, and its text in the reader's language (English when unknown).
 */
export function sendRefusal(
  reply: FastifyReply,
  refusal: Refusal | ErrorCode,
  lang: 'ru' | 'en' = 'en',
): FastifyReply {
  const r = typeof refusal === 'string' ? new Refusal(refusal) : refusal;
  return reply.code(r.status).send({ error: r.code, message: r.texts[lang] });
}
