import type { MethodSpec } from '../context.js';
import { crmMethods } from './crm.js';
import { portalMethods } from './portal.js';

/** Every REST method the simulated portal knows, by lower-case name. */
export const METHODS: Record<string, MethodSpec> = { ...portalMethods, ...crmMethods };
