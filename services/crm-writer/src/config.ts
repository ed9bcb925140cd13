import { type ConfigOf, baseSchema, bitrix24Schema, integer, port } from '@hhb24/common';

export const schema = {
  ...baseSchema,
  CRM_WRITER_PORT: port({
    default: 3020,
    description: 'crm-writer: port of its HTTP server (health and metrics only).',
  }),
  ...bitrix24Schema,
  CRM_BATCH_MAX_BYTES: integer({
    default: 8_000_000,
    min: 100_000,
    max: 60_000_000,
    description:
      'Largest body of one Bitrix24 batch request; resume PDFs travel inside it, so a group of writes is cut to fit.',
  }),
  CRM_WAIT_MAX_MS: integer({
    default: 10_000,
    min: 0,
    max: 120_000,
    description:
      'Longest a write waits for its portal’s shared request budget; beyond it the message goes back to JetStream with that delay.',
  }),
  CRM_STAGE_CHECK_SEC: integer({
    default: 60,
    min: 1,
    max: 3600,
    description:
      'How often each portal with the two-way status has its leads or deals of the app compared with the stages crm-writer set: a stage move whose event never arrived (the app was down) still reaches hh.ru.',
  }),
};

export type Config = ConfigOf<typeof schema>;
