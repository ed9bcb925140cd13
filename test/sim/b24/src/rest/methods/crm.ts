/** crm.* methods: leads, deals and contacts, their user fields, pipelines and dictionaries, the timeline. */
import {
  addContactBinding,
  createEntity,
  entityRow,
  eventName,
  fieldsDescription,
  fieldsParam,
  filterEntities,
  filterRows,
  isoDate,
  orderEntities,
  orderRows,
  setContactBindings,
  store,
  ufEntityId,
  updateEntity,
} from '../../crm.js';
import { validateLayout } from '../../dto/layout.js';
import {
  type Activity,
  type ActivityFields,
  type CrmType,
  ENTITY_TYPE_ID,
  type Entity,
  type EntityType,
  type UserField,
  nextId,
} from '../../model.js';
import { dealStageEntity } from '../../seed.js';
import { message } from '../../texts.js';
import {
  type CallContext,
  ListResult,
  type MethodSpec,
  type Params,
  asRecord,
  page,
  param,
} from '../context.js';
import { RestError, legacy } from '../errors.js';

const str = (v: unknown) => (v === undefined || v === null || typeof v === 'object' ? '' : String(v));
const upperKeys = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toUpperCase(), v]));

// ---- leads and deals ----------------------------------------------------------------------------

/** The user's read permission on one lead or deal: everything, or with «Свои» only what is assigned to them. */
const mayRead = (ctx: CallContext, entity: Entity): boolean =>
  ctx.user.isAdmin || !ctx.user.crmOwnOnly || Number(entity.fields['ASSIGNED_BY_ID']) === ctx.user.ID;

function entityMethods(type: CrmType): Record<string, MethodSpec> {
  const p = `crm.${type}`;
  const find = (ctx: CallContext, idRaw: unknown) => {
    if (!ctx.user.crmAccess) throw legacy('Access denied.');
    const id = Number.parseInt(str(idRaw), 10);
    if (!(id > 0)) throw legacy('ID is not defined or invalid.');
    const entity = store(ctx.portal, type).get(id);
    if (!entity) throw legacy('Not found');
    if (!mayRead(ctx, entity)) throw legacy('Access denied.');
    return entity;
  };
  return {
    [`${p}.add`]: {
      scope: 'crm',
      handler: (ctx, params) =>
        createEntity(ctx.sim, ctx.portal, type, fieldsParam(params), {
          userId: ctx.user.ID,
          checkRequired: true,
        }).id,
    },
    [`${p}.update`]: {
      scope: 'crm',
      handler: (ctx, params) => {
        updateEntity(ctx.sim, ctx.portal, type, param(params, 'id'), fieldsParam(params), {
          userId: ctx.user.ID,
          checkRequired: true,
        });
        return true;
      },
    },
    [`${p}.get`]: {
      scope: 'crm',
      handler: (ctx, params) => entityRow(ctx.portal, find(ctx, param(params, 'id')), ctx.token.accessToken),
    },
    [`${p}.delete`]: {
      scope: 'crm',
      handler: (ctx, params) => {
        const entity = find(ctx, param(params, 'id'));
        store(ctx.portal, type).delete(entity.id);
        // A deleted contact leaves every lead and deal it was bound to.
        if (type === 'contact')
          for (const e of [...ctx.portal.leads.values(), ...ctx.portal.deals.values()])
            e.contacts = e.contacts?.filter((b) => b.CONTACT_ID !== entity.id);
        ctx.sim.emitEvent(
          ctx.portal,
          eventName(type, 'DELETE'),
          { FIELDS: { ID: String(entity.id) } },
          { userId: ctx.user.ID },
        );
        return true;
      },
    },
    [`${p}.list`]: {
      scope: 'crm',
      handler: (ctx, params) => {
        if (!ctx.user.crmAccess) throw legacy('Access denied.');
        const rawSelect = param(params, 'select');
        const select = Array.isArray(rawSelect)
          ? rawSelect.map(String)
          : rawSelect && typeof rawSelect === 'object'
            ? Object.values(rawSelect).map(String)
            : ['*'];
        const visible = [...store(ctx.portal, type).values()].filter((e) => mayRead(ctx, e));
        const rows = orderEntities(
          ctx.portal,
          filterEntities(ctx.portal, visible, param(params, 'filter')),
          param(params, 'order'),
        );
        return page(rows, param(params, 'start'), (e) =>
          entityRow(ctx.portal, e, ctx.token.accessToken, select.length ? select : ['*']),
        );
      },
    },
    [`${p}.fields`]: { scope: 'crm', handler: (ctx) => fieldsDescription(ctx.portal, type) },
    ...userFieldMethods(type),
  };
}

