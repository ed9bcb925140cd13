/**
 * A scalar from outside (a JSON answer, a form field) as text: strings as they are, numbers and
 * booleans written out, anything else (an object, an array, null) as '' rather than
 * '[object Object]'.
 */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return '';
}

/** An absolute http(s) address, or null: only such links from hh.ru go into the portal (javascript:, data: and relative paths are not links). */
export function httpUrl(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.toString() : null;
  } catch {
    return null;
  }
}
