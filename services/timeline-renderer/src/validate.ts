/**
 * Checks a configurable-activity layout against Bitrix24's DTO rules
 * (docs/reference/bitrix24-api.md#configurable-timeline-activities) before it is sent, so an update never
 * replaces a working activity with one the portal refuses: required and unknown fields, key characters, the
 * enums, the system icon and logo codes, the nested block types and the limits (20 body blocks, 20 blocks per
 * line, 2 tags, 2 buttons, 10 menu items, 20 scalar action params). Returns the problems found, in the
 * portal's English wording; none means the portal accepts it. A test holds these rules to the Bitrix24
 * simulator's.
 */
import { textOf } from '@hhb24/common';
type Obj = Record<string, unknown>;

const ICONS = new Set([
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
]);
const LOGOS = new Set([
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
]);

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
const items = (v: Obj): Array<[string, unknown]> =>
  Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
const KEY = /^([a-zA-Z0-9-_]+|0|-?[1-9]\d*)$/;

class Check {
  readonly problems: string[] = [];
  fail(text: string): void {
    this.problems.push(text);
  }

  /** An object of a DTO: its required fields are there and it has no others. */
  dto(v: unknown, name: string, fields: string[], required: string[]): v is Obj {
    if (!isObj(v) || Array.isArray(v)) {
      this.fail(`${name} must be an object`);
      return false;
    }
    for (const f of required) if (v[f] === undefined) this.fail(`Field ${f} is required for ${name}.`);
    for (const k of Object.keys(v))
      if (!fields.includes(k)) this.fail(`Field ${k} is not required for ${name}.`);
    return true;
  }

  oneOf(o: Obj, field: string, allowed: readonly string[], name: string): void {
    if (o[field] !== undefined && !allowed.includes(textOf(o[field])))
      this.fail(`The value of ${field} in ${name} is incorrect.`);
  }

  text(o: Obj, field: string, name: string): void {
    const v = o[field];
    if (v === undefined) return;
    if (typeof v === 'string') return;
    if (isObj(v) && items(v).every(([, t]) => typeof t === 'string')) return;
    this.fail(`The value of ${field} in ${name} is incorrect.`);
  }

  bool(o: Obj, field: string, name: string): void {
    if (o[field] !== undefined && typeof o[field] !== 'boolean')
      this.fail(`The value of ${field} in ${name} is incorrect.`);
  }

  /** A keyed collection of objects, at most `max` of them. */
  collection(o: Obj, field: string, name: string, max: number | null, each: (v: unknown) => void): void {
    const v = o[field];
    if (v === undefined) return;
    if (!isObj(v)) return this.fail(`The value of ${field} in ${name} is incorrect.`);
    const list = items(v);
    for (const [k, item] of list) {
      if (!KEY.test(k)) this.fail(`The value of ${k} includes invalid characters.`);
      each(item);
    }
    if (max !== null && list.length > max)
      this.fail(`The field ${field} of ${name} can only contain up to ${max} values.`);
  }

  action(v: unknown): void {
    if (
      !this.dto(
        v,
        'ActionDto',
        ['type', 'uri', 'id', 'actionParams', 'animationType', 'sliderParams'],
        ['type'],
      )
    )
      return;
    this.oneOf(v, 'type', ['redirect', 'openRestApp', 'restEvent'], 'ActionDto');
    if (v['type'] === 'redirect' && typeof v['uri'] !== 'string')
      this.fail('Field uri is required for ActionDto.');
    if (v['type'] === 'restEvent') {
      if (typeof v['id'] !== 'string' || v['id'] === '') this.fail('Field id is required for ActionDto.');
      this.oneOf(v, 'animationType', ['disable', 'loader'], 'ActionDto');
    }
    const params = v['actionParams'];
    if (params !== undefined) {
      if (!isObj(params)) this.fail('The value of actionParams in ActionDto is incorrect.');
      else {
        const list = items(params);
        for (const [k, p] of list) {
          if (!KEY.test(k)) this.fail(`The value of ${k} includes invalid characters.`);
          if (!['string', 'number', 'boolean'].includes(typeof p))
            this.fail(`The value of actionParams[${k}] in ActionDto is incorrect.`);
        }
        if (list.length > 20)
          this.fail('The field actionParams of ActionDto can only contain up to 20 values.');
      }
    }
    const slider = v['sliderParams'];
    if (
      slider !== undefined &&
      this.dto(
        slider,
        'ActionSliderParamsDto',
        ['width', 'leftBoundary', 'labelBgColor', 'labelColor', 'labelText', 'title'],
        [],
      )
    ) {
      this.oneOf(
        slider,
        'labelBgColor',
        ['aqua', 'green', 'orange', 'brown', 'pink', 'blue', 'grey', 'violet'],
        'ActionSliderParamsDto',
      );
    }
  }