/**
 * crm.lead.contact.* and crm.deal.contact.*: the contacts bound to a lead or deal. Errors come with an
 * empty code and the text, as the documentation lists them.
 */
function contactBindingMethods(type: EntityType): Record<string, MethodSpec> {
  const p = `crm.${type}.contact`;
  const find = (ctx: CallContext, params: Params) => {
    if (!ctx.user.crmAccess) throw legacy('Access denied.');
    const id = Number.parseInt(str(param(params, 'id')), 10);
    if (!(id > 0)) throw legacy(`The parameter 'ownerEntityID' is invalid or not defined.`);
    const entity = store(ctx.portal, type).get(id);
    if (!entity) throw legacy('Not found.');
    if (!mayRead(ctx, entity)) throw legacy('Access denied.');
    return entity;
  };
  const updated = (ctx: CallContext, entity: Entity) => {
    entity.fields['DATE_MODIFY'] = Date.now();
    ctx.sim.emitEvent(
      ctx.portal,
      eventName(type, 'UPDATE'),
      { FIELDS: { ID: String(entity.id) } },
      {
        userId: ctx.user.ID,
      },
    );
  };
  return {
    [`${p}.fields`]: {
      scope: 'crm',
      handler: () => ({
        CONTACT_ID: {
          type: 'integer',
          isRequired: true,
          isReadOnly: false,
          isImmutable: false,
          isMultiple: false,
          isDynamic: false,
          title: 'CONTACT_ID',
        },
        SORT: {
          type: 'integer',
          isRequired: false,
          isReadOnly: false,
          isImmutable: false,
          isMultiple: false,
          isDynamic: false,
          title: 'SORT',
        },
        IS_PRIMARY: {
          type: 'char',
          isRequired: false,
          isReadOnly: false,
          isImmutable: false,
          isMultiple: false,
          isDynamic: false,
          title: 'IS_PRIMARY',
        },
      }),
    },
    [`${p}.items.get`]: {
      scope: 'crm',
      handler: (ctx, params) => (find(ctx, params).contacts ?? []).map((b) => ({ ...b, ROLE_ID: 0 })),
    },
    [`${p}.items.set`]: {
      scope: 'crm',
      handler: (ctx, params) => {
        const entity = find(ctx, params);
        setContactBindings(entity, param(params, 'items'));
        updated(ctx, entity);
        return true;
      },
    },
    [`${p}.add`]: {
      scope: 'crm',
      handler: (ctx, params) => {
        const entity = find(ctx, params);
        const added = addContactBinding(ctx.portal, entity, fieldsParam(params));
        if (added) updated(ctx, entity);
        return added;
      },
    },
  };
}

// ---- duplicates -----------------------------------------------------------------------------------

/** Phones compare by their digits, the way the duplicate index normalises them; e-mails without case. */
const commKey = (type: 'PHONE' | 'EMAIL', value: string) =>
  type === 'PHONE' ? value.replace(/\D/g, '') : value.trim().toLowerCase();

const DUPLICATE_TYPES = { LEAD: 'lead', CONTACT: 'contact', COMPANY: null } as const;

/**
 * crm.duplicate.findbycomm: ids of leads and contacts (companies are not simulated) with any of up
 * to 20 phones or e-mails, at most 20 per type (the oldest); types without a match are left out,
 * and nothing found is an empty list, as PHP encodes an empty array.
 */
const duplicateMethods: Record<string, MethodSpec> = {
  'crm.duplicate.findbycomm': {
    scope: 'crm',
    handler: (ctx, params) => {
      if (!ctx.user.crmAccess) throw legacy('Access denied');
      const type = str(param(params, 'type')).toUpperCase();
      if (!type)
        throw new RestError(400, 'Communication type is not defined', "Parameter 'type' is required.");
      if (type !== 'PHONE' && type !== 'EMAIL')
        throw new RestError(400, `Communication type '${type}' is not supported in current context`, '');
      const raw = param(params, 'values');
      const values = (Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : [])
        .map(str)
        .filter(Boolean)
        .slice(0, 20)
        .map((v) => commKey(type, v))
        .filter(Boolean);
      if (values.length === 0) throw new RestError(400, 'Communication values is not defined', '');
      const wanted = str(param(params, 'entity_type')).toUpperCase();
      const out: Record<string, number[]> = {};
      for (const [name, kind] of Object.entries(DUPLICATE_TYPES)) {
        if (!kind || (wanted in DUPLICATE_TYPES && wanted !== name)) continue;
        const ids = [...store(ctx.portal, kind).values()]
          .filter((e) => (e.multi[type] ?? []).some((m) => values.includes(commKey(type, m.VALUE))))
          .map((e) => e.id)
          .sort((a, b) => a - b)
          .slice(0, 20);
        if (ids.length > 0) out[name] = ids;
      }
      return Object.keys(out).length > 0 ? out : [];
    },
  },
};

