import { randomUUID } from 'node:crypto';
import {
  type HhWebhookReceived,
  type NegotiationStep,
  type VacancyStep,
  type HhImportRequested,
  type HhNegotiationSynced,
  type ImportScope,
  type Knex,
  type Logger,
  type MessageContext,
  type Outcome,
  type Runtime,
  ack,
  defer,
  FileStore,
  enqueue,
  classifyError,
  subjects,
  UnavailableError,
  WHOLE_SCOPE,
} from '@hhb24/common';
import type { Config } from '../config.js';
import {
  HH_ERROR_CODES,
  type HhAccount,
  type HhClient,
  HhError,
  HhLoginRequired,
  type HhMessage,
  type HhNegotiation,
  HhViewLimitExceeded,
  hasPaidAccess,
} from '../hh/index.js';
import {
  type KeptResume,
  type Kind,
  NO_MESSAGE,
  buildSnapshot,
  coverLetterOf,
  keepResume,
  kindFromFirstAuthor,
  kindFromItem,
  personKeys,
  sameSnapshot,
} from './snapshot.js';
import { refreshAnalytics } from './analytics.js';
import {
  type NegotiationRow,
  type RefusedItem,
  type SyncStore,
  hhTime,
  isDiscardCollection,
} from './store.js';

type KeptResumeRow = {
  data: KeptResume;
  updatedAt: string;
  hasPdf: boolean;
  pdfDropped?: boolean;
  /** This read opened the resume through the negotiation (hh.ru marks the response viewed). */
  viewed?: boolean;
};

/** Longest wait for the shared hh.ru budget inside a handler; beyond it the message is deferred. */
const HH_WAIT_MS = 20_000;
/** Locks are kept alive while their holder works; a holder that died frees them this soon. */
const LOCK_MS = 15_000;
const PER_PAGE = 50;
/** A step queued longer ago than this no longer counts against its portal's window (it was lost or dead-lettered). */
const STEP_STALE_MS = 10 * 60_000;
const opts = { maxWaitMs: HH_WAIT_MS };

const isNotFound = (err: unknown) =>
  err instanceof HhError && (err.status === 404 || err.code === HH_ERROR_CODES.notFound);
const isUnpaid = (err: unknown) => err instanceof HhError && err.code === HH_ERROR_CODES.paymentRequired;

export interface EngineDeps {
  runtime: Runtime;
  config: Config;
  hh: () => HhClient;
  store: SyncStore;
}

/**
 * A failed read of a negotiation's messages that is tried again rather than taken as «the messages
 * cannot be read»: a wait (our own limiter's too), an outage, or a login to renew.
 */
function triedAgain(err: unknown): boolean {
  const e = classifyError(err);
  return (
    e.wait ||
    e.retryable ||
    err instanceof HhLoginRequired ||
    (err instanceof HhError && err.code === HH_ERROR_CODES.loginRequired)
  );
}

/**
 * The import and the continuous sync, as resumable steps: an import request lists the account's
 * vacancies and enqueues one step per vacancy; a vacancy step pages through every collection and
 * enqueues one step per new or changed negotiation; a negotiation step reads the resume and its
 * PDF once, recognises the person and hands a new snapshot version to crm-writer through the
 * outbox. Postgres holds what is left to do, so a crash, a lost login or a used-up view limit
 * only pauses the work: the same steps run again and find the rest.
 */
export class SyncEngine {
  constructor(private readonly d: EngineDeps) {}

  private get hh(): HhClient {
    return this.d.hh();
  }
  private get store(): SyncStore {
    return this.d.store;
  }
  private get log() {
    return this.d.runtime.log;
  }

  // ---- hh.import.requested -----------------------------------------------------------------

  async onImportRequested(ctx: MessageContext<HhImportRequested>): Promise<Outcome> {
    const { memberId, kind } = ctx.data;
    const account = await this.hh.accounts.current(memberId);
    if (!account || account.status !== 'active') {
      ctx.log.info(
        { memberId, kind },
        'import requested without an active hh.ru login; it runs after the next login',
      );
      return ack();
    }
    return this.guard(ctx, account, async () => {
      const current = await this.store.getImport(memberId);
      if (kind === 'initial') {
        // A redelivery of the request that started the current run carries on with that run.
        const same = current?.requestId === ctx.msgId;
        if (!same || !current.listedAt)
          await this.listForImport(
            account,
            same ? current.runId : null,
            ctx.data.requestedBy,
            ctx.msgId,
            same ? current.scope : (ctx.data.scope ?? WHOLE_SCOPE),
          );
        return ack();
      }
      if (!current) {
        ctx.log.info(
          { memberId, kind },
          'nothing to resume or reconcile: the portal has not started its import',
        );
        return ack();
      }
      if (current.accountId !== account.id) await this.store.moveImport(memberId, account.id);
      if (!current.listedAt)
        await this.listForImport(account, current.runId, null, current.requestId ?? ctx.msgId, current.scope);
      // Vacancies the import has not paged yet get their import step again, not a reconciliation too.
      const unpaged = kind === 'resume' ? await this.requeueUnfinished(account, current.runId) : [];
      await this.listForReconcile(account, new Set(unpaged));
      return ack();
    });
  }

