import type { MigrationSet } from '@hhb24/common';

/** Tables owned by timeline-renderer (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'timeline-renderer',
  migrations: [
    {
      name: '20261210_01_activities',
      async up(db) {
        // One configurable activity per negotiation and portal: the key is the negotiation.
        await db.schema.createTable('tl_activities', (t) => {
          t.text('member_id').notNullable();
          t.text('negotiation_id').notNullable();
          t.text('entity_type').notNullable();
          t.integer('entity_id').notNullable();
          t.integer('activity_id').notNullable();
          // The snapshot version drawn and the snapshot itself (a click on «Другие отклики» draws it again).
          t.integer('version').notNullable();
          t.jsonb('snapshot').notNullable();
          // The other responses as of the last click on «Другие отклики» (null: never pressed).
          t.jsonb('others');
          t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'negotiation_id']);
          t.index(['member_id', 'activity_id']);
        });
      },
    },
    {
      name: '20261220_01_drawings',
      async up(db) {
        // Drawings asked for and not done yet, one per negotiation (the newest version asked), seen
        // by every replica: whoever holds the portal's drawing turn draws them in one batch.
        await db.schema.createTable('tl_drawings', (t) => {
          t.text('member_id').notNullable();
          t.text('negotiation_id').notNullable();
          t.integer('version').notNullable();
          // The crm.entity.written message to draw.
          t.jsonb('message').notNullable();
          // Set when the drawing failed: what the consumer does with the message (retry, drop, defer).
          t.jsonb('outcome');
          t.timestamp('queued_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'negotiation_id']);
          t.index(['member_id', 'queued_at']);
        });
      },
    },
    {
      name: '20270120_01_activity_add_claim',
      async up(db) {
        // Until when one process's add of the activity is in flight (see ActivityStore.claimAdd).
        await db.schema.alterTable('tl_activities', (t) => {
          t.timestamp('adding_until', { useTz: true });
        });
      },
      async down(db) {
        await db.schema.alterTable('tl_activities', (t) => {
          t.dropColumn('adding_until');
        });
      },
    },
  ],
};
