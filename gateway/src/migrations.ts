import type { MigrationSet } from '@hhb24/common';

/** Tables owned by gateway (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'gateway',
  migrations: [
    {
      name: '20261203_01_b24_install_steps',
      async up(db) {
        // What «Готово» registered on each portal, so that a retry does only what is missing.
        await db.schema.createTable('b24_install_steps', (t) => {
          t.text('member_id').notNullable();
          t.text('step').notNullable();
          t.text('state').notNullable();
          // Our classification of a failure (b24_access_denied…) and the portal's own words.
          t.text('error_code');
          t.text('error');
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'step']);
        });
      },
      async down(db) {
        await db.schema.dropTable('b24_install_steps');
      },
    },
  ],
};