  /**
   * Lists the account's vacancies (the chosen ones, if the portal chose) into an import run (a new
   * one unless `runId`) and enqueues a step for each.
   */
  private async listForImport(
    account: HhAccount,
    runId: string | null,
    requestedBy: number | null,
    requestId: string,
    scope: ImportScope,
  ): Promise<void> {
    const listing = await this.hh.account(account.id).listing(opts);
    const vacancies = listing.vacancies.filter((v) => !scope.vacancyIds || scope.vacancyIds.includes(v.id));
    await this.d.runtime.db.transaction(async (trx) => {
      const run =
        runId ??
        (await this.store.startImport(trx, account.memberId, account.id, requestId, requestedBy, scope));
      await this.store.keepListing(trx, account.memberId, account, listing);
      await this.store.upsertVacancies(trx, account.memberId, account.id, vacancies, run);
      await this.enqueueVacancies(
        trx,
        account,
        vacancies.map((v) => v.id),
        run,
      );
      await this.store.markListed(trx, account.memberId, run);
    });
    this.d.runtime.wakeOutbox();
    this.log.info({ memberId: account.memberId, vacancies: vacancies.length }, 'import listed');
  }

  /**
   * A reconciliation pass: every vacancy the account sees now (new ones included) gets a step; of a
   * portal that chose vacancies, the chosen ones and those it already holds negotiations of.
   */
  async listForReconcile(account: HhAccount, skip = new Set<string>()): Promise<void> {
    const scope = (await this.store.getImport(account.memberId))?.scope ?? WHOLE_SCOPE;
    const held = scope.vacancyIds ? await this.store.countsByVacancy(account.memberId) : null;
    const listing = await this.hh.account(account.id).listing(opts);
    const vacancies = listing.vacancies.filter(
      (v) => !scope.vacancyIds || scope.vacancyIds.includes(v.id) || (held?.get(v.id) ?? 0) > 0,
    );
    await this.d.runtime.db.transaction(async (trx) => {
      await this.store.keepListing(trx, account.memberId, account, listing);
      await this.store.startReconciliation(trx, account.memberId, vacancies.length);
      await this.enqueueVacancies(
        trx,
        account,
        vacancies.map((v) => v.id).filter((id) => !skip.has(id)),
        null,
      );
    });
    this.d.runtime.wakeOutbox();
  }

  /**
   * The account's active vacancies and the employer's managers read again: the managers and
   * regions as hh.ru has them now (a vacancy handed to another manager routes its new responses to
   * that manager's user), kept for the pages that show them.
   */
  async refreshVacancies(account: HhAccount, log: Logger = this.d.runtime.log): Promise<void> {
    const listing = await this.hh.account(account.id).listing(opts);
    await this.d.runtime.db.transaction((trx) =>
      this.store.keepListing(trx, account.memberId, account, listing),
    );
    log.info(
      { memberId: account.memberId, vacancies: listing.vacancies.length, managers: listing.managers?.length },
      'vacancies and managers read again',
    );
  }

  /** After a new login: the vacancy steps the import had not finished and every unsettled negotiation. Returns those vacancies. */
  private async requeueUnfinished(account: HhAccount, runId: string): Promise<string[]> {
    const vacancies = await this.store.pendingImportVacancies(account.memberId, runId);
    const parked = await this.store.parked(account.memberId);
    // Steps queued before the login was lost were acknowledged without work: the pending ones are fed again.
    await this.store.unqueue(account.memberId);
    const fed = await this.d.runtime.db.transaction(async (trx) => {
      await this.enqueueVacancies(trx, account, vacancies, runId, randomUUID());
      await this.enqueueNegotiations(trx, account, parked, randomUUID());
      return this.feed(trx, account);
    });
    this.d.runtime.wakeOutbox();
    this.log.info(
      { memberId: account.memberId, vacancies: vacancies.length, negotiations: parked.length + fed },
      'unfinished work enqueued again',
    );
    return vacancies;
  }

  private async enqueueVacancies(
    trx: Knex.Transaction,
    account: HhAccount,
    vacancyIds: string[],
    runId: string | null,
    nonce: string = runId ?? randomUUID(),
  ): Promise<void> {
    await enqueue(
      trx,
      vacancyIds.map((vacancyId) => ({
        subject: subjects.hhImportVacancy,
        msgId: `vacancy:${account.memberId}:${vacancyId}:${nonce}`,
        payload: {
          memberId: account.memberId,
          accountId: account.id,
          vacancyId,
          runId,
        } satisfies VacancyStep,
      })),
    );
  }