// ---- user fields ----------------------------------------------------------------------------------

const UF_TYPES = [
  'string',
  'integer',
  'double',
  'boolean',
  'datetime',
  'date',
  'money',
  'url',
  'address',
  'enumeration',
  'file',
  'employee',
  'crm_status',
  'iblock_section',
  'iblock_element',
  'crm',
];

/** `MYAPP_DOC`, `UF_MYAPP_DOC` and `UF_CRM_MYAPP_DOC` all name the field `UF_CRM_MYAPP_DOC`. */
export function normaliseFieldName(raw: string): string {
  const name = raw.trim().toUpperCase();
  if (name.startsWith('UF_CRM_')) return name;
  if (name.startsWith('UF_')) return `UF_CRM_${name.slice(3)}`;
  return `UF_CRM_${name}`;
}

function labels(ctx: CallContext, value: unknown, fallback: Record<string, string>): Record<string, string> {
  if (value && typeof value === 'object') {
    const out = { ...fallback };
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = str(v);
    return out;
  }
  if (value !== undefined && value !== null && value !== '')
    return Object.fromEntries(ctx.portal.languages.map((l) => [l, str(value)]));
  return fallback;
}

function ufRow(uf: UserField, lang?: string): Record<string, unknown> {
  const row: Record<string, unknown> = {
    ID: String(uf.ID),
    ENTITY_ID: uf.ENTITY_ID,
    FIELD_NAME: uf.FIELD_NAME,
    USER_TYPE_ID: uf.USER_TYPE_ID,
    XML_ID: uf.XML_ID,
    SORT: String(uf.SORT),
    MULTIPLE: uf.MULTIPLE,
    MANDATORY: uf.MANDATORY,
    SHOW_FILTER: uf.SHOW_FILTER,
    SHOW_IN_LIST: uf.SHOW_IN_LIST,
    EDIT_IN_LIST: uf.EDIT_IN_LIST,
    IS_SEARCHABLE: uf.IS_SEARCHABLE,
    SETTINGS: uf.SETTINGS,
  };
  if (uf.USER_TYPE_ID === 'enumeration')
    row['LIST'] = uf.LIST.map((i) => ({
      ID: String(i.ID),
      SORT: String(i.SORT),
      VALUE: i.VALUE,
      DEF: i.DEF,
      XML_ID: i.XML_ID,
    }));
  const keys = [
    'EDIT_FORM_LABEL',
    'LIST_COLUMN_LABEL',
    'LIST_FILTER_LABEL',
    'ERROR_MESSAGE',
    'HELP_MESSAGE',
  ] as const;
  for (const k of keys) if (lang !== undefined) row[k] = uf[k][lang] ?? '';
  return row;
}

