/**
 * Leads, deals and contacts as the legacy crm.lead.* / crm.deal.* / crm.contact.* methods see them:
 * field rules, defaults, multi-fields, user fields with files, stages per pipeline, the contacts
 * bound to a lead or deal, the optional required-field check, the row format of get/list, filters,
 * and the events and robots a write sets off.
 */
import {
  type ContactBinding,
  type CrmType,
  type Entity,
  type EntityType,
  type MultiFieldValue,
  type Portal,
  type Status,
  type UserField,
  nextId,
} from './model.js';
import { RestError, legacy } from './rest/errors.js';
import { dealStageEntity } from './seed.js';
import type { B24Sim } from './sim.js';
import { FIELD_TITLES, message } from './texts.js';

type Kind =
  | 'integer'
  | 'string'
  | 'char'
  | 'double'
  | 'date'
  | 'datetime'
  | 'user'
  | 'crm_status'
  | 'crm_category'
  | 'crm_currency'
  | 'crm_multifield'
  | 'crm_contact'
  | 'crm_company'
  | 'crm_lead';
interface FieldDef {
  kind: Kind;
  readOnly?: boolean;
  immutable?: boolean;
  multiple?: boolean;
  statusType?: string;
}

const COMMON: Record<string, FieldDef> = {
  ID: { kind: 'integer', readOnly: true },
  TITLE: { kind: 'string' },
  SOURCE_ID: { kind: 'crm_status', statusType: 'SOURCE' },
  SOURCE_DESCRIPTION: { kind: 'string' },
  CURRENCY_ID: { kind: 'crm_currency' },
  OPPORTUNITY: { kind: 'double' },
  OPENED: { kind: 'char' },
  COMMENTS: { kind: 'string' },
  ASSIGNED_BY_ID: { kind: 'user' },
  CREATED_BY_ID: { kind: 'user', readOnly: true },
  MODIFY_BY_ID: { kind: 'user', readOnly: true },
  DATE_CREATE: { kind: 'datetime', readOnly: true },
  DATE_MODIFY: { kind: 'datetime', readOnly: true },
  COMPANY_ID: { kind: 'crm_company' },
  CONTACT_ID: { kind: 'crm_contact' },
  ORIGINATOR_ID: { kind: 'string' },
  ORIGIN_ID: { kind: 'string' },
};

/** A person's name, birth date, and their phones, e-mails, sites and messengers: on leads and contacts. */
const PERSON: Record<string, FieldDef> = {
  NAME: { kind: 'string' },
  SECOND_NAME: { kind: 'string' },
  LAST_NAME: { kind: 'string' },
  POST: { kind: 'string' },
  BIRTHDATE: { kind: 'date' },
  HAS_PHONE: { kind: 'char', readOnly: true },
  HAS_EMAIL: { kind: 'char', readOnly: true },
  PHONE: { kind: 'crm_multifield', multiple: true },
  EMAIL: { kind: 'crm_multifield', multiple: true },
  WEB: { kind: 'crm_multifield', multiple: true },
  IM: { kind: 'crm_multifield', multiple: true },
};

const FIELDS: Record<CrmType, Record<string, FieldDef>> = {
  lead: {
    ...COMMON,
    ...PERSON,
    CONTACT_IDS: { kind: 'crm_contact', multiple: true },
    COMPANY_TITLE: { kind: 'string' },
    ADDRESS_CITY: { kind: 'string' },
    STATUS_ID: { kind: 'crm_status', statusType: 'STATUS' },
    STATUS_DESCRIPTION: { kind: 'string' },
    STATUS_SEMANTIC_ID: { kind: 'string', readOnly: true },
    DATE_CLOSED: { kind: 'datetime', readOnly: true },
  },
  deal: {
    ...COMMON,
    TYPE_ID: { kind: 'crm_status', statusType: 'DEAL_TYPE' },
    CATEGORY_ID: { kind: 'crm_category', immutable: true },
    STAGE_ID: { kind: 'crm_status', statusType: 'DEAL_STAGE' },
    STAGE_SEMANTIC_ID: { kind: 'string', readOnly: true },
    IS_NEW: { kind: 'char', readOnly: true },
    PROBABILITY: { kind: 'integer' },
    CONTACT_IDS: { kind: 'crm_contact', multiple: true },
    BEGINDATE: { kind: 'date' },
    CLOSEDATE: { kind: 'date' },
    CLOSED: { kind: 'char' },
    LEAD_ID: { kind: 'crm_lead', readOnly: true },
    ADDITIONAL_INFO: { kind: 'string' },
  },
  // crm.contact.fields: no title, amount or stage; the person's fields and a type.
  contact: {
    ID: COMMON['ID']!,
    HONORIFIC: { kind: 'crm_status', statusType: 'HONORIFIC' },
    ...PERSON,
    TYPE_ID: { kind: 'crm_status', statusType: 'CONTACT_TYPE' },
    SOURCE_ID: COMMON['SOURCE_ID']!,
    SOURCE_DESCRIPTION: COMMON['SOURCE_DESCRIPTION']!,
    OPENED: COMMON['OPENED']!,
    EXPORT: { kind: 'char' },
    COMMENTS: COMMON['COMMENTS']!,
    ASSIGNED_BY_ID: COMMON['ASSIGNED_BY_ID']!,
    CREATED_BY_ID: COMMON['CREATED_BY_ID']!,
    MODIFY_BY_ID: COMMON['MODIFY_BY_ID']!,
    DATE_CREATE: COMMON['DATE_CREATE']!,
    DATE_MODIFY: COMMON['DATE_MODIFY']!,
    COMPANY_ID: COMMON['COMPANY_ID']!,
    LEAD_ID: { kind: 'crm_lead', readOnly: true },
    ORIGINATOR_ID: COMMON['ORIGINATOR_ID']!,
    ORIGIN_ID: COMMON['ORIGIN_ID']!,
    ORIGIN_VERSION: { kind: 'string' },
  },
};

