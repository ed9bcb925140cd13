import type { MethodSpec } from '../context.js';
import { commonMethods } from './common.js';
import { crmMethods } from './crm.js';
import { currencyMethods } from './currency.js';
import { portalMethods } from './portal.js';

/** Every REST method the simulated portal knows, by lower-case name. */
export const METHODS: Record<string, MethodSpec> = {
  ...portalMethods,
  ...commonMethods,
  ...crmMethods,
  ...currencyMethods,
};
