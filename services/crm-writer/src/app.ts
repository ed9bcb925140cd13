import { randomUUID } from 'node:crypto';
import {
  APP_VERSION,
  Bitrix24Client,
  FileStore,
  type HhNegotiationSynced,
  type Launchable,
  type Logger,
  type MessageContext,
  type NegotiationSnapshot,
  type Outcome,
  type PdfRef,
  type PortalEventReceived,
  type PortalSettingsSaved,
  ack,
  createService,
  defer,
  enqueue,
  rpc,
  subjects,
} from '@hhb24/common';
import type { Config } from './config.js';
import type { Pdf } from './fields.js';
import { settingsMissing } from './fixes.js';
import { Incidents } from './incidents.js';
import { migrations } from './migrations.js';
import { SettingsCache } from './settings-cache.js';
import { Records, notNewer } from './records.js';
import { TwoWay } from './two-way.js';
import { Writer } from './writer.js';
import { settingsFor } from './routing.js';

export { schema, type Config } from './config.js';
export { ORIGINATOR_ID } from './fields.js';

/** How often failure incidents are opened, cleared and announced. */
const INCIDENT_CHECK_MS = 2000;

/** Builds crm-writer: owns Bitrix24 CRM writes: exactly one lead or deal per negotiation, its fields, stages and resume file; refusals kept with what to fix. */
export function buildCrmWriter(config: Config, options: { log?: Logger } = {}): Launchable {
  const { app, runtime } = createService({
    name: 'crm-writer',
    config,
    migrations,
    log: options.log,
    publishes: [subjects.crmEntityWritten, subjects.crmEntityFailed, subjects.hhNegotiationSynced],
    calls: [rpc.hhAct, rpc.hhPdf, rpc.hhLoadFailures, rpc.settingsGet],
  });
  runtime.useOutboxRelay();

  // Built on first use: they need the runtime's connections, which exist only after start().
  let b24Client: Bitrix24Client | undefined;
  let parts: { records: Records; settings: SettingsCache; writer: Writer } | undefined;
  const b24 = () => (b24Client ??= Bitrix24Client.fromRuntime(runtime, config));
  let fileStore: FileStore | undefined;
  const files = () => (fileStore ??= new FileStore(runtime.db));
  const the = () => {
    if (!parts) {
      const records = new Records(runtime.db);
      parts = {
        records,
        settings: new SettingsCache(runtime),
        writer: new Writer({
          runtime,
          b24,
          records,
          maxBatchBytes: config.CRM_BATCH_MAX_BYTES,
          maxWaitMs: config.CRM_WAIT_MAX_MS,
        }),
      };
    }
    return parts;
  };

  runtime.addConsumer({
    spec: {
      stream: 'HH',
      durable: 'crm-writer',
      filterSubject: subjects.hhNegotiationSynced,
      ackWaitMs: 15_000,
      maxAckPending: 256,
    },
    concurrency: 16,
    handler: (ctx: MessageContext<HhNegotiationSynced>) => onSynced(ctx.data.snapshot),
  });
  // A portal's settings changed: forget them here, and write its refused negotiations again.
  runtime.addConsumer<PortalSettingsSaved>({
    spec: {
      stream: 'PORTAL',
      durable: 'crm-writer',
      filterSubject: subjects.portalSettingsSaved,
      ackWaitMs: 30_000,
      maxAckPending: 16,
    },
    concurrency: 2,
    handler: async (ctx) => {
      const { memberId } = ctx.data.settings;
      the().settings.forget(memberId);
      const retried = await retry(memberId);
      if (retried > 0) ctx.log.info({ memberId, retried }, 'settings changed: refused writes go again');
      return ack();
    },
  });

  // The links to the portal's leads and deals, its contacts of people, refused writes (with their
  // snapshots), counts and incidents: erased at a clean uninstall, or once the retention passed.
  runtime.erasesPortalData({
    onUninstalled: async (event) => the().settings.forget(event.memberId),
    tables: [
      'crm_failures',
      'crm_links',
      'crm_contacts',
      'crm_write_counts',
      'crm_incidents',
      'crm_stage_checks',
    ],
  });

  const incidents = new Incidents({ runtime, b24 });
  runtime.every('incidents', INCIDENT_CHECK_MS, () => incidents.tick());

  // The portal side of the «Состояние» tab.
  runtime.serve(rpc.crmHealth, async ({ memberId }) => {
    const records = the().records;
    const [portal, lastWriteAt, waits, counts, failures, since] = await Promise.all([
      runtime.db('b24_portals').where({ member_id: memberId }).first('status', 'app_version') as Promise<
        { status: string; app_version: number | null } | undefined
      >,
      records.lastWriteAt(memberId),
      b24()
        .waitsLastHour(memberId)
        .catch(() => 0),
      records.counts(memberId),
      records.failures(memberId),
      incidents.openSince(memberId),
    ]);
    return {
      portalStatus: portal?.status ?? null,
      appVersion: portal?.app_version ?? null,
      appVersionCurrent: APP_VERSION,
      lastWriteAt: lastWriteAt?.toISOString() ?? null,
      rateLimitWaitsLastHour: waits,
      counts,
      failures,
      incidentSince: since?.toISOString() ?? null,
    };
  });

  // Two-way status: stage moves of our leads and deals (ONCRMLEADUPDATE / ONCRMDEALUPDATE) run the hh.ru action.
  const twoWay = new TwoWay(
    runtime,
    b24,
    () => the().records,
    () => the().settings,
  );
  runtime.addConsumer<PortalEventReceived>({
    spec: {
      stream: 'PORTAL',
      durable: 'crm-writer-stages',
      filterSubject: subjects.portalEventReceived,
      ackWaitMs: 60_000,
      maxAckPending: 32,
    },
    concurrency: 4,
    handler: (ctx) => twoWay.onEvent(ctx.data, ctx.log),
  });
  runtime.every('stage-check', config.CRM_STAGE_CHECK_SEC * 1000, () => twoWay.sweep(runtime.log));

  runtime.serve(rpc.crmFailures, async (req) => ({ items: await the().records.failures(req.memberId) }));
  runtime.serve(rpc.crmRetry, async (req) => ({ retried: await retry(req.memberId, req.negotiationId) }));

  async function onSynced(s: NegotiationSnapshot): Promise<Outcome> {
    const { records, writer } = the();
    const settings = await the().settings.get(s.memberId);
    if (!settings) {
      const lang = await b24().store.language(s.memberId);
      await runtime.db.transaction((trx) => writer.refuse(trx, s, settingsMissing(lang)));
      runtime.wakeOutbox();
      return ack();
    }
    const link = await records.link(s.memberId, s.negotiationId);
    // An older snapshot than the one written is dropped here (a version check) or by the writer under its lock.
    if (notNewer(link, s) === 'version') return ack();
    const pdf = s.resume?.pdf && !link?.hasPdf ? await fetchPdf(s) : null;
    const outcome = await writer.submit(s, settingsFor(settings, s), pdf);
    switch (outcome.kind) {
      case 'written':
      case 'refused':
        return ack();
      case 'busy':
        return defer('another process is writing this negotiation', 1000);
      case 'wait':
        return defer(outcome.reason, outcome.delayMs);
      case 'error':
        throw outcome.error;
    }
  }

  /**
   * The resume PDF by reference: hh-connector says where it is stored, and the write batch reads it
   * from the file store as it sends it (it is never held whole here).
   */
  async function fetchPdf(s: NegotiationSnapshot): Promise<Pdf | null> {
    const ref: PdfRef | null = await runtime.call(
      rpc.hhPdf,
      { memberId: s.memberId, negotiationId: s.negotiationId },
      { timeoutMs: 10_000 },
    );
    if (!ref) return null;
    return { name: ref.filename, file: files().upload(s.memberId, { key: ref.file, size: ref.size }) };
  }

  /** Publishes the kept snapshots of refused writes again; the consumer writes them as any other. */
  async function retry(memberId: string, negotiationId?: string): Promise<number> {
    return runtime.db
      .transaction(async (trx) => {
        const snapshots = await new Records(trx).takeForRetry(memberId, negotiationId);
        await enqueue(
          trx,
          snapshots.map((snapshot) => ({
            subject: subjects.hhNegotiationSynced,
            msgId: `retry:${memberId}:${snapshot.negotiationId}:${randomUUID()}`,
            payload: { snapshot } satisfies HhNegotiationSynced,
          })),
        );
        return snapshots.length;
      })
      .finally(() => runtime.wakeOutbox());
  }

  return { app, runtime, port: config.CRM_WRITER_PORT };
}
