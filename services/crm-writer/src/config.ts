import { type ConfigOf, baseSchema, port } from '@hhb24/common';

export const schema = {
  ...baseSchema,
  CRM_WRITER_PORT: port({ default: 3020, description: 'crm-writer: port of its HTTP server (health and metrics only).' }),
};

export type Config = ConfigOf<typeof schema>;
