import { randomBytes } from 'node:crypto';
import {
  type Bitrix24Client,
  Bitrix24Error,
  type Keyring,
  type Logger,
  type SealContext,
  type UiSession,
} from '@hhb24/common';
import type { Redis } from 'ioredis';

/**
 * How long the portal's answer to «is this user an admin?» is believed. A user the portal's admin
 * demotes loses the right to change the app within this time.
 */
export const ADMIN_ANSWER_TTL_SEC = 180;
/** The page load's token is kept no longer than the session that refers to it (and never past its own expiry). */
const MAX_KEEP_SEC = 2 * 3600;
const REF = /^[0-9a-f]{32}$/;
const TOKEN = /^[\x21-\x7e]{1,512}$/;
const ASK_WAIT_MS = 5_000;

const place = (memberId: string, userId: number, ref: string): SealContext => ({
  table: 'redis:b24:page-user',
  column: 'access_token',
  owner: `${memberId}/${userId}/${ref}`,
});

export type AdminAnswer = { isAdmin: boolean; check: 'fresh' } | { isAdmin: false; check: 'unconfirmed' };

/**
 * Whether the user looking at an app page is a portal admin, asked of the portal with the user's
 * own token (`user.admin`, https://apidocs.bitrix24.com/api-reference/common/users/user-admin.html),
 * never taken from the page or the session alone. The page load's token (AUTH_ID) is kept sealed
 * in Redis under a random reference the signed session carries (bound to the portal, the user and
 * the reference), for as long as the token lives; the portal's answer is kept
 * ADMIN_ANSWER_TTL_SEC. A change asks again once that answer is older; a token that has expired
 * (the page has been open over an hour) leaves the answer unconfirmed: the page must be reloaded.
 */
export class AdminRights {
  constructor(
    private readonly redisOf: () => Redis,
    private readonly prefix: string,
    private readonly keyring: Keyring,
    private readonly client: () => Bitrix24Client,
    private readonly log: Logger,
  ) {}

  /** The page load: remembers what the portal said and keeps the user's token; the reference for the session. */
  async remember(
    memberId: string,
    userId: number,
    isAdmin: boolean,
    authId: string,
    expiresInSec: number,
  ): Promise<string | undefined> {
    await this.redisOf().set(
      this.answerKey(memberId, userId),
      isAdmin ? '1' : '0',
      'EX',
      ADMIN_ANSWER_TTL_SEC,
    );
    if (!TOKEN.test(authId)) return undefined;
    const ttl = Math.min(MAX_KEEP_SEC, Number.isFinite(expiresInSec) ? Math.floor(expiresInSec) : 3600);
    if (ttl <= 0) return undefined;
    const ref = randomBytes(16).toString('hex');
    await this.redisOf().set(
      this.tokenKey(ref),
      this.keyring.seal(authId, place(memberId, userId, ref)),
      'EX',
      ttl,
    );
    return ref;
  }

  /** Whether the session's user is an admin now (at most ADMIN_ANSWER_TTL_SEC old). */
  async now(session: UiSession): Promise<AdminAnswer> {
    const { memberId, userId } = session;
    const known = await this.redisOf().get(this.answerKey(memberId, userId));
    if (known === '1' || known === '0') return { isAdmin: known === '1', check: 'fresh' };
    const token = await this.token(session);
    if (!token) return { isAdmin: false, check: 'unconfirmed' };
    try {
      const isAdmin =
        (await this.client().callAs<boolean>(
          memberId,
          token,
          'user.admin',
          {},
          { maxWaitMs: ASK_WAIT_MS },
        )) === true;
      await this.redisOf().set(
        this.answerKey(memberId, userId),
        isAdmin ? '1' : '0',
        'EX',
        ADMIN_ANSWER_TTL_SEC,
      );
      return { isAdmin, check: 'fresh' };
    } catch (err) {
      if (!(err instanceof Bitrix24Error)) throw err;
      this.log.info(
        { memberId, userId, b24: err.code },
        'admin rights not confirmed: the portal did not answer user.admin with the page load’s token',
      );
      return { isAdmin: false, check: 'unconfirmed' };
    }
  }

  private async token(session: UiSession): Promise<string | null> {
    const ref = session.authRef;
    if (!ref || !REF.test(ref)) return null;
    const sealed = await this.redisOf().get(this.tokenKey(ref));
    if (!sealed) return null;
    try {
      return this.keyring.open(sealed, place(session.memberId, session.userId, ref));
    } catch {
      return null;
    }
  }

  private answerKey(memberId: string, userId: number): string {
    return `${this.prefix}gw:user-admin:${memberId}:${userId}`;
  }

  private tokenKey(ref: string): string {
    return `${this.prefix}gw:page-user:${ref}`;
  }
}
