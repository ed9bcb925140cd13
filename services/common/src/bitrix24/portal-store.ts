import { createHash, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { sealedOwner } from '../db/migrations.js';
import { recordPortalReinstall } from '../erasure.js';
import { ValidationError } from '../errors.js';
import { type PortalLang, portalLang } from '../portal-texts.js';
import type { Keyring, SealContext } from '../secrets.js';

/**
 * The portals that installed the app (table `b24_portals`, owned by common): where each portal
 * lives, as stored at install (never taken from a later request), its tokens sealed with the
 * keyring, and a hash of its application_token to check incoming calls against. `version`
 * makes token writes compare-and-swap: a refresh only lands on the row it read.
 */
export type PortalStatus = 'installed' | 'reinstall_required' | 'uninstalled';

export interface PortalRecord {
  memberId: string;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  version: number;
  scope: string[];
  language: string;
  status: PortalStatus;
  userId: number | null;
  /** The version of the app's registrations the portal has (APP_VERSION when up to date); null before the first complete install. */
  appVersion: number | null;
}

export interface InstallInput {
  memberId: string;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives (AUTH_EXPIRES / expires_in). */
  expiresIn: number;
  applicationToken: string;
  /** Comma- or space-separated, as Bitrix sends it. */
  scope?: string;
  language?: string;
  userId?: number;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  clientEndpoint?: string;
  serverEndpoint?: string;
  scope?: string[];
}

const TABLE = 'b24_portals';
const MEMBER_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const TOKEN = /^[\x21-\x7e]{1,512}$/;

type SealedColumn = 'access_token_sealed' | 'refresh_token_sealed';
/** Where a portal's token is sealed: bound to its column and its portal (common-migrations' `sealed`). */
const place = (memberId: string, column: SealedColumn): SealContext => ({
  table: TABLE,
  column,
  owner: sealedOwner([memberId]),
});

const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest();

function endpoint(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError(`${name} is not a URL`, { field: name });
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username ||
    url.password ||
    url.search ||
    url.hash ||
    !url.pathname.endsWith('/rest/')
  ) {
    throw new ValidationError(`${name} must be an http(s) URL ending in /rest/`, { field: name });
  }
  return url.toString();
}

interface Row {
  member_id: string;
  domain: string;
  client_endpoint: string;
  server_endpoint: string;
  access_token_sealed: string;
  refresh_token_sealed: string;
  expires_at: Date;
  version: string | number;
  scope: string;
  language: string;
  status: PortalStatus;
  user_id: number | null;
  app_version: number | null;
}

export class Bitrix24PortalStore {
  constructor(
    private readonly db: Knex,
    private readonly keyring: Keyring,
  ) {}

  /** Records an install (first or repeated): tokens, address and application_token replace what was there. */
  async upsertFromInstall(input: InstallInput): Promise<PortalRecord> {
    if (!MEMBER_ID.test(input.memberId))
      throw new ValidationError('member_id is malformed', { field: 'member_id' });
    for (const [name, value] of [
      ['access_token', input.accessToken],
      ['refresh_token', input.refreshToken],
      ['application_token', input.applicationToken],
    ] as const) {
      if (!TOKEN.test(value)) throw new ValidationError(`${name} is missing or malformed`, { field: name });
    }
    if (!Number.isFinite(input.expiresIn) || input.expiresIn <= 0)
      throw new ValidationError('expires_in must be a positive number of seconds', { field: 'expires_in' });
    const row = {
      member_id: input.memberId,
      domain: input.domain.slice(0, 255),
      client_endpoint: endpoint('client_endpoint', input.clientEndpoint),
      server_endpoint: endpoint('server_endpoint', input.serverEndpoint),
      access_token_sealed: this.keyring.seal(input.accessToken, place(input.memberId, 'access_token_sealed')),
      refresh_token_sealed: this.keyring.seal(
        input.refreshToken,
        place(input.memberId, 'refresh_token_sealed'),
      ),
      expires_at: new Date(Date.now() + input.expiresIn * 1000),
      application_token_hash: hash(input.applicationToken).toString('hex'),
      scope: (input.scope ?? '')
        .split(/[\s,]+/)
        .filter(Boolean)
        .join(','),
      language: (input.language ?? 'ru').slice(0, 8),
      status: 'installed' as PortalStatus,
      user_id: input.userId ?? null,
      // A (re)install registers everything again («Готово»), which records the version.
      app_version: null,
      updated_at: this.db.fn.now(),
    };
    const saved = await this.db.transaction(async (trx) => {
      const [r] = (await trx(TABLE)
        .insert({ ...row, version: 1, installed_at: trx.fn.now() })
        .onConflict('member_id')
        .merge({ ...row, version: trx.raw('?? + 1', [`${TABLE}.version`]) })
        .returning('*')) as Row[];
      // Installed again after a removal: what was published before now stays skipped if the old
      // data was erased, and data kept for this reinstall is no longer due for erasure.
      await recordPortalReinstall(trx, input.memberId);
      return r;
    });
    return this.toRecord(saved!);
  }

