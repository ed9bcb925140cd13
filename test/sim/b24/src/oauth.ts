/**
 * The OAuth server's tokens. Access tokens live `accessTtlSec` (an hour by default, seconds in
 * tests); refresh tokens 180 days and are single-use: a refresh hands out a new pair and retires
 * the refresh token it used. An access token replaced by a refresh keeps working until it expires
 * (Bitrix does not revoke it; unconfirmed, so `revokeOnRefresh` switches that).
 *
 * Tokens of an app removed from the portal stop working the way Bitrix24's source and docs say:
 * the portal checks the app before the token's expiry (rest/lib/oauth/auth.php answers 401
 * APPLICATION_NOT_FOUND "Application not found" for an app that is not active), and the OAuth
 * server refuses to renew them with PAYMENT_REQUIRED, which its docs name for "the trial or paid
 * period has expired or the application was removed from Bitrix24"
 * (https://apidocs.bitrix24.com/settings/oauth/auto-renewal.html).
 */
import { randomBytes } from 'node:crypto';
import type { Token } from './model.js';

const REFRESH_TTL_MS = 180 * 24 * 3600 * 1000;

export type TokenError = 'expired_token' | 'invalid_token' | 'APPLICATION_NOT_FOUND';
export type TokenCheck = { ok: true; token: Token } | { ok: false; error: TokenError };

/** What the portal says for each refused token (401 in every case). */
export const TOKEN_ERROR_TEXT: Record<TokenError, string> = {
  expired_token: 'The access token provided has expired',
  invalid_token: 'The access token provided is invalid',
  APPLICATION_NOT_FOUND: 'Application not found',
};

export type RefreshResult =
  { ok: true; token: Token } | { ok: false; status: number; error: string; description: string };

export class TokenStore {
  private readonly byAccess = new Map<string, Token>();
  private readonly byRefresh = new Map<string, Token>();
  accessTtlSec: number;
  revokeOnRefresh = false;

  constructor(accessTtlSec: number) {
    this.accessTtlSec = accessTtlSec;
  }

  issue(memberId: string, clientId: string, userId: number, scope: string[], now = Date.now()): Token {
    const token: Token = {
      accessToken: randomBytes(16).toString('hex'),
      refreshToken: randomBytes(16).toString('hex'),
      memberId,
      clientId,
      userId,
      scope,
      accessExpiresAt: now + this.accessTtlSec * 1000,
      refreshExpiresAt: now + REFRESH_TTL_MS,
      refreshUsed: false,
      revoked: false,
      appRemoved: false,
    };
    this.byAccess.set(token.accessToken, token);
    this.byRefresh.set(token.refreshToken, token);
    return token;
  }

  check(accessToken: string, now = Date.now()): TokenCheck {
    const token = this.byAccess.get(accessToken);
    if (!token || token.revoked) return { ok: false, error: 'invalid_token' };
    if (token.appRemoved) return { ok: false, error: 'APPLICATION_NOT_FOUND' };
    if (token.accessExpiresAt <= now) return { ok: false, error: 'expired_token' };
    return { ok: true, token };
  }

  refresh(refreshToken: string, clientId: string, now = Date.now()): RefreshResult {
    const old = this.byRefresh.get(refreshToken);
    if (old?.appRemoved && old.clientId === clientId)
      return { ok: false, status: 400, error: 'PAYMENT_REQUIRED', description: 'Payment required' };
    if (!old || old.revoked || old.refreshUsed || old.refreshExpiresAt <= now || old.clientId !== clientId) {
      return { ok: false, status: 400, error: 'invalid_grant', description: 'Invalid refresh token' };
    }
    old.refreshUsed = true;
    if (this.revokeOnRefresh) old.revoked = true;
    return { ok: true, token: this.issue(old.memberId, old.clientId, old.userId, old.scope, now) };
  }

  /** Every access token of the portal expires now (a burst of expired_token for whoever is calling). */
  expireAll(memberId: string, now = Date.now()): number {
    let n = 0;
    for (const t of this.byAccess.values()) {
      if (t.memberId === memberId && !t.revoked && t.accessExpiresAt > now) {
        t.accessExpiresAt = now;
        n++;
      }
    }
    return n;
  }

  /**
   * Uninstall: the app's tokens on that portal stop working, access and refresh alike, and stay dead
   * after a reinstall (which hands out new ones).
   */
  removeApp(memberId: string, clientId: string): void {
    for (const t of this.byAccess.values())
      if (t.memberId === memberId && t.clientId === clientId) t.appRemoved = true;
  }
}
