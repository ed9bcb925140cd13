import { HH_STATES, type NegotiationSnapshot, type PortalSettings, ruleFor } from '@hhb24/common';

/**
 * The settings one negotiation is written with: the portal's, with the responsible taken from the
 * Bitrix24 user mapped to the hh.ru manager of its vacancy («Ответственные по менеджерам hh.ru»),
 * and the vacancy's rule («Вакансии») over both: its entity type, pipeline, stages and, when it
 * names one, responsible. A manager without a user, or a vacancy whose manager is not known,
 * keeps the default responsible; a vacancy no rule takes keeps the defaults. The manager is the
 * one the snapshot names, so a vacancy handed to another manager on hh.ru routes the responses
 * that come after to the new manager's user. Entities already written keep their responsible
 * (an update never changes ASSIGNED_BY_ID) and their pipeline.
 */
export function settingsFor(settings: PortalSettings, s: NegotiationSnapshot): PortalSettings {
  let out = settings;
  const managerId = s.vacancy.managerId;
  if (managerId) {
    const mapped = settings.managerUsers?.find(
      (m) => m.managerId === managerId && (!s.vacancy.employerId || m.employerId === s.vacancy.employerId),
    );
    if (mapped?.userId) out = { ...out, responsibleUserId: mapped.userId };
  }
  const rule = ruleFor(settings.vacancyRules ?? [], s.vacancy);
  if (!rule) return out;
  // A rule saved in the other mode than the settings' now: each hh.ru status takes the rule's
  // stage for responses or for invitations.
  const stageByState = Object.keys(rule.stageByState).length
    ? rule.stageByState
    : Object.fromEntries(
        HH_STATES.map((state) => [
          state,
          state === 'response' ? rule.stageForResponse : rule.stageForInvitation,
        ]),
      );
  return {
    ...out,
    entityType: rule.entityType,
    categoryId: rule.entityType === 'deal' ? rule.categoryId : 0,
    stageForResponse: rule.stageForResponse,
    stageForInvitation: rule.stageForInvitation,
    stageByState,
    ...(rule.responsibleUserId ? { responsibleUserId: rule.responsibleUserId } : {}),
  };
}
