import {
  BodyTooLarge,
  type Bitrix24Client,
  type Logger,
  OAUTH_ANSWER_CAP_BYTES,
  type PortalRecord,
  Refusal,
  ValidationError,
  isRefusedRedirect,
  readCapped,
  textOf,
} from '@hhb24/common';
import { hostAllowed, portalAddress, tokenEndpoint } from './allowed-hosts.js';
import type { Config } from './config.js';
import type { B24InstallForm, B24PageQuery } from './schemas.js';

interface TokenAnswer {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  scope?: unknown;
  member_id?: unknown;
  client_endpoint?: unknown;
  error?: unknown;
}

/**
 * The installer page's POST, checked before anything is stored. The portal's address (PROTOCOL +
 * DOMAIN) and its OAuth server (SERVER_ENDPOINT) must be hosts the operator allowed; then the OAuth
 * server itself, not the request, says which portal the tokens belong to: the REFRESH_ID is
 * exchanged there and its answer must name the same member_id and the same portal address. Only an
 * administrator installs. The fresh tokens, the address and the application_token are stored.
 */
export class InstallVerifier {
  constructor(
    private readonly config: Config,
    private readonly client: () => Bitrix24Client,
    private readonly log: Logger,
  ) {}

  async verify(query: B24PageQuery, body: B24InstallForm): Promise<{ portal: PortalRecord; userId: number }> {
    const { member_id: memberId, REFRESH_ID: refreshId, APPLICATION_TOKEN: applicationToken } = body;
    const address = portalAddress(query.PROTOCOL ?? '', query.DOMAIN ?? '');
    if (!address || !hostAllowed(address.host, this.config.B24_PORTAL_HOSTS)) {
      this.log.warn(
        { memberId, domain: query.DOMAIN },
        'install refused: the portal host is not allowed (B24_PORTAL_HOSTS)',
      );
      throw new Refusal('b24_portal_not_allowed');
    }
    const serverEndpoint = body.SERVER_ENDPOINT ?? '';
    const tokenUrl = tokenEndpoint(serverEndpoint, this.config.B24_OAUTH_HOSTS);
    if (!tokenUrl) {
      this.log.warn(
        { memberId, serverEndpoint },
        'install refused: the OAuth server is not allowed (B24_OAUTH_HOSTS)',
      );
      throw new Refusal('b24_oauth_not_allowed');
    }
    const clientEndpoint = `${address.origin}${address.pathname}rest/`;
    const answer = await this.refresh(tokenUrl, refreshId, memberId);
    if (answer.member_id !== memberId || answer.client_endpoint !== clientEndpoint) {
      this.log.warn(
        { memberId, claimedEndpoint: clientEndpoint },
        'install refused: the OAuth server names another portal for these tokens',
      );
      throw new Refusal('b24_install_mismatch');
    }
    const accessToken = String(answer.access_token);
    const profile = await this.profile(clientEndpoint, accessToken);
    if (!profile.admin) throw new Refusal('b24_install_not_admin', { memberId });
    try {
      const portal = await this.client().store.upsertFromInstall({
        memberId,
        domain: `${address.host}${address.pathname}`.replace(/\/$/, '').toLowerCase(),
        clientEndpoint,
        serverEndpoint,
        accessToken,
        refreshToken: String(answer.refresh_token),
        expiresIn: Number(answer.expires_in) || 3600,
        applicationToken,
        scope: typeof answer.scope === 'string' ? answer.scope : (body.APPLICATION_SCOPE ?? ''),
        language: query.LANG === 'en' ? 'en' : 'ru',
        userId: profile.id,
      });
      return { portal, userId: profile.id };
    } catch (err) {
      if (err instanceof ValidationError)
        throw new Refusal('b24_install_malformed', { memberId, problem: err.message });
      throw err;
    }
  }

  private async refresh(tokenUrl: string, refreshToken: string, memberId: string): Promise<TokenAnswer> {
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: this.config.B24_CLIENT_ID,
      client_secret: this.config.B24_CLIENT_SECRET,
      refresh_token: refreshToken,
    });
    let res: Response;
    let answer: TokenAnswer;
    try {
      res = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(this.config.B24_TIMEOUT_MS),
      });
      answer = JSON.parse((await readCapped(res, OAUTH_ANSWER_CAP_BYTES)).toString('utf8')) as TokenAnswer;
    } catch (err) {
      const refused = refusedAnswer(err, `${OAUTH_ANSWER_CAP_BYTES} bytes`);
      if (refused) {
        this.log.warn({ memberId, problem: refused }, 'install refused: the Bitrix24 OAuth server’s answer');
        throw new Refusal('b24_oauth_answer_refused');
      }
      this.log.warn({ err, memberId }, 'install: the Bitrix24 OAuth server did not answer');
      throw new Refusal('b24_oauth_unavailable');
    }
    if (!res.ok || typeof answer.access_token !== 'string' || typeof answer.refresh_token !== 'string') {
      this.log.warn(
        { memberId, status: res.status, error: textOf(answer.error) },
        'install refused: the Bitrix24 OAuth server did not accept the refresh token',
      );
      throw new Refusal('b24_install_unconfirmed');
    }
    return answer;
  }

  /** `profile` at the portal address the OAuth server confirmed: who installs, and whether they are an admin. */
  private async profile(
    clientEndpoint: string,
    accessToken: string,
  ): Promise<{ id: number; admin: boolean }> {
    try {
      const res = await fetch(`${clientEndpoint}profile.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: accessToken }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.config.B24_TIMEOUT_MS),
      });
      const answer = JSON.parse(
        (await readCapped(res, this.config.B24_MAX_RESPONSE_BYTES)).toString('utf8'),
      ) as {
        result?: { ID?: unknown; ADMIN?: unknown };
      };
      const id = Number(answer.result?.ID);
      return {
        id: Number.isInteger(id) && id > 0 ? id : 0,
        admin: res.ok && answer.result?.ADMIN === true && id > 0,
      };
    } catch (err) {
      const refused = refusedAnswer(
        err,
        `B24_MAX_RESPONSE_BYTES (${this.config.B24_MAX_RESPONSE_BYTES} bytes)`,
      );
      if (refused) {
        this.log.warn({ problem: refused }, 'install refused: the portal’s answer to profile');
        throw new Refusal('b24_install_answer_refused');
      }
      throw new Refusal('b24_install_unavailable');
    }
  }
}

/** Why an answer was not read (too big, a redirect), or null for any other failure. */
function refusedAnswer(err: unknown, cap: string): string | null {
  if (err instanceof BodyTooLarge) return `the answer is larger than ${cap}: reading stopped there`;
  if (isRefusedRedirect(err))
    return 'the answer is a redirect, which is not followed (the call carries a secret)';
  return null;
}
