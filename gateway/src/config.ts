import { type ConfigOf, baseSchema, port, publicSchema } from '@hhb24/common';

export const schema = {
  ...baseSchema,
  GATEWAY_PORT: port({ default: 3000, description: 'gateway: port of its HTTP server (the public ingress).' }),
  ...publicSchema,
};

export type Config = ConfigOf<typeof schema>;