function userFieldMethods(type: CrmType): Record<string, MethodSpec> {
  const p = `crm.${type}.userfield`;
  const entityId = ufEntityId(type);
  const find = (ctx: CallContext, idRaw: unknown) => {
    const uf = ctx.portal.userFields.find((f) => f.ENTITY_ID === entityId && f.ID === Number(idRaw));
    if (!uf) throw legacy('Not found');
    return uf;
  };
  const requireAdmin = (ctx: CallContext) => {
    if (!ctx.user.isAdmin) throw legacy('Access denied.');
  };
  const apply = (ctx: CallContext, uf: UserField, f: Record<string, unknown>) => {
    const yn = (v: unknown, d: 'Y' | 'N') =>
      v === undefined ? d : ['Y', '1', 'true', true].includes(v as string) ? 'Y' : 'N';
    if (f['XML_ID'] !== undefined) uf.XML_ID = str(f['XML_ID']);
    if (f['SORT'] !== undefined) uf.SORT = Number(f['SORT']) || 100;
    if (f['MULTIPLE'] !== undefined)
      uf.MULTIPLE = uf.USER_TYPE_ID === 'boolean' ? 'N' : yn(f['MULTIPLE'], uf.MULTIPLE);
    if (f['MANDATORY'] !== undefined) uf.MANDATORY = yn(f['MANDATORY'], uf.MANDATORY);
    if (f['SHOW_FILTER'] !== undefined)
      uf.SHOW_FILTER = (
        ['N', 'I', 'E', 'S'].includes(str(f['SHOW_FILTER'])) ? str(f['SHOW_FILTER']) : 'N'
      ) as UserField['SHOW_FILTER'];
    if (f['SHOW_IN_LIST'] !== undefined) uf.SHOW_IN_LIST = yn(f['SHOW_IN_LIST'], 'Y');
    if (f['EDIT_IN_LIST'] !== undefined) uf.EDIT_IN_LIST = yn(f['EDIT_IN_LIST'], 'Y');
    if (f['IS_SEARCHABLE'] !== undefined) uf.IS_SEARCHABLE = yn(f['IS_SEARCHABLE'], 'N');
    if (f['SETTINGS'] !== undefined) uf.SETTINGS = asRecord(f['SETTINGS']);
    const base = labels(ctx, f['LABEL'], {});
    uf.EDIT_FORM_LABEL = labels(ctx, f['EDIT_FORM_LABEL'], { ...uf.EDIT_FORM_LABEL, ...base });
    uf.LIST_COLUMN_LABEL = labels(ctx, f['LIST_COLUMN_LABEL'], { ...uf.LIST_COLUMN_LABEL, ...base });
    uf.LIST_FILTER_LABEL = labels(ctx, f['LIST_FILTER_LABEL'], { ...uf.LIST_FILTER_LABEL, ...base });
    uf.ERROR_MESSAGE = labels(ctx, f['ERROR_MESSAGE'], uf.ERROR_MESSAGE);
    uf.HELP_MESSAGE = labels(ctx, f['HELP_MESSAGE'], uf.HELP_MESSAGE);
    if (Array.isArray(f['LIST']) || (f['LIST'] && typeof f['LIST'] === 'object')) {
      uf.LIST = Object.values(f['LIST']).map((item) => {
        const i = upperKeys(asRecord(item));
        return {
          ID: nextId(ctx.portal, 'ufEnum'),
          VALUE: str(i['VALUE']),
          SORT: Number(i['SORT']) || 500,
          DEF: i['DEF'] === 'Y' ? 'Y' : 'N',
          XML_ID: str(i['XML_ID']),
        };
      });
    }
  };
  return {
    [`${p}.add`]: {
      scope: 'crm',
      handler: (ctx, params) => {
        requireAdmin(ctx);
        const f = upperKeys(asRecord(fieldsParam(params)));
        if (!str(f['FIELD_NAME'])) throw legacy("The 'FIELD_NAME' field is not found.");
        if (!str(f['USER_TYPE_ID'])) throw legacy("The 'USER_TYPE_ID' field is not found.");
        const name = normaliseFieldName(str(f['FIELD_NAME']));
        if (!/^[A-Z0-9_]+$/.test(name))
          throw new RestError(
            400,
            'ERROR_CORE',
            'Field name contains invalid characters. Allowed characters are: A-Z, 0-9 and _.',
          );
        if (name.length > 50)
          throw new RestError(400, 'ERROR_CORE', 'Field name is too long (more than 50 characters).');
        const userType = str(f['USER_TYPE_ID']).toLowerCase();
        if (!UF_TYPES.includes(userType))
          throw new RestError(
            400,
            'ERROR_CORE',
            type === 'lead' ? 'Invalid custom type specified.' : 'Incorrect custom type specified.',
          );
        if (ctx.portal.userFields.some((u) => u.ENTITY_ID === entityId && u.FIELD_NAME === name)) {
          // Main module USER_TYPE_ADD_ALREADY_ERROR; the exact wire text is not confirmed.
          throw new RestError(
            400,
            'ERROR_CORE',
            `User field "${name}" for entity "${entityId}" already exists.`,
          );
        }
        const uf: UserField = {
          ID: nextId(ctx.portal, 'userField'),
          ENTITY_ID: entityId,
          FIELD_NAME: name,
          USER_TYPE_ID: userType,
          XML_ID: '',
          SORT: 100,
          MULTIPLE: 'N',
          MANDATORY: 'N',
          SHOW_FILTER: 'N',
          SHOW_IN_LIST: 'Y',
          EDIT_IN_LIST: 'Y',
          IS_SEARCHABLE: 'N',
          SETTINGS: {},
          EDIT_FORM_LABEL: {},
          LIST_COLUMN_LABEL: {},
          LIST_FILTER_LABEL: {},
          ERROR_MESSAGE: {},
          HELP_MESSAGE: {},
          LIST: [],
        };
        apply(ctx, uf, f);
        ctx.portal.userFields.push(uf);
        return uf.ID;
      },
    },
    [`${p}.update`]: {
      scope: 'crm',
      handler: (ctx, params) => {
        requireAdmin(ctx);
        const uf = find(ctx, param(params, 'id'));
        const f = upperKeys(asRecord(fieldsParam(params)));
        delete f['FIELD_NAME'];
        delete f['USER_TYPE_ID'];
        apply(ctx, uf, f);
        return true;
      },
    },
    [`${p}.get`]: {
      scope: 'crm',
      handler: (ctx, params) => ({
        ...ufRow(find(ctx, param(params, 'id'))),
        ...labelMaps(find(ctx, param(params, 'id'))),
      }),
    },
    [`${p}.delete`]: {
      scope: 'crm',
      handler: (ctx, params) => {
        requireAdmin(ctx);
        const uf = find(ctx, param(params, 'id'));
        ctx.portal.userFields = ctx.portal.userFields.filter((x) => x !== uf);
        for (const e of store(ctx.portal, type).values()) delete e.uf[uf.FIELD_NAME];
        return true;
      },
    },
    [`${p}.list`]: {
      scope: 'crm',
      handler: (ctx, params) => {
        const filter = upperKeys(asRecord(param(params, 'filter')));
        const lang = filter['LANG'] === undefined ? undefined : str(filter['LANG']);
        delete filter['LANG'];
        const rows = ctx.portal.userFields
          .filter((u) => u.ENTITY_ID === entityId)
          .map((u) => ({ uf: u, row: ufRow(u, lang) }));
        const kept = new Set(
          filterRows(
            rows.map((r) => r.row),
            filter,
          ),
        );
        return page(orderRows([...kept], param(params, 'order'), 'SORT'), param(params, 'start'));
      },
    },
  };
}