const MULTI_TYPES: Record<string, string[]> = {
  PHONE: ['WORK', 'MOBILE', 'FAX', 'HOME', 'PAGER', 'MAILING', 'OTHER'],
  EMAIL: ['WORK', 'HOME', 'MAILING', 'OTHER'],
  WEB: ['WORK', 'HOME', 'FACEBOOK', 'VK', 'LIVEJOURNAL', 'TWITTER', 'OTHER'],
  IM: ['TELEGRAM', 'VK', 'SKYPE', 'VIBER', 'BITRIX24', 'OPENLINE', 'IMOL', 'ICQ', 'MSN', 'JABBER', 'OTHER'],
};

export const stageFieldOf = (type: EntityType) => (type === 'lead' ? 'STATUS_ID' : 'STAGE_ID');
export const ufEntityId = (type: CrmType) =>
  type === 'lead' ? 'CRM_LEAD' : type === 'deal' ? 'CRM_DEAL' : 'CRM_CONTACT';
export const store = (portal: Portal, type: CrmType) =>
  type === 'lead' ? portal.leads : type === 'deal' ? portal.deals : portal.contacts;
/** The entity's own events: ONCRMLEADADD, ONCRMDEALUPDATE, ONCRMCONTACTDELETE… */
export const eventName = (type: CrmType, action: 'ADD' | 'UPDATE' | 'DELETE') =>
  `ONCRM${type.toUpperCase()}${action}`;
const hasStages = (type: CrmType): type is EntityType => type !== 'contact';

/** The stages an entity can be in: lead statuses, or the stages of the deal's pipeline. */
export function stagesOf(portal: Portal, type: EntityType, categoryId = 0): Status[] {
  const entityId = type === 'lead' ? 'STATUS' : dealStageEntity(categoryId);
  return portal.statuses.filter((s) => s.ENTITY_ID === entityId).sort((a, b) => a.SORT - b.SORT);
}

export function findStage(portal: Portal, type: EntityType, id: string): Status | undefined {
  if (type === 'lead') return stagesOf(portal, 'lead').find((s) => s.STATUS_ID === id);
  return portal.statuses.find((s) => s.ENTITY_ID.startsWith('DEAL_STAGE') && s.STATUS_ID === id);
}

