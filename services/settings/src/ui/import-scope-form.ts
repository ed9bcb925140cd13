import {
  type ImportScope,
  IMPORT_PERIOD_MAX_DAYS,
  ImportScope as Schema,
  compileSchema,
} from '@hhb24/common';
import type { Form } from './page-kit.js';
import { one } from './page-kit.js';

const checkScope = compileSchema(Schema, 'import choice');

/** The form's fields of «Что импортировать», as the admin left them (to draw the form again). */
export interface ScopeValues {
  importPeriod: 'all' | 'days';
  importDays: string;
  importCollections: 'all' | 'no_discards';
  importVacancies: 'all' | 'chosen';
  vacancyIds: string[];
}

export function scopeValues(form: Form): ScopeValues {
  const ids = form['vacancyIds'];
  return {
    importPeriod: one(form, 'importPeriod') === 'days' ? 'days' : 'all',
    importDays: one(form, 'importDays').trim(),
    importCollections: one(form, 'importCollections') === 'no_discards' ? 'no_discards' : 'all',
    importVacancies: one(form, 'importVacancies') === 'chosen' ? 'chosen' : 'all',
    vacancyIds: Array.isArray(ids) ? ids : ids ? [ids] : [],
  };
}

/**
 * «Что импортировать» → ImportScope, checked by its schema (the same the message is checked by);
 * a field that does not fit comes back as the field's error key.
 */
export function parseImportScope(
  form: Form,
): { scope: ImportScope; errors?: undefined } | { scope?: undefined; errors: Record<string, string> } {
  const v = scopeValues(form);
  const errors: Record<string, string> = {};
  const days = Number(v.importDays);
  if (
    v.importPeriod === 'days' &&
    !(/^\d{1,4}$/.test(v.importDays) && days >= 1 && days <= IMPORT_PERIOD_MAX_DAYS)
  )
    errors['importDays'] = 'import.daysInvalid';
  if (v.importVacancies === 'chosen' && v.vacancyIds.length === 0)
    errors['vacancyIds'] = 'import.vacanciesRequired';
  if (Object.keys(errors).length > 0) return { errors };
  const scope = {
    periodDays: v.importPeriod === 'days' ? days : null,
    discarded: v.importCollections === 'all',
    vacancyIds: v.importVacancies === 'chosen' ? [...new Set(v.vacancyIds)] : null,
  };
  if (!checkScope.check(scope)) return { errors: { vacancyIds: 'import.vacanciesRequired' } };
  return { scope };
}
