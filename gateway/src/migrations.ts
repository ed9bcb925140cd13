import type { MigrationSet } from '@hhb24/common';

/** Tables owned by gateway (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'gateway',
  migrations: [],
};
