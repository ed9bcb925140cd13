import { randomBytes } from 'node:crypto';
import type { Clock } from './time.js';
import type { SimApp, SimSettings } from './settings.js';
import type { Store } from './store.js';

/** A token-endpoint refusal: HTTP 400 (403 for `forbidden`) with hh.ru's `error` / `error_description`. */
export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(`${error}: ${description}`);
  }
}

interface AuthCode {
  code: string;
  clientId: string;
  userId: string;
  /** The redirect_uri given at the authorize step, if any: the exchange must then repeat it exactly. */
  redirectUri: string | null;
  expiresAt: number;
  used: boolean;
  revoked: boolean;
}

export type TokenStatus = 'active' | 'refreshed' | 'revoked' | 'deactivated';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  userId: string;
  clientId: string;
  accessExpiresAt: number;
  status: TokenStatus;
}

interface AppToken {
  accessToken: string;
  clientId: string;
  issuedAt: number;
}

export type Caller =
  | { kind: 'user'; userId: string; clientId: string; pair: TokenPair }
  | { kind: 'application'; clientId: string };

/** Why an API call's token is refused: the `value` of hh.ru's 403 `oauth` error. */
export type TokenProblem = 'bad_authorization' | 'token_expired' | 'token_revoked';

const token = (): string => randomBytes(32).toString('base64url').replace(/[-_]/g, 'X').slice(0, 64);

/**
 * hh.ru's OAuth: authorization codes, single-use refresh after expiry, revocation
 * (docs/reference/hh-api.md#login-oauth-20).
 */
export class Auth {
  private readonly codes = new Map<string, AuthCode>();
  private readonly byAccess = new Map<string, TokenPair>();
  private readonly byRefresh = new Map<string, TokenPair>();
  private readonly appTokens = new Map<string, AppToken>();
  private readonly appTokenIssued = new Map<string, AppToken>();
  /** Users who granted an app access before: with skip_choose_account they are redirected at once. */
  readonly granted = new Set<string>();

  constructor(
    private readonly clock: Clock,
    private readonly store: Store,
    private readonly settings: () => SimSettings,
  ) {}

  clear(): void {
    this.codes.clear();
    this.byAccess.clear();
    this.byRefresh.clear();
    this.appTokens.clear();
    this.appTokenIssued.clear();
    this.granted.clear();
  }

  app(clientId: string | undefined): SimApp | undefined {
    return this.settings().apps.find((a) => a.clientId === clientId);
  }

  /**
   * docs/reference/hh-api.md#login-oauth-20: same scheme; same host or a subdomain; same path or deeper; no
   * new port; extra query allowed.
   */
  redirectAllowed(app: SimApp, given: string): boolean {
    if (app.redirectRule === 'any') return true;
    let saved: URL;
    let url: URL;
    try {
      saved = new URL(app.redirectUri);
      url = new URL(given);
    } catch {
      return false;
    }
    if (url.protocol !== saved.protocol) return false;
    if (url.hostname !== saved.hostname && !url.hostname.endsWith(`.${saved.hostname}`)) return false;
    if (url.port !== saved.port) return false;
    const base = saved.pathname.replace(/\/$/, '');
    return url.pathname === saved.pathname || url.pathname === base || url.pathname.startsWith(`${base}/`);
  }

  issueCode(clientId: string, userId: string, redirectUri: string | null): string {
    const code = token().slice(0, 32);
    this.codes.set(code, {
      code,
      clientId,
      userId,
      redirectUri,
      expiresAt: this.clock.now() + this.settings().authCodeTtlSec * 1000,
      used: false,
      revoked: false,
    });
    this.granted.add(`${userId}:${clientId}`);
    return code;
  }

  exchangeCode(form: Record<string, string | undefined>): TokenPair {
    const app = this.checkClient(form);
    const code = form['code'] ? this.codes.get(form['code']) : undefined;
    if (!form['code'] || !code || code.clientId !== app.clientId)
      throw new OAuthError('invalid_request', 'code not found');
    if (code.revoked) throw new OAuthError('invalid_grant', 'code was revoke');
    if (code.used) throw new OAuthError('invalid_grant', 'code has already been used');
    if (code.expiresAt <= this.clock.now()) throw new OAuthError('invalid_grant', 'code expired');
    // AUTHU: a redirect_uri refined at the authorize step must be repeated exactly.
    if (code.redirectUri !== null && form['redirect_uri'] !== code.redirectUri)
      throw new OAuthError('invalid_request', 'bad redirect url');
    if (code.redirectUri === null && form['redirect_uri'] && !this.redirectAllowed(app, form['redirect_uri']))
      throw new OAuthError('invalid_request', 'bad redirect url');
    code.used = true;
    return this.issuePair(code.userId, app.clientId, 'authorization_code');
  }

