import { createHmac, timingSafeEqual } from 'node:crypto';
import type { UiSession } from '@hhb24/common';

/**
 * The session of an open app page. Bitrix24 proves who is looking only on the page load (its POST
 * with AUTH_ID); the page's later requests carry this token instead: who (portal, user, rights,
 * language) and until when, signed with SESSION_SIGNING_KEY. It travels in a header or a form field,
 * never in a cookie (an iframe on the portal's site cannot count on third-party cookies) and never in
 * a URL, and it is also the CSRF token: another site can neither read it nor make a browser send it.
 */
export const SESSION_TTL_MS = 2 * 3600_000;

interface Payload extends UiSession {
  exp: number;
}

export class SessionSigner {
  constructor(private readonly key: string) {}

  sign(session: UiSession, now = Date.now()): string {
    const payload: Payload = { ...session, exp: now + SESSION_TTL_MS };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** The session, or null when the token is malformed, forged or expired. */
  verify(token: unknown, now = Date.now()): UiSession | null {
    if (typeof token !== 'string' || token.length > 2048) return null;
    const [body, mac] = token.split('.');
    if (!body || !mac) return null;
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let p: Payload;
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    } catch {
      return null;
    }
    if (typeof p.exp !== 'number' || p.exp < now) return null;
    const e = p.entity;
    const entity =
      e && (e.type === 'lead' || e.type === 'deal') && Number.isInteger(e.id)
        ? { entity: { type: e.type, id: e.id } }
        : {};
    return {
      memberId: p.memberId,
      userId: p.userId,
      isAdmin: p.isAdmin,
      crmAccess: p.crmAccess,
      lang: p.lang,
      ...entity,
      ...(typeof p.authRef === 'string' ? { authRef: p.authRef } : {}),
    };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
