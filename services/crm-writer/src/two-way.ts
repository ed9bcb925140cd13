import {
  AppError,
  type Bitrix24Client,
  type EntityType,
  HH_TARGETS,
  type HhTarget,
  type Logger,
  type Outcome,
  type PortalEventReceived,
  type PortalSettings,
  type Runtime,
  ack,
  defer,
  rpc,
  textOf,
} from '@hhb24/common';
import { ORIGINATOR_ID } from './fields.js';
import type { Records } from './records.js';
import type { SettingsCache } from './settings-cache.js';

const UPDATE_EVENTS: Record<string, EntityType> = { ONCRMLEADUPDATE: 'lead', ONCRMDEALUPDATE: 'deal' };
/** How far before the last look began the next one starts (the portal's clock against ours). */
const STAGE_CHECK_OVERLAP_MS = 120_000;

/**
 * Two-way status (extended mode): a person or a robot moved a lead or deal of ours to a stage
 * mapped to an hh.ru state, so the matching hh.ru action runs (hh-connector). Per portal: on or off,
 * and discards only when allowed separately.
 *
 * No echo: the event carries only the id, so the entity's stage is read now and compared with the
 * stage crm-writer set last (crm_links): equal means the change was ours (or not a stage move) and
 * nothing goes to hh.ru. A move we make after hh.ru changed maps to the state hh.ru already has,
 * which hh-connector answers without an action as well.
 */
export class TwoWay {
  constructor(
    private readonly runtime: Runtime,
    private readonly b24: () => Bitrix24Client,
    private readonly records: () => Records,
    private readonly settings: () => SettingsCache,
  ) {}

  async onEvent(e: PortalEventReceived, log: Logger): Promise<Outcome> {
    const entityType = UPDATE_EVENTS[e.event];
    const entityId = Number((e.data as { FIELDS?: { ID?: unknown } } | null)?.FIELDS?.ID);
    if (!entityType || !Number.isInteger(entityId) || entityId <= 0) return ack();
    const settings = await this.twoWaySettings(e.memberId, entityType);
    if (!settings) return ack();
    // From the portal's read on, the same-looking event arriving later is one of its own.
    return this.settle(e.memberId, entityType, entityId, settings, log, () =>
      this.runtime.eventOccurrences.advance(e.occurrence),
    );
  }

  /**
   * The portal sends an event once and never again (docs/reference/bitrix24-api.md#events): a move
   * made while no gateway took it would be lost. So each portal's leads or deals of ours modified
   * since the last look are listed, and those whose stage is not the one crm-writer set go the way
   * an event goes. One list request per portal with the two-way status on, any replica (a lock per
   * portal), `CRM_STAGE_CHECK_SEC` apart.
   */
  async sweep(log: Logger): Promise<void> {
    const portals = (await this.runtime
      .db('b24_portals')
      .where({ status: 'installed' })
      .pluck('member_id')) as string[];
    for (const memberId of portals) {
      // A stopping process leaves the rest to the next look (the shutdown waits for this task).
      if (this.runtime.stopping.aborted) return;
      const settings = await this.settings().get(memberId);
      if (!settings?.extendedSync || !settings.twoWayStatus) continue;
      const lease = await this.runtime.locks.acquire(`crm-stage-check:${memberId}`, 60_000);
      if (!lease) continue;
      try {
        await this.sweepPortal(memberId, settings, log);
      } catch (err) {
        log.warn({ err, memberId }, 'stage check failed; the next one looks again');
      } finally {
        await lease.release().catch(() => false);
      }
    }
  }

