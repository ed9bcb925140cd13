import type { MigrationSet } from '@hhb24/common';
import { refreshAnalytics } from './sync/analytics.js';

/** Tables owned by hh-connector (see docs/architecture.md). */
export const migrations: MigrationSet = {
  owner: 'hh-connector',
  sealed: [
    {
      table: 'hh_accounts',
      key: ['id'],
      // Not the id: a login merged into an existing row keeps that row's id, unknown when sealing.
      owner: ['member_id', 'hh_user_id'],
      columns: ['access_token', 'refresh_token'],
    },
  ],
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
        await db.schema.raw(
          `alter table hh_accounts add constraint hh_accounts_status check (status in ('active', 'login_required'))`,
        );
      },
      async down(db) {
        await db.schema.dropTable('hh_accounts');
      },
    },
    {
      name: '20261205_01_sync',
      async up(db) {
        await db.schema.alterTable('hh_accounts', (t) => {
          // The portal user who pressed «Войти»: told when the login must be renewed.
          t.integer('connected_by');
          // The daily resume views are used up: resume reads wait until then (and a probe says they are back).
          t.timestamp('views_parked_until', { useTz: true });
          t.timestamp('reconciled_at', { useTz: true });
        });
        // One initial import per portal; `run_id` names the run its steps belong to.
        await db.schema.createTable('hh_imports', (t) => {
          t.text('member_id').primary();
          t.uuid('account_id').notNullable();
          t.uuid('run_id').notNullable();
          // The message that started the run: its redelivery continues the run instead of starting another.
          t.text('request_id');
          t.integer('requested_by');
          t.timestamp('started_at', { useTz: true }).notNullable();
          // Every vacancy step was enqueued: from here on the run's size is known.
          t.timestamp('listed_at', { useTz: true });
          t.timestamp('finished_at', { useTz: true });
        });
        await db.schema.createTable('hh_vacancies', (t) => {
          t.text('member_id').notNullable();
          t.text('vacancy_id').notNullable();
          t.uuid('account_id').notNullable();
          t.text('name').notNullable();
          t.text('url');
          t.text('manager_id');
          t.jsonb('counters');
          // The initial import's step for this vacancy: null (not part of it), pending, done.
          t.uuid('import_run_id');
          t.text('import_state');
          t.timestamp('reconciled_at', { useTz: true });
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'vacancy_id']);
        });
        // Every negotiation the portal's account saw, the last item hh.ru returned, and the
        // snapshot handed to crm-writer (a new version on every change).
        await db.schema.createTable('hh_negotiations', (t) => {
          t.text('member_id').notNullable();
          t.text('negotiation_id').notNullable();
          t.uuid('account_id').notNullable();
          t.text('vacancy_id').notNullable();
          t.text('collection_id');
          t.text('employer_state_id').notNullable();
          t.text('applicant_state_id');
          t.text('updated_at_hh').notNullable();
          t.text('resume_id');
          t.text('resume_updated_at');
          t.jsonb('item').notNullable();
          // Bumped by every write of `item`: a step only settles the item it read.
          t.integer('item_seq').notNullable().defaultTo(1);
          t.text('kind');
          // pending: a step must bring the snapshot up to date; parked: waiting for resume views; ready.
          t.text('status').notNullable().defaultTo('pending');
          t.uuid('person_id');
          t.integer('version').notNullable().defaultTo(0);
          t.jsonb('snapshot');
          t.timestamp('loaded_at', { useTz: true });
          // What crm-writer reported (crm.entity.written / crm.entity.failed).
          t.text('entity_type');
          t.integer('entity_id');
          t.text('crm_status');
          t.integer('crm_version').notNullable().defaultTo(0);
          t.text('crm_error');
          t.text('crm_fix');
          t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'negotiation_id']);
        });
        await db.schema.raw(
          `alter table hh_negotiations add constraint hh_negotiations_status check (status in ('pending', 'parked', 'ready'))`,
        );
        await db.schema.raw(
          'create index hh_negotiations_vacancy on hh_negotiations (member_id, vacancy_id)',
        );
        await db.schema.raw('create index hh_negotiations_person on hh_negotiations (member_id, person_id)');
        await db.schema.raw(
          'create index hh_negotiations_entity on hh_negotiations (member_id, entity_type, entity_id) where entity_id is not null',
        );
        await db.schema.raw(
          `create index hh_negotiations_unsettled on hh_negotiations (member_id) where status <> 'ready'`,
        );
        // Resumes and their PDFs, read once per version of the resume: reading one marks the
        // response viewed and spends a daily view, so it is never read again without a reason.
        await db.schema.createTable('hh_resumes', (t) => {
          t.text('member_id').notNullable();
          t.text('resume_id').notNullable();
          t.text('updated_at_hh').notNullable();
          t.jsonb('data').notNullable();
          t.binary('pdf');
          t.timestamp('fetched_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'resume_id']);
        });
        // One person behind many negotiations: keys `resume:<id>`, `phone:<E.164>`, `email:<address>`.
        await db.schema.createTable('hh_person_keys', (t) => {
          t.text('member_id').notNullable();
          t.text('key').notNullable();
          t.uuid('person_id').notNullable();
          t.primary(['member_id', 'key']);
        });
        await db.schema.createTable('hh_state_history', (t) => {
          t.bigIncrements('id');
          t.text('member_id').notNullable();
          t.text('negotiation_id').notNullable();
          t.text('state_id').notNullable();
          t.text('state_name').notNullable();
          t.text('at').notNullable();
          t.unique(['member_id', 'negotiation_id', 'state_id', 'at']);
        });
        // The delivery log: each hh.ru callback once (its id is unique per user, app and action type).
        await db.schema.createTable('hh_webhook_deliveries', (t) => {
          t.uuid('account_id').notNullable();
          t.text('action_type').notNullable();
          t.text('callback_id').notNullable();
          t.text('member_id');
          t.text('topic_id');
          t.timestamp('received_at', { useTz: true }).notNullable();
          t.timestamp('processed_at', { useTz: true });
          t.text('outcome');
          t.primary(['account_id', 'action_type', 'callback_id']);
        });
        // Portal notifications waiting to be sent (im.notify.system.add), each sent once.
        await db.schema.createTable('hh_notifications', (t) => {
          t.bigIncrements('id');
          t.text('member_id').notNullable();
          t.uuid('account_id').notNullable();
          t.text('kind').notNullable();
          t.text('message').notNullable();
          t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.timestamp('sent_at', { useTz: true });
          t.integer('attempts').notNullable().defaultTo(0);
          t.text('last_error');
        });
        await db.schema.raw(
          'create index hh_notifications_unsent on hh_notifications (id) where sent_at is null',
        );
      },
    },
    {
      name: '20261210_01_health',
      async up(db) {
        // The delivery log of the «Состояние» tab: webhooks and what reconciliation passes found,
        // per portal, pruned after HH_EVENT_LOG_RETENTION_DAYS.
        await db.schema.createTable('hh_sync_events', (t) => {
          t.bigIncrements('id');
          t.text('member_id').notNullable();
          t.timestamp('at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.text('source').notNullable();
          t.text('type').notNullable();
          t.text('negotiation_id');
          t.text('outcome').notNullable();
        });
        await db.schema.raw('create index hh_sync_events_member on hh_sync_events (member_id, id desc)');
        await db.schema.raw('create index hh_sync_events_at on hh_sync_events (at)');
        // The last reconciliation pass of each portal and how many responses it brought in.
        await db.schema.createTable('hh_reconciliations', (t) => {
          t.text('member_id').primary();
          t.timestamp('started_at', { useTz: true }).notNullable();
          t.integer('vacancies').notNullable();
          t.integer('found').notNullable().defaultTo(0);
        });
        await db.schema.raw(
          'create index hh_negotiations_first_seen on hh_negotiations (member_id, first_seen_at)',
        );
        await db.schema.raw(
          'create index hh_webhook_deliveries_member on hh_webhook_deliveries (member_id, received_at desc)',
        );
      },
      async down(db) {
        await db.schema.raw('drop index if exists hh_webhook_deliveries_member');
        await db.schema.raw('drop index if exists hh_negotiations_first_seen');
        await db.schema.dropTable('hh_reconciliations');
        await db.schema.dropTable('hh_sync_events');
      },
    },
    {
      name: '20261215_01_import_window',
      async up(db) {
        // When the step of a pending negotiation was enqueued: a portal has at most a window of
        // steps in the stream at once, so many portals' imports take turns (SyncEngine.feed).
        await db.schema.alterTable('hh_negotiations', (t) => t.timestamp('queued_at', { useTz: true }));
        await db.schema.raw(
          `create index hh_negotiations_pending on hh_negotiations (member_id, queued_at) where status = 'pending'`,
        );
      },
      async down(db) {
        await db.schema.raw('drop index if exists hh_negotiations_pending');
        await db.schema.alterTable('hh_negotiations', (t) => t.dropColumn('queued_at'));
      },
    },
    {
      name: '20261220_01_paid_access',
      async up(db) {
        // hh.ru refused the employer's negotiations and resumes for want of paid API access: the
        // account's work waits, and a probe of its method access looks again at this time.
        await db.schema.alterTable('hh_accounts', (t) => t.timestamp('unpaid_until', { useTz: true }));
      },
      async down(db) {
        await db.schema.alterTable('hh_accounts', (t) => t.dropColumn('unpaid_until'));
      },
    },
    {
      name: '20261231_01_resume_files',
      async up(db) {
        // crm-writer reported that the negotiation's lead or deal holds the resume file.
        await db.schema.alterTable('hh_negotiations', (t) =>
          t.boolean('crm_has_pdf').notNullable().defaultTo(false),
        );
        // The PDF was dropped because every lead or deal of the resume holds it (HH_PDF_KEEP_HOURS).
        await db.schema.alterTable('hh_resumes', (t) => t.timestamp('pdf_dropped_at', { useTz: true }));
      },
      async down(db) {
        await db.schema.alterTable('hh_resumes', (t) => t.dropColumn('pdf_dropped_at'));
        await db.schema.alterTable('hh_negotiations', (t) => t.dropColumn('crm_has_pdf'));
      },
    },
    {
      name: '20270101_01_analytics',
      async up(db) {
        // The name of each vacancy's hh.ru manager (the list of vacancies carries it): «Аналитика» per recruiter.
        await db.schema.alterTable('hh_vacancies', (t) => t.text('manager_name'));
        // «Аналитика»'s rollup: one row per negotiation with what the tab counts (sync/analytics.ts,
        // factsOf), written with each new state; the tab aggregates it, never the history itself.
        await db.schema.createTable('hh_analytics', (t) => {
          t.text('member_id').notNullable();
          t.text('negotiation_id').notNullable();
          t.text('vacancy_id').notNullable();
          t.text('kind');
          // hh.ru's created_at (the response or invitation), or when we first saw it when unreadable.
          t.timestamp('created_at', { useTz: true }).notNullable();
          t.text('state_id').notNullable();
          // The furthest funnel step reached (FUNNEL's index), null when none is known.
          t.smallint('reached');
          t.timestamp('first_move_at', { useTz: true });
          t.integer('move_sec');
          t.boolean('refused').notNullable();
          t.smallint('refused_step');
          t.boolean('silent').notNullable();
          t.primary(['member_id', 'negotiation_id']);
        });
        await db.schema.raw('create index hh_analytics_period on hh_analytics (member_id, created_at)');
        await db.schema.raw(
          `create index hh_analytics_untouched on hh_analytics (member_id, created_at) where kind = 'response' and first_move_at is null`,
        );
        // The portals' negotiations stored so far.
        const portals = (await db('hh_negotiations').distinct('member_id').pluck('member_id')) as string[];
        for (const memberId of portals) await refreshAnalytics(db, memberId, null);
      },
      async down(db) {
        await db.schema.dropTable('hh_analytics');
        await db.schema.alterTable('hh_vacancies', (t) => t.dropColumn('manager_name'));
      },
    },
    {
      name: '20270102_01_import_scope',
      async up(db) {
        // The portal's choice of what to import (ImportScope); null: everything.
        await db.schema.alterTable('hh_imports', (t) => t.jsonb('scope'));
      },
      async down(db) {
        await db.schema.alterTable('hh_imports', (t) => t.dropColumn('scope'));
      },
    },
    {
      name: '20270110_01_resume_pdf_by_reference',
      async up(db) {
        // The PDF moves to the shared file store (stored_files, in parts), named here by its key:
        // crm-writer and the gateway read it there instead of receiving it in NATS messages.
        await db.schema.alterTable('hh_resumes', (t) => {
          t.text('pdf_file');
          t.integer('pdf_size');
        });
        await db.raw(
          `insert into stored_files (member_id, file_key, part, data)
           select member_id, 'hh-resume:' || resume_id || ':kept', 0, pdf from hh_resumes where pdf is not null`,
        );
        await db.raw(
          `update hh_resumes set pdf_file = 'hh-resume:' || resume_id || ':kept', pdf_size = octet_length(pdf)
            where pdf is not null`,
        );
        await db.schema.alterTable('hh_resumes', (t) => t.dropColumn('pdf'));
      },
      async down(db) {
        await db.schema.alterTable('hh_resumes', (t) => t.binary('pdf'));
        await db.schema.alterTable('hh_resumes', (t) => {
          t.dropColumn('pdf_file');
          t.dropColumn('pdf_size');
        });
      },
    },
    {
      name: '20270111_01_cover_letter',
      async up(db) {
        // The applicant's cover letter (the response's first message), read once; letter_read: asked.
        await db.schema.alterTable('hh_negotiations', (t) => {
          t.text('cover_letter');
          t.boolean('letter_read').notNullable().defaultTo(false);
        });
      },
      async down(db) {
        await db.schema.alterTable('hh_negotiations', (t) => {
          t.dropColumn('cover_letter');
          t.dropColumn('letter_read');
        });
      },
    },
    {
      name: '20270121_01_vacancy_area',
      async up(db) {
        // The vacancy's region (the list of vacancies carries it): a per-vacancy rule may name it.
        await db.schema.alterTable('hh_vacancies', (t) => {
          t.text('area_id');
          t.text('area_name');
        });
      },
      async down(db) {
        await db.schema.alterTable('hh_vacancies', (t) => {
          t.dropColumn('area_id');
          t.dropColumn('area_name');
        });
      },
    },
    {
      name: '20270121_02_managers_kept',
      async up(db) {
        // The employer's managers as hh.ru last listed them (read with the vacancies, on a new
        // login and on VACANCY_CHANGE): «Настройки» and «Вакансии» are drawn from here, not by
        // asking hh.ru on every view.
        await db.schema.createTable('hh_managers', (t) => {
          t.text('member_id').notNullable();
          t.text('employer_id').notNullable();
          t.text('manager_id').notNullable();
          t.uuid('account_id').notNullable();
          t.text('first_name').notNullable();
          t.text('last_name').notNullable();
          t.text('middle_name');
          t.text('email');
          // null: this login may not see the manager's vacancies.
          t.integer('vacancies_count');
          t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
          t.primary(['member_id', 'employer_id', 'manager_id']);
        });
        // Whether the last listing had the vacancy among the active ones («Вакансии» lists those);
        // rows kept before were listed once, so they count as active until the next listing.
        await db.schema.alterTable('hh_vacancies', (t) => {
          t.boolean('active').notNullable().defaultTo(true);
        });
      },
      async down(db) {
        await db.schema.dropTable('hh_managers');
        await db.schema.alterTable('hh_vacancies', (t) => t.dropColumn('active'));
      },
    },
  ],
};