function labelMaps(uf: UserField): Record<string, unknown> {
  return {
    EDIT_FORM_LABEL: uf.EDIT_FORM_LABEL,
    LIST_COLUMN_LABEL: uf.LIST_COLUMN_LABEL,
    LIST_FILTER_LABEL: uf.LIST_FILTER_LABEL,
    ERROR_MESSAGE: uf.ERROR_MESSAGE,
    HELP_MESSAGE: uf.HELP_MESSAGE,
  };
}

// ---- pipelines and dictionaries --------------------------------------------------------------------

const SEMANTICS = { S: 'success', F: 'failure' } as const;

function statusRow(s: CallContext['portal']['statuses'][number]): Record<string, unknown> {
  return {
    ID: String(s.ID),
    ENTITY_ID: s.ENTITY_ID,
    STATUS_ID: s.STATUS_ID,
    NAME: s.NAME,
    NAME_INIT: s.NAME_INIT,
    SORT: String(s.SORT),
    SYSTEM: s.SYSTEM,
    CATEGORY_ID: s.CATEGORY_ID === null ? null : String(s.CATEGORY_ID),
    COLOR: s.COLOR,
    SEMANTICS: s.SEMANTICS,
    EXTRA: { SEMANTICS: s.SEMANTICS ? SEMANTICS[s.SEMANTICS] : 'process', COLOR: s.COLOR },
  };
}

const dictionaryMethods: Record<string, MethodSpec> = {
  'crm.category.list': {
    scope: 'crm',
    handler: (ctx, params) => {
      const entityTypeId = param(params, 'entityTypeId');
      if (entityTypeId === undefined)
        throw new RestError(400, 100, 'Could not find value for parameter {entityTypeId}');
      const categories = Number(entityTypeId) === 2 ? ctx.portal.categories : [];
      const rows = [...categories]
        .sort((a, b) => a.sort - b.sort)
        .map((c) => ({
          id: c.id,
          name: c.name,
          sort: c.sort,
          entityTypeId: 2,
          isDefault: c.isDefault ? 'Y' : 'N',
          originId: '',
          originatorId: '',
        }));
      return new ListResult({ categories: rows }, rows.length);
    },
  },
  'crm.status.list': {
    scope: 'crm',
    handler: (ctx, params) =>
      page(
        orderRows(
          filterRows(ctx.portal.statuses.map(statusRow), param(params, 'filter')),
          param(params, 'order'),
          'SORT',
        ),
        param(params, 'start'),
      ),
  },
  'crm.status.entity.items': {
    scope: 'crm',
    handler: (ctx, params) => {
      const entityId = str(param(params, 'entityId'));
      return ctx.portal.statuses
        .filter((s) => s.ENTITY_ID === entityId)
        .sort((a, b) => a.SORT - b.SORT)
        .map((s) => ({ NAME: s.NAME, SORT: s.SORT, STATUS_ID: s.STATUS_ID }));
    },
  },
  'crm.status.entity.types': {
    scope: 'crm',
    handler: (ctx) => {
      const ru = ctx.portal.lang === 'ru';
      return [
        {
          ID: 'STATUS',
          NAME: ru ? 'Статусы' : 'Statuses',
          SEMANTIC_INFO: {
            START_FIELD: 'NEW',
            FINAL_SUCCESS_FIELD: 'CONVERTED',
            FINAL_UNSUCCESS_FIELD: 'JUNK',
          },
        },
        { ID: 'SOURCE', NAME: ru ? 'Источники' : 'Sources' },
        ...ctx.portal.categories.map((c) => {
          const prefix = c.id === 0 ? '' : `C${c.id}:`;
          return {
            ID: dealStageEntity(c.id),
            NAME: `${ru ? 'Стадии сделки' : 'Deal stages'}${c.id === 0 ? '' : ` (${c.name})`}`,
            CATEGORY_ID: c.id,
            SEMANTIC_INFO: {
              START_FIELD: `${prefix}NEW`,
              FINAL_SUCCESS_FIELD: `${prefix}WON`,
              FINAL_UNSUCCESS_FIELD: `${prefix}LOSE`,
            },
          };
        }),
        { ID: 'DEAL_TYPE', NAME: ru ? 'Тип сделки' : 'Deal type' },
      ];
    },
  },
};

