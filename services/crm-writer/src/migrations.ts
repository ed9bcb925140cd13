import type { MigrationSet } from '@hhb24/common';

/** Tables owned by crm-writer (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'crm-writer',
  migrations: [
    {
      name: '20261205_01_links_failures',
      async up(db) {
        // Exactly one lead or deal per negotiation and portal: the key is the negotiation.
        await db.schema.createTable('crm_links', (t) => {
          t.text('member_id').notNullable();
          t.text('negotiation_id').notNullable();
          t.text('entity_type').notNullable();
          t.integer('entity_id').notNullable();
          t.integer('category_id').notNullable().defaultTo(0);
          // The snapshot version last written, the stage we last set, whether the resume file is there.
          t.integer('version').notNullable();
          t.text('stage_id');
          t.boolean('has_pdf').notNullable().defaultTo(false);
          t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'negotiation_id']);
          t.unique(['member_id', 'entity_type', 'entity_id']);
        });
        // Writes the portal refused, with its words and what to fix; kept until a write succeeds.
        await db.schema.createTable('crm_failures', (t) => {
          t.text('member_id').notNullable();
          t.text('negotiation_id').notNullable();
          t.integer('version').notNullable();
          t.text('code').notNullable();
          t.text('message').notNullable();
          t.text('fix');
          t.jsonb('snapshot').notNullable();
          t.integer('attempts').notNullable().defaultTo(1);
          t.timestamp('failed_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.timestamp('retry_requested_at', { useTz: true });
          t.primary(['member_id', 'negotiation_id']);
        });
      },
    },
    {
      name: '20261210_01_health',
      async up(db) {
        // What crm-writer did per portal and day (Moscow), for the «Состояние» tab's counts.
        await db.schema.createTable('crm_write_counts', (t) => {
          t.text('member_id').notNullable();
          t.date('day').notNullable();
          t.integer('created').notNullable().defaultTo(0);
          t.integer('updated').notNullable().defaultTo(0);
          t.integer('refused').notNullable().defaultTo(0);
          t.primary(['member_id', 'day']);
        });
        // A failure incident per portal: opened when refused writes appear, cleared when none are
        // left; the portal's people are told once at each end, not once per failure.
        await db.schema.createTable('crm_incidents', (t) => {
          t.bigIncrements('id');
          t.text('member_id').notNullable();
          t.timestamp('opened_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.integer('failures').notNullable();
          t.timestamp('cleared_at', { useTz: true });
          t.timestamp('open_notified_at', { useTz: true });
          t.timestamp('clear_notified_at', { useTz: true });
          t.integer('attempts').notNullable().defaultTo(0);
          t.text('last_error');
        });
        await db.schema.raw(
          'create unique index crm_incidents_open on crm_incidents (member_id) where cleared_at is null',
        );
      },
      async down(db) {
        await db.schema.dropTable('crm_incidents');
        await db.schema.dropTable('crm_write_counts');
      },
    },
    {
      name: '20261207_01_links_hh_updated_at',
      async up(db) {
        // hh.ru's updated_at of the snapshot last written: an older one is never written over it.
        await db.schema.alterTable('crm_links', (t) => {
          t.text('hh_updated_at');
        });
      },
    },
    {
      name: '20261211_01_contacts',
      async up(db) {
        // One portal contact per person (hh-connector's person id): the app's own, or the portal's
        // found by phone or e-mail. Every deal of the person is bound to it.
        await db.schema.createTable('crm_contacts', (t) => {
          t.text('member_id').notNullable();
          t.text('person_id').notNullable();
          t.integer('contact_id').notNullable();
          t.text('origin').notNullable();
          t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'person_id']);
        });
        // The contact a lead or deal is bound to (null: not yet).
        await db.schema.alterTable('crm_links', (t) => {
          t.integer('contact_id');
        });
      },
      async down(db) {
        await db.schema.alterTable('crm_links', (t) => {
          t.dropColumn('contact_id');
        });
        await db.schema.dropTable('crm_contacts');
      },
    },
    {
      name: '20270120_01_crm_stage_checks',
      async up(db) {
        // When each portal's stages were last compared with those crm-writer set (two-way status).
        await db.schema.createTable('crm_stage_checks', (t) => {
          t.text('member_id').primary();
          t.timestamp('checked_at', { useTz: true }).notNullable();
        });
      },
      async down(db) {
        await db.schema.dropTable('crm_stage_checks');
      },
    },
  ],
};