  private async sweepPortal(memberId: string, settings: PortalSettings, log: Logger): Promise<void> {
    const db = this.runtime.db;
    const entityType = settings.entityType;
    const startedAt = new Date();
    const last = await db<{ member_id: string; checked_at: Date }>('crm_stage_checks')
      .where({ member_id: memberId })
      .first('checked_at');
    // The portal's clock is not ours: look back a margin further than the last look began.
    const since = new Date((last?.checked_at ?? startedAt).getTime() - STAGE_CHECK_OVERLAP_MS);
    const stageField = entityType === 'lead' ? 'STATUS_ID' : 'STAGE_ID';
    const rows = await this.b24().listAll<Record<string, unknown>>(
      memberId,
      `crm.${entityType}.list`,
      {
        filter: { ORIGINATOR_ID, '>=DATE_MODIFY': atom(since) },
        select: ['ID', stageField],
        order: { ID: 'ASC' },
      },
      { maxWaitMs: 10_000 },
    );
    for (const row of rows) {
      if (this.runtime.stopping.aborted) return;
      const entityId = Number(row['ID']);
      const link = await this.records().linkByEntity(memberId, entityType, entityId);
      if (!link || textOf(row[stageField]) === link.stageId) continue;
      await this.settle(memberId, entityType, entityId, settings, log);
    }
    await db('crm_stage_checks')
      .insert({ member_id: memberId, checked_at: startedAt })
      .onConflict('member_id')
      .merge();
  }

  /** The settings when this entity type's stage moves go to hh.ru on this portal; null otherwise. */
  private async twoWaySettings(memberId: string, entityType: EntityType): Promise<PortalSettings | null> {
    const settings = await this.settings().get(memberId);
    return settings?.extendedSync && settings.twoWayStatus && settings.entityType === entityType
      ? settings
      : null;
  }

  /**
   * One lead or deal that may have been moved: its stage read now, under the writer's lock, and the
   * hh.ru action run when a person (not crm-writer) put it on a stage mapped to an hh.ru state.
   */
  private async settle(
    memberId: string,
    entityType: EntityType,
    entityId: number,
    settings: PortalSettings,
    log: Logger,
    beforeRead?: () => Promise<unknown>,
  ): Promise<Outcome> {
    const known = await this.records().linkByEntity(memberId, entityType, entityId);
    if (!known) return ack();
    // Bitrix24 sends the event of our own write before crm-writer has recorded the stage it set:
    // compare only once no write of this negotiation is in flight (the writer's lock is free), so
    // our own move is never taken for a person's.
    const lease = await this.runtime.locks.acquire(`crm:${memberId}:${known.negotiationId}`, 15_000);
    if (!lease) return defer('crm-writer is writing this negotiation', 1000);
    let stage: string;
    let link: typeof known | undefined;
    try {
      await beforeRead?.();
      link = await this.records().linkByEntity(memberId, entityType, entityId);
      const entity = await this.b24().call<Record<string, unknown>>(
        memberId,
        `crm.${entityType}.get`,
        { id: entityId },
        { maxWaitMs: 10_000 },
      );
      stage = textOf(entity[entityType === 'lead' ? 'STATUS_ID' : 'STAGE_ID']);
    } finally {
      await lease.release().catch(() => false);
    }
    if (!link || !stage || stage === link.stageId) return ack();
    const target = targetOf(settings, stage);
    if (!target || (target === 'discard' && !settings.twoWayDiscard)) return ack();
    const entity = `${entityType}:${entityId}`;
    try {
      const view = await this.runtime.call(
        rpc.hhAct,
        { memberId, entityType, entityId, target, message: null },
        { timeoutMs: 20_000 },
      );
      log.info(
        { memberId, entity, target, state: view.state.id, changed: view.changed },
        'stage move sent to hh.ru',
      );
    } catch (err) {
      // hh.ru refused (the move is not allowed from its state, the login is lost): nothing to retry.
      if (!(err instanceof AppError) || err.retryable) throw err;
      log.info(
        { memberId, entity, target, code: err.code, error: err.message },
        'stage move not taken by hh.ru',
      );
    }
    return ack();
  }
}

/** A time as Bitrix24's filters take it (ATOM, in UTC). */
function atom(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** The hh.ru state a stage is mapped to in extended mode (the first one, if several share it). */
function targetOf(settings: PortalSettings, stage: string): HhTarget | null {
  for (const [state, mapped] of Object.entries(settings.stageByState)) {
    if (mapped === stage && (HH_TARGETS as readonly string[]).includes(state)) return state as HhTarget;
  }
  return null;
}
