import type { MigrationSet } from '@hhb24/common';

/** Tables owned by settings (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'settings',
  migrations: [],
};