  /**
   * Enqueues steps for the portal's pending negotiations that have none, as many as its window
   * (HH_IMPORT_WINDOW) has room for; every finished step feeds the next. The stream so never holds
   * more than a window of one portal's steps, and portals importing at once take turns instead of
   * the first one listed being served to the end before the others start. Returns how many.
   */
  private async feed(trx: Knex.Transaction, account: HhAccount): Promise<number> {
    const ids = await this.store.takeForSteps(
      trx,
      account.memberId,
      this.d.config.HH_IMPORT_WINDOW,
      STEP_STALE_MS,
    );
    await this.enqueueNegotiations(trx, account, ids, randomUUID());
    return ids.length;
  }

  /** Portals whose pending negotiations have no step in flight (all were lost or dead-lettered meanwhile) are fed. */
  async feedStarved(): Promise<void> {
    for (const memberId of await this.store.starved(STEP_STALE_MS)) {
      const account = await this.hh.accounts.current(memberId);
      if (!account || account.status !== 'active') continue;
      await this.d.runtime.db.transaction((trx) => this.feed(trx, account));
      this.d.runtime.wakeOutbox();
    }
  }

  /** `nonce` tells a new attempt from a redelivered one: without it JetStream would drop it as a duplicate. */
  private async enqueueNegotiations(
    trx: Knex.Transaction,
    account: HhAccount,
    ids: string[],
    nonce: string,
  ): Promise<void> {
    await enqueue(
      trx,
      ids.map((negotiationId) => ({
        subject: subjects.hhImportNegotiation,
        msgId: `negotiation:${account.memberId}:${negotiationId}:${nonce}`,
        payload: {
          memberId: account.memberId,
          accountId: account.id,
          negotiationId,
        } satisfies NegotiationStep,
      })),
    );
  }

  // ---- hh.import.vacancy -------------------------------------------------------------------

  async onVacancyStep(ctx: MessageContext<VacancyStep>): Promise<Outcome> {
    return this.hh.step(() => this.vacancyStep(ctx));
  }

  private async vacancyStep(ctx: MessageContext<VacancyStep>): Promise<Outcome> {
    const step = ctx.data;
    const account = await this.activeAccount(step.memberId, step.accountId);
    // Without paid access the vacancy stays unpaged; the probe that finds access again resumes it.
    if (!account || account.unpaidUntil) return ack();
    return this.guard(ctx, account, async () => {
      const client = this.hh.account(account.id);
      let collections;
      try {
        collections = (await client.collections(step.vacancyId, opts)).collections;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // Archived, moved to a manager this account cannot see, or removed: nothing to page.
        await this.store.vacancyDone(step.memberId, step.vacancyId, step.runId);
        return ack();
      }
      // A reconciliation pages only the collections whose size differs from what we hold, or where
      // hh.ru flags more or fewer negotiations for attention than we last saw (a new message from
      // the applicant, of which hh.ru sends no notification, or one read on hh.ru).
      const held = step.runId ? null : await this.store.collectionFigures(step.memberId, step.vacancyId);
      const scope = (await this.store.getImport(step.memberId))?.scope ?? WHOLE_SCOPE;
      for (const collection of collections) {
        const total = collection.counters?.total;
        if (total === 0) continue;
        // The import leaves out the discard collections when the portal chose so; a reconciliation
        // pages them still, for the negotiations already kept that moved there.
        if (step.runId && !scope.discarded && isDiscardCollection(collection.id)) continue;
        const ours = held?.get(collection.id) ?? { total: 0, withUpdates: 0 };
        const flagged = collection.counters?.with_updates;
        if (
          held &&
          total !== undefined &&
          ours.total === total &&
          (flagged === undefined || ours.withUpdates === flagged)
        )
          continue;
        for (let page = 0; ; page++) {
          const p = await client.collectionPage(collection.url, page, PER_PAGE, opts);
          const refused: RefusedItem[] = [];
          await this.d.runtime.db.transaction(async (trx) => {
            await this.store.upsertItems(
              trx,
              step.memberId,
              account.id,
              step.vacancyId,
              collection.id,
              p.items,
              { source: step.runId ? undefined : 'reconcile', refused, scope },
            );
            await this.feed(trx, account);
          });
          this.d.runtime.wakeOutbox();
          if (refused.length > 0)
            ctx.log.info(
              { memberId: step.memberId, vacancyId: step.vacancyId, refused },
              'negotiations on a page older than the ones kept: not stored',
            );
          if (page + 1 >= p.pages || p.items.length === 0) break;
        }
      }
      await this.store.vacancyDone(step.memberId, step.vacancyId, step.runId);
      if (!step.runId) this.d.runtime.metrics.lastSuccess.set({ stage: 'reconcile' }, Date.now() / 1000);
      return ack();
    });
  }

