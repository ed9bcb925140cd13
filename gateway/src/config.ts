import {
  type ConfigOf,
  type Field,
  baseSchema,
  bitrix24Schema,
  hhOAuthSchema,
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