/** ISO 8601 with the portal's offset, as Bitrix prints dates: 2026-05-13T10:00:00+03:00. */
export function isoDate(ms: number, tzOffsetMinutes: number): string {
  const local = new Date(ms + tzOffsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = tzOffsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(tzOffsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

const asObject = (v: unknown): Record<string, unknown> | null =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
const asList = (v: unknown): unknown[] =>
  Array.isArray(v) ? v : asObject(v) ? Object.values(v as object) : [];

export interface WriteOptions {
  userId: number;
  /** REST writes follow the portal's «check required fields in REST» option; the UI does not. */
  checkRequired: boolean;
}

/** A UF value in the legacy format: `{fileData: [name, base64]}`; the plain pair is crm.item's. */
function fileFromValue(portal: Portal, value: unknown): number | null | undefined {
  const obj = asObject(value);
  const data = obj ? obj['fileData'] : undefined;
  if (!Array.isArray(data) || typeof data[0] !== 'string') return undefined;
  const id = nextId(portal, 'file');
  portal.files.set(id, { id, name: data[0], content: Buffer.from(String(data[1] ?? ''), 'base64') });
  return id;
}

function castUf(portal: Portal, uf: UserField, value: unknown, previous: unknown): unknown {
  const one = (v: unknown, prev: unknown): unknown => {
    if (isEmpty(v)) return null;
    switch (uf.USER_TYPE_ID) {
      case 'file': {
        const id = fileFromValue(portal, v);
        // An unreadable value keeps what was there (Bitrix ignores it rather than failing the write).
        return id === undefined ? (prev ?? null) : id;
      }
      case 'integer':
      case 'employee':
      case 'enumeration': {
        const n = Number.parseInt(String(v), 10);
        return Number.isNaN(n) ? null : n;
      }
      case 'double': {
        const n = Number.parseFloat(String(v));
        return Number.isNaN(n) ? null : n;
      }
      case 'boolean':
        return ['1', 'Y', 'true', 'y'].includes(String(v)) || v === true ? 1 : 0;
      default:
        return typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
  };
  if (uf.MULTIPLE === 'Y') {
    if (isEmpty(value)) return [];
    const list =
      Array.isArray(value) || (asObject(value) && !('fileData' in (value as object)))
        ? asList(value)
        : [value];
    return list.map((v) => one(v, undefined)).filter((v) => v !== null);
  }
  // A list sent to a single file field stores nothing: Bitrix drops it without an error.
  if (uf.USER_TYPE_ID === 'file' && Array.isArray(value)) return previous ?? null;
  return one(value, previous);
}

function applyMulti(portal: Portal, entity: Entity, key: string, value: unknown): void {
  const current = entity.multi[key] ?? [];
  for (const raw of asList(value)) {
    const item = asObject(raw);
    if (!item) continue;
    const id = item['ID'] === undefined ? null : String(item['ID']);
    const type = String(item['VALUE_TYPE'] ?? '').toUpperCase();
    const valueType = MULTI_TYPES[key]!.includes(type) ? type : 'WORK';
    const v = item['VALUE'] === undefined ? undefined : String(item['VALUE']).trim();
    if (id) {
      const existing = current.find((m) => m.ID === id);
      if (!existing) continue;
      if (item['DELETE'] === 'Y' || v === '') current.splice(current.indexOf(existing), 1);
      else {
        if (v !== undefined) existing.VALUE = v;
        if (item['VALUE_TYPE'] !== undefined) existing.VALUE_TYPE = valueType;
      }
    } else if (v) {
      current.push({
        ID: String(nextId(portal, 'multifield')),
        VALUE_TYPE: valueType,
        VALUE: v,
        TYPE_ID: key,
      });
    }
  }
  entity.multi[key] = current;
}

/** Bitrix resolves `fields`/`FIELDS`/`arFields` case-insensitively for the legacy crm methods. */
export function fieldsParam(params: Record<string, unknown>, name = 'fields'): unknown {
  for (const [k, v] of Object.entries(params))
    if (k.toLowerCase() === name || k.toLowerCase() === `ar${name}`) return v;
  return undefined;
}

function requiredErrors(
  portal: Portal,
  type: CrmType,
  entity: Entity,
  given: Record<string, unknown> | null,
): string | null {
  const lang = portal.lang;
  const ufErrors: string[] = [];
  for (const uf of portal.userFields) {
    if (uf.ENTITY_ID !== ufEntityId(type) || uf.MANDATORY !== 'Y') continue;
    if (given && !(uf.FIELD_NAME in given)) continue;
    if (isEmpty(entity.uf[uf.FIELD_NAME])) {
      const label = uf.EDIT_FORM_LABEL[lang] || uf.FIELD_NAME;
      ufErrors.push(`${message(lang, 'USER_TYPE_FIELD_VALUE_IS_MISSING', { '#FIELD_NAME#': label })}<br>`);
    }
  }
  // Mandatory UF errors come back as a CAdminException, which replaces the message (ERROR_CORE).
  if (ufErrors.length > 0) throw new RestError(400, 'ERROR_CORE', ufErrors.join(''));
  const errors: string[] = [];
  for (const field of portal.requiredFields[type]) {
    if (given && !(field in given)) continue;
    const value = field in MULTI_TYPES ? entity.multi[field] : entity.fields[field];
    if (isEmpty(value))
      errors.push(
        `${message(lang, 'CRM_ENTITY_VALIDATOR_FIELD_IS_MISSING', { '%FIELD_NAME%': FIELD_TITLES[field]?.[lang] ?? field })}<br>`,
      );
  }
  return errors.length > 0 ? errors.join('\n') : null;
}

function assertCrmAccess(portal: Portal, userId: number): void {
  if (!portal.users.get(userId)?.crmAccess) throw legacy('Access denied.');
}

/**
 * CONTACT_IDS on a lead or deal: its contacts, the first one primary. CONTACT_ID (the older, single
 * field) sets that one contact. Ids of contacts the portal does not have are dropped.
 */
function bindContacts(portal: Portal, entity: Entity, key: string, value: unknown): void {
  const ids = (key === 'CONTACT_IDS' ? asList(value) : isEmpty(value) ? [] : [value])
    .map((v) => Number.parseInt(String(v), 10))
    .filter((id) => portal.contacts.has(id));
  entity.contacts = [...new Set(ids)].map((id, i) => ({
    CONTACT_ID: id,
    SORT: (i + 1) * 10,
    IS_PRIMARY: i === 0 ? 'Y' : 'N',
  }));
}

/** CONTACT_ID (the primary contact) and CONTACT_IDS of a lead or deal, from its bindings. */
function boundContacts(entity: Entity, key: 'CONTACT_ID' | 'CONTACT_IDS'): unknown {
  const bindings = entity.contacts ?? [];
  if (key === 'CONTACT_IDS') return bindings.map((b) => b.CONTACT_ID);
  const primary = bindings.find((b) => b.IS_PRIMARY === 'Y') ?? bindings[0];
  return primary ? String(primary.CONTACT_ID) : null;
}

/** crm.{lead,deal}.contact.add: one more contact; primary when asked, or when the entity has none yet. */
export function addContactBinding(portal: Portal, entity: Entity, raw: unknown): boolean {
  const fields = asObject(raw);
  if (!fields) throw legacy("The parameter 'fields' must be array.");
  const f = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k.toUpperCase(), v]));
  const id = Number.parseInt(String(f['CONTACT_ID'] ?? ''), 10);
  if (!(id > 0)) throw legacy("The parameter 'fields' is not valid.");
  const bindings = entity.contacts ?? [];
  if (bindings.some((b) => b.CONTACT_ID === id)) return false;
  const primary = f['IS_PRIMARY'] === 'Y' || bindings.length === 0;
  if (primary) for (const b of bindings) b.IS_PRIMARY = 'N';
  const sort = Number.parseInt(String(f['SORT'] ?? ''), 10);
  bindings.push({
    CONTACT_ID: id,
    SORT: Number.isNaN(sort) ? (bindings.length + 1) * 10 : sort,
    IS_PRIMARY: primary ? 'Y' : 'N',
  });
  entity.contacts = bindings;
  return true;
}

/** crm.{lead,deal}.contact.items.set: the whole list; the one marked primary (else the first) is primary. */
export function setContactBindings(entity: Entity, raw: unknown): void {
  const items = asList(raw).map((x) => {
    const f = Object.fromEntries(Object.entries(asObject(x) ?? {}).map(([k, v]) => [k.toUpperCase(), v]));
    const id = Number.parseInt(String(f['CONTACT_ID'] ?? ''), 10);
    if (!(id > 0)) throw legacy("The parameter 'items' is not valid.");
    const sort = Number.parseInt(String(f['SORT'] ?? ''), 10);
    return { CONTACT_ID: id, SORT: Number.isNaN(sort) ? 0 : sort, IS_PRIMARY: f['IS_PRIMARY'] === 'Y' };
  });
  const primary = items.find((i) => i.IS_PRIMARY) ?? items[0];
  entity.contacts = items.map((i, n): ContactBinding => ({
    CONTACT_ID: i.CONTACT_ID,
    SORT: i.SORT || (n + 1) * 10,
    IS_PRIMARY: i === primary ? 'Y' : 'N',
  }));
}

function applyFields(
  portal: Portal,
  type: CrmType,
  entity: Entity,
  fields: Record<string, unknown>,
  isNew: boolean,
): void {
  const defs = FIELDS[type];
  for (const [rawKey, value] of Object.entries(fields)) {
    const key = rawKey.toUpperCase();
    const def = defs[key];
    if (hasStages(type) && (key === 'CONTACT_ID' || key === 'CONTACT_IDS')) {
      bindContacts(portal, entity, key, value);
      continue;
    }
    if (key.startsWith('UF_')) {
      const uf = portal.userFields.find((f) => f.ENTITY_ID === ufEntityId(type) && f.FIELD_NAME === key);
      if (uf) entity.uf[key] = castUf(portal, uf, value, entity.uf[key]);
      continue;
    }
    // Unknown names (a mistyped UF_CRM_ included) and read-only fields are dropped silently.
    if (!def || def.readOnly || (def.immutable && !isNew)) continue;
    if (def.kind === 'crm_multifield') {
      applyMulti(portal, entity, key, value);
      continue;
    }
    if (def.multiple) {
      entity.fields[key] = asList(value)
        .map((v) => Number.parseInt(String(v), 10))
        .filter((n) => !Number.isNaN(n));
      continue;
    }
    if (isEmpty(value)) {
      entity.fields[key] = null;
      continue;
    }
    switch (def.kind) {
      case 'integer':
      case 'user':
      case 'crm_category':
      case 'crm_contact':
      case 'crm_company': {
        const n = Number.parseInt(String(value), 10);
        entity.fields[key] = Number.isNaN(n) ? null : n;
        break;
      }
      case 'double': {
        const n = Number.parseFloat(String(value));
        entity.fields[key] = Number.isNaN(n) ? 0 : n;
        break;
      }
      case 'char':
        entity.fields[key] = ['Y', 'y', '1', 'true', true, 1].includes(value as string) ? 'Y' : 'N';
        break;
      default:
        entity.fields[key] = String(value);
    }
  }
}

/** Stage and semantic fields after a write: an unknown or foreign stage falls back to the first one. */
function settleStage(portal: Portal, type: EntityType, entity: Entity, previousStage: string | null): void {
  const field = stageFieldOf(type);
  const categoryId = type === 'deal' ? Number(entity.fields['CATEGORY_ID'] ?? 0) : 0;
  const stages = stagesOf(portal, type, categoryId);
  let stage = stages.find((s) => s.STATUS_ID === entity.fields[field]);
  if (!stage) stage = (previousStage && stages.find((s) => s.STATUS_ID === previousStage)) || stages[0];
  entity.fields[field] = stage?.STATUS_ID ?? null;
  const semantic = stage?.SEMANTICS === 'S' ? 'S' : stage?.SEMANTICS === 'F' ? 'F' : 'P';
  if (type === 'lead') entity.fields['STATUS_SEMANTIC_ID'] = semantic;
  else {
    entity.fields['STAGE_SEMANTIC_ID'] = semantic;
    entity.fields['CLOSED'] = semantic === 'P' ? 'N' : 'Y';
  }
}

export function createEntity(
  sim: B24Sim,
  portal: Portal,
  type: CrmType,
  raw: unknown,
  options: WriteOptions,
): Entity {
  assertCrmAccess(portal, options.userId);
  const fields = asObject(raw);
  if (!fields) throw legacy("Parameter 'fields' must be array.");
  // The id is taken only once the entity is valid, as an autoincrement would.
  const id = (portal.nextId[type] ?? 0) + 1;
  const now = Date.now();
  const entity: Entity = { type, id, fields: {}, multi: {}, uf: {} };
  applyFields(portal, type, entity, fields, true);
  const f = entity.fields;
  const ru = portal.lang === 'ru';
  if (hasStages(type) && isEmpty(f['TITLE']))
    f['TITLE'] = type === 'lead' ? `${ru ? 'Лид' : 'Lead'} #${id}` : `${ru ? 'Сделка' : 'Deal'} #${id}`;
  if (type === 'deal') {
    const categoryId = Number(f['CATEGORY_ID'] ?? 0);
    f['CATEGORY_ID'] = portal.categories.some((c) => c.id === categoryId) ? categoryId : 0;
    f['IS_NEW'] = 'Y';
    f['BEGINDATE'] ??= isoDate(now, portal.tzOffsetMinutes).slice(0, 10);
    f['CLOSEDATE'] ??= isoDate(now + 7 * 86_400_000, portal.tzOffsetMinutes).slice(0, 10);
  }
  if (hasStages(type)) {
    entity.contacts ??= [];
    f['OPPORTUNITY'] ??= 0;
    f['CURRENCY_ID'] ??= ru ? 'RUB' : 'USD';
  }
  f['OPENED'] ??= 'Y';
  if (!portal.users.has(Number(f['ASSIGNED_BY_ID']))) f['ASSIGNED_BY_ID'] = options.userId;
  f['CREATED_BY_ID'] = options.userId;
  f['MODIFY_BY_ID'] = options.userId;
  f['DATE_CREATE'] = now;
  f['DATE_MODIFY'] = now;
  if (hasStages(type)) settleStage(portal, type, entity, null);
  if (options.checkRequired && portal.restRequiredCheck) {
    const error = requiredErrors(portal, type, entity, null);
    if (error) throw legacy(error);
  }
  portal.nextId[type] = id;
  store(portal, type).set(id, entity);
  sim.emitEvent(portal, eventName(type, 'ADD'), { FIELDS: { ID: String(id) } }, { userId: options.userId });
  if (hasStages(type)) sim.runStageRobots(portal, entity);
  return entity;
}

export function updateEntity(
  sim: B24Sim,
  portal: Portal,
  type: CrmType,
  idRaw: unknown,
  raw: unknown,
  options: WriteOptions,
): Entity {
  assertCrmAccess(portal, options.userId);
  const id = Number.parseInt(String(idRaw ?? ''), 10);
  if (!(id > 0)) throw legacy('ID is not defined or invalid.');
  const fields = asObject(raw);
  if (!fields) throw legacy("Parameter 'fields' must be array.");
  const entity = store(portal, type).get(id);
  if (!entity) throw legacy('Not found');
  const stageField = hasStages(type) ? stageFieldOf(type) : null;
  const before = structuredClone({
    fields: entity.fields,
    multi: entity.multi,
    uf: entity.uf,
    contacts: entity.contacts,
  });
  const previousStage = stageField ? (entity.fields[stageField] as string | null) : null;
  if ('TITLE' in fields && isEmpty(fields['TITLE'])) delete fields['TITLE'];
  applyFields(portal, type, entity, fields, false);
  if (hasStages(type)) settleStage(portal, type, entity, previousStage);
  if (options.checkRequired && portal.restRequiredCheck) {
    const given = Object.fromEntries(Object.keys(fields).map((k) => [k.toUpperCase(), true]));
    let error: string | null;
    try {
      error = requiredErrors(portal, type, entity, given);
    } catch (err) {
      Object.assign(entity, before);
      throw err;
    }
    if (error) {
      Object.assign(entity, before);
      throw legacy(error);
    }
  }
  entity.fields['MODIFY_BY_ID'] = options.userId;
  entity.fields['DATE_MODIFY'] = Date.now();
  if (type === 'deal') entity.fields['IS_NEW'] = 'N';
  sim.emitEvent(
    portal,
    eventName(type, 'UPDATE'),
    { FIELDS: { ID: String(id) } },
    { userId: options.userId },
  );
  if (stageField && entity.fields[stageField] !== previousStage) sim.runStageRobots(portal, entity);
  return entity;
}

function fileUrls(
  type: CrmType,
  entityId: number,
  field: string,
  fileId: number,
  authToken: string | null,
): { id: number; showUrl: string; downloadUrl: string } {
  const showUrl = `/bitrix/components/bitrix/crm.${type}.show/show_file.php?ownerId=${entityId}&fieldName=${field}&dynamic=Y&fileId=${fileId}`;
  return { id: fileId, showUrl, downloadUrl: authToken ? `${showUrl}&auth=${authToken}` : showUrl };
}

function ufOut(entity: Entity, uf: UserField, authToken: string | null): unknown {
  const v = entity.uf[uf.FIELD_NAME];
  const one = (x: unknown) =>
    uf.USER_TYPE_ID === 'file'
      ? fileUrls(entity.type, entity.id, uf.FIELD_NAME, Number(x), authToken)
      : uf.USER_TYPE_ID === 'boolean'
        ? x
          ? '1'
          : '0'
        : x;
  if (uf.MULTIPLE === 'Y') return Array.isArray(v) ? v.map(one) : [];
  return isEmpty(v) ? null : one(v);
}

function fieldOut(portal: Portal, key: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (key === 'DATE_CREATE' || key === 'DATE_MODIFY') return isoDate(Number(v), portal.tzOffsetMinutes);
  if (key === 'BEGINDATE' || key === 'CLOSEDATE')
    return `${String(v).slice(0, 10)}T00:00:00${isoDate(0, portal.tzOffsetMinutes).slice(19)}`;
  if (key === 'OPPORTUNITY') return Number(v).toFixed(2);
  if (Array.isArray(v)) return v;
  return String(v);
}

/**
 * An entity as crm.*.get returns it (every field, UFs, multi-fields when present) or, with
 * `select`, as crm.*.list does (`*` standard fields, `UF_*` user fields, multi-fields by name).
 */
export function entityRow(
  portal: Portal,
  entity: Entity,
  authToken: string | null,
  select?: string[],
): Record<string, unknown> {
  const defs = FIELDS[entity.type];
  const ufs = portal.userFields.filter((f) => f.ENTITY_ID === ufEntityId(entity.type));
  const wanted = select?.map((s) => s.toUpperCase());
  const all = !wanted || wanted.length === 0;
  const want = (key: string, def?: FieldDef) =>
    all
      ? true
      : wanted.includes(key) ||
        (!key.startsWith('UF_') && def?.kind !== 'crm_multifield' && wanted.includes('*')) ||
        (key.startsWith('UF_') && wanted.includes('UF_*'));
  const row: Record<string, unknown> = {};
  const f = entity.fields;
  for (const [key, def] of Object.entries(defs)) {
    if (!want(key, def)) continue;
    if (def.kind === 'crm_multifield') {
      const values = entity.multi[key] ?? [];
      if (values.length > 0) row[key] = values.map((m: MultiFieldValue) => ({ ...m }));
      continue;
    }
    if (key === 'ID') row[key] = String(entity.id);
    else if (key === 'CONTACT_ID' || key === 'CONTACT_IDS') row[key] = boundContacts(entity, key);
    else if (key === 'HAS_PHONE') row[key] = (entity.multi['PHONE']?.length ?? 0) > 0 ? 'Y' : 'N';
    else if (key === 'HAS_EMAIL') row[key] = (entity.multi['EMAIL']?.length ?? 0) > 0 ? 'Y' : 'N';
    else row[key] = fieldOut(portal, key, f[key]);
  }
  for (const uf of ufs) {
    if (!want(uf.FIELD_NAME)) continue;
    const v = ufOut(entity, uf, authToken);
    // Bitrix leaves an empty single file field out of the answer.
    if (v === null && uf.USER_TYPE_ID === 'file' && uf.MULTIPLE === 'N') continue;
    row[uf.FIELD_NAME] = v;
  }
  return row;
}

/** crm.*.fields: the description of every field (standard and user fields). */
export function fieldsDescription(portal: Portal, type: CrmType): Record<string, unknown> {
  const lang = portal.lang;
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(FIELDS[type])) {
    out[key] = {
      type: def.kind,
      isRequired: portal.requiredFields[type].has(key),
      isReadOnly: Boolean(def.readOnly),
      isImmutable: Boolean(def.immutable),
      isMultiple: Boolean(def.multiple),
      isDynamic: false,
      title: FIELD_TITLES[key]?.[lang] ?? key,
      ...(def.statusType
        ? { statusType: type === 'deal' && key === 'STAGE_ID' ? 'DEAL_STAGE' : def.statusType }
        : {}),
    };
  }
  for (const uf of portal.userFields.filter((f) => f.ENTITY_ID === ufEntityId(type))) {
    out[uf.FIELD_NAME] = {
      type: uf.USER_TYPE_ID,
      isRequired: uf.MANDATORY === 'Y',
      isReadOnly: false,
      isImmutable: false,
      isMultiple: uf.MULTIPLE === 'Y',
      isDynamic: true,
      title: uf.FIELD_NAME,
      listLabel: uf.LIST_COLUMN_LABEL[lang] ?? '',
      formLabel: uf.EDIT_FORM_LABEL[lang] ?? '',
      filterLabel: uf.LIST_FILTER_LABEL[lang] ?? '',
      settings: uf.SETTINGS,
    };
  }
  return out;
}