  // ---- hh.import.negotiation ---------------------------------------------------------------

  async onNegotiationStep(ctx: MessageContext<NegotiationStep>): Promise<Outcome> {
    return this.hh.step(() => this.negotiationStep(ctx));
  }

  private async negotiationStep(ctx: MessageContext<NegotiationStep>): Promise<Outcome> {
    const { memberId, negotiationId } = ctx.data;
    const account = await this.activeAccount(memberId, ctx.data.accountId);
    if (!account || account.unpaidUntil) return ack();
    const held = await this.d.runtime.locks.hold(`hh:negotiation:${memberId}:${negotiationId}`, LOCK_MS, () =>
      this.guard(ctx, account, async () => {
        const row = await this.store.get(memberId, negotiationId);
        if (row && row.status !== 'ready') await this.bringUpToDate(account, row);
        return ack();
      }),
    );
    if (!held.ran) return defer('another process is bringing this negotiation up to date', 1000);
    if (await this.d.runtime.db.transaction((trx) => this.feed(trx, account))) this.d.runtime.wakeOutbox();
    return held.value;
  }

  // ---- hh.webhook.received -----------------------------------------------------------------

  /** A callback from hh.ru: logged once by its id, then the negotiation is read again from the API. */
  async onWebhook(ctx: MessageContext<HhWebhookReceived>): Promise<Outcome> {
    const { accountId, body, receivedAt } = ctx.data;
    const account = await this.hh.accounts.get(accountId);
    const delivery = { accountId, actionType: body.action_type, callbackId: body.id };
    if (!account) {
      ctx.log.warn({ accountId, actionType: body.action_type }, 'webhook for an unknown hh account ignored');
      return ack();
    }
    const topicId = typeof body.payload.topic_id === 'string' ? body.payload.topic_id : null;
    if (
      !(await this.store.recordDelivery({ ...delivery, memberId: account.memberId, topicId, receivedAt }))
    ) {
      this.d.runtime.metrics.syncOutcomes.inc({ stage: 'webhook', outcome: 'duplicate' });
      return ack();
    }
    const done = async (outcome: string) => {
      await this.store.deliveryDone({ ...delivery, memberId: account.memberId, topicId }, outcome);
      const m = this.d.runtime.metrics;
      m.syncOutcomes.inc({ stage: 'webhook', outcome: outcome === 'processed' ? 'processed' : 'ignored' });
      const lag = (Date.now() - Date.parse(receivedAt)) / 1000;
      if (Number.isFinite(lag) && lag >= 0) m.syncLagSeconds.observe({ stage: 'webhook' }, lag);
      if (outcome === 'processed') m.lastSuccess.set({ stage: 'webhook' }, Date.now() / 1000);
    };
    const ignore = async (why: string) => {
      ctx.log.info(
        { accountId, memberId: account.memberId, actionType: body.action_type, why },
        'webhook ignored',
      );
      await done(`ignored: ${why}`);
      return ack();
    };
    if (account.status !== 'active') return ignore(`the account is ${account.status}`);
    // The reconciliation that follows paid access coming back brings what these said.
    if (account.unpaidUntil) return ignore('no paid API access');
    // A vacancy edited on hh.ru (handed to another manager, among other changes): the payload
    // does not say what changed, so the vacancies and managers are read again; new responses
    // follow the manager. Also before the first import: «Настройки» maps the managers kept.
    if (body.action_type === 'VACANCY_CHANGE')
      return this.guard(ctx, account, async () => {
        await this.refreshVacancies(account, ctx.log);
        await done('processed');
        return ack();
      });
    if (!(await this.store.getImport(account.memberId)))
      return ignore('the portal has not started its import yet');
    if (
      ![
        'NEW_RESPONSE_OR_INVITATION_VACANCY',
        'NEW_NEGOTIATION_VACANCY',
        'NEGOTIATION_EMPLOYER_STATE_CHANGE',
      ].includes(body.action_type)
    )
      return ignore('not about a negotiation');
    if (!topicId || !/^\d{1,20}$/.test(topicId)) return ignore('no topic_id');
    return this.guard(ctx, account, async () => {
      let item: HhNegotiation;
      try {
        item = await this.hh.account(account.id).negotiation(topicId, opts);
      } catch (err) {
        if (isUnpaid(err)) await done('ignored: no paid API access');
        if (!isNotFound(err)) throw err;
        return ignore('the negotiation is not visible to this account');
      }
      if (!item.vacancy) return ignore('the negotiation names no vacancy');
      if (!(await this.storeFresh(account, item, ctx.msgId, ctx.log)))
        return ignore('a new negotiation outside what the portal chose to import');
      await done('processed');
      return ack();
    });
  }

