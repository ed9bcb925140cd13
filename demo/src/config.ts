/**
 * The demo's own settings (everything else is the services' configuration, filled in by the demo).
 * Validated once at start like every service's; a bad value stops the start with exit code 78.
 */
import { baseSchema, boolean, integer, port, string, url } from '@hhb24/common';

export const demoSchema = {
  DEMO_HOST: string({
    default: '127.0.0.1',
    description:
      'Address the simulators and services listen on, and the host of every address the demo prints and the simulators announce.',
  }),
  // Not 0: the simulators are told the gateway's address before it listens.
  GATEWAY_PORT: integer({
    default: 3000,
    min: 1,
    max: 65535,
    description:
      'Port of the gateway (the app the portal opens, hh.ru’s login callback and webhooks); a fixed one.',
  }),
  HH_SIM_PORT: port({
    default: 3101,
    description:
      'Port of the simulated hh.ru (its login page, API and «Симулировать отклик»); 0 picks a free one.',
  }),
  B24_SIM_PORT: port({
    default: 3102,
    description: 'Port of the simulated Bitrix24 (the address the demo prints); 0 picks a free one.',
  }),
  DEMO_NAMESPACE: string({
    default: 'hhb24demo',
    pattern: /^(?=[a-z0-9]*demo)[a-z][a-z0-9]{0,15}$/,
    patternHint: 'up to 16 lower-case letters and digits containing "demo" (it is wiped at every start)',
    description:
      'Database schema, NATS prefix and Redis prefix of the demo; emptied at every start, since the simulators start afresh too.',
  }),
  DEMO_PORTAL: string({
    default: 'demo',
    pattern: /^[a-z0-9][a-z0-9-]{0,62}$/,
    patternHint: 'a portal name: a-z, 0-9 and -',
    description: 'Name of the Russian-language portal created in the simulated Bitrix24.',
  }),
  DEMO_RESPONSES: integer({
    default: 300,
    min: 1,
    max: 20_000,
    description: 'Responses and invitations of the seeded hh.ru employer.',
  }),
  DEMO_SEED: integer({
    default: 1,
    min: 0,
    max: 1_000_000,
    description: 'Seed of the generated hh.ru data (same seed, same applicants).',
  }),
  DEMO_RATE_LIMITS: boolean({
    default: true,
    description:
      'The simulators keep hh.ru’s and Bitrix24’s real request limits (the import runs at the pace it would in production).',
  }),
  // Where the demo looks for what the person did not point it at; the test points them at closed ports.
  DEMO_DEFAULT_DATABASE_URL: url({
    protocols: ['postgres', 'postgresql'],
    default: baseSchema.DATABASE_URL.default!,
    secret: true,
    description:
      'Where the demo looks for Postgres when DATABASE_URL is not set; when nothing usable answers there, it starts its own.',
  }),
  DEMO_DEFAULT_REDIS_URL: url({
    protocols: ['redis', 'rediss'],
    default: baseSchema.REDIS_URL.default!,
    secret: true,
    description:
      'Where the demo looks for Redis when REDIS_URL is not set; when nothing usable answers there, it starts its own.',
  }),
  DEMO_DEFAULT_NATS_URL: string({
    default: baseSchema.NATS_URL.default!,
    description:
      'Where the demo looks for NATS with JetStream when NATS_URL is not set; when nothing usable answers there, it starts its own.',
  }),
};

/**
 * One simulator of the demo in its own process (the compose demo profile: `node demo/dist/src/sim.js
 * hh|b24`), where each side is reached at a name both the browser and the other containers resolve.
 */
export const simSchema = {
  DEMO_HOST: string({ default: '0.0.0.0', description: 'Address the simulator listens on.' }),
  HH_SIM_PORT: demoSchema.HH_SIM_PORT,
  B24_SIM_PORT: demoSchema.B24_SIM_PORT,
  HH_SIM_PUBLIC_URL: url({
    protocols: ['http', 'https'],
    description: 'The simulated hh.ru as browsers and the services reach it.',
  }),
  B24_SIM_PUBLIC_URL: url({
    protocols: ['http', 'https'],
    description: 'The simulated Bitrix24 as browsers and the services reach it (the address to open).',
  }),
  PUBLIC_URL: url({
    protocols: ['http', 'https'],
    description: 'The gateway as browsers and the simulators reach it.',
  }),
  DEMO_PORTAL: demoSchema.DEMO_PORTAL,
  DEMO_RESPONSES: demoSchema.DEMO_RESPONSES,
  DEMO_SEED: demoSchema.DEMO_SEED,
  DEMO_RATE_LIMITS: demoSchema.DEMO_RATE_LIMITS,
};
