import { string, url } from './config.js';

/** Where the outside world reaches us: read by the gateway (its routes) and by whoever hands out our URLs. */
export const publicSchema = {
  PUBLIC_URL: url({
    protocols: ['https', 'http'],
    default: 'http://127.0.0.1:3000',
    description:
      'The gateway’s public base URL, as Bitrix24 and hh.ru reach it (handlers registered at install, webhook URLs).',
  }),
  WEBHOOK_SECRET_KEY: string({
    default: 'development-webhook-key-0123456789abcdef',
    productionRequired: true,
    secret: true,
    // An HMAC key shorter than this is guessable offline from one webhook URL an attacker sees.
    pattern: /^.{32,}$/,
    patternHint: 'at least 32 characters',
    description:
      'Key that makes each hh.ru account’s webhook URL unguessable (HMAC of the account id); the gateway checks it without a lookup. Generate one with `openssl rand -base64 32`.',
  }),
};

/** What the login with hh.ru needs on both sides: the gateway sends people there, hh-connector exchanges the code. */
export const hhOAuthSchema = {
  HH_OAUTH_URL: url({
    protocols: ['https', 'http'],
    default: 'https://hh.ru',
    description: 'hh.ru site base URL: where people log in (/oauth/authorize).',
  }),
  HH_CLIENT_ID: string({
    default: 'hh-b24-dev',
    productionRequired: true,
    description: 'Client ID of the app registered at dev.hh.ru (the default is the simulator’s app).',
  }),
  HH_REDIRECT_URI: url({
    protocols: ['https', 'http'],
    default: 'http://127.0.0.1:3000/hh/oauth/callback',
    description:
      'The OAuth callback saved in the app settings at dev.hh.ru (the gateway’s /hh/oauth/callback).',
  }),
};
