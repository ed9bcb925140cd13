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
import type { Records } from './records.js';
import type { SettingsCache } from './settings-cache.js';

const UPDATE_EVENTS: Record<string, EntityType> = { ONCRMLEADUPDATE: 'lead', ONCRMDEALUPDATE: 'deal' };

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
    const settings = await this.settings().get(e.memberId);
    if (!settings?.extendedSync || !settings.twoWayStatus || settings.entityType !== entityType) return ack();
    const known = await this.records().linkByEntity(e.memberId, entityType, entityId);
    if (!known) return ack();
    // Bitrix24 sends the event of our own write before crm-writer has recorded the stage it set:
    // compare only once no write of this negotiation is in flight (the writer's lock is free), so
    // our own move is never taken for a person's.
    const lease = await this.runtime.locks.acquire(`crm:${e.memberId}:${known.negotiationId}`, 15_000);
    if (!lease) return defer('crm-writer is writing this negotiation', 1000);
    let stage: string;
    let link: typeof known | undefined;
    try {
      // From here the portal is read: the same-looking event arriving later is one of its own.
      await this.runtime.eventOccurrences.advance(e.occurrence);
      link = await this.records().linkByEntity(e.memberId, entityType, entityId);
      const entity = await this.b24().call<Record<string, unknown>>(
        e.memberId,
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
    try {
      const view = await this.runtime.call(
        rpc.hhAct,
        { memberId: e.memberId, entityType, entityId, target, message: null },
        { timeoutMs: 20_000 },
      );
      log.info(
        {
          memberId: e.memberId,
          entity: `${entityType}:${entityId}`,
          target,
          state: view.state.id,
          changed: view.changed,
        },
        'stage move sent to hh.ru',
      );
    } catch (err) {
      // hh.ru refused (the move is not allowed from its state, the login is lost): nothing to retry.
      if (!(err instanceof AppError) || err.retryable) throw err;
      log.info(
        {
          memberId: e.memberId,
          entity: `${entityType}:${entityId}`,
          target,
          code: err.code,
          error: err.message,
        },
        'stage move not taken by hh.ru',
      );
    }
    return ack();
  }
}

/** The hh.ru state a stage is mapped to in extended mode (the first one, if several share it). */
function targetOf(settings: PortalSettings, stage: string): HhTarget | null {
  for (const [state, mapped] of Object.entries(settings.stageByState)) {
    if (mapped === stage && (HH_TARGETS as readonly string[]).includes(state)) return state as HhTarget;
  }
  return null;
}