  /** A content block; inside withTitle and lineOfBlocks only text, link and deadline. */
  block(v: unknown, simple: boolean): void {
    if (!this.dto(v, 'ContentBlockDto', ['type', 'properties'], ['type', 'properties'])) return;
    const allowed = simple
      ? ['text', 'link', 'deadline']
      : ['text', 'largeText', 'link', 'deadline', 'withTitle', 'lineOfBlocks'];
    if (!allowed.includes(String(v['type'])))
      return this.fail('The value of type in ContentBlockDto is incorrect.');
    const p = v['properties'];
    switch (v['type']) {
      case 'text':
        if (
          this.dto(p, 'TextDto', ['value', 'multiline', 'title', 'bold', 'size', 'color', 'scope'], ['value'])
        ) {
          this.text(p, 'value', 'TextDto');
          this.text(p, 'title', 'TextDto');
          this.bool(p, 'multiline', 'TextDto');
          this.bool(p, 'bold', 'TextDto');
          this.oneOf(p, 'size', ['xs', 'sm', 'md'], 'TextDto');
          this.oneOf(p, 'color', ['base_50', 'base_60', 'base_70', 'base_90'], 'TextDto');
          this.oneOf(p, 'scope', ['web', 'mobile'], 'TextDto');
        }
        return;
      case 'largeText':
        if (this.dto(p, 'LargeTextDto', ['value', 'scope'], ['value'])) this.text(p, 'value', 'LargeTextDto');
        return;
      case 'link':
        if (this.dto(p, 'LinkDto', ['text', 'action', 'bold', 'scope'], ['text', 'action'])) {
          this.text(p, 'text', 'LinkDto');
          this.bool(p, 'bold', 'LinkDto');
          this.action(p['action']);
        }
        return;
      case 'deadline':
        this.dto(p, 'DeadlineDto', ['readonly', 'scope'], []);
        return;
      case 'withTitle':
        if (this.dto(p, 'WithTitleDto', ['title', 'block', 'inline', 'scope'], ['block'])) {
          this.text(p, 'title', 'WithTitleDto');
          this.bool(p, 'inline', 'WithTitleDto');
          this.block(p['block'], true);
        }
        return;
      case 'lineOfBlocks':
        if (this.dto(p, 'LineOfBlocksDto', ['blocks', 'scope'], ['blocks']))
          this.collection(p, 'blocks', 'LineOfBlocksDto', 20, (b) => this.block(b, true));
        return;
    }
  }

  layout(v: unknown): void {
    if (!this.dto(v, 'LayoutDto', ['icon', 'header', 'body', 'footer'], ['icon', 'header', 'body'])) return;
    if (this.dto(v['icon'], 'IconDto', ['code'], ['code']) && !ICONS.has(String(v['icon']['code'])))
      this.fail('The value of code in IconDto is incorrect.');
    const header = v['header'];
    if (this.dto(header, 'HeaderDto', ['title', 'titleAction', 'tags'], ['title'])) {
      this.text(header, 'title', 'HeaderDto');
      if (header['titleAction'] !== undefined) this.action(header['titleAction']);
      this.collection(header, 'tags', 'HeaderDto', 2, (tag) => {
        if (this.dto(tag, 'TagDto', ['title', 'type', 'action'], ['title', 'type'])) {
          this.text(tag, 'title', 'TagDto');
          this.oneOf(tag, 'type', ['success', 'failure', 'warning', 'primary', 'secondary'], 'TagDto');
          if (tag['action'] !== undefined) this.action(tag['action']);
        }
      });
    }
    const body = v['body'];
    if (this.dto(body, 'BodyDto', ['logo', 'blocks'], ['logo', 'blocks'])) {
      if (
        this.dto(body['logo'], 'LogoDto', ['code', 'action'], ['code']) &&
        !LOGOS.has(String(body['logo']['code']))
      )
        this.fail('The value of code in LogoDto is incorrect.');
      this.collection(body, 'blocks', 'BodyDto', 20, (b) => this.block(b, false));
    }
    const footer = v['footer'];
    if (footer !== undefined && this.dto(footer, 'FooterDto', ['buttons', 'menu'], [])) {
      this.collection(footer, 'buttons', 'FooterDto', 2, (b) => {
        if (
          this.dto(
            b,
            'FooterButtonDto',
            ['title', 'type', 'action', 'scope', 'hideIfReadonly'],
            ['title', 'type', 'action'],
          )
        ) {
          this.text(b, 'title', 'FooterButtonDto');
          this.oneOf(b, 'type', ['primary', 'secondary'], 'FooterButtonDto');
          this.oneOf(b, 'scope', ['web', 'mobile'], 'FooterButtonDto');
          this.action(b['action']);
        }
      });
      const menu = footer['menu'];
      if (
        menu !== undefined &&
        this.dto(menu, 'FooterMenuDto', ['showPinItem', 'showPostponeItem', 'showDeleteItem', 'items'], [])
      ) {
        for (const f of ['showPinItem', 'showPostponeItem', 'showDeleteItem'])
          this.bool(menu, f, 'FooterMenuDto');
        this.collection(menu, 'items', 'FooterMenuDto', 10, (item) => {
          if (
            this.dto(item, 'MenuItemDto', ['title', 'action', 'scope', 'hideIfReadonly'], ['title', 'action'])
          )
            this.action(item['action']);
        });
      }
    }
  }
}

/** The problems Bitrix24 would find in this layout; an empty list means it would accept it. */
export function layoutProblems(layout: unknown): string[] {
  const check = new Check();
  check.layout(layout);
  return check.problems;
}
