import { type ConfigOf, baseSchema, port } from '@hhb24/common';

export const schema = {
  ...baseSchema,
  HH_CONNECTOR_PORT: port({ default: 3010, description: 'hh-connector: port of its HTTP server (health and metrics only).' }),
};

export type Config = ConfigOf<typeof schema>;
