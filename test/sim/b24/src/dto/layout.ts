/**
 * The layout of a configurable timeline activity, validated the way Bitrix's crm DTOs do it:
 * each DTO runs its own validators in declaration order, then the redundant-keys check, then the
 * nested DTOs in property order; the controller returns only the first error. Values are cast as
 * the DTO casters do, so `crm.activity.configurable.get` returns what Bitrix would store.
 *
 * Enum violations are reported as WRONG_FIELD_VALUE (builds before crm 25.550 used that code; the
 * text of the newer ENUM_FIELD is not known). `ActionDto.sliderParams` is accepted as newer builds
 * and the current docs do.
 */
import { type Lang, message } from '../texts.js';

type Obj = Record<string, unknown>;
export interface DtoError {
  code: string;
  message: string;
}

const isArr = (v: unknown): v is Obj | unknown[] => typeof v === 'object' && v !== null;
const has = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const entries = (v: Obj | unknown[]): Array<[string, unknown]> =>
  Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
const isIntKey = (k: string) => /^(0|-?[1-9]\d*)$/.test(k);
const isScalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

export const SYSTEM_ICONS = [
  'call',
  'call-incoming-missed',
  'call-incoming',
  'call-completed',
  'call-outcoming',
  'document',
  'IM',
  'circle-check',
  'info',
  'relation',
  'link',
  'unlink',
  'store',
  'view',
  'stage-change',
  'sum',
  'open-line-incoming-message',
  'clock',
  'mail-outcome',
  'complete',
  'check',
  'comment',
  'sms',
  'whatsapp',
  'task',
  'pipeline',
  'wallet',
  'attention',
  'bank-card',
  'conversion',
  'calendar',
  'circle-crossed',
  'task-ping',
  'task-new-comment',
  'task-viewed-comment',
  'task-activity',
  'ai-copilot',
  'ai-process',
  'restoration',
  'arrow-up',
  'arrow-down',
  'visit',
  'camera',
  'copy',
  'robot',
  'cycle-equal',
  'bizproc',
  'message-with-point',
  'booking',
];
export const SYSTEM_LOGOS = [
  'call-play-record',
  'call-default',
  'call-incoming',
  'call-outgoing',
  'document',
  'document-print',
  'document-signed',
  'document-draft',
  'channel-chat',
  'channel-avito',
  'channel-apple',
  'channel-fb',
  'channel-fb-chat',
  'channel-instagram-direct',
  'channel-bitrix',
  'channel-ok',
  'channel-telegram',
  'channel-viber',
  'channel-vk',
  'channel-vk-order',
  'channel-whatsapp-bitrix',
  'channel-edna',
  'channel-whatsapp',
  'mail-outcome',
  'list-check',
  'shop',
  'notification',
  'comment',
  'sms',
  'shop-eye',
  'bank-card',
  'calendar-share',
  'unread-comment',
  'task-activity',
  'ai-copilot',
  'zoom',
  'bizproc',
  'bizproc-task',
];

interface Ctx {
  lang: Lang;
  languages: string[];
}

type Prop =
  | { name: string; kind: 'bool' | 'int' | 'string' | 'text' | 'strings' }
  | { name: string; kind: 'dto'; dto: () => Dto }
  | { name: string; kind: 'dtos'; dto: () => Dto }
  | { name: string; kind: 'block' };

interface Dto {
  name: string;
  props: Prop[];
  validators: (fields: Obj) => Array<(fields: Obj, ctx: Ctx) => DtoError[]>;
}

// ---- validators (Bitrix\Crm\Dto\Validator\*) ---------------------------------------------------

const wrong = (ctx: Ctx, field: string, parent: string): DtoError => ({
  code: 'WRONG_FIELD_VALUE',
  message: message(ctx.lang, 'CRM_DTO_VALIDATOR_WRONG_FIELD_VALUE', {
    '#FIELD#': field,
    '#PARENT_OBJECT#': parent,
  }),
});

function keyError(ctx: Ctx, key: string): DtoError | null {
  if (isIntKey(key) || /^[a-zA-Z0-9-_]+$/.test(key)) return null;
  return {
    code: 'KEY_CONTAIN_WRONG_SYMBOLS',
    message: message(ctx.lang, 'CRM_DTO_VALIDATOR_KEY_CONTAIN_WRONG_SYMBOLS', { '#KEY#': key }),
  };
}