  /**
   * A negotiation just read from hh.ru (a webhook, a robot, an action we ran): stored and brought
   * up to date at once, not through a step, so the CRM shows it within seconds. When another
   * process holds the negotiation, a step is enqueued instead (`nonce` names it). False when it is
   * a new one outside what the portal chose to import: nothing is stored.
   */
  async storeFresh(
    account: HhAccount,
    item: HhNegotiation,
    nonce: string,
    log: Logger = this.d.runtime.log,
  ): Promise<boolean> {
    const vacancy = item.vacancy!;
    // A vacancy hh.ru has not listed to us yet (published since the last listing): its manager
    // decides who is responsible, so the list is read again before the snapshot is made.
    if (await this.store.ensureVacancy(account.memberId, account.id, vacancy))
      await this.refreshVacancies(account, log);
    const refused: RefusedItem[] = [];
    const outOfScope: string[] = [];
    const scope = (await this.store.getImport(account.memberId))?.scope ?? WHOLE_SCOPE;
    await this.d.runtime.db.transaction((trx) =>
      this.store.upsertItems(trx, account.memberId, account.id, vacancy.id, null, [item], {
        onTie: 'refuse',
        refused,
        scope,
        outOfScope,
      }),
    );
    if (outOfScope.length > 0) return false;
    const [older] = refused;
    if (older && !older.tie) {
      // Answered late: what we keep is newer (another read was stored meanwhile). Dropped.
      log.info(
        { memberId: account.memberId, negotiationId: item.id, held: older.held, read: older.read },
        'an older answer of hh.ru than the negotiation kept: not stored',
      );
      this.d.runtime.metrics.syncOutcomes.inc({ stage: 'webhook', outcome: 'older' });
    } else if (older) {
      // As old as the kept item but different: a read started now is answered with what hh.ru has
      // now, newer than both, so it settles which one is current.
      log.info(
        { memberId: account.memberId, negotiationId: item.id, held: older.held, read: older.read },
        'an answer of hh.ru as old as the negotiation kept but different: read again',
      );
      const again = await this.hh.account(account.id).negotiation(item.id, opts);
      if (!again.vacancy) return true;
      await this.d.runtime.db.transaction((trx) =>
        this.store.upsertItems(trx, account.memberId, account.id, again.vacancy!.id, null, [again]),
      );
    }
    // Brought up to date here (not through a step) so that the entity appears within seconds.
    let handOver: boolean;
    try {
      const held = await this.d.runtime.locks.hold(
        `hh:negotiation:${account.memberId}:${item.id}`,
        LOCK_MS,
        async () => {
          const row = await this.store.get(account.memberId, item.id);
          if (row && row.status !== 'ready') await this.bringUpToDate(account, row);
        },
      );
      handOver = !held.ran;
    } catch (err) {
      if (err instanceof HhLoginRequired) throw err;
      // The negotiation is stored; reading the rest (the resume, its PDF) goes on as a negotiation
      // step, with its own retries and, if it never succeeds, a dead letter that names the portal:
      // a failure the «Состояние» tab shows with «Повторить».
      log.warn(
        { err, memberId: account.memberId, negotiationId: item.id },
        'bringing a negotiation up to date failed; it goes on as a step',
      );
      handOver = true;
    }
    if (handOver) {
      // Within the portal's import window like every step: when it is full, the feed gives the
      // negotiation (stored, pending) its step as the window makes room.
      const queued = await this.d.runtime.db.transaction(async (trx) => {
        const room = await this.store.queueInWindow(
          trx,
          account.memberId,
          item.id,
          this.d.config.HH_IMPORT_WINDOW,
          STEP_STALE_MS,
        );
        if (room) await this.enqueueNegotiations(trx, account, [item.id], nonce);
        return room;
      });
      if (queued) this.d.runtime.wakeOutbox();
      else
        log.info(
          { memberId: account.memberId, negotiationId: item.id },
          'the import window is full: the negotiation waits for its turn',
        );
    }
    return true;
  }

  // ---- one negotiation -----------------------------------------------------------------------

