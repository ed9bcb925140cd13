import type { NegotiationSnapshot, PortalSettings } from '@hhb24/common';

/**
 * The settings one negotiation is written with: the portal's, with the responsible taken from the
 * Bitrix24 user mapped to the hh.ru manager of its vacancy («Ответственные по менеджерам hh.ru»).
 * A manager without a user, or a vacancy whose manager is not known, keeps the default responsible.
 * The manager is the one the snapshot names, so a vacancy handed to another manager on hh.ru
 * routes the responses that come after to the new manager's user; entities already written keep
 * theirs (an update never changes ASSIGNED_BY_ID).
 */
export function settingsFor(settings: PortalSettings, s: NegotiationSnapshot): PortalSettings {
  const managerId = s.vacancy.managerId;
  if (!managerId) return settings;
  const mapped = settings.managerUsers?.find(
    (m) => m.managerId === managerId && (!s.vacancy.employerId || m.employerId === s.vacancy.employerId),
  );
  return mapped?.userId ? { ...settings, responsibleUserId: mapped.userId } : settings;
}
