import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import {
  AppError,
  type Bitrix24Client,
  type ErrorCode,
  FileStore,
  type PdfRef,
  Refusal,
  type Runtime,
  type UiSession,
  compileSchema,
  rpc,
} from '@hhb24/common';
import type { AdminRights } from './admin-rights.js';
import type { Config } from './config.js';
import { applyPagePolicy, sendRefusal } from './http.js';
import type { Installer } from './install-steps.js';
import type { Pages } from './pages.js';
import { portalOrigin } from './portal-auth.js';
import { PdfForm, UiForm, UiParams } from './schemas.js';
import type { SessionSigner } from './session.js';
import { type Gateway, asFlatForm } from './validation.js';

export const SESSION_HEADER = 'x-hhb24-session';
export const SESSION_FIELD = '_session';

const pdfForm = compileSchema(PdfForm);

export interface UiDeps {
  runtime: Runtime;
  config: Config;
  signer: SessionSigner;
  pages: Pages;
  installer: Installer;
  client: () => Bitrix24Client;
  adminRights: AdminRights;
}

/**
 * The page's own requests (htmx): `/ui/<route>`. Each must carry the session the page was given,
 * in the X-HHB24-Session header (htmx sends it) or, for plain form posts, the `_session` field;
 * a POST from another origin is refused outright. Most routes are the settings service's; the
 * gateway keeps the install steps and the PDF download.
 */
export function registerUiRoutes(app: Gateway, deps: UiDeps): void {
  const publicOrigin = new URL(deps.config.PUBLIC_URL).origin;

  /** A refusal from the error catalogue, as JSON (htmx shows the page's error line). */
  const refuse = (reply: FastifyReply, refusal: ErrorCode | Refusal, lang?: 'ru' | 'en') =>
    sendRefusal(applyPagePolicy(reply, { frameAncestors: null }), refusal, lang);

  /** A page's request: its route (UiParams) and its fields (the query of a GET, the form of a POST; UiForm). */
  const handler = async (req: FastifyRequest, reply: FastifyReply, params: UiParams, fields: UiForm) => {
    const route = params['*'] ?? '';
    const post = req.method === 'POST';
    const origin = req.headers.origin;
    if (post && origin !== undefined && origin !== publicOrigin) {
      req.log.warn(
        { route, origin: String(origin).slice(0, 200) },
        'ui request refused: posted from another origin',
      );
      return refuse(reply, 'csrf_origin');
    }
    const { [SESSION_FIELD]: sessionField, ...form } = fields;
    const header = req.headers[SESSION_HEADER];
    const signed = deps.signer.verify(
      typeof header === 'string' ? header : post && typeof sessionField === 'string' ? sessionField : null,
    );
    if (!signed) {
      req.log.info({ route }, 'ui request refused: no valid session');
      return refuse(reply, 'session_required');
    }
    const portal = await deps.client().store.get(signed.memberId);
    if (!portal || portal.status === 'uninstalled') return refuse(reply, 'session_required', signed.lang);
    const portalOriginValue = portalOrigin(portal);
    // A POST may change something: whether the user is an admin is asked of the portal again (with
    // the user's own token from the page load; its answer at most ADMIN_ANSWER_TTL_SEC old), never
    // taken from the session. A GET only draws, with what the page load found.
    const admin = post ? await deps.adminRights.now(signed) : null;
    const session: UiSession = admin ? { ...signed, isAdmin: admin.isAdmin } : signed;

    if (route === 'install/run') {
      if (!post) return refuse(reply, 'method_not_allowed', session.lang);
      if (admin?.check === 'unconfirmed') return refuse(reply, 'admin_unconfirmed', session.lang);
      if (!session.isAdmin) return refuse(reply, 'admin_only', session.lang);
      const steps = await deps.installer.run(session.memberId, session.userId);
      return deps.pages.render(reply, session, 'install/result', {
        portalOrigin: portalOriginValue,
        data: { steps },
      });
    }
    if (route === 'card/pdf') {
      if (!pdfForm.check(form)) return refuse(reply, 'negotiation_required', session.lang);
      return pdf(reply, session, form.negotiationId);
    }
    return deps.pages.render(reply, session, route, {
      portalOrigin: portalOriginValue,
      method: post ? 'POST' : 'GET',
      form,
      ...(admin ? { adminCheck: admin.check } : {}),
    });
  };

  /** A card's session serves the PDF of its own lead or deal's response only (an admin's, any). */
  const pdfAllowed = async (session: UiSession, negotiationId: string): Promise<boolean> => {
    if (session.isAdmin) return true;
    if (!session.entity) return false;
    const card = await deps.runtime.call(
      rpc.hhCard,
      { memberId: session.memberId, entityType: session.entity.type, entityId: session.entity.id },
      { timeoutMs: 10_000 },
    );
    return card?.snapshot.negotiationId === negotiationId;
  };

  const pdf = async (reply: FastifyReply, session: UiSession, negotiationId: string) => {
    try {
      if (!(await pdfAllowed(session, negotiationId))) {
        deps.runtime.log.warn(
          { memberId: session.memberId, userId: session.userId, negotiationId },
          'resume PDF refused: not the response of the card the session was opened on',
        );
        return refuse(reply, 'pdf_forbidden', session.lang);
      }
      // hh-connector says where the PDF is stored; its parts go from the file store to the answer
      // one at a time (never the whole file in memory, nor in a NATS message).
      const ref: PdfRef | null = await deps.runtime.call(
        rpc.hhPdf,
        { memberId: session.memberId, negotiationId },
        { timeoutMs: 30_000 },
      );
      if (!ref) return refuse(reply, 'pdf_not_found', session.lang);
      const files = new FileStore(deps.runtime.db);
      const bytes = files.read(session.memberId, ref.file, ref.size);
      // The first part read before the answer starts: a file gone by now is still a proper refusal.
      const first = await bytes.next();
      const name = ref.filename.replace(/[\r\n"]/g, '');
      async function* rest() {
        if (!first.done) yield first.value;
        yield* bytes;
      }
      // An attachment: the browser saves it instead of showing it in the frame.
      return reply
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .type('application/pdf')
        .header('content-length', String(ref.size))
        .header(
          'content-disposition',
          `attachment; filename="resume.pdf"; filename*=UTF-8''${encodeURIComponent(name)}`,
        )
        .send(Readable.from(rest()));
    } catch (err) {
      deps.runtime.log.warn({ err, memberId: session.memberId }, 'resume PDF not available');
      const status = err instanceof AppError && err.status < 500 ? err.status : undefined;
      return refuse(reply, new Refusal('pdf_unavailable', {}, { status }), session.lang);
    }
  };

  // An unknown path is a 404 like any other; the fields' own shapes are each form's (services/settings).
  const invalid = { params: 'not_found' } as const;
  app.get('/ui/*', { schema: { params: UiParams, querystring: UiForm }, config: { invalid } }, (req, reply) =>
    handler(req, reply, req.params, req.query),
  );
  app.post(
    '/ui/*',
    { schema: { params: UiParams, body: UiForm }, preValidation: asFlatForm, config: { invalid } },
    (req, reply) => handler(req, reply, req.params, req.body),
  );
}