  /**
   * Reads what the snapshot still lacks (who started it; the resume and PDF, once per version of
   * the resume), builds the snapshot, and stores and hands it on when it says something new.
   */
  async bringUpToDate(account: HhAccount, row: NegotiationRow): Promise<'ready' | 'parked'> {
    const client = this.hh.account(account.id);
    const item = row.item;
    const decided = row.kind ? { kind: row.kind, first: undefined } : await this.kindOf(account, row);
    const kind = decided.kind;
    // The cover letter: the text of a response's first message, when the applicant wrote it. Read
    // once (the messages list, one request; it marks the response viewed, as the resume does).
    let letter = row.letterRead ? row.coverLetter : null;
    let messagesRead = Boolean(decided.first);
    if (!row.letterRead && kind === 'response') {
      const first =
        decided.first ?? (await this.firstMessage(account, row, (item.counters?.messages ?? 1) > 0));
      messagesRead = messagesRead || first !== undefined;
      letter = coverLetterOf(first);
      await this.store.setLetter(row.memberId, row.negotiationId, letter);
    }
    let resumeViewed = false;
    const resumeId = item.resume?.id ?? row.resumeId;
    let kept: KeptResumeRow | undefined = resumeId
      ? await this.store.getResume(row.memberId, resumeId)
      : undefined;
    if (item.resume && this.needsFetch(kept, item.resume.updated_at, row.crmHasPdf)) {
      if (account.viewsParkedUntil && account.viewsParkedUntil.getTime() > Date.now()) {
        await this.store.markParked(row.memberId, row.negotiationId, row.itemSeq);
        return 'parked';
      }
      // One reader per resume: its other negotiations (one person, many responses) wait and reuse it.
      try {
        const held = await this.d.runtime.locks.hold(
          `hh:resume:${row.memberId}:${item.resume.id}`,
          LOCK_MS,
          async () => {
            const again = await this.store.getResume(row.memberId, item.resume!.id);
            return this.needsFetch(again, item.resume!.updated_at, row.crmHasPdf)
              ? this.fetchResume(client, row.memberId, item.resume!.url, again, item.resume!.updated_at)
              : again;
          },
          { waitMs: 30_000, retryMs: 100 },
        );
        if (!held.ran)
          throw new UnavailableError('hh_resume_busy', 'another step is still reading this resume', {
            wait: true,
            retryAfterMs: 1000,
          });
        kept = held.value;
        resumeViewed = Boolean(held.value && 'viewed' in held.value && held.value.viewed);
      } catch (err) {
        if (err instanceof HhViewLimitExceeded) {
          const until = new Date(
            Math.min(err.resetsAt.getTime(), Date.now() + this.d.config.HH_VIEW_LIMIT_RECHECK_SEC * 1000),
          );
          await this.hh.accounts.parkViews(account.id, until);
          await this.store.markParked(row.memberId, row.negotiationId, row.itemSeq);
          this.log.warn(
            { memberId: row.memberId, account: account.id, until },
            'daily resume views used up: resume reads wait',
          );
          return 'parked';
        }
        // Deleted between the list and the read: what we kept (if anything) stays.
        if (!isNotFound(err)) throw err;
      }
    }
    const vacancy = (await this.store.getVacancy(row.memberId, row.vacancyId)) ?? {
      name: item.vacancy?.name ?? '',
      url: item.vacancy?.alternate_url ?? null,
      managerId: null,
      area: null,
    };
    // What we opened on hh.ru no longer waits there for attention (the item kept says so too).
    if (resumeViewed || messagesRead)
      await this.store.markSeen(row.memberId, row.negotiationId, row.itemSeq, messagesRead);
    const input = {
      memberId: row.memberId,
      accountId: account.id,
      kind,
      item,
      coverLetter: letter,
      unreadMessages: messagesRead ? 0 : (item.counters?.unread_messages ?? 0),
      vacancy: {
        id: row.vacancyId,
        name: vacancy.name,
        url: vacancy.url,
        employerId: account.employerId,
        managerId: vacancy.managerId,
        area: vacancy.area,
      },
      resume: kept?.data ?? null,
      hasPdf: Boolean(kept?.hasPdf),
    };
    const keys = personKeys(buildSnapshot({ ...input, version: 0, personId: '' }));
    await this.d.runtime.db.transaction(async (trx) => {
      const personId = await this.store.recognise(
        trx,
        row.memberId,
        keys.length > 0 ? keys : [`negotiation:${row.negotiationId}`],
      );
      const current = (await this.store.get(row.memberId, row.negotiationId, trx, true))!;
      // A newer item arrived while this one was read: its own step (or webhook) stores it; a
      // snapshot of this one now would only go backwards.
      if (current.itemSeq !== row.itemSeq) return;
      const snapshot = buildSnapshot({ ...input, version: current.version + 1, personId });
      if (current.snapshot && hhTime(snapshot.updatedAt) < hhTime(current.snapshot.updatedAt)) {
        this.log.warn(
          {
            memberId: row.memberId,
            negotiationId: row.negotiationId,
            held: current.snapshot.updatedAt,
            built: snapshot.updatedAt,
          },
          'a snapshot older than the one kept: not stored',
        );
        return;
      }
      const changed = !sameSnapshot(current.snapshot, snapshot);
      if (!changed) snapshot.version = current.version;
      await this.store.settle(trx, { ...current, itemSeq: row.itemSeq }, snapshot, changed);
      if (!changed) return;
      if (current.snapshot?.state.id !== snapshot.state.id) {
        await this.store.addHistory(trx, row.memberId, row.negotiationId, snapshot.state, snapshot.updatedAt);
        await refreshAnalytics(trx, row.memberId, [row.negotiationId]);
      }
      await enqueue(trx, {
        subject: subjects.hhNegotiationSynced,
        // With the account: versions start again after a portal's data was erased and the app
        // reinstalled (a new login is a new account), and JetStream and the inboxes must not take
        // the new snapshots for the old ones.
        msgId: `synced:${row.memberId}:${snapshot.accountId}:${row.negotiationId}:${snapshot.version}`,
        payload: { snapshot } satisfies HhNegotiationSynced,
      });
    });
    this.d.runtime.wakeOutbox();
    return 'ready';
  }

