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
    {
      name: '20261203_01_import_requested_and_feedback',
      async up(db) {
        // «Сохранить и начать импорт» was pressed: the page shows the import as starting until hh-connector reports it.
        await db.schema.alterTable('portal_settings', (t) => {
          t.timestamp('import_requested_at', { useTz: true });
        });
        // «Обратная связь»: what portal users wrote to us; the operator reads it.
        await db.schema.createTable('feedback', (t) => {
          t.bigIncrements('id');
          t.text('member_id').notNullable().index();
          t.integer('user_id').notNullable();
          t.text('message').notNullable();
          t.text('contact');
          t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        });
      },
      async down(db) {
        await db.schema.dropTable('feedback');
        await db.schema.alterTable('portal_settings', (t) => t.dropColumn('import_requested_at'));
      },
    },
  ],
};
