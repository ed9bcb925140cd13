import { type ConfigOf, integer, string } from '../config.js';

/**
 * What a service that calls Bitrix24 reads: the app's credentials (the dev defaults are the
 * simulator's default app) and the portal's rate limit, shared by every replica through Redis.
 */
export const bitrix24Schema = {
  B24_CLIENT_ID: string({
    default: 'hh-b24-dev',
    productionRequired: true,
    description: 'Bitrix24 app client_id (the development default is the simulator’s default app).',
  }),
  B24_CLIENT_SECRET: string({
    default: 'hh-b24-dev-secret',
    productionRequired: true,
    secret: true,
    description: 'Bitrix24 app client_secret, used to refresh portal tokens.',
  }),
  B24_RATE_PER_SEC: integer({
    default: 2,
    min: 1,
    max: 100,
    description:
      'Requests per second a portal allows (its leaky bucket drains this fast; Enterprise plans: 5).',
  }),
  B24_BURST: integer({
    default: 50,
    min: 1,
    max: 1000,
    description: 'Requests a portal accepts at once after a quiet period (Enterprise plans: 250).',
  }),
  B24_BURST_HEADROOM: integer({
    default: 5,
    min: 0,
    max: 100,
    description:
      'Part of the burst never used, so that network delays between our clock and the portal’s never overflow its bucket.',
  }),
  B24_MAX_RESPONSE_BYTES: integer({
    default: 5_000_000,
    min: 100_000,
    max: 100_000_000,
    description:
      'Largest answer read from a portal; a bigger one is cut there and the work that asked fails naming this setting.',
  }),
  B24_TIMEOUT_MS: integer({
    default: 30_000,
    min: 1000,
    max: 120_000,
    description: 'Longest wait for one Bitrix24 answer (the cloud stops a request at 60 s).',
  }),
};

export type Bitrix24Config = ConfigOf<typeof bitrix24Schema>;