// ---- configurable activities and the timeline -------------------------------------------------------

const TRUE_VALUES: unknown[] = ['Y', 'y', true, 1, '1', 'true'];
const FALSE_VALUES: unknown[] = ['N', 'n', false, 0, '0', 'false'];
const isSet = (v: unknown) => v !== undefined && v !== null;

/** The engine controller's answer for a bad call: only its first error, HTTP 400, in the portal's language. */
function firstError(errors: Array<{ code: string | number; message: string }>): RestError | null {
  const e = errors[0];
  return e ? new RestError(400, e.code, e.message) : null;
}

function requireArg(params: Params, name: string): unknown {
  if (!(name in params)) throw new RestError(400, 100, `Could not find value for parameter {${name}}`);
  return params[name];
}

function saveActivity(
  ctx: CallContext,
  activity: Activity | null,
  fieldsRaw: unknown,
  layoutRaw: unknown,
  owner: { typeId: number; id: number } | null,
): Activity {
  const lang = ctx.portal.lang;
  const errors: Array<{ code: string; message: string }> = [];
  const wrongValue = (field: string) =>
    errors.push({
      code: 'WRONG_FIELD_VALUE',
      message: message(lang, 'CRM_CONFIGURABLE_REST_APP_ERROR_WRONG_FIELD_VALUE', { '#FIELD#': field }),
    });
  if (activity && activity.clientId !== ctx.app.clientId) {
    errors.push({
      code: 'ERROR_WRONG_APPLICATION',
      message: message(lang, 'CRM_CONFIGURABLE_REST_APP_ERROR_WRONG_APPLICATION'),
    });
  }
  const fields = asRecord(fieldsRaw);
  const allowed = [...TRUE_VALUES, ...FALSE_VALUES];
  if (isSet(fields['completed']) && !allowed.includes(fields['completed'])) wrongValue('completed');
  if (isSet(fields['isIncomingChannel']) && !allowed.includes(fields['isIncomingChannel']))
    wrongValue('isIncomingChannel');
  if (
    isSet(fields['isIncomingChannel']) &&
    fields['deadline'] &&
    TRUE_VALUES.includes(fields['isIncomingChannel'])
  ) {
    errors.push({
      code: 'INCOMING_ACTIVITY_CAN_NOT_BE_WITH_DEADLINE',
      message: message(lang, 'CRM_CONFIGURABLE_REST_APP_INCOMING_NO_DEADLINE'),
    });
  }
  if (isSet(fields['pingOffsets'])) {
    const offsets = fields['pingOffsets'];
    if (!offsets || typeof offsets !== 'object') wrongValue('pingOffsets');
    else
      for (const [i, v] of Object.entries(offsets))
        if (typeof v === 'object' || v === null || (Number.parseInt(String(v), 10) || 0) < 0)
          wrongValue(`pingOffsets[${i}]`);
  }
  if (isSet(fields['responsibleId']) && !((Number.parseInt(String(fields['responsibleId']), 10) || 0) > 0))
    wrongValue('responsibleId');
  // No custom badges exist in the simulator, so any badge code is unknown.
  if (isSet(fields['badgeCode']) && fields['badgeCode'] !== '') wrongValue('badgeCode');
  let layout: Record<string, unknown> | null = null;
  const layoutGiven = layoutRaw && typeof layoutRaw === 'object' && Object.keys(layoutRaw).length > 0;
  if (layoutGiven) {
    const v = validateLayout(layoutRaw, { lang, languages: ctx.portal.languages });
    errors.push(...v.errors);
    layout = v.layout;
  } else if (!activity) {
    errors.push({
      code: 'ERROR_EMPTY_LAYOUT',
      message: message(lang, 'CRM_CONFIGURABLE_REST_APP_ERROR_EMPTY_LAYOUT'),
    });
  }
  const error = firstError(errors);
  if (error) throw error;

  let target = activity;
  if (!target) {
    const ownerType =
      owner!.typeId === ENTITY_TYPE_ID.lead ? 'lead' : owner!.typeId === ENTITY_TYPE_ID.deal ? 'deal' : null;
    const entity = ownerType ? store(ctx.portal, ownerType).get(owner!.id) : undefined;
    if (!entity) throw new RestError(400, 'NOT_FOUND', message(lang, 'CRM_TYPE_ITEM_NOT_FOUND'));
    if (!ctx.user.crmAccess)
      throw new RestError(400, 'ACCESS_DENIED', message(lang, 'CRM_COMMON_ERROR_ACCESS_DENIED'));
    const initial: ActivityFields = {
      typeId: 'CONFIGURABLE',
      completed: false,
      deadline: null,
      pingOffsets: [],
      isIncomingChannel: false,
      responsibleId: Number(entity.fields['ASSIGNED_BY_ID']) || ctx.user.ID,
      badgeCode: '',
      originatorId: '',
      originId: '',
    };
    target = {
      id: nextId(ctx.portal, 'activity'),
      ownerTypeId: owner!.typeId,
      ownerId: owner!.id,
      clientId: ctx.app.clientId,
      fields: initial,
      layout: {},
      createdAt: Date.now(),
      updatedAt: Date.now(),
      busy: null,
    };
  }
  const f = target.fields;
  if (layout) target.layout = layout;
  if (isSet(fields['completed'])) f.completed = TRUE_VALUES.includes(fields['completed']);
  if (isSet(fields['deadline']) && String(fields['deadline']) !== '') {
    const ms = Date.parse(String(fields['deadline']));
    f.deadline = Number.isNaN(ms) ? null : isoDate(ms, ctx.portal.tzOffsetMinutes);
  }
  if (isSet(fields['isIncomingChannel']))
    f.isIncomingChannel = TRUE_VALUES.includes(fields['isIncomingChannel']);
  if (isSet(fields['responsibleId'])) f.responsibleId = Number.parseInt(String(fields['responsibleId']), 10);
  if (isSet(fields['pingOffsets']))
    f.pingOffsets = [
      ...new Set(Object.values(fields['pingOffsets']).map((v) => Number.parseInt(String(v), 10) || 0)),
    ];
  if (isSet(fields['originatorId'])) f.originatorId = String(fields['originatorId']);
  if (isSet(fields['originId'])) f.originId = String(fields['originId']);
  target.updatedAt = Date.now();
  // The app answered a restEvent click: the loader or disabled button goes away.
  target.busy = null;
  ctx.portal.activities.set(target.id, target);
  return target;
}