  refresh(form: Record<string, string | undefined>): TokenPair {
    const refreshToken = form['refresh_token'];
    if (!refreshToken) throw new OAuthError('invalid_request', 'token is empty');
    const pair = this.byRefresh.get(refreshToken);
    if (!pair) throw new OAuthError('invalid_request', 'token not found');
    if (pair.status === 'refreshed')
      throw new OAuthError('invalid_grant', 'token has already been refreshed');
    if (pair.status === 'deactivated') throw new OAuthError('invalid_grant', 'token deactivated');
    if (pair.status === 'revoked') throw new OAuthError('invalid_grant', 'token was revoked');
    if (pair.accessExpiresAt > this.clock.now()) throw new OAuthError('invalid_grant', 'token not expired');
    pair.status = 'refreshed';
    return this.issuePair(pair.userId, pair.clientId, 'refresh_token');
  }

  applicationToken(form: Record<string, string | undefined>): AppToken {
    const app = this.checkClient(form);
    const last = this.appTokenIssued.get(app.clientId);
    const now = this.clock.now();
    if (last && now - last.issuedAt < this.settings().appTokenIntervalSec * 1000)
      throw new OAuthError('forbidden', 'app token refresh too early', 403);
    if (last) this.appTokens.delete(last.accessToken);
    const issued = { accessToken: token(), clientId: app.clientId, issuedAt: now };
    this.appTokens.set(issued.accessToken, issued);
    this.appTokenIssued.set(app.clientId, issued);
    this.store.emit({
      type: 'token.issued',
      userId: null,
      clientId: app.clientId,
      grant: 'client_credentials',
    });
    return issued;
  }

  /** Who is calling with this bearer token, or why the token is refused. */
  authenticate(accessToken: string | undefined): Caller | TokenProblem {
    if (!accessToken) return 'bad_authorization';
    const app = this.appTokens.get(accessToken);
    if (app) return { kind: 'application', clientId: app.clientId };
    const pair = this.byAccess.get(accessToken);
    if (!pair) return 'bad_authorization';
    if (pair.status === 'revoked' || pair.status === 'deactivated') return 'token_revoked';
    // After a refresh the old access token is dead too; it had expired already (refresh only after expiry).
    if (pair.status === 'refreshed' || pair.accessExpiresAt <= this.clock.now()) return 'token_expired';
    return { kind: 'user', userId: pair.userId, clientId: pair.clientId, pair };
  }

  /** DELETE /oauth/token: the pair is dead, its refresh token too; the user's webhook subscriptions stay (only revoking app access removes them). */
  revoke(pair: TokenPair): void {
    pair.status = 'revoked';
    this.store.emit({ type: 'token.revoked', userId: pair.userId, clientId: pair.clientId });
  }

  /** A password change deactivates every token of the user and every code not yet exchanged. */
  changePassword(userId: string): number {
    let revoked = 0;
    for (const pair of this.byAccess.values()) {
      if (pair.userId === userId && pair.status === 'active') {
        pair.status = 'deactivated';
        revoked++;
      }
    }
    for (const code of this.codes.values()) if (code.userId === userId) code.revoked = true;
    this.granted.forEach((g) => g.startsWith(`${userId}:`) && this.granted.delete(g));
    this.store.emit({ type: 'password.changed', userId, revokedTokens: revoked });
    return revoked;
  }

  /** Tokens straight from the control API (the benchmark and the demo skip the browser). */
  issuePair(userId: string, clientId: string, grant: string): TokenPair {
    const pair: TokenPair = {
      accessToken: token(),
      refreshToken: token(),
      userId,
      clientId,
      accessExpiresAt: this.clock.now() + this.settings().accessTokenTtlSec * 1000,
      status: 'active',
    };
    this.byAccess.set(pair.accessToken, pair);
    this.byRefresh.set(pair.refreshToken, pair);
    this.store.emit({ type: 'token.issued', userId, clientId, grant });
    return pair;
  }

  tokensOf(userId: string): TokenPair[] {
    return [...this.byAccess.values()].filter((p) => p.userId === userId);
  }

  private checkClient(form: Record<string, string | undefined>): SimApp {
    const app = this.app(form['client_id']);
    if (!app || app.clientSecret !== form['client_secret'])
      throw new OAuthError('invalid_client', 'client_id or client_secret not found');
    return app;
  }
}
