import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from './errors.js';
import { string } from './config.js';

/**
 * Where a sealed value lives: its table, its column and the row's owner (the portal, the account).
 * It is the AES-GCM associated data of the value, so a value copied into another column or another
 * owner's row does not open there: whoever can write the database still cannot hand one portal's
 * tokens to another.
 */
export interface SealContext {
  table: string;
  column: string;
  owner: string;
}

const associatedData = (ctx: SealContext) =>
  Buffer.from(['hhb24', ctx.table, ctx.column, ctx.owner].map(encodeURIComponent).join('|'), 'utf8');

/**
 * Tokens at rest are sealed with AES-256-GCM, bound to their place (SealContext). The keyring holds
 * several keys: the first seals, every key opens what it sealed, so a key can be rotated without
 * losing stored tokens (add the new key first, re-seal, then drop the old one).
 *
 * Format: `v2.<key id>.<iv>.<tag>.<ciphertext>` (base64url). `v1.` values were sealed before values
 * were bound to their place: they still open (anywhere: that is what v2 fixes), and whoever reads
 * one seals it again as v2 (`isLegacy`), as does the re-seal command.
 */
export class Keyring {
  private readonly keys: Map<string, Buffer>;
  private readonly currentId: string;

  constructor(spec: string) {
    this.keys = new Map();
    for (const part of spec
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [id, b64] = part.split(':');
      const key = Buffer.from(b64 ?? '', 'base64');
      if (!id || !/^[A-Za-z0-9_-]{1,16}$/.test(id) || key.length !== 32) {
        throw new Error('each key must be written id:base64 with a 32-byte key');
      }
      this.keys.set(id, key);
    }
    const first = this.keys.keys().next();
    if (first.done) throw new Error('at least one key is needed');
    this.currentId = first.value;
  }

  get keyId(): string {
    return this.currentId;
  }

  seal(plain: string, ctx: SealContext): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentId)!, iv);
    cipher.setAAD(associatedData(ctx));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      'v2',
      this.currentId,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      body.toString('base64url'),
    ].join('.');
  }

  /** Opens a value sealed for this place; a value sealed for another place (or tampered with) throws. */
  open(sealed: string, ctx: SealContext): string {
    const [version, id, iv, tag, body] = sealed.split('.');
    const key = id ? this.keys.get(id) : undefined;
    if ((version !== 'v1' && version !== 'v2') || !key || !iv || !tag || body === undefined) {
      throw new AppError('secret_unreadable', `sealed value uses an unknown key (${id ?? '?'}) or format`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      if (version === 'v2') decipher.setAAD(associatedData(ctx));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      // The names only: never the value, never the owner's data beyond its id.
      throw new AppError(
        'secret_unreadable',
        `the sealed value in ${ctx.table}.${ctx.column} of ${ctx.owner} does not open: sealed for another place, or altered`,
      );
    }
  }

  /** True when the value was sealed with an older key, or without its place: it should be sealed again. */
  isStale(sealed: string): boolean {
    return this.isLegacy(sealed) || sealed.split('.')[1] !== this.currentId;
  }

  /** Sealed before values were bound to their place (`v1`): opens anywhere until sealed again. */
  isLegacy(sealed: string): boolean {
    return sealed.startsWith('v1.');
  }
}

/** A fixed development key: convenient locally, refused with NODE_ENV=production. */
const DEV_KEYRING = `dev:${Buffer.alloc(32, 7).toString('base64')}`;

export const keyringField = {
  TOKEN_ENCRYPTION_KEYS: {
    ...string({
      default: DEV_KEYRING,
      productionRequired: true,
      secret: true,
      description:
        'Keys sealing stored tokens: comma-separated id:base64(32 bytes); the first seals, all open. Generate one with `openssl rand -base64 32`.',
    }),
    parse(raw: string): string {
      new Keyring(raw);
      return raw;
    },
  },
};
