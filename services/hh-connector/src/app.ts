import {
  Bitrix24Client,
  ConfigError,
  type Launchable,
  type Logger,
  type MessageContext,
  type MessageOf,
  type Outcome,
  ack,
  createService,
  rpc,
  subjects,
  textOf,
} from '@hhb24/common';
import { type Config, configProblems } from './config.js';
import { type HhClient, createHhClient } from './hh/index.js';
import { migrations } from './migrations.js';
import { analyticsView } from './sync/analytics.js';
import { Actions } from './sync/actions.js';
import { Connection } from './sync/connection.js';
import { SyncEngine } from './sync/engine.js';
import { Health } from './sync/health.js';
import { Queries } from './sync/queries.js';
import { SyncStore } from './sync/store.js';

export { schema, type Config } from './config.js';

/** How often the background chores run: notifications, resuming parked work, reconciliation, finished imports. */
const HOUSEKEEPING_MS = 2000;
/** How often resume PDFs the portals hold are looked for (sooner when HH_PDF_KEEP_HOURS is shorter). */
const PDF_CHECK_MS = 10 * 60_000;

/** Import steps and webhooks one process works on at once (each may meet a revoked token once). */
export const IMPORT_STEPS_IN_FLIGHT = 32;
export const WEBHOOKS_IN_FLIGHT = 8;

/**
 * Builds hh-connector: owns hh.ru: tokens, client, initial import, webhooks, reconciliation,
 * resumes and PDFs, recognising one person across responses; answers the pages' questions about
 * the connection, the import and the card tab.
 */
