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