const required =
  (dto: string, field: string) =>
  (f: Obj, ctx: Ctx): DtoError[] =>
    has(f, field)
      ? []
      : [
          {
            code: 'FIELD_IS_REQUIRED',
            message: message(ctx.lang, 'CRM_DTO_VALIDATOR_FIELD_IS_REQUIRED', {
              '#FIELD#': field,
              '#PARENT_OBJECT#': dto,
            }),
          },
        ];

const object =
  (dto: string, field: string) =>
  (f: Obj, ctx: Ctx): DtoError[] =>
    has(f, field) && !isArr(f[field]) ? [wrong(ctx, field, dto)] : [];

/** PHP's loose in_array, as far as JSON and form values can reach it. */
function inList(value: unknown, allowed: readonly string[]): boolean {
  if (typeof value === 'string') return allowed.includes(value);
  if (value === true) return allowed.length > 0;
  if (typeof value === 'number') return allowed.includes(String(value));
  return false;
}

const oneOf =
  (dto: string, field: string, allowed: readonly string[]) =>
  (f: Obj, ctx: Ctx): DtoError[] =>
    has(f, field) && !inList(f[field], allowed) ? [wrong(ctx, field, dto)] : [];

const tooMany = (ctx: Ctx, field: string, dto: string, max: number): DtoError => ({
  code: 'TOO_MANY_ITEMS',
  message: message(ctx.lang, 'CRM_DTO_VALIDATOR_TOO_MANY_ITEMS', {
    '#FIELD#': field,
    '#PARENT_OBJECT#': dto,
    '#COUNT#': max,
  }),
});

const objects =
  (dto: string, field: string, max: number | null) =>
  (f: Obj, ctx: Ctx): DtoError[] => {
    if (!has(f, field)) return [];
    const v = f[field];
    if (!isArr(v)) return [wrong(ctx, field, dto)];
    const out: DtoError[] = [];
    const items = entries(v);
    for (const [k, item] of items) {
      const ke = keyError(ctx, k);
      if (ke) out.push(ke);
      if (!isArr(item)) out.push(wrong(ctx, `${field}[${k}]`, dto));
    }
    if (max !== null && items.length > max) out.push(tooMany(ctx, field, dto, max));
    return out;
  };

const scalars =
  (dto: string, field: string, max: number) =>
  (f: Obj, ctx: Ctx): DtoError[] => {
    if (!has(f, field)) return [];
    const v = f[field];
    if (!isArr(v)) return [wrong(ctx, field, dto)];
    const out: DtoError[] = [];
    const items = entries(v);
    for (const [k, item] of items) {
      const ke = keyError(ctx, k);
      if (ke) out.push(ke);
      if (!isScalar(item)) out.push(wrong(ctx, `${field}[${k}]`, dto));
    }
    if (items.length > max) out.push(tooMany(ctx, field, dto, max));
    return out;
  };

/** A multilingual text: a string, or `{lang: text}` with languages the portal has. */
const translated =
  (dto: string, field: string) =>
  (f: Obj, ctx: Ctx): DtoError[] => {
    const v = f[field];
    if (v === undefined || v === null || !isArr(v)) return [];
    const out: DtoError[] = [];
    for (const [lid, text] of entries(v)) {
      if (!ctx.languages.includes(lid))
        out.push({
          code: 'WRONG_LANG',
          message: message(ctx.lang, 'CRM_TIMELINE_DTO_VALIDATOR_WRONG_LANG', { '#LANG#': lid }),
        });
      else if (typeof text !== 'string') out.push(wrong(ctx, `${field}[${lid}]`, dto));
    }
    return out;
  };

/** Inside withTitle and lineOfBlocks only text, link and deadline blocks may appear. */
const simpleBlocks =
  (field: string, collection: boolean) =>
  (f: Obj, ctx: Ctx): DtoError[] => {
    if (!has(f, field)) return [];
    const check = (block: Obj): DtoError[] =>
      ['text', 'link', 'deadline'].includes(String(block['type'] ?? ''))
        ? []
        : [wrong(ctx, 'type', 'ContentBlockDto')];
    const v = f[field];
    if (!isArr(v)) return [];
    if (!collection) return check(v as Obj);
    // Bitrix keeps only the verdict on the last block of the line (it overwrites its result).
    let result: DtoError[] = [];
    for (const [, block] of entries(v)) if (isArr(block)) result = check(block as Obj);
    return result;
  };

