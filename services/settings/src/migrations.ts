import type { MigrationSet } from '@hhb24/common';

/** Tables owned by settings (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'settings',
  migrations: [
    {
      name: '20261202_01_portal_settings',
      async up(db) {
        await db.schema.createTable('portal_settings', (t) => {
          t.text('member_id').primary();
          // The PortalSettings contract as saved (validated by parseSettings before it is stored).
          t.jsonb('settings').notNullable();
          t.integer('updated_by');
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        });
      },
      async down(db) {
        await db.schema.dropTable('portal_settings');
      },
    },
  ],
};
