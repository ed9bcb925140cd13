import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from './errors.js';
import { string } from './config.js';

/**
 * Tokens at rest are sealed with AES-256-GCM. The keyring holds several keys: the first seals,
 * every key opens what it sealed, so a key can be rotated without losing stored tokens (add the
 * new key first, re-seal, then drop the old one).
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

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentId)!, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      'v1',
      this.currentId,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      body.toString('base64url'),
    ].join('.');
  }

  open(sealed: string): string {
    const [version, id, iv, tag, body] = sealed.split('.');
    const key = id ? this.keys.get(id) : undefined;
    if (version !== 'v1' || !key || !iv || !tag || body === undefined) {
      throw new AppError('secret_unreadable', `sealed value uses an unknown key (${id ?? '?'}) or format`);
    }
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }

  /** True when the value was sealed with an older key and should be sealed again. */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.currentId;
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
