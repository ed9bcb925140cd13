import { HhOAuthError, apiError } from './errors.js';
import type { HhHttp } from './http.js';
import type { HhTokens } from './types.js';

export interface HhAppConfig {
  clientId: string;
  clientSecret: string;
  /** The callback registered with hh.ru (the gateway's /hh/oauth/callback). */
  redirectUri: string;
}

/**
 * hh.ru's OAuth for employers (docs/reference/hh-api.md#login-oauth-20): the authorize URL and the token
 * endpoint.
 */
export class HhOAuth {
  constructor(
    private readonly http: HhHttp,
    private readonly app: HhAppConfig,
  ) {}

  /** Where to send the person's browser; `state` comes back with the code (CSRF protection). */
  authorizeUrl(options: {
    state: string;
    redirectUri?: string;
    forceLogin?: boolean;
    skipChooseAccount?: boolean;
  }): string {
    const url = new URL('/oauth/authorize', this.http.config.oauthUrl);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.app.clientId);
    url.searchParams.set('state', options.state);
    url.searchParams.set('redirect_uri', options.redirectUri ?? this.app.redirectUri);
    if (options.forceLogin) url.searchParams.set('force_login', 'true');
    if (options.skipChooseAccount) url.searchParams.set('skip_choose_account', 'true');
    return url.toString();
  }

  /** `egress`: the local address the call leaves from (HhHttp's `egressAddresses`), when there are several. */
  exchangeCode(code: string, redirectUri = this.app.redirectUri, egress?: string): Promise<HhTokens> {
    return this.token(
      {
        grant_type: 'authorization_code',
        client_id: this.app.clientId,
        client_secret: this.app.clientSecret,
        code,
        redirect_uri: redirectUri,
      },
      egress,
    );
  }

  /**
   * Single use, and only after the access token expired (docs/reference/hh-api.md#login-oauth-20). Callers
   * hold the account's refresh lock.
   */
  refresh(refreshToken: string, egress?: string): Promise<HhTokens> {
    return this.token({ grant_type: 'refresh_token', refresh_token: refreshToken }, egress);
  }

  /** DELETE /oauth/token: the pair dies; a new login is needed afterwards. */
  async revoke(accessToken: string, egress?: string): Promise<void> {
    const res = await this.http.send('DELETE', this.http.url('/oauth/token'), { token: accessToken, egress });
    if (res.status !== 204 && res.status !== 200) throw apiError(res.status, res.body, res.headers);
  }

  private async token(form: Record<string, string>, egress?: string): Promise<HhTokens> {
    const res = await this.http.send('POST', this.http.url('/token'), { form, egress });
    const body = res.body as Partial<HhTokens> & { error?: string; error_description?: string };
    if (res.status === 200 && body?.access_token && body.refresh_token && typeof body.expires_in === 'number')
      return body as HhTokens;
    if (body && typeof body.error === 'string')
      throw new HhOAuthError(body.error, body.error_description ?? '', res.status);
    throw apiError(res.status >= 400 ? res.status : 502, res.body, res.headers);
  }
}
