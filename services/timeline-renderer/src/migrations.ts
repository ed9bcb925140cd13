import type { MigrationSet } from '@hhb24/common';

/** Tables owned by timeline-renderer (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'timeline-renderer',
  migrations: [],
};
