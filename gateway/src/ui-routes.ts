import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AppError,
  type Bitrix24Client,
  type PdfPart,
  type Runtime,
  type UiRequest,
  type UiSession,
  rpc,
} from '@hhb24/common';
import type { Config } from './config.js';
import { applyPagePolicy, rawBody } from './http.js';
import type { Installer } from './install-steps.js';
import type { Pages } from './pages.js';
import { portalOrigin } from './portal-auth.js';
import type { SessionSigner } from './session.js';

export const SESSION_HEADER = 'x-hhb24-session';
export const SESSION_FIELD = '_session';

/** A flat form (`a=1&a=2` → ['1','2']); the pages post plain fields. */
function flatForm(raw: string): UiRequest['form'] {
  const out: Record<string, string | string[]> = {};
  let n = 0;
  for (const [k, v] of new URLSearchParams(raw)) {
    if (++n > 500 || k === SESSION_FIELD) continue;
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export interface UiDeps {
  runtime: Runtime;
  config: Config;
  signer: SessionSigner;
  pages: Pages;
  installer: Installer;
  client: () => Bitrix24Client;
}

/**
 * The page's own requests (htmx): `/ui/<route>`. Each must carry the session the page was given,
 * in the X-HHB24-Session header (htmx sends it) or, for plain form posts, the `_session` field;
 * a POST from another origin is refused outright. Most routes are the settings service's; the
 * gateway keeps the install steps and the PDF download.
 */
export function registerUiRoutes(app: FastifyInstance, deps: UiDeps): void {
  const publicOrigin = new URL(deps.config.PUBLIC_URL).origin;

  const refuse = (reply: FastifyReply, status: number, code: string) =>
    applyPagePolicy(reply, { frameAncestors: null }).code(status).send({ error: code });

  const sessionOf = (req: FastifyRequest, post: boolean): UiSession | null => {
    const header = req.headers[SESSION_HEADER];
    return deps.signer.verify(
      typeof header === 'string'
        ? header
        : post
          ? new URLSearchParams(rawBody(req)).get(SESSION_FIELD)
          : null,
    );
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const route = (req.params as { '*': string })['*'] ?? '';
    if (!/^[a-z0-9-]+(\/[a-z0-9-]+){0,3}$/.test(route)) return refuse(reply, 404, 'not_found');
    const post = req.method === 'POST';
    const origin = req.headers.origin;
    if (post && origin !== undefined && origin !== publicOrigin) {
      req.log.warn(
        { route, origin: String(origin).slice(0, 200) },
        'ui request refused: posted from another origin',
      );
      return refuse(reply, 403, 'csrf_origin');
    }
    const form = post
      ? flatForm(rawBody(req))
      : flatForm(new URLSearchParams(req.query as Record<string, string>).toString());
    const session = sessionOf(req, post);
    if (!session) {
      req.log.info({ route }, 'ui request refused: no valid session');
      return refuse(reply, 401, 'session_required');
    }
    const portal = await deps.client().store.get(session.memberId);
    if (!portal || portal.status === 'uninstalled') return refuse(reply, 401, 'session_required');
    const portalOriginValue = portalOrigin(portal);

    if (route === 'install/run') {
      if (!post || !session.isAdmin) return refuse(reply, 403, 'admin_only');
      const steps = await deps.installer.run(session.memberId, session.userId);
      return deps.pages.render(reply, session, 'install/result', {
        portalOrigin: portalOriginValue,
        data: { steps },
      });
    }
    if (route === 'card/pdf') return pdf(reply, session, String(form['negotiationId'] ?? ''));
    return deps.pages.render(reply, session, route, {
      portalOrigin: portalOriginValue,
      method: post ? 'POST' : 'GET',
      form,
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
    if (!/^[0-9A-Za-z_-]{1,64}$/.test(negotiationId)) return refuse(reply, 400, 'negotiation_required');
    try {
      if (!(await pdfAllowed(session, negotiationId))) {
        deps.runtime.log.warn(
          { memberId: session.memberId, userId: session.userId, negotiationId },
          'resume PDF refused: not the response of the card the session was opened on',
        );
        return refuse(reply, 403, 'pdf_forbidden');
      }
      // The PDF comes in parts that each fit one NATS message.
      const parts: Buffer[] = [];
      let filename = '';
      for (let offset: number | null = 0; offset !== null;) {
        const part: PdfPart | null = await deps.runtime.call(
          rpc.hhPdf,
          { memberId: session.memberId, negotiationId, offset },
          { timeoutMs: 30_000 },
        );
        if (!part) return refuse(reply, 404, 'pdf_not_found');
        parts.push(Buffer.from(part.contentBase64, 'base64'));
        filename = part.filename;
        offset = part.next !== null && part.next > offset && parts.length < 100 ? part.next : null;
      }
      const name = filename.replace(/[\r\n"]/g, '');
      // An attachment: the browser saves it instead of showing it in the frame.
      return reply
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .type('application/pdf')
        .header(
          'content-disposition',
          `attachment; filename="resume.pdf"; filename*=UTF-8''${encodeURIComponent(name)}`,
        )
        .send(Buffer.concat(parts));
    } catch (err) {
      deps.runtime.log.warn({ err, memberId: session.memberId }, 'resume PDF not available');
      return refuse(reply, err instanceof AppError && err.status < 500 ? err.status : 503, 'pdf_unavailable');
    }
  };

  app.get('/ui/*', handler);
  app.post('/ui/*', handler);
}
