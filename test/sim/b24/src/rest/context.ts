/** What a REST method handler gets, and how it answers. */
import type { AppSpec, Install, Portal, Token, User } from '../model.js';
import type { B24Sim } from '../sim.js';

export type Params = Record<string, unknown>;

export interface CallContext {
  sim: B24Sim;
  portal: Portal;
  app: AppSpec;
  token: Token;
  user: User;
  install: Install;
}

/**
 * A list answer: the rows, and `next`/`total` that the envelope lifts to the top level. Mostly
 * numbers; app.option.get and user.option.get lift settings saved under those two names, whatever
 * they hold (their pages at apidocs.bitrix24.com warn of it).
 */
export class ListResult {
  constructor(
    readonly rows: unknown,
    readonly total?: unknown,
    readonly next?: unknown,
  ) {}
}

/** A moment as the portal writes it: ISO 8601 in the portal's time zone, `2024-08-05T12:02:13+03:00`. */
export function portalTime(portal: Portal, ms: number): string {
  const d = new Date(ms + portal.tzOffsetMinutes * 60_000).toISOString().slice(0, 19);
  const h = String(Math.floor(Math.abs(portal.tzOffsetMinutes) / 60)).padStart(2, '0');
  const m = String(Math.abs(portal.tzOffsetMinutes) % 60).padStart(2, '0');
  return `${d}${portal.tzOffsetMinutes >= 0 ? '+' : '-'}${h}:${m}`;
}

export interface MethodSpec {
  /** The scope the app needs for it; null for `basic` methods every app has. */
  scope: string | null;
  handler: (ctx: CallContext, params: Params) => unknown;
}

export const PAGE_SIZE = 50;

/** `start` paging over a full list: 50 rows, `next` while more remain; `start=-1` skips the count. */
export function page<T>(rows: T[], startRaw: unknown, map: (row: T) => unknown = (r) => r): ListResult {
  const start = Number.parseInt(String(startRaw ?? '0'), 10) || 0;
  if (start === -1) return new ListResult(rows.slice(0, PAGE_SIZE).map(map));
  const from = Math.max(0, start);
  const slice = rows.slice(from, from + PAGE_SIZE).map(map);
  const next = from + PAGE_SIZE < rows.length ? from + PAGE_SIZE : undefined;
  return new ListResult(slice, rows.length, next);
}

/** Looks up a parameter the way the legacy methods do: any letter case. */
export function param(params: Params, name: string): unknown {
  if (name in params) return params[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(params)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

export const asRecord = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
