import type { MigrationSet } from '@hhb24/common';

/** Tables owned by crm-writer (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'crm-writer',
  migrations: [],
};
