import type { MigrationSet } from '@hhb24/common';

/** Tables owned by hh-connector (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'hh-connector',
  migrations: [],
};
