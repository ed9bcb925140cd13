import type { NegotiationSnapshot, VacancyRule } from './contracts.js';

/** The rule a vacancy falls under: its own first, then the first added by name or region. */
export function ruleFor(
  rules: readonly VacancyRule[],
  v: Pick<NegotiationSnapshot['vacancy'], 'id' | 'name' | 'area'>,
): VacancyRule | undefined {
  const name = v.name.toLowerCase();
  return (
    rules.find((r) => r.match === 'vacancy' && r.value === v.id) ??
    rules.find(
      (r) =>
        (r.match === 'name' && name.includes(r.value.toLowerCase())) ||
        (r.match === 'area' && v.area?.id === r.value),
    )
  );
}