function activityTitle(a: Activity, lang: string): string {
  const title = (a.layout['header'] as Record<string, unknown> | undefined)?.['title'];
  if (typeof title === 'string') return title;
  if (title && typeof title === 'object') {
    const t = title as Record<string, string>;
    return t[lang] ?? t['en'] ?? Object.values(t)[0] ?? '';
  }
  return '';
}

function activityRow(ctx: CallContext, a: Activity): Record<string, unknown> {
  return {
    ID: String(a.id),
    OWNER_ID: String(a.ownerId),
    OWNER_TYPE_ID: String(a.ownerTypeId),
    TYPE_ID: '6',
    PROVIDER_ID: 'CONFIGURABLE_REST_APP',
    PROVIDER_TYPE_ID: a.fields.typeId,
    SUBJECT: activityTitle(a, ctx.portal.lang),
    COMPLETED: a.fields.completed ? 'Y' : 'N',
    RESPONSIBLE_ID: String(a.fields.responsibleId),
    CREATED: isoDate(a.createdAt, ctx.portal.tzOffsetMinutes),
    LAST_UPDATED: isoDate(a.updatedAt, ctx.portal.tzOffsetMinutes),
    DEADLINE: a.fields.deadline,
    ORIGINATOR_ID: a.fields.originatorId,
    ORIGIN_ID: a.fields.originId,
    DIRECTION: a.fields.isIncomingChannel ? '1' : '0',
  };
}

function activityOut(a: Activity): Record<string, unknown> {
  return {
    activity: {
      id: a.id,
      ownerTypeId: a.ownerTypeId,
      ownerId: a.ownerId,
      fields: { ...a.fields },
      layout: a.layout,
    },
  };
}

