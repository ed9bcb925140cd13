import {
  type EntityType,
  type NegotiationSnapshot,
  type OtherResponse,
  type PortalLang,
  type PortalTextKey,
  portalText,
  testMarkText,
  httpUrl,
} from '@hhb24/common';

/**
 * The layout of the configurable activity «Отклик» / «Приглашение»
 * (docs/reference/bitrix24-api.md#configurable-timeline-activities): the blocks recruiters read, the buttons
 * «Резюме» and «Другие отклики», and, once that button was pressed, the applicant's other responses,
 * in the portal's language (portal-texts.ts). Everything from hh.ru goes through `plain()` (Bitrix24 shows
 * block values as text: what looks like markup stays as it was written; control characters and overlong
 * values have no place there), and only http(s) addresses become links.
 */
export type Layout = Record<string, unknown>;
type Block = Record<string, unknown>;

/** Bitrix24's limit on body blocks (BodyDto::MAX_BLOCKS_COUNT). */
export const MAX_BLOCKS = 20;
/** The action id of «Другие отклики» (ONCRMTIMELINEITEMACTION data.id). */
export const OTHERS_ACTION = 'others';
const MAX_TEXT = 255;

/** What the activity shows of the other responses: nothing yet, or the list as of the last click. */
export type OthersShown = { responses: OtherResponse[] } | null;
/** `PLACEMENT_OPTIONS.view` of the app page that lists every other response («Все отклики»). */
export const ALL_RESPONSES_VIEW = 'others';

/**
 * Plain text for a block: one line, bounded, no control characters. Text that looks like markup
 * (`<img src=x>`) is the applicant's text and stays: Bitrix24 shows block values as text.
 */