// ---- list: filter, order, paging ------------------------------------------------------------

const OPERATORS = ['!=%', '!%=', '=%', '%=', '!@', '>=', '<=', '!=', '!%', '@', '>', '<', '=', '%', '!'];

/** A date and time with its offset, as filters and answers write them (ATOM: `2026-12-08T05:21:59+03:00`). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Numbers as numbers, and dates and times as instants whatever their offset, as Bitrix24 compares them. */
function comparable(v: unknown): string | number {
  if (typeof v === 'number') return v;
  const s = String(v ?? '');
  if (DATE_TIME.test(s)) return Date.parse(s);
  return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s;
}

function valuesOf(portal: Portal, entity: Entity, field: string): unknown[] {
  if (field in MULTI_TYPES) return (entity.multi[field] ?? []).map((m) => m.VALUE);
  if (field === 'ID') return [entity.id];
  if (field === 'CONTACT_ID' || field === 'CONTACT_IDS') {
    const v = boundContacts(entity, field);
    return Array.isArray(v) ? v : [v];
  }
  if (field.startsWith('UF_')) {
    const v = entity.uf[field];
    return Array.isArray(v) ? v : [v];
  }
  const v = entity.fields[field];
  if (field === 'DATE_CREATE' || field === 'DATE_MODIFY')
    return [v === undefined || v === null ? null : isoDate(Number(v), portal.tzOffsetMinutes)];
  return Array.isArray(v) ? v : [v];
}