export function buildHhConnector(config: Config, options: { log?: Logger } = {}): Launchable {
  const problems = configProblems(config);
  if (problems.length > 0) throw new ConfigError('hh-connector', problems);
  const { app, runtime } = createService({
    name: 'hh-connector',
    config,
    migrations,
    log: options.log,
    publishes: [
      subjects.hhImportRequested,
      subjects.hhImportVacancy,
      subjects.hhImportNegotiation,
      subjects.hhNegotiationSynced,
      subjects.hhAccountChanged,
    ],
    calls: [rpc.settingsGet],
  });
  runtime.useOutboxRelay();

  // Built on first use: they need the runtime's connections, which exist only after start().
  let hhClient: HhClient | undefined;
  let b24Client: Bitrix24Client | undefined;
  let syncStore: SyncStore | undefined;
  const store = () => (syncStore ??= new SyncStore(runtime.db, runtime.metrics));
  const b24 = () => (b24Client ??= Bitrix24Client.fromRuntime(runtime, config));
  const hh = (): HhClient =>
    (hhClient ??= createHhClient(runtime, config, {
      onLoginRequired: (account) => connection().onLoginRequired(account),
    }));
  let conn: Connection | undefined;
  let eng: SyncEngine | undefined;
  let q: Queries | undefined;
  let h: Health | undefined;
  const connection = () => (conn ??= new Connection({ runtime, config, hh, b24, store: store() }));
  const engine = () => (eng ??= new SyncEngine({ runtime, config, hh, store: store() }));
  const queries = () => (q ??= new Queries({ runtime, hh, store: store(), connection: connection() }));
  const health = () => (h ??= new Health({ runtime, config, hh, store: store(), connection: connection() }));
  let act: Actions | undefined;
  const actions = () => (act ??= new Actions({ hh, store: store(), engine }));

  // One consumer for every step of imports and reconciliations (KEDA: HH/hh-connector-imports);
  // each message was checked against its own subject's schema.
  runtime.addConsumer<unknown>({
    // 32 steps at once: each spends most of its time waiting on hh.ru, Postgres and Redis; with 8 the
    // import stalled on those waits long before the CPU was busy (docs/performance.md).
    spec: {
      stream: 'HH',
      durable: 'hh-connector-imports',
      filterSubject: 'hh.import.>',
      ackWaitMs: 15_000,
      maxAckPending: 128,
    },
    concurrency: IMPORT_STEPS_IN_FLIGHT,
    handler: (ctx) => {
      switch (ctx.subject) {
        case subjects.hhImportRequested:
          return engine().onImportRequested({
            ...ctx,
            data: ctx.data as MessageOf<typeof subjects.hhImportRequested>,
          });
        case subjects.hhImportVacancy:
          return engine().onVacancyStep({
            ...ctx,
            data: ctx.data as MessageOf<typeof subjects.hhImportVacancy>,
          });
        case subjects.hhImportNegotiation:
          return engine().onNegotiationStep({
            ...ctx,
            data: ctx.data as MessageOf<typeof subjects.hhImportNegotiation>,
          });
        default:
          ctx.log.warn({ subject: ctx.subject }, 'unknown import subject ignored');
          return Promise.resolve(ack());
      }
    },
  });
  runtime.addConsumer<MessageOf<typeof subjects.hhWebhookReceived>>({
    spec: {
      stream: 'HH',
      durable: 'hh-connector-webhooks',
      filterSubject: subjects.hhWebhookReceived,
      ackWaitMs: 15_000,
      maxAckPending: 64,
    },
    concurrency: WEBHOOKS_IN_FLIGHT,
    handler: (ctx) => engine().onWebhook(ctx),
  });
  // What crm-writer did with each snapshot: the entity behind the card tab, the imported count.
  runtime.addConsumer<unknown>({
    spec: {
      stream: 'CRM',
      durable: 'hh-connector',
      filterSubject: 'crm.entity.>',
      ackWaitMs: 30_000,
      maxAckPending: 64,
    },
    concurrency: 8,
    handler: (ctx) => recordCrm(ctx),
  });

  async function recordCrm(ctx: MessageContext<unknown>): Promise<Outcome> {
    if (ctx.subject === subjects.crmEntityWritten) {
      const m = ctx.data as MessageOf<typeof subjects.crmEntityWritten>;
      await store().recordCrm(m.memberId, m.negotiationId, m.version, {
        entityType: m.entityType,
        entityId: m.entityId,
        hasPdf: m.hasPdf === true,
      });
    } else if (ctx.subject === subjects.crmEntityFailed) {
      const m = ctx.data as MessageOf<typeof subjects.crmEntityFailed>;
      await store().recordCrm(m.memberId, m.negotiationId, m.version, {
        error: textOf(m.message),
        fix: m.fix,
      });
    }
    return ack();
  }

  runtime.serve(rpc.hhConnect, (req) => connection().connect(req));
  runtime.serve(rpc.hhAccount, (req) => connection().view(req.memberId));
  runtime.serve(rpc.hhDisconnect, (req) => connection().disconnect(req));
  runtime.serve(rpc.hhImportProgress, (req) => queries().importProgress(req.memberId));
  runtime.serve(rpc.hhNewResponses, (req) =>
    queries().newResponses(req.memberId, req.repair === true, req.scope),
  );
  runtime.serve(rpc.hhVacancies, (req) => queries().vacancies(req.memberId));
  runtime.serve(rpc.hhManagers, (req) => queries().managers(req.memberId));
  runtime.serve(rpc.hhVacancyOverview, (req) => queries().vacancyOverview(req.memberId));
  runtime.serve(rpc.hhCard, (req) => queries().card(req));
  runtime.serve(rpc.hhPdf, (req) => queries().pdf(req));
  runtime.serve(rpc.hhAnalytics, (req) => analyticsView(runtime.db, req));
  runtime.serve(rpc.hhHealth, (req) => health().view(req.memberId));
  runtime.serve(rpc.hhSyncEvents, (req) => health().events(req.memberId, req.before, req.limit));
  runtime.serve(rpc.hhRetry, (req) => health().retry(req.memberId, req.id));
  runtime.serve(rpc.hhLoadFailures, () => health().loadFailureCounts());
  // The robots and the two-way status (timeline-renderer, crm-writer): read or move a negotiation on hh.ru.
  runtime.serve(rpc.hhRefresh, (req) => actions().refresh(req));
  runtime.serve(rpc.hhAct, (req) => actions().act(req));

  // Everything hh-connector keeps of a portal: its hh.ru logins (sealed tokens), vacancies,
  // negotiations, resumes and their PDFs, person keys, state history, the delivery log.
  runtime.erasesPortalData({
    // A clean uninstall closes the hh.ru login first (unsubscribe, revoke), while its tokens are
    // still here; the gateway asks the same of us and then finds nothing left to close.
    onUninstalled: async (event) => {
      await connection().disconnect({ memberId: event.memberId, userId: event.installedBy ?? 1 });
    },
    before: async (trx, memberId): Promise<Record<string, number>> => {
      const accounts = (await trx('hh_accounts').where({ member_id: memberId }).pluck('id')) as string[];
      if (accounts.length === 0) return {};
      // The webhook log and messages that name only the portal's hh.ru account.
      const deliveries = await trx('hh_webhook_deliveries').whereIn('account_id', accounts).delete();
      const outbox = await trx('outbox').whereRaw(`payload->>'accountId' = any(?)`, [accounts]).delete();
      const deadLetters = await trx('dead_letters')
        .whereNull('portal')
        .where((q) => {
          for (const id of accounts) q.orWhere('payload', 'like', `%"accountId":"${id}"%`);
        })
        .delete();
      return { hh_webhook_deliveries: deliveries, outbox, dead_letters: deadLetters };
    },
    tables: [
      'hh_notifications',
      'hh_sync_events',
      'hh_reconciliations',
      'hh_webhook_deliveries',
      'hh_analytics',
      'hh_state_history',
      'hh_person_keys',
      // The resume PDFs hh-connector stored (the shared file store holds only these).
      'stored_files',
      'hh_resumes',
      'hh_negotiations',
      'hh_managers',
      'hh_vacancies',
      'hh_imports',
      'hh_accounts',
    ],
  });

  // Resume PDFs every lead or deal of the resume holds: dropped HH_PDF_KEEP_HOURS after download.
  const keepPdfMs = config.HH_PDF_KEEP_HOURS * 3600_000;
  let pdfsCheckedAt = 0;
  async function dropHeldPdfs(): Promise<void> {
    if (Date.now() - pdfsCheckedAt < Math.min(PDF_CHECK_MS, Math.max(HOUSEKEEPING_MS, keepPdfMs))) return;
    pdfsCheckedAt = Date.now();
    const dropped = await store().dropHeldPdfs(new Date(Date.now() - keepPdfMs));
    if (dropped > 0) runtime.log.info({ dropped }, 'resume PDFs the portals hold dropped');
  }

  runtime.every('housekeeping', HOUSEKEEPING_MS, async () => {
    await connection().sendNotifications();
    await dropHeldPdfs();
    await engine().resumeParked();
    await engine().resumePaid();
    await engine().feedStarved();
    await engine().reconcileDue();
    await queries().settleFinished();
    await health().prune();
  });
  // After the work has stopped (preClose): the egress addresses' connection pools.
  app.addHook('onClose', async () => hhClient?.close());

  return { app, runtime, port: config.HH_CONNECTOR_PORT };
}
