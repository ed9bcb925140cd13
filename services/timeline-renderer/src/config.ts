import { type ConfigOf, baseSchema, bitrix24Schema, port } from '@hhb24/common';

export const schema = {
  ...baseSchema,
  TIMELINE_RENDERER_PORT: port({
    default: 3030,
    description: 'timeline-renderer: port of its HTTP server (health and metrics only).',
  }),
  ...bitrix24Schema,
};

export type Config = ConfigOf<typeof schema>;