  async get(memberId: string): Promise<PortalRecord | null> {
    const row = (await this.db(TABLE).where({ member_id: memberId }).first()) as Row | undefined;
    if (!row) return null;
    const record = this.toRecord(row);
    if (this.keyring.isLegacy(row.access_token_sealed) || this.keyring.isLegacy(row.refresh_token_sealed))
      await this.bindLegacy(row, record);
    return record;
  }

  /**
   * Tokens sealed before values were bound to their place opened once (above) and are sealed again,
   * bound to this portal; only if the row still holds what was read (a refresh may have won).
   */
  private async bindLegacy(row: Row, record: PortalRecord): Promise<void> {
    await this.db(TABLE)
      .where({
        member_id: row.member_id,
        access_token_sealed: row.access_token_sealed,
        refresh_token_sealed: row.refresh_token_sealed,
      })
      .update({
        access_token_sealed: this.keyring.seal(
          record.accessToken,
          place(row.member_id, 'access_token_sealed'),
        ),
        refresh_token_sealed: this.keyring.seal(
          record.refreshToken,
          place(row.member_id, 'refresh_token_sealed'),
        ),
      });
  }

  /** Compares the application_token of an incoming call with the stored one, in constant time. */
  async verifyApplicationToken(memberId: string, token: string): Promise<boolean> {
    if (!MEMBER_ID.test(memberId) || typeof token !== 'string' || token === '') return false;
    const row = await this.db(TABLE)
      .where({ member_id: memberId })
      .whereNot({ status: 'uninstalled' })
      .first<{ application_token_hash: string } | undefined>('application_token_hash');
    const given = hash(token);
    // Without a row, compare against a dummy so that "unknown portal" takes as long as "wrong token".
    const stored = row ? Buffer.from(row.application_token_hash, 'hex') : Buffer.alloc(given.length);
    return timingSafeEqual(stored, given) && row !== undefined;
  }

  /** Stores refreshed tokens only if nobody changed the row since `expectedVersion` was read. */
  async swapTokens(
    memberId: string,
    expectedVersion: number,
    tokens: TokenPair,
  ): Promise<PortalRecord | null> {
    const patch: Record<string, unknown> = {
      access_token_sealed: this.keyring.seal(tokens.accessToken, place(memberId, 'access_token_sealed')),
      refresh_token_sealed: this.keyring.seal(tokens.refreshToken, place(memberId, 'refresh_token_sealed')),
      expires_at: tokens.expiresAt,
      version: expectedVersion + 1,
      updated_at: this.db.fn.now(),
    };
    if (tokens.scope) patch['scope'] = tokens.scope.join(',');
    const [row] = (await this.db(TABLE)
      .where({ member_id: memberId, version: expectedVersion })
      .update(patch)
      .returning('*')) as Row[];
    return row ? this.toRecord(row) : null;
  }

  /** Every registration of this version is on the portal. */
  async setAppVersion(memberId: string, appVersion: number): Promise<void> {
    await this.db(TABLE)
      .where({ member_id: memberId })
      .update({ app_version: appVersion, updated_at: this.db.fn.now() });
  }

  /**
   * Installed portals whose registrations are older than `appVersion`. A portal without a version
   * has not finished its install («Готово» records the version once every step is done): the
   * installer, not an update, registers what it lacks, and an update meanwhile would race it.
   */
  async behind(appVersion: number): Promise<string[]> {
    return (await this.db(TABLE)
      .where({ status: 'installed' })
      .where('app_version', '<', appVersion)
      .orderBy('member_id')
      .pluck('member_id')) as string[];
  }

  /**
   * The portal's language for what the app writes into it: as the portal last named it (Russian
   * when it is unknown or neither Russian nor English).
   */
  async language(memberId: string): Promise<PortalLang> {
    const row = await this.db(TABLE)
      .where({ member_id: memberId })
      .first<{ language: string } | undefined>('language');
    return portalLang(row?.language);
  }

  /**
   * Records the language a call from the portal names (`LANG` of a page, `LANGUAGE_ID` of an
   * event), so that later writes follow a portal that changed its language. Writes only a change.
   */
  async noteLanguage(memberId: string, raw: unknown): Promise<void> {
    if (raw !== 'ru' && raw !== 'en') return;
    await this.db(TABLE)
      .where({ member_id: memberId })
      .whereNot({ language: raw })
      .update({ language: raw, updated_at: this.db.fn.now() });
  }

  async setStatus(memberId: string, status: PortalStatus): Promise<void> {
    await this.db(TABLE).where({ member_id: memberId }).update({ status, updated_at: this.db.fn.now() });
  }

  private toRecord(row: Row): PortalRecord {
    return {
      memberId: row.member_id,
      domain: row.domain,
      clientEndpoint: row.client_endpoint,
      serverEndpoint: row.server_endpoint,
      accessToken: this.keyring.open(row.access_token_sealed, place(row.member_id, 'access_token_sealed')),
      refreshToken: this.keyring.open(row.refresh_token_sealed, place(row.member_id, 'refresh_token_sealed')),
      expiresAt: new Date(row.expires_at),
      version: Number(row.version),
      scope: row.scope ? row.scope.split(',') : [],
      language: row.language,
      status: row.status,
      userId: row.user_id,
      appVersion: row.app_version ?? null,
    };
  }
}