// ---- the DTOs (Bitrix\Crm\Activity\Entity\ConfigurableRestApp\Dto\*) ------------------------------

const SCOPES = ['web', 'mobile'];

const action = (): Dto => ({
  name: 'ActionDto',
  props: [
    { name: 'type', kind: 'string' },
    { name: 'uri', kind: 'string' },
    { name: 'id', kind: 'string' },
    { name: 'actionParams', kind: 'strings' },
    { name: 'animationType', kind: 'string' },
    { name: 'sliderParams', kind: 'dto', dto: sliderParams },
  ],
  validators: (f) => {
    const byType = {
      redirect: [required('ActionDto', 'uri')],
      openRestApp: [scalars('ActionDto', 'actionParams', 20)],
      restEvent: [
        required('ActionDto', 'id'),
        scalars('ActionDto', 'actionParams', 20),
        oneOf('ActionDto', 'animationType', ['disable', 'loader']),
      ],
    }[String(f['type'] ?? '')] ?? [
      required('ActionDto', 'type'),
      oneOf('ActionDto', 'type', ['redirect', 'openRestApp', 'restEvent']),
    ];
    return [...byType, object('ActionDto', 'sliderParams')];
  },
});

const sliderParams = (): Dto => ({
  name: 'ActionSliderParamsDto',
  props: [
    { name: 'width', kind: 'int' },
    { name: 'leftBoundary', kind: 'int' },
    { name: 'labelBgColor', kind: 'string' },
    { name: 'labelColor', kind: 'string' },
    { name: 'labelText', kind: 'string' },
    { name: 'title', kind: 'string' },
  ],
  validators: () => [
    oneOf('ActionSliderParamsDto', 'labelBgColor', [
      'aqua',
      'green',
      'orange',
      'brown',
      'pink',
      'blue',
      'grey',
      'violet',
    ]),
    (f, ctx) =>
      f['labelColor'] !== undefined &&
      f['labelColor'] !== null &&
      !(typeof f['labelColor'] === 'string' && /^#[a-fA-F0-9]{6}$/.test(f['labelColor']))
        ? [wrong(ctx, 'labelColor', 'ActionSliderParamsDto')]
        : [],
  ],
});

const text = (): Dto => ({
  name: 'TextDto',
  props: [
    { name: 'value', kind: 'text' },
    { name: 'multiline', kind: 'bool' },
    { name: 'title', kind: 'text' },
    { name: 'bold', kind: 'bool' },
    { name: 'size', kind: 'string' },
    { name: 'color', kind: 'string' },
    { name: 'scope', kind: 'string' },
  ],
  validators: () => [
    required('TextDto', 'value'),
    translated('TextDto', 'value'),
    translated('TextDto', 'title'),
    oneOf('TextDto', 'size', ['xs', 'sm', 'md']),
    oneOf('TextDto', 'color', ['base_50', 'base_60', 'base_70', 'base_90']),
  ],
});

const largeText = (): Dto => ({
  name: 'LargeTextDto',
  props: [
    { name: 'value', kind: 'text' },
    { name: 'scope', kind: 'string' },
  ],
  validators: () => [required('LargeTextDto', 'value'), translated('LargeTextDto', 'value')],
});

const link = (): Dto => ({
  name: 'LinkDto',
  props: [
    { name: 'text', kind: 'text' },
    { name: 'bold', kind: 'bool' },
    { name: 'action', kind: 'dto', dto: action },
    { name: 'scope', kind: 'string' },
  ],
  validators: () => [
    required('LinkDto', 'text'),
    translated('LinkDto', 'text'),
    required('LinkDto', 'action'),
    object('LinkDto', 'action'),
  ],
});

const deadline = (): Dto => ({
  name: 'DeadlineDto',
  props: [
    { name: 'readonly', kind: 'bool' },
    { name: 'scope', kind: 'string' },
  ],
  validators: () => [],
});

const withTitle = (): Dto => ({
  name: 'WithTitleDto',
  props: [
    { name: 'title', kind: 'text' },
    { name: 'inline', kind: 'bool' },
    { name: 'block', kind: 'dto', dto: contentBlock },
    { name: 'scope', kind: 'string' },
  ],
  validators: () => [
    required('WithTitleDto', 'block'),
    object('WithTitleDto', 'block'),
    simpleBlocks('block', false),
    translated('WithTitleDto', 'title'),
  ],
});

const lineOfBlocks = (): Dto => ({
  name: 'LineOfBlocksDto',
  props: [
    { name: 'blocks', kind: 'dtos', dto: contentBlock },
    { name: 'scope', kind: 'string' },
  ],
  validators: () => [
    required('LineOfBlocksDto', 'blocks'),
    objects('LineOfBlocksDto', 'blocks', 20),
    simpleBlocks('blocks', true),
  ],
});

const BLOCK_TYPES: Record<string, () => Dto> = { text, largeText, link, deadline, withTitle, lineOfBlocks };

const contentBlock = (): Dto => ({
  name: 'ContentBlockDto',
  props: [
    { name: 'type', kind: 'string' },
    { name: 'properties', kind: 'block' },
  ],
  validators: () => [oneOf('ContentBlockDto', 'type', Object.keys(BLOCK_TYPES))],
});

const tag = (): Dto => ({
  name: 'TagDto',
  props: [
    { name: 'title', kind: 'text' },
    { name: 'type', kind: 'string' },
    { name: 'action', kind: 'dto', dto: action },
  ],
  validators: () => [
    required('TagDto', 'title'),
    translated('TagDto', 'title'),
    required('TagDto', 'type'),
    oneOf('TagDto', 'type', ['success', 'failure', 'warning', 'primary', 'secondary']),
    object('TagDto', 'action'),
  ],
});

const footerButton = (): Dto => ({
  name: 'FooterButtonDto',
  props: [
    { name: 'title', kind: 'text' },
    { name: 'type', kind: 'string' },
    { name: 'action', kind: 'dto', dto: action },
    { name: 'scope', kind: 'string' },
    { name: 'hideIfReadonly', kind: 'bool' },
  ],
  validators: () => [
    required('FooterButtonDto', 'title'),
    translated('FooterButtonDto', 'title'),
    required('FooterButtonDto', 'type'),
    required('FooterButtonDto', 'action'),
    oneOf('FooterButtonDto', 'type', ['primary', 'secondary']),
    object('FooterButtonDto', 'action'),
    oneOf('FooterButtonDto', 'scope', SCOPES),
  ],
});

const menuItem = (): Dto => ({
  name: 'MenuItemDto',
  props: [
    { name: 'title', kind: 'text' },
    { name: 'action', kind: 'dto', dto: action },
    { name: 'scope', kind: 'string' },
    { name: 'hideIfReadonly', kind: 'bool' },
  ],
  validators: () => [
    required('MenuItemDto', 'title'),
    translated('MenuItemDto', 'title'),
    required('MenuItemDto', 'action'),
    object('MenuItemDto', 'action'),
    oneOf('MenuItemDto', 'scope', SCOPES),
  ],
});

const footerMenu = (): Dto => ({
  name: 'FooterMenuDto',
  props: [
    { name: 'showPinItem', kind: 'bool' },
    { name: 'showPostponeItem', kind: 'bool' },
    { name: 'showDeleteItem', kind: 'bool' },
    { name: 'items', kind: 'dtos', dto: menuItem },
  ],
  validators: () => [objects('FooterMenuDto', 'items', 10)],
});

const footer = (): Dto => ({
  name: 'FooterDto',
  props: [
    { name: 'buttons', kind: 'dtos', dto: footerButton },
    { name: 'showNote', kind: 'bool' },
    { name: 'menu', kind: 'dto', dto: footerMenu },
  ],
  validators: () => [objects('FooterDto', 'buttons', 2), object('FooterDto', 'menu')],
});

const icon = (): Dto => ({
  name: 'IconDto',
  props: [{ name: 'code', kind: 'string' }],
  validators: () => [required('IconDto', 'code'), oneOf('IconDto', 'code', SYSTEM_ICONS)],
});

const logo = (): Dto => ({
  name: 'LogoDto',
  props: [
    { name: 'code', kind: 'string' },
    { name: 'action', kind: 'dto', dto: action },
  ],
  validators: () => [
    required('LogoDto', 'code'),
    oneOf('LogoDto', 'code', SYSTEM_LOGOS),
    object('LogoDto', 'action'),
  ],
});

const header = (): Dto => ({
  name: 'HeaderDto',
  props: [
    { name: 'title', kind: 'text' },
    { name: 'titleAction', kind: 'dto', dto: action },
    { name: 'tags', kind: 'dtos', dto: tag },
  ],
  validators: () => [
    required('HeaderDto', 'title'),
    translated('HeaderDto', 'title'),
    object('HeaderDto', 'titleAction'),
    objects('HeaderDto', 'tags', 2),
  ],
});

const body = (): Dto => ({
  name: 'BodyDto',
  props: [
    { name: 'logo', kind: 'dto', dto: logo },
    { name: 'blocks', kind: 'dtos', dto: contentBlock },
  ],
  validators: () => [
    required('BodyDto', 'logo'),
    required('BodyDto', 'blocks'),
    objects('BodyDto', 'blocks', 20),
  ],
});

const layout = (): Dto => ({
  name: 'LayoutDto',
  props: [
    { name: 'icon', kind: 'dto', dto: icon },
    { name: 'header', kind: 'dto', dto: header },
    { name: 'body', kind: 'dto', dto: body },
    { name: 'footer', kind: 'dto', dto: footer },
  ],
  validators: () => [
    required('LayoutDto', 'icon'),
    object('LayoutDto', 'icon'),
    required('LayoutDto', 'header'),
    object('LayoutDto', 'header'),
    required('LayoutDto', 'body'),
    object('LayoutDto', 'body'),
    object('LayoutDto', 'footer'),
  ],
});

// ---- construction: validate, then cast into what is stored ------------------------------------

function cast(prop: Prop, value: unknown, ctx: Ctx, errors: DtoError[], parentFields: Obj): unknown {
  if (value === null) return null;
  switch (prop.kind) {
    case 'bool':
      return typeof value === 'string' ? ['TRUE', 'Y'].includes(value.toUpperCase()) : Boolean(value);
    case 'int':
      return Number.parseInt(String(value), 10) || 0;
    case 'string':
      return isArr(value) ? value : String(value);
    case 'text':
      return isScalar(value) ? String(value) : isArr(value) ? value : null;
    case 'strings':
      return isArr(value)
        ? Object.fromEntries(entries(value).map(([k, v]) => [k, v === null ? null : String(v)]))
        : {};
    case 'dto':
      return isArr(value) ? build(prop.dto(), value as Obj, ctx, errors) : {};
    case 'dtos':
      return isArr(value)
        ? Object.fromEntries(
            entries(value).map(([k, item]) => [
              k,
              item === null ? null : isArr(item) ? build(prop.dto(), item as Obj, ctx, errors) : {},
            ]),
          )
        : {};
    case 'block': {
      const type = BLOCK_TYPES[String(parentFields['type'] ?? '')];
      return type && isArr(value) ? build(type(), value as Obj, ctx, errors) : null;
    }
  }
}

function build(dto: Dto, fields: Obj, ctx: Ctx, errors: DtoError[]): Obj {
  if (Array.isArray(fields)) fields = Object.fromEntries(entries(fields));
  for (const v of dto.validators(fields)) errors.push(...v(fields, ctx));
  const names = dto.props.map((p) => p.name);
  for (const key of Object.keys(fields)) {
    if (!names.includes(key)) {
      errors.push({
        code: 'FIELD_IS_REDUNDANT',
        message: message(ctx.lang, 'CRM_DTO_VALIDATOR_FIELD_IS_REDUNDANT', {
          '#FIELD#': key,
          '#PARENT_OBJECT#': dto.name,
        }),
      });
    }
  }
  const out: Obj = {};
  for (const prop of dto.props) {
    if (!has(fields, prop.name)) continue;
    const v = cast(prop, fields[prop.name], ctx, errors, fields);
    if (v !== null && v !== undefined) out[prop.name] = v;
  }
  return out;
}

/** Validates a layout; returns every error in Bitrix's order (the REST answer shows the first) and the stored form. */
export function validateLayout(
  input: unknown,
  ctx: { lang: Lang; languages: string[] },
): { errors: DtoError[]; layout: Obj } {
  const errors: DtoError[] = [];
  const value = isArr(input) ? (input as Obj) : {};
  const stored = build(layout(), value, ctx, errors);
  return { errors, layout: stored };
}