  /**
   * A resume is read again only when hh.ru says it changed, and its PDF only when we have none and
   * this negotiation's lead or deal may still need it (a PDF dropped because the portal holds it is
   * downloaded again only for a negotiation whose entity lacks the file).
   */
  private needsFetch(
    kept: KeptResumeRow | undefined,
    updatedAt: string | undefined,
    entityHoldsPdf: boolean,
  ): boolean {
    if (!kept) return true;
    if (updatedAt && Date.parse(kept.updatedAt) < Date.parse(updatedAt)) return true;
    if (kept.hasPdf || !kept.data.pdfUrl) return false;
    return !(kept.pdfDropped && entityHoldsPdf);
  }

  /** Reads the resume when it is new or changed (a view), and its PDF when it is missing; both are kept. */
  private async fetchResume(
    client: ReturnType<HhClient['account']>,
    memberId: string,
    url: string,
    kept: KeptResumeRow | undefined,
    updatedAt: string | undefined,
  ): Promise<KeptResumeRow> {
    const stale = !kept || Boolean(updatedAt && Date.parse(kept.updatedAt) < Date.parse(updatedAt));
    const data = stale || !kept ? keepResume(await client.resume(url, opts)) : kept.data;
    if (stale) await this.store.saveResume(memberId, data);
    if (data.pdfUrl && (stale || !kept?.hasPdf)) {
      // Written into the file store as it downloads; crm-writer and the card read it there.
      const files = new FileStore(this.d.runtime.db);
      const ref = await client.resumePdf(
        data.pdfUrl,
        (bytes) => files.write(memberId, `hh-resume:${data.id}`, bytes),
        opts,
      );
      await this.store.savePdf(memberId, data.id, ref);
    }
    return {
      data,
      updatedAt: data.updatedAt,
      hasPdf: Boolean(data.pdfUrl) || Boolean(!stale && kept?.hasPdf),
      viewed: stale,
    };
  }

  /**
   * Response or invitation (docs/reference/hh-api.md#response-or-invitation): what the item says, else who
   * wrote the first message. Decided once and kept: later moves change the states the item shows.
   */
  private async kindOf(account: HhAccount, row: NegotiationRow): Promise<{ kind: Kind; first?: HhMessage }> {
    let kind = kindFromItem(row.item);
    let read: HhMessage | undefined;
    // An item that counts no message has none to read: the list would come back empty and the
    // state decide, so the state decides without the request.
    if (!kind && (row.item.counters?.messages ?? 1) > 0) {
      try {
        const first = (await this.hh.account(account.id).messages(row.item, opts)).items[0];
        read = first ?? NO_MESSAGE;
        kind = kindFromFirstAuthor(first?.author.participant_type);
      } catch (err) {
        // Only an answer that says the messages cannot be read is judged by the state. A wait (our
        // own limiter's too, under load) or an outage is tried again: a guess would be kept for good.
        if (triedAgain(err)) throw err;
        this.log.warn(
          { memberId: row.memberId, negotiationId: row.negotiationId, err },
          'could not read who started the negotiation; judged by its state',
        );
      }
    }
    kind ??= row.item.state?.id === 'invitation' ? 'invitation' : 'response';
    await this.store.setKind(row.memberId, row.negotiationId, kind);
    return { kind, first: read };
  }

  /**
   * The first message of a negotiation (undefined when none was read: the item counts no message,
   * or hh.ru says the messages cannot be read; NO_MESSAGE when the list is empty). Waits and
   * outages are tried again, as for the kind.
   */
  private async firstMessage(
    account: HhAccount,
    row: NegotiationRow,
    hasMessages: boolean,
  ): Promise<HhMessage | undefined> {
    if (!hasMessages) return undefined;
    try {
      return (await this.hh.account(account.id).messages(row.item, opts)).items[0] ?? NO_MESSAGE;
    } catch (err) {
      if (triedAgain(err)) throw err;
      this.log.warn(
        { memberId: row.memberId, negotiationId: row.negotiationId, err },
        'could not read the cover letter; the response is shown without it',
      );
      return undefined;
    }
  }

