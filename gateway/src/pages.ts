import type { FastifyReply } from 'fastify';
import { AppError, Refusal, type Runtime, type UiRequest, type UiSession, rpc } from '@hhb24/common';
import type { Config } from './config.js';
import { type PagePolicy, errorPage, sendHtml } from './http.js';
import type { SessionSigner } from './session.js';

/**
 * The app's pages are rendered by the settings service; the gateway authenticates, signs the
 * page's session, asks settings over request/reply and answers with the page's security headers.
 */
export class Pages {
  constructor(
    private readonly runtime: Runtime,
    private readonly config: Config,
    private readonly signer: SessionSigner,
  ) {}

  /** The policy of a page framed by the portal at `portalOrigin` (null: a top-level window, e.g. the hh.ru login). */
  policy(portalOrigin: string | null): PagePolicy {
    return {
      frameAncestors: portalOrigin,
      scripts: [new URL(this.config.B24_JS_URL).origin],
      // «Войти» posts to us and is redirected on to hh.ru's login page.
      formTargets: [new URL(this.config.HH_OAUTH_URL).origin],
    };
  }

  async render(
    reply: FastifyReply,
    session: UiSession,
    route: string,
    options: {
      portalOrigin: string | null;
      method?: 'GET' | 'POST';
      form?: UiRequest['form'];
      data?: Record<string, unknown>;
      adminCheck?: UiRequest['adminCheck'];
    },
  ): Promise<FastifyReply> {
    const policy = this.policy(options.portalOrigin);
    const request: UiRequest = {
      session,
      token: this.signer.sign(session),
      route,
      method: options.method ?? 'GET',
      form: options.form ?? {},
      links: {
        bx24Script: this.config.B24_JS_URL,
        hhSignup: new URL('/auth/employer', this.config.HH_OAUTH_URL).toString(),
      },
      data: options.data,
      ...(options.adminCheck ? { adminCheck: options.adminCheck } : {}),
    };
    try {
      const page = await this.runtime.call(rpc.settingsUi, request, { timeoutMs: 20_000 });
      for (const [name, value] of Object.entries(page.headers ?? {}))
        if (/^HX-[A-Za-z-]+$/.test(name)) reply.header(name, value);
      return sendHtml(reply, page.status, page.html, policy);
    } catch (err) {
      const e = err instanceof AppError ? err : null;
      this.runtime.log.error(
        { err, route, memberId: session.memberId },
        'settings could not render the page',
      );
      const refusal = new Refusal('page_unavailable');
      return sendHtml(
        reply,
        e?.status && e.status < 500 ? e.status : refusal.status,
        errorPage(refusal.status, refusal.texts),
        policy,
      );
    }
  }
}
