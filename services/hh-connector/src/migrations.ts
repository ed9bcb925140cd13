import type { MigrationSet } from '@hhb24/common';

/** Tables owned by hh-connector (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'hh-connector',
  sealed: [{ table: 'hh_accounts', key: ['id'], columns: ['access_token', 'refresh_token'] }],
  migrations: [
    {
      name: '20261201_01_hh_accounts',
      async up(db) {
        await db.schema.createTable('hh_accounts', (t) => {
          t.uuid('id').primary();
          t.text('member_id').notNullable();
          t.text('hh_user_id').notNullable();
          t.text('employer_id').notNullable();
          t.text('employer_name').notNullable();
          t.text('manager_id').notNullable();
          t.text('manager_name').notNullable();
          t.boolean('is_admin').notNullable();
          // Sealed with the runtime's keyring (AES-256-GCM): never stored or logged in clear.
          t.text('access_token').notNullable();
          t.text('refresh_token').notNullable();
          t.timestamp('expires_at', { useTz: true }).notNullable();
          // Compare-and-swap guard: refreshed tokens are written only over the version they replace.
          t.integer('version').notNullable().defaultTo(1);
          t.text('status').notNullable().defaultTo('active');
          t.text('status_reason');
          t.timestamp('status_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.unique(['member_id', 'hh_user_id']);
        });
        await db.schema.raw(`alter table hh_accounts add constraint hh_accounts_status check (status in ('active', 'login_required'))`);
      },
      async down(db) {
        await db.schema.dropTable('hh_accounts');
      },
    },
  ],
};
