import {
  type Bitrix24Client,
  Bitrix24Error,
  type EntityType,
  type Logger,
  type PortalRecord,
  Refusal,
  type UiSession,
  compileSchema,
} from '@hhb24/common';
import { portalAddress } from './allowed-hosts.js';
import { type B24CallAuth, type B24PageForm, type B24PageQuery, PlacementOptions } from './schemas.js';

const placementOptions = compileSchema(PlacementOptions, 'PLACEMENT_OPTIONS');

/** How long a page load may wait for the portal's shared rate budget before it says "try again". */
const PAGE_WAIT_MS = 10_000;

export interface PageLoad {
  portal: PortalRecord;
  session: UiSession;
  placement: string;
  placementOptions: Record<string, string>;
  /** Whether this user may read that lead or deal, as the portal says with the user's own token. */
  mayRead(type: EntityType, id: number): Promise<boolean>;
  /** The user's own token (AUTH_ID) and its lifetime in seconds (AUTH_EXPIRES), kept to ask about the user's rights again. */
  auth: { token: string; expiresIn: number };
}

/** The portal's origin as recorded at install: the only site allowed to frame our pages. */
export function portalOrigin(portal: PortalRecord): string {
  return new URL(portal.clientEndpoint).origin;
}

/**
 * Authentication of what Bitrix24 sends us. Pages and placements: APPLICATION_TOKEN against the
 * one stored at install for that member_id, then AUTH_ID against the portal itself (at the address
 * recorded at install) which also says who the user is. Events and robots: application_token,
 * which only says which portal a call claims to come from (every user's browser sees it): what a
 * call asks for is confirmed with Bitrix24 before anything changes (docs/security.md, «Calls from
 * Bitrix24»). Anything else is refused before anything changes.
 */
export class PortalAuth {
  constructor(
    private readonly client: () => Bitrix24Client,
    private readonly log: Logger,
  ) {}

  async page(query: B24PageQuery, body: B24PageForm): Promise<PageLoad> {
    const memberId = body.member_id ?? '';
    const authId = body.AUTH_ID ?? '';
    const portal = await this.application(memberId, body.APPLICATION_TOKEN ?? '');
    if (!authId) throw new Refusal('b24_auth_missing', { memberId });
    // The portal names itself in DOMAIN; one that names another host is not the portal we know.
    const claimed = query.DOMAIN ? portalAddress(query.PROTOCOL ?? '', query.DOMAIN) : null;
    if (
      query.DOMAIN &&
      (!claimed ||
        `${claimed.host}${claimed.pathname}`.replace(/\/$/, '') !==
          portal.domain.toLowerCase().replace(/\/$/, ''))
    ) {
      throw new Refusal('b24_domain_mismatch', { memberId, domain: query.DOMAIN });
    }
    const profile = await this.asUser<{ ID: string }>(memberId, authId, 'profile');
    const userId = Number(profile.ID);
    if (!Number.isInteger(userId) || userId <= 0) throw new Refusal('b24_auth_failed', { memberId });
    // Whether the user may manage apps on the portal: the portal's own answer for this token
    // (https://apidocs.bitrix24.com/api-reference/common/users/user-admin.html).
    const isAdmin = (await this.asUser<unknown>(memberId, authId, 'user.admin')) === true;
    const crmAccess = isAdmin || (await this.canReadCrm(memberId, authId));
    const lang =
      query.LANG === 'en' || query.LANG === 'ru' ? query.LANG : portal.language === 'en' ? 'en' : 'ru';
    // The portal names its language on every page it opens (BX24.getLang's value): a portal that
    // changed it gets what the app writes from now on in the new one (portal-texts.ts).
    if (query.LANG && query.LANG !== portal.language)
      await this.client().store.noteLanguage(memberId, query.LANG);
    const mayRead = (type: EntityType, id: number) =>
      this.mayRead(memberId, authId, `crm.${type}.get`, { id });
    return {
      portal,
      session: { memberId, userId, isAdmin, crmAccess, lang },
      placement: body.PLACEMENT || 'DEFAULT',
      placementOptions: placementOptionsOf(body.PLACEMENT_OPTIONS, memberId),
      mayRead,
      auth: { token: authId, expiresIn: Number(body.AUTH_EXPIRES) || 3600 },
    };
  }

  /** An event or robot call: its `auth[application_token]` against the stored one for `auth[member_id]`. */
  async event(auth: B24CallAuth | undefined): Promise<PortalRecord> {
    return this.application(auth?.member_id ?? '', auth?.application_token ?? '');
  }

  /** Whether the user may read the CRM: the portal answers a one-row lead list, or refuses it. */
  private canReadCrm(memberId: string, authId: string): Promise<boolean> {
    return this.mayRead(memberId, authId, 'crm.lead.list', { select: ['ID'], start: -1 });
  }

  /** A read as the user: answered, or refused for want of rights (a lead or deal that is gone reads as refused too). */
  private async mayRead(
    memberId: string,
    authId: string,
    method: string,
    params: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.asUser(memberId, authId, method, params);
      return true;
    } catch (err) {
      if (err instanceof Refusal && err.code === 'b24_access_denied') return false;
      if (
        err instanceof Refusal &&
        err.code === 'b24_auth_failed' &&
        err.details?.['b24'] === 'b24_not_found'
      )
        return false;
      throw err;
    }
  }

  private async application(memberId: string, applicationToken: string): Promise<PortalRecord> {
    const store = this.client().store;
    if (!(await store.verifyApplicationToken(memberId, applicationToken))) {
      this.log.warn(
        { memberId: memberId.slice(0, 64) },
        'bitrix24 request refused: application_token does not match the one stored for member_id',
      );
      throw new Refusal('b24_application_token');
    }
    const portal = await store.get(memberId);
    if (!portal) throw new Refusal('b24_application_token');
    return portal;
  }

  private async asUser<T>(
    memberId: string,
    authId: string,
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<T> {
    try {
      return await this.client().callAs<T>(memberId, authId, method, params, { maxWaitMs: PAGE_WAIT_MS });
    } catch (err) {
      if (!(err instanceof Bitrix24Error)) throw err;
      if (err.code === 'b24_access_denied') throw new Refusal('b24_access_denied', { memberId, method });
      if (err.retryable) throw new Refusal('b24_portal_busy', { memberId, method, b24: err.code });
      // An unknown, expired or foreign AUTH_ID, or a portal that no longer knows the app.
      throw new Refusal('b24_auth_failed', { memberId, method, b24: err.code });
    }
  }
}

/** PLACEMENT_OPTIONS (a JSON object, PlacementOptions) as text fields; one that is not is refused. */
function placementOptionsOf(json: string | undefined, memberId: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json || '{}');
  } catch {
    parsed = json;
  }
  if (!placementOptions.check(parsed))
    throw new Refusal('invalid_request', { memberId, problem: placementOptions.explain(parsed) });
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}
