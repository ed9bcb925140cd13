import { type ConfigOf, baseSchema, bitrix24Schema, port } from '@hhb24/common';

export const schema = {
  ...baseSchema,
  SETTINGS_PORT: port({
    default: 3040,
    description: 'settings: port of its HTTP server (health and metrics only).',
  }),
  ...bitrix24Schema,
};

export type Config = ConfigOf<typeof schema>;