function matches(op: string, actual: unknown[], expected: unknown): boolean {
  const list = Array.isArray(expected)
    ? expected
    : asObject(expected)
      ? Object.values(expected as object)
      : [expected];
  const like = (a: unknown, pattern: string, explicit: boolean) => {
    const s = String(a ?? '').toLowerCase();
    const p = pattern.toLowerCase();
    if (!explicit) return s.includes(p);
    const re = new RegExp(
      `^${p
        .split('%')
        .map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    return re.test(s);
  };
  const eq = (a: unknown, b: unknown) => (isEmpty(b) ? isEmpty(a) : comparable(a) === comparable(b));
  switch (op) {
    case '':
    case '=':
      return list.some((e) => actual.some((a) => eq(a, e)));
    case '!':
    case '!=':
      return !list.some((e) => actual.some((a) => eq(a, e)));
    case '@':
      return actual.some((a) => list.some((e) => eq(a, e)));
    case '!@':
      return !actual.some((a) => list.some((e) => eq(a, e)));
    case '>':
      return actual.some((a) => comparable(a) > comparable(list[0]));
    case '>=':
      return actual.some((a) => comparable(a) >= comparable(list[0]));
    case '<':
      return actual.some((a) => comparable(a) < comparable(list[0]));
    case '<=':
      return actual.some((a) => comparable(a) <= comparable(list[0]));
    case '%':
      return actual.some((a) => like(a, String(list[0]), false));
    case '=%':
    case '%=':
      return actual.some((a) => like(a, String(list[0]), true));
    case '!%':
      return !actual.some((a) => like(a, String(list[0]), false));
    default:
      return !actual.some((a) => like(a, String(list[0]), true));
  }
}

/** The same filter rules over plain rows (activities, statuses): `{'=OWNER_ID': 5, '>ID': 10}`. */
export function filterRows<T extends Record<string, unknown>>(rows: T[], filter: unknown): T[] {
  const conditions = Object.entries(asObject(filter) ?? {}).map(([rawKey, expected]) => {
    const op = OPERATORS.find((o) => rawKey.startsWith(o)) ?? '';
    return { op, field: rawKey.slice(op.length).toUpperCase(), expected };
  });
  return rows.filter((r) => conditions.every((c) => matches(c.op, [r[c.field]], c.expected)));
}

export function orderRows<T extends Record<string, unknown>>(
  rows: T[],
  order: unknown,
  fallback = 'ID',
): T[] {
  const keys = Object.entries(asObject(order) ?? {}).map(([k, dir]) => ({
    field: k.toUpperCase(),
    desc: String(dir).toUpperCase() === 'DESC',
  }));
  if (keys.length === 0) keys.push({ field: fallback, desc: false });
  return [...rows].sort((a, b) => {
    for (const k of keys) {
      const x = comparable(a[k.field]);
      const y = comparable(b[k.field]);
      if (x < y) return k.desc ? 1 : -1;
      if (x > y) return k.desc ? -1 : 1;
    }
    return 0;
  });
}

export function filterEntities(portal: Portal, entities: Entity[], filter: unknown): Entity[] {
  const conditions = Object.entries(asObject(filter) ?? {}).map(([rawKey, expected]) => {
    const op = OPERATORS.find((o) => rawKey.startsWith(o)) ?? '';
    return { op, field: rawKey.slice(op.length).toUpperCase(), expected };
  });
  return entities.filter((e) =>
    conditions.every((c) => matches(c.op, valuesOf(portal, e, c.field), c.expected)),
  );
}

export function orderEntities(portal: Portal, entities: Entity[], order: unknown): Entity[] {
  const keys = Object.entries(asObject(order) ?? {}).map(([k, dir]) => ({
    field: k.toUpperCase(),
    desc: String(dir).toUpperCase() === 'DESC',
  }));
  if (keys.length === 0) keys.push({ field: 'ID', desc: false });
  return [...entities].sort((a, b) => {
    for (const k of keys) {
      const x = comparable(valuesOf(portal, a, k.field)[0]);
      const y = comparable(valuesOf(portal, b, k.field)[0]);
      if (x < y) return k.desc ? 1 : -1;
      if (x > y) return k.desc ? -1 : 1;
    }
    return 0;
  });
}
