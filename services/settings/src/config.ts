import { type ConfigOf, baseSchema, port } from '@hhb24/common';

export const schema = {
  ...baseSchema,
  SETTINGS_PORT: port({ default: 3040, description: 'settings: port of its HTTP server (health and metrics only).' }),
};

export type Config = ConfigOf<typeof schema>;
