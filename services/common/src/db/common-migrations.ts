import type { MigrationSet } from './migrations.js';

/**
 * Tables of the shared runtime: the transactional outbox, the consumer inbox, the dead letters,
 * and the Bitrix24 portals every service that calls Bitrix24 reads its tokens from.
 */
export const commonMigrations: MigrationSet = {
  owner: 'common',
  sealed: [
    {
      table: 'b24_portals',
      key: ['member_id'],
      owner: ['member_id'],
      columns: ['access_token_sealed', 'refresh_token_sealed'],
    },
  ],
  migrations: [
    {
      name: '20261127_01_outbox_inbox_dead_letters',
      async up(db) {
        await db.schema.createTable('outbox', (t) => {
          t.bigIncrements('id');
          t.text('subject').notNullable();
          // Nats-Msg-Id: JetStream drops a republished row inside its duplicate window.
          t.text('msg_id').notNullable();
          t.jsonb('payload').notNullable();
          t.jsonb('headers');
          t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.integer('attempts').notNullable().defaultTo(0);
          t.text('last_error');
        });
        await db.schema.createTable('inbox', (t) => {
          t.text('consumer').notNullable();
          t.text('msg_id').notNullable();
          t.timestamp('processed_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['consumer', 'msg_id']);
        });
        await db.schema.raw('create index inbox_processed_at on inbox (processed_at)');
        await db.schema.createTable('dead_letters', (t) => {
          t.bigIncrements('id');
          t.text('consumer').notNullable();
          t.text('stream').notNullable();
          t.text('subject').notNullable();
          t.bigInteger('stream_seq').notNullable();
          t.text('msg_id');
          t.text('portal');
          t.text('payload').notNullable();
          t.jsonb('headers');
          t.integer('deliveries').notNullable();
          t.text('reason').notNullable();
          t.text('last_error');
          t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          // A message is dead-lettered once even if the term after the insert is lost.
          t.unique(['stream', 'consumer', 'stream_seq']);
        });
        // Deliveries that only waited (a rate limit, a parked account) are not failures; JetStream
        // counts every delivery, so the waits are counted here to tell the two apart.
        await db.schema.createTable('message_defers', (t) => {
          t.text('stream').notNullable();
          t.text('consumer').notNullable();
          t.bigInteger('stream_seq').notNullable();
          t.integer('defers').notNullable();
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['stream', 'consumer', 'stream_seq']);
        });
      },
      async down(db) {
        await db.schema.dropTable('message_defers');
        await db.schema.dropTable('dead_letters');
        await db.schema.dropTable('inbox');
        await db.schema.dropTable('outbox');
      },
    },
    {
      name: '20261128_01_b24_portals',
      async up(db) {
        await db.schema.createTable('b24_portals', (t) => {
          t.text('member_id').primary();
          t.text('domain').notNullable();
          // Where the portal and its OAuth server are, as recorded at install; calls never go
          // to an address taken from a later request.
          t.text('client_endpoint').notNullable();
          t.text('server_endpoint').notNullable();
          t.text('access_token_sealed').notNullable();
          t.text('refresh_token_sealed').notNullable();
          t.timestamp('expires_at', { useTz: true }).notNullable();
          // Compare-and-swap for token refreshes: a write names the version it read.
          t.bigInteger('version').notNullable().defaultTo(1);
          t.text('application_token_hash').notNullable();
          t.text('scope').notNullable().defaultTo('');
          t.text('language').notNullable().defaultTo('ru');
          t.text('status').notNullable().defaultTo('installed');
          t.integer('user_id');
          t.timestamp('installed_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        });
      },
      async down(db) {
        await db.schema.dropTable('b24_portals');
      },
    },
    {
      name: '20261230_01_portal_erasure',
      async up(db) {
        // A portal that removed the app: when, and whether it asked to erase its data (CLEAN). Its
        // data goes at once (CLEAN) or after HH_DATA_RETENTION_DAYS; messages about it published
        // before a reinstall are skipped by every consumer from then on. Holds no personal data.
        await db.schema.createTable('portal_uninstalls', (t) => {
          t.text('member_id').primary();
          t.timestamp('uninstalled_at', { useTz: true }).notNullable();
          t.boolean('clean').notNullable();
          t.timestamp('reinstalled_at', { useTz: true });
        });
        // Each service's word that it erased the portal's rows of that uninstall, and how many.
        await db.schema.createTable('portal_erasures', (t) => {
          t.text('member_id').notNullable();
          t.text('service').notNullable();
          t.timestamp('uninstalled_at', { useTz: true }).notNullable();
          t.timestamp('erased_at', { useTz: true }).notNullable();
          t.integer('rows').notNullable();
          t.jsonb('tables').notNullable();
          t.primary(['member_id', 'service']);
        });
      },
      async down(db) {
        await db.schema.dropTable('portal_erasures');
        await db.schema.dropTable('portal_uninstalls');
      },
    },
    {
      name: '20261231_01_b24_portals_app_version',
      async up(db) {
        // The version of the app's registrations (fields, placements, robots, event bindings) the
        // portal has: the portals behind APP_VERSION are brought up to date (gateway, app-update.ts).
        await db.schema.alterTable('b24_portals', (t) => {
          t.integer('app_version');
        });
        // Portals installed before versions were recorded have the first set (no stage-move events,
        // no robots): version 1, so that the gateway's start check brings them up to date.
        await db('b24_portals').where({ status: 'installed' }).update({ app_version: 1 });
      },
    },
    {
      name: '20270110_01_stored_files',
      async up(db) {
        // Files the services hand each other by reference (resume PDFs: services/common/src/files.ts),
        // in parts (FILE_PART_BYTES) so that no statement carries a whole file. A key is new for every
        // version of a file. Stored as they are (already compressed): no compression attempted.
        await db.schema.createTable('stored_files', (t) => {
          t.text('member_id').notNullable();
          t.text('file_key').notNullable();
          t.integer('part').notNullable();
          t.binary('data').notNullable();
          t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'file_key', 'part']);
        });
        await db.raw('alter table stored_files alter column data set storage external');
      },
      async down(db) {
        await db.schema.dropTable('stored_files');
      },
    },
  ],
};
