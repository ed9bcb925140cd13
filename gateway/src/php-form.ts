/**
 * Bitrix24 POSTs forms the PHP way (`auth[member_id]=…&data[FIELDS][ID]=…`). This reads them into
 * nested objects. Keys stay strings (no arrays), depth and field count are bounded, and
 * `__proto__`-style keys are dropped, so a hostile body cannot grow without end or reach
 * Object.prototype.
 */
export type FormValue = string | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

const MAX_FIELDS = 1000;
const MAX_DEPTH = 6;
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

export function parsePhpForm(body: string): FormObject {
  const out: FormObject = Object.create(null) as FormObject;
  let count = 0;
  for (const [rawKey, value] of new URLSearchParams(body)) {
    if (++count > MAX_FIELDS) break;
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    if (!m) continue;
    const path = [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!)];
    if (path.length > MAX_DEPTH || path.some((k) => FORBIDDEN.has(k))) continue;
    let node = out;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i] === '' ? String(Object.keys(node).length) : path[i]!;
      const next = node[key];
      if (typeof next === 'object') node = next;
      else node = node[key] = Object.create(null) as FormObject;
    }
    const last = path[path.length - 1]!;
    node[last === '' ? String(Object.keys(node).length) : last] = value;
  }
  return out;
}

/** A string field of a parsed form ('' when absent or not a string). */
export function field(form: FormObject | undefined, ...path: string[]): string {
  let node: FormValue | undefined = form;
  for (const key of path) node = typeof node === 'object' ? node[key] : undefined;
  return typeof node === 'string' ? node : '';
}
