import {
  type Checker,
  type ErrorCode,
  ERRORS,
  type HhAccountView,
  type Runtime,
  type UiRequest,
  type UiResponse,
  type UiSession,
  type Static,
  type TSchema,
  compileSchema,
  rpc,
} from '@hhb24/common';
import type { FeedbackDelivery } from '../feedback-delivery.js';
import type { PortalData } from '../portal-data.js';
import type { Renderer } from './render.js';
import type { Lang } from './texts.js';

/** What every part of the pages works with: the service's runtime, the portal's lists, the templates. */
export interface PageDeps {
  runtime: Runtime;
  data: PortalData;
  renderer: Renderer;
  /** «Обратная связь»'s way to the operator's channels. */
  delivery: FeedbackDelivery;
}

/** What every template is rendered with: the reader's language, the page's session and its signed token, the gateway's links. */
export type Ctx = {
  lang: Lang;
  token: string;
  links: UiRequest['links'];
  session: UiSession;
  /** Whether the reader may change the app (routes.ts, `manage`): the controls are drawn only then. */
  canManage: boolean;
  /** For everyone else: the line that says who may (`names`: the users the settings name, '' for none). */
  readOnly: { names: string } | null;
  /** Whether the reader may open «Аналитика» (routes.ts, `analytics`): the tab is drawn only then. */
  mayAnalyse: boolean;
};

export type Form = UiRequest['form'];

/** A whole page or the part htmx swaps. */
export interface Fragment {
  html: string;
  status?: number;
  headers?: Record<string, string>;
}

/** hh-connector answers from its own database; a page does not wait long for it. */
export const HH_WAIT_MS = 8000;

/** One value of a form field (the first, when it was sent more than once). */
export const one = (form: Form, key: string): string => {
  const v = form[key];
  return (Array.isArray(v) ? v[0] : v) ?? '';
};

const compiled = new WeakMap<TSchema, Checker<unknown>>();

/**
 * A route's form checked by its schema (forms.ts), compiled once: the form typed, or null when it
 * does not fit (logged with the schema's words; the route answers `refusal(…, 'invalid_request')`).
 */
export function checkForm<S extends TSchema>(deps: PageDeps, req: UiRequest, schema: S): Static<S> | null {
  let checker = compiled.get(schema);
  if (!checker) compiled.set(schema, (checker = compileSchema(schema)));
  if (checker.check(req.form)) return req.form as Static<S>;
  deps.runtime.log.info(
    { memberId: req.session.memberId, route: req.route, problem: checker.explain(req.form) },
    'page form refused by its schema',
  );
  return null;
}

export function ctxOf(req: UiRequest): Ctx {
  return {
    lang: req.session.lang,
    token: req.token,
    links: req.links,
    session: req.session,
    canManage: false,
    readOnly: null,
    mayAnalyse: false,
  };
}

export function toResponse(f: Fragment): UiResponse {
  return { status: f.status ?? 200, html: f.html, headers: f.headers };
}

/** A refusal from the error catalogue, as a notice in the page's language with the catalogue's status. */
export function refusal(deps: PageDeps, ctx: Ctx, code: ErrorCode): UiResponse {
  const spec = ERRORS[code];
  return {
    status: spec.status,
    html: deps.renderer.render('partials/notice', { ...ctx, kind: 'error', key: spec.text, code }),
  };
}

/** The portal's hh.ru connection, or null when hh-connector does not answer (the page says so). */
export async function hhAccount(deps: PageDeps, memberId: string): Promise<HhAccountView | null> {
  try {
    return await deps.runtime.call(rpc.hhAccount, { memberId }, { timeoutMs: HH_WAIT_MS });
  } catch (err) {
    deps.runtime.log.warn({ err, memberId }, 'hh.ru account state not available');
    return null;
  }
}