  // ---- housekeeping --------------------------------------------------------------------------

  /** Accounts whose park is over: a probe asks hh.ru for the views left (it costs none) before the parked steps go again. */
  async resumeParked(): Promise<void> {
    for (const account of await this.hh.accounts.claimParkOver(
      new Date(Date.now() + this.d.config.HH_VIEW_LIMIT_RECHECK_SEC * 1000),
    )) {
      const limits = await this.hh
        .account(account.id)
        .resumeLimits({ maxWaitMs: 5000 })
        .catch(() => null);
      if (limits && limits.left.resume_view <= 0) continue;
      await this.hh.accounts.unparkViews(account.id);
      const unparked = await this.store.unpark(account.memberId);
      await this.d.runtime.db.transaction((trx) => this.feed(trx, account));
      this.d.runtime.wakeOutbox();
      this.log.info(
        { memberId: account.memberId, account: account.id, negotiations: unparked },
        'resume views are back: parked work goes on',
      );
    }
  }

  /**
   * Accounts waiting for paid API access: hh.ru's method_access is asked (every
   * HH_PAID_ACCESS_RECHECK_SEC); once the employer has it, the import carries on where it stopped
   * and a reconciliation brings what arrived meanwhile, as after a new login.
   */
  async resumePaid(): Promise<void> {
    for (const account of await this.hh.accounts.claimUnpaidProbe(
      new Date(Date.now() + this.d.config.HH_PAID_ACCESS_RECHECK_SEC * 1000),
    )) {
      const access = await this.hh
        .account(account.id)
        .methodAccess({ maxWaitMs: 5000 })
        .catch(() => null);
      if (!access || !hasPaidAccess(access.items)) continue;
      await this.hh.accounts.markPaid(account.id);
      await enqueue(this.d.runtime.db, {
        subject: subjects.hhImportRequested,
        msgId: `paid:${account.memberId}:${randomUUID()}`,
        payload: {
          memberId: account.memberId,
          kind: 'resume',
          requestedBy: null,
          requestedAt: new Date().toISOString(),
        } satisfies HhImportRequested,
      });
      this.d.runtime.wakeOutbox();
      this.log.info(
        { memberId: account.memberId, account: account.id },
        'paid API access is there: the work goes on',
      );
    }
  }

  /** Each connected account is compared with hh.ru every HH_RECONCILE_INTERVAL_SEC (each pass claimed by one replica). */
  async reconcileDue(): Promise<void> {
    const due = await this.hh.accounts.claimReconcileDue(
      new Date(Date.now() - this.d.config.HH_RECONCILE_INTERVAL_SEC * 1000),
    );
    if (due.length === 0) return;
    await enqueue(
      this.d.runtime.db,
      due.map((a) => ({
        subject: subjects.hhImportRequested,
        msgId: `reconcile:${a.memberId}:${randomUUID()}`,
        payload: {
          memberId: a.memberId,
          kind: 'reconcile',
          requestedBy: null,
          requestedAt: new Date().toISOString(),
        } satisfies HhImportRequested,
      })),
    );
    this.d.runtime.wakeOutbox();
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** The portal's current account if it is this one and active; steps of a replaced or logged-out account stop. */
  private async activeAccount(memberId: string, accountId: string): Promise<HhAccount | undefined> {
    // Read with its tokens: within a step (`HhClient.step`) its hh.ru calls use this read.
    const account = (await this.hh.stepAccount(accountId))?.account;
    if (!account || account.memberId !== memberId || account.status !== 'active') return undefined;
    return account;
  }

  /**
   * A lost login pauses the work instead of failing it: the message is acknowledged, Postgres
   * keeps what is left, and the next login enqueues it again (hh.import.requested, kind resume).
   */
  /**
   * The account's own states end a message's work without failing it: a lost login waits for the
   * next one, missing paid API access for the probe that finds it again (resumePaid).
   */
  private async guard(
    ctx: MessageContext<unknown>,
    account: HhAccount,
    work: () => Promise<Outcome>,
  ): Promise<Outcome> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof HhLoginRequired) {
        ctx.log.info(
          { account: err.accountId, reason: err.reason },
          'hh.ru login lost: the work waits for the next login',
        );
        return ack();
      }
      if (isUnpaid(err)) {
        const nextProbe = new Date(Date.now() + this.d.config.HH_PAID_ACCESS_RECHECK_SEC * 1000);
        if (await this.hh.accounts.markUnpaid(account.id, nextProbe)) {
          this.log.warn(
            { memberId: account.memberId, account: account.id, employer: account.employerId },
            'hh.ru wants paid API access for this employer: the work waits until it has it',
          );
        }
        return ack();
      }
      throw err;
    }
  }
}
