import { type Bitrix24Client, type EntityType, type PortalSettings, type Runtime, rpc } from '@hhb24/common';
import { stageListOf } from './fields.js';

/** Settings change rarely but must apply soon everywhere: each replica asks again after this long. */
const SETTINGS_TTL_MS = 5000;
const STAGES_TTL_MS = 5 * 60_000;

/**
 * What crm-writer needs to know about a portal besides the negotiation: its settings (from the
 * settings service) and the order of its stages (from the portal), cached per replica and
 * forgotten when the portal's settings are saved.
 */
export class PortalCache {
  private readonly settingsByPortal = new Map<string, { value: PortalSettings | null; at: number }>();
  private readonly stages = new Map<string, { order: Map<string, number>; at: number }>();

  constructor(private readonly runtime: Runtime, private readonly b24: () => Bitrix24Client) {}

  async settings(memberId: string): Promise<PortalSettings | null> {
    const hit = this.settingsByPortal.get(memberId);
    if (hit && Date.now() - hit.at < SETTINGS_TTL_MS) return hit.value;
    const value = await this.runtime.call(rpc.settingsGet, { memberId });
    this.settingsByPortal.set(memberId, { value, at: Date.now() });
    return value;
  }

  /** The stages of a lead or of one deal pipeline, each with its place in the pipeline's order. */
  async stageOrder(memberId: string, type: EntityType, categoryId: number, options: { fresh?: boolean; maxWaitMs?: number } = {}): Promise<Map<string, number>> {
    const list = stageListOf(type, categoryId);
    const key = `${memberId}\u0000${list}`;
    const hit = this.stages.get(key);
    if (hit && !options.fresh && Date.now() - hit.at < STAGES_TTL_MS) return hit.order;
    const rows = await this.b24().listAll<{ STATUS_ID: string; SORT: string | number }>(memberId, 'crm.status.list', { filter: { ENTITY_ID: list }, order: { SORT: 'ASC' } }, { maxWaitMs: options.maxWaitMs });
    const order = new Map(rows.map((r) => [r.STATUS_ID, Number(r.SORT)]));
    this.stages.set(key, { order, at: Date.now() });
    return order;
  }

  forget(memberId: string): void {
    this.settingsByPortal.delete(memberId);
    for (const key of this.stages.keys()) if (key.startsWith(`${memberId}\u0000`)) this.stages.delete(key);
  }
}
