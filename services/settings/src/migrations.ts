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
    {
      name: '20261207_01_feedback_delivery',
      async up(db) {
        // «Обратная связь» reaches a person through the configured channels (e-mail, webhook):
        // what went with the message, which channels took it, and when to try the rest again.
        await db.schema.alterTable('feedback', (t) => {
          t.text('user_name');
          t.jsonb('context').notNullable().defaultTo('{}');
          t.specificType('delivered_via', 'text[]').notNullable().defaultTo('{}');
          t.integer('attempts').notNullable().defaultTo(0);
          t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.text('last_error');
          t.timestamp('delivered_at', { useTz: true });
          t.timestamp('done_at', { useTz: true });
        });
        // Messages delivered before there were channels were read in the table: nothing to send.
        await db('feedback').update({ done_at: db.ref('created_at'), delivered_at: db.ref('created_at') });
        await db.schema.raw('create index feedback_open on feedback (next_attempt_at) where done_at is null');
      },
      async down(db) {
        await db.schema.alterTable('feedback', (t) => {
          for (const c of [
            'user_name',
            'context',
            'delivered_via',
            'attempts',
            'next_attempt_at',
            'last_error',
            'delivered_at',
            'done_at',
          ])
            t.dropColumn(c);
        });
      },
    },
    {
      name: '20270103_01_manager_users',
      async up(db) {
        // «Ответственные по менеджерам hh.ru»: the portal user who gets the responses to each hh.ru
        // manager's vacancies. Keyed by employer and manager, not by the login: a portal may
        // connect several hh.ru logins and employers. user_id null: the default responsible, chosen so.
        await db.schema.createTable('portal_manager_users', (t) => {
          t.text('member_id').notNullable();
          t.text('employer_id').notNullable();
          t.text('manager_id').notNullable();
          t.integer('user_id');
          t.integer('updated_by');
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'employer_id', 'manager_id']);
        });
      },
      async down(db) {
        await db.schema.dropTable('portal_manager_users');
      },
    },
    {
      name: '20270103_02_vacancy_rules',
      async up(db) {
        // «Вакансии»: per-vacancy rules (a VacancyRule each, services/common/src/contracts.ts), in
        // the order they were added (id).
        await db.schema.createTable('portal_vacancy_rules', (t) => {
          t.bigIncrements('id');
          t.text('member_id').notNullable().index();
          t.jsonb('rule').notNullable();
          t.integer('updated_by');
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        });
      },
      async down(db) {
        await db.schema.dropTable('portal_vacancy_rules');
      },
    },
  ],
};
