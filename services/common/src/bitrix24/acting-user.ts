import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keyring, SealContext } from '../secrets.js';

/** At most this long: the service that acts on the event picks the token up within seconds. */
const MAX_KEEP_SEC = 15 * 60;
const REF = /^[0-9a-f]{32}$/;
const TOKEN = /^[\x21-\x7e]{1,512}$/;

/** What the sealed value is bound to (its associated data): the portal and the reference. */
const place = (memberId: string, ref: string): SealContext => ({
  table: 'redis:b24:actor',
  column: 'access_token',
  owner: `${memberId}/${ref}`,
});

/**
 * The access token an event carried for the user who acted (a click on a timeline button), handed
 * from the gateway to the service that acts in that user's name without putting the token on a
 * stream: sealed with the keyring (bound to the portal and the reference) in Redis under a random
 * reference, for at most 15 minutes and
 * never past the token's own expiry. The message carries only the reference. A reference taken
 * for another portal, an expired one or one Redis lost gives no token: the user is then unknown.
 */
export class ActingUserTokens {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly keyring: Keyring,
  ) {}

  /** Keeps the token; null when there is nothing to keep (no token, a malformed one, or already expired). */
  async keep(memberId: string, accessToken: string, expiresInSec: number): Promise<string | null> {
    if (!TOKEN.test(accessToken)) return null;
    const ttl = Math.min(MAX_KEEP_SEC, Number.isFinite(expiresInSec) ? Math.floor(expiresInSec) : 0);
    if (ttl <= 0) return null;
    const ref = randomBytes(16).toString('hex');
    await this.redis.set(this.key(ref), this.keyring.seal(accessToken, place(memberId, ref)), 'EX', ttl);
    return ref;
  }

  /** The token kept under `ref` for this portal, or null. It stays for redeliveries until it expires. */
  async take(memberId: string, ref: string | null | undefined): Promise<string | null> {
    if (!ref || !REF.test(ref)) return null;
    const sealed = await this.redis.get(this.key(ref));
    if (!sealed) return null;
    try {
      // Bound to the portal and the reference: asked for by another portal, it does not open.
      return this.keyring.open(sealed, place(memberId, ref));
    } catch {
      return null;
    }
  }

  private key(ref: string): string {
    return `${this.prefix}b24:actor:${ref}`;
  }
}
