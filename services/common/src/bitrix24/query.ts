import { StreamedFile } from '../files.js';
import { textOf } from '../text.js';
/**
 * PHP's http_build_query, which Bitrix24 expects inside batch commands
 * (`crm.lead.add?fields[TITLE]=...`): nested keys in brackets, booleans as 1/0, null left out. A
 * stored file is written as its marker and added to `files` (the batch streams it into the body).
 */
export function phpQuery(params: Record<string, unknown>, files?: StreamedFile[]): string {
  const parts: string[] = [];
  const walk = (key: string, value: unknown): void => {
    if (value === null || value === undefined) return;
    if (value instanceof StreamedFile) {
      // Its marker now; the request streams the URL-encoded base64 in its place.
      if (!files) throw new Error('a stored file travels only inside a Bitrix24 batch command');
      files.push(value);
      parts.push(`${encodeURIComponent(key)}=${value.marker}`);
      return;
    }
    if (value instanceof Date) return walk(key, value.toISOString());
    if (Array.isArray(value)) return value.forEach((v, i) => walk(`${key}[${i}]`, v));
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(`${key}[${k}]`, v);
      return;
    }
    const text = typeof value === 'boolean' ? (value ? '1' : '0') : textOf(value);
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(text)}`);
  };
  for (const [k, v] of Object.entries(params)) walk(k, v);
  return parts.join('&');
}
