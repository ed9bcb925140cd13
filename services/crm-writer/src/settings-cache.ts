import { type PortalSettings, type Runtime, rpc } from '@hhb24/common';

/** Settings change rarely but must apply soon everywhere: each replica asks again after this long. */
const SETTINGS_TTL_MS = 5000;

/**
 * The portals' settings (from the settings service), cached per replica for a few seconds and
 * forgotten at once when a portal's settings are saved.
 */
export class SettingsCache {
  private readonly byPortal = new Map<string, { value: PortalSettings | null; at: number }>();

  constructor(private readonly runtime: Runtime) {}

  async get(memberId: string): Promise<PortalSettings | null> {
    const hit = this.byPortal.get(memberId);
    if (hit && Date.now() - hit.at < SETTINGS_TTL_MS) return hit.value;
    const value = await this.runtime.call(rpc.settingsGet, { memberId });
    this.byPortal.set(memberId, { value, at: Date.now() });
    return value;
  }

  forget(memberId: string): void {
    this.byPortal.delete(memberId);
  }
}
