import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The address hh.ru POSTs one account's webhooks to: `PUBLIC_URL/hh/webhook/{accountId}.{mac}`,
 * where `mac` is HMAC-SHA256 of the account id under WEBHOOK_SECRET_KEY (base64url). hh.ru signs
 * nothing, so the unguessable path is what tells a real callback from a forged one; the gateway
 * checks it without reading the database, hh-connector builds it when it subscribes.
 */
export const HH_WEBHOOK_PATH = '/hh/webhook/';

const ACCOUNT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function mac(accountId: string, key: string): Buffer {
  return createHmac('sha256', key).update(accountId, 'utf8').digest();
}

export function hhWebhookUrl(publicUrl: string, accountId: string, key: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${HH_WEBHOOK_PATH}${accountId}.${mac(accountId, key).toString('base64url')}`;
}

/** The account id a webhook path segment (`{accountId}.{mac}`) belongs to, or null when it is not one we issued. */
export function verifyHhWebhookToken(token: string, key: string): string | null {
  const dot = token.lastIndexOf('.');
  if (dot < 0) return null;
  const accountId = token.slice(0, dot);
  if (!ACCOUNT_ID.test(accountId)) return null;
  // Compared as text: base64url decoding would accept other spellings of the same bytes.
  const given = Buffer.from(token.slice(dot + 1), 'utf8');
  const expected = Buffer.from(mac(accountId, key).toString('base64url'), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected) ? accountId : null;
}