export function plain(value: string | null | undefined, max = MAX_TEXT): string {
  const text = String(value ?? '')
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** DD.MM.YYYY in Moscow time (hh.ru's), the usual way of writing a date on a Russian portal. */
export function ruDate(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const d = new Date(ms + 3 * 3600_000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}.${two(d.getUTCMonth() + 1)}.${d.getUTCFullYear()}`;
}

const text = (value: string, extra: Block = {}): Block => ({
  type: 'text',
  properties: { value: value || '—', ...extra },
});
const titled = (title: string, block: Block): Block => ({
  type: 'withTitle',
  properties: { title, inline: true, block },
});
const link = (label: string, uri: string): Block => ({
  type: 'link',
  properties: { text: label || '—', action: { type: 'redirect', uri } },
});

/** A lead's or deal's card inside the portal (a relative path opens in the portal's slider). */
export function entityPath(entity: { type: EntityType; id: number }): string {
  return `/crm/${entity.type}/details/${entity.id}/`;
}

function tagType(stateId: string): string {
  if (stateId.startsWith('discard')) return 'failure';
  if (stateId === 'hired' || stateId === 'offer') return 'success';
  if (stateId === 'response') return 'primary';
  return 'warning';
}

/** The fixed blocks: vacancy, applicant, city, phone, e-mail, hh status, date. */
function cardBlocks(s: NegotiationSnapshot, say: Say): Record<string, Block> {
  const a = s.applicant;
  const who = a.resumeId ?? s.negotiationId;
  // Placeholders as crm-writer writes them into the fields (the reference app's wording,
  // docs/reference/reference-app.md#the-crm-card).
  const name =
    a.hidden.name || !a.fullName
      ? s.resume
        ? say('applicant.hiddenName', { id: who })
        : say('applicant.deletedResume', { id: s.negotiationId })
      : a.fullName;
  const phone =
    a.hidden.phones || a.phones.length === 0
      ? say('applicant.hiddenPhone', { id: who })
      : a.phones.join(', ');
  const email = a.hidden.email || !a.email ? say('applicant.hiddenEmail', { id: who }) : a.email;
  const vacancyUrl = httpUrl(s.vacancy.url);
  return {
    vacancy: titled(
      say('activity.vacancy'),
      vacancyUrl ? link(plain(s.vacancy.name), vacancyUrl) : text(plain(s.vacancy.name)),
    ),
    name: titled(say('activity.name'), text(plain(name), { bold: true })),
    city: titled(say('activity.city'), text(plain(a.city))),
    phone: titled(say('activity.phone'), text(plain(phone))),
    email: titled(say('activity.email'), text(plain(email))),
    status: titled(say('activity.status'), text(plain(s.state.name))),
    date: titled(
      say(s.kind === 'invitation' ? 'activity.invitationDate' : 'activity.responseDate'),
      text(ruDate(s.createdAt)),
    ),
  };
}

type Say = (key: PortalTextKey, values?: Record<string, unknown>) => string;

/** The most of a cover letter the activity shows; the comment of the lead or deal holds it whole. */
export const COVER_LETTER_SHOWN = 1000;

/** Text of several lines for a multiline block: as `plain()`, but the applicant's line breaks stay. */
export function plainLines(value: string | null | undefined, max = COVER_LETTER_SHOWN): string {
  const text = String(value ?? '')
    .replace(/\r\n?/g, '\n')
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The applicant's own words: the cover letter, the test (score and mark, a link to the result) and,
 * when there are any, the messages from the applicant not read on hh.ru. Snapshots
 * made before these were kept show none of it.
 */
function wordsBlocks(s: NegotiationSnapshot, say: Say, lang: PortalLang): Record<string, Block> {
  const w = s.words;
  if (!w) return {};
  const blocks: Record<string, Block> = {};
  if (w.coverLetter)
    blocks['cover_letter'] = titled(
      say('activity.coverLetter'),
      text(plainLines(w.coverLetter), { multiline: true }),
    );
  if (w.test) {
    const score = say('activity.testScore', { score: w.test.score, mark: testMarkText(lang, w.test.mark) });
    const url = httpUrl(w.test.url);
    blocks['test'] = titled(say('activity.test'), url ? link(plain(score), url) : text(plain(score)));
  }
  if (w.unreadMessages > 0)
    blocks['unread'] = titled(say('activity.unread'), text(String(w.unreadMessages), { bold: true }));
  return blocks;
}

/**
 * The other responses, as many as fit under Bitrix24's 20 blocks next to the fixed ones: a heading,
 * one line per response (vacancy as a link to its lead or deal, status, date) and, when they do not
 * all fit, «Все отклики (N)» that opens the app with the full list.
 */
function othersBlocks(shown: NonNullable<OthersShown>, room: number, say: Say): Record<string, Block> {
  const all = shown.responses;
  if (all.length === 0) return { others_none: text(say('activity.othersNone'), { color: 'base_60' }) };
  const blocks: Record<string, Block> = {
    others_title: text(say('activity.othersTitle', { n: all.length }), { bold: true }),
  };
  const rowsRoom = room - 1;
  const fitsAll = all.length <= rowsRoom;
  const rows = fitsAll ? all : all.slice(0, rowsRoom - 1);
  rows.forEach((o, i) => {
    const label = plain(o.vacancyName, 120) || '—';
    const line: Block[] = [
      o.entity ? link(label, entityPath(o.entity)) : text(label),
      text(` — ${plain(o.stateName, 60)}, ${ruDate(o.createdAt)}`, { color: 'base_60' }),
    ];
    blocks[`others_${i}`] = {
      type: 'lineOfBlocks',
      properties: { blocks: Object.fromEntries(line.map((b, j) => [`p${j}`, b])) },
    };
  });
  // The app opens in a slider with the lead or deal (Bitrix24 adds entityTypeId and entityId) and the view to show.
  if (!fitsAll) {
    blocks['others_all'] = {
      type: 'link',
      properties: {
        text: say('activity.othersAll', { n: all.length }),
        bold: true,
        action: {
          type: 'openRestApp',
          actionParams: { view: ALL_RESPONSES_VIEW },
          sliderParams: { title: say('activity.others'), width: 900 },
        },
      },
    };
  }
  return blocks;
}

export function buildLayout(s: NegotiationSnapshot, others: OthersShown, lang: PortalLang = 'ru'): Layout {
  const say: Say = (key, values) => portalText(lang, key, values);
  const blocks = { ...cardBlocks(s, say), ...wordsBlocks(s, say, lang) };
  const room = MAX_BLOCKS - Object.keys(blocks).length;
  if (others) Object.assign(blocks, othersBlocks(others, room, say));
  const buttons: Record<string, unknown> = {};
  const resumeUrl = httpUrl(s.resume?.url);
  if (resumeUrl)
    buttons['resume'] = {
      title: say('activity.resume'),
      type: 'secondary',
      action: { type: 'redirect', uri: resumeUrl },
    };
  buttons[OTHERS_ACTION] = {
    title: say('activity.others'),
    type: 'primary',
    action: {
      type: 'restEvent',
      id: OTHERS_ACTION,
      animationType: 'loader',
      actionParams: { negotiationId: s.negotiationId },
    },
  };
  // The footer holds two buttons at most, so the conversation is an item of its menu.
  const chatUrl = httpUrl(s.words?.chatUrl);
  const items: Record<string, unknown> = {};
  if (chatUrl) items['chat'] = { title: say('activity.chat'), action: { type: 'redirect', uri: chatUrl } };
  return {
    icon: { code: 'document' },
    header: {
      title: say(s.kind === 'invitation' ? 'kind.invitation' : 'kind.response'),
      tags: { status: { title: plain(s.state.name, 60) || '—', type: tagType(s.state.id) } },
    },
    body: { logo: { code: 'list-check' }, blocks },
    footer: { buttons, menu: { showPostponeItem: false, items } },
  };
}