const timelineMethods: Record<string, MethodSpec> = {
  'crm.activity.configurable.add': {
    scope: 'crm',
    handler: (ctx, params) => {
      const ownerTypeId = Number.parseInt(str(requireArg(params, 'ownerTypeId')), 10);
      const ownerId = Number.parseInt(str(requireArg(params, 'ownerId')), 10);
      const fields = requireArg(params, 'fields');
      const layout = requireArg(params, 'layout');
      return {
        activity: { id: saveActivity(ctx, null, fields, layout, { typeId: ownerTypeId, id: ownerId }).id },
      };
    },
  },
  'crm.activity.configurable.update': {
    scope: 'crm',
    handler: (ctx, params) => {
      const activity = ctx.portal.activities.get(Number.parseInt(str(requireArg(params, 'id')), 10));
      if (!activity)
        throw new RestError(400, 'NOT_FOUND', message(ctx.portal.lang, 'CRM_TYPE_ITEM_NOT_FOUND'));
      return { activity: { id: saveActivity(ctx, activity, params['fields'], params['layout'], null).id } };
    },
  },
  'crm.activity.configurable.get': {
    scope: 'crm',
    handler: (ctx, params) => {
      const activity = ctx.portal.activities.get(Number.parseInt(str(requireArg(params, 'id')), 10));
      if (!activity)
        throw new RestError(400, 'NOT_FOUND', message(ctx.portal.lang, 'CRM_TYPE_ITEM_NOT_FOUND'));
      return activityOut(activity);
    },
  },
  'crm.activity.list': {
    scope: 'crm',
    handler: (ctx, params) => {
      if (!ctx.user.crmAccess) throw legacy('Access denied.');
      const rows = orderRows(
        filterRows(
          [...ctx.portal.activities.values()].map((a) => activityRow(ctx, a)),
          param(params, 'filter'),
        ),
        param(params, 'order'),
      );
      const rawSelect = param(params, 'select');
      const select =
        Array.isArray(rawSelect) && rawSelect.length > 0 && !rawSelect.includes('*')
          ? rawSelect.map((s) => String(s).toUpperCase())
          : null;
      return page(rows, param(params, 'start'), (r) =>
        select ? Object.fromEntries(Object.entries(r).filter(([k]) => k === 'ID' || select.includes(k))) : r,
      );
    },
  },
  'crm.activity.delete': {
    scope: 'crm',
    handler: (ctx, params) => {
      const id = Number.parseInt(str(param(params, 'id')), 10);
      if (!ctx.portal.activities.delete(id)) throw legacy('Not found');
      return true;
    },
  },
  'crm.timeline.comment.add': {
    scope: 'crm',
    handler: (ctx, params) => {
      const fields = upperKeys(asRecord(requireArg(params, 'fields')));
      const entityType = str(fields['ENTITY_TYPE']).toLowerCase();
      const entityId = Number.parseInt(str(fields['ENTITY_ID']), 10);
      const owner =
        entityType === 'lead' || entityType === 'deal'
          ? store(ctx.portal, entityType).get(entityId)
          : undefined;
      if (!owner) throw new RestError(400, 'OWNER_NOT_FOUND', 'Owner not found.');
      const comment = str(fields['COMMENT']);
      if (!comment.trim()) throw new RestError(400, 'INVALID_ARG_VALUE', 'Empty comment message.');
      const files: number[] = [];
      for (const pair of Array.isArray(fields['FILES'])
        ? fields['FILES']
        : Object.values(asRecord(fields['FILES']))) {
        if (Array.isArray(pair) && typeof pair[0] === 'string') {
          const id = nextId(ctx.portal, 'file');
          ctx.portal.files.set(id, {
            id,
            name: pair[0],
            content: Buffer.from(String(pair[1] ?? ''), 'base64'),
          });
          files.push(id);
        }
      }
      const id = nextId(ctx.portal, 'comment');
      ctx.portal.comments.push({
        id,
        entityType,
        entityId,
        comment,
        authorId: Number(fields['AUTHOR_ID']) || ctx.user.ID,
        files,
        createdAt: Date.now(),
      });
      ctx.sim.emitEvent(
        ctx.portal,
        'ONCRMTIMELINECOMMENTADD',
        { FIELDS: { ID: String(id) } },
        { userId: ctx.user.ID },
      );
      return id;
    },
  },
};

export const crmMethods: Record<string, MethodSpec> = {
  ...entityMethods('lead'),
  ...entityMethods('deal'),
  ...entityMethods('contact'),
  ...contactBindingMethods('lead'),
  ...contactBindingMethods('deal'),
  ...duplicateMethods,
  ...dictionaryMethods,
  ...timelineMethods,
};
