import { isIP } from 'node:net';
import {
  type ConfigOf,
  type Field,
  baseSchema,
  bitrix24Schema,
  hhOAuthSchema,
  integer,
  port,
  publicSchema,
  string,
  url,
} from '@hhb24/common';

/** A comma-separated list of host patterns: `example.com`, `*.example.com`, with an optional `:port`. */
function hostList(options: { default: string; description: string }): Field<string[]> {
  const pattern = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;
  return {
    kind: 'host list',
    description: options.description,
    default: options.default.split(','),
    parse(raw) {
      const hosts = raw
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean);
      if (hosts.length === 0) throw new Error('must name at least one host');
      const bad = hosts.filter((h) => !pattern.test(h));
      if (bad.length > 0)
        throw new Error(`has malformed hosts (${bad.join(', ')}); write host, *.domain or host:port`);
      return hosts;
    },
    format: (hosts) => hosts.join(','),
  };
}

/** A comma-separated list of IP addresses and CIDR ranges (`10.0.0.0/8`, `::1`); empty for none. */
function addressList(options: { default: string; description: string }): Field<string[]> {
  const valid = (a: string) => {
    const [ip, bits, extra] = a.split('/');
    const family = isIP(ip ?? '');
    if (family === 0 || extra !== undefined) return false;
    if (bits === undefined) return true;
    const n = Number(bits);
    return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
  };
  return {
    kind: 'address list',
    description: options.description,
    default: options.default ? options.default.split(',') : [],
    parse(raw) {
      const list = raw
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean);
      const bad = list.filter((a) => !valid(a));
      if (bad.length > 0)
        throw new Error(`has entries that are not an IP address or CIDR range (${bad.join(', ')})`);
      return list;
    },
    format: (list) => list.join(','),
  };
}

/** Requests per window a route group takes from one address or one portal (a whole number ≥ 1). */
function limit(value: number, description: string): Field<number> {
  return integer({ default: value, min: 1, max: 10_000_000, description });
}

/**
 * How much each client address and each portal may send to the public routes, shared by every
 * replica through Redis. The defaults are far above what real portals send (docs/security.md,
 * «Rate limits», has the measured peaks); a request above a limit is answered 429 with Retry-After.
 */
export const rateLimitSchema = {
  GATEWAY_TRUSTED_PROXIES: addressList({
    default: '',
    description:
      'Proxies in front of the gateway (the ingress controller, a TLS terminator) whose X-Forwarded-For is believed, as addresses or CIDR ranges; the rate limits then count the client address they forwarded. Empty: the connection’s address (every request through a proxy would share its limit).',
  }),
  GATEWAY_RATE_WINDOW_SEC: integer({
    default: 60,
    min: 1,
    max: 3600,
    description: 'The window the request limits below count in (seconds); Retry-After says when it ends.',
  }),
  GATEWAY_RATE_INSTALL_PER_ADDRESS: limit(
    10,
    'Installer posts (/b24/install) one address may send per window; each makes the gateway ask the Bitrix24 OAuth server.',
  ),
  GATEWAY_RATE_INSTALL_PER_PORTAL: limit(
    10,
    'Installer posts per window naming one portal (member_id), from any address.',
  ),
  GATEWAY_RATE_PAGES_PER_ADDRESS: limit(
    3000,
    'App pages, card tabs, their own requests (/ui/), the hh.ru login and static files one address may ask for per window (an office behind one address counts once).',
  ),
  GATEWAY_RATE_PAGES_PER_PORTAL: limit(
    3000,
    'The same, per portal (its pages’ signed sessions, its application_token), from any address.',
  ),
  GATEWAY_RATE_CALLBACKS_PER_ADDRESS: limit(
    120_000,
    'Bitrix24 events and robot calls and hh.ru webhooks one address may send per window (Bitrix24’s and hh.ru’s servers send for every portal: raise it with many busy portals).',
  ),
  GATEWAY_RATE_CALLBACKS_PER_PORTAL: limit(
    30_000,
    'Bitrix24 events and robot calls per window for one portal (its application_token checked), and hh.ru webhooks for one hh.ru account (their URL checked).',
  ),
};

export const schema = {
  ...baseSchema,
  GATEWAY_PORT: port({
    default: 3000,
    description: 'gateway: port of its HTTP server (the public ingress).',
  }),
  ...publicSchema,
  ...hhOAuthSchema,
  ...bitrix24Schema,
  B24_PORTAL_HOSTS: hostList({
    default: '*.bitrix24.ru,*.bitrix24.by,*.bitrix24.kz,*.bitrix24.com,*.bitrix24.eu,*.bitrix24.de',
    description:
      'Portal hosts the app may be installed from (host, *.domain, host:port; add a self-hosted portal’s host here). An install from any other host is refused, so no request can make the gateway call an address it chose.',
  }),
  B24_OAUTH_HOSTS: hostList({
    default: 'oauth.bitrix.info,oauth.bitrix24.tech',
    description:
      'Bitrix24 OAuth server hosts (SERVER_ENDPOINT) the gateway asks at install which portal a token belongs to.',
  }),
  B24_JS_URL: url({
    protocols: ['https', 'http'],
    default: 'https://api.bitrix24.com/api/v1/',
    description: 'Where app pages load BX24.js from (the frame library Bitrix24 serves).',
  }),
  ...rateLimitSchema,
  SESSION_SIGNING_KEY: string({
    default: 'development-session-signing-key-0123456789',
    productionRequired: true,
    secret: true,
    pattern: /^.{32,}$/,
    patternHint: 'at least 32 characters',
    description:
      'Signs the short-lived session of an open app page (its later requests and CSRF token). Generate one with `openssl rand -base64 32`.',
  }),
};

export type Config = ConfigOf<typeof schema>;
