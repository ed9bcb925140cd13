/**
 * PHP's form encoding, as Bitrix24 speaks it: `fields[TITLE]=x&fields[PHONE][0][VALUE]=y` in
 * requests (query strings, urlencoded bodies, batch commands) and in what it POSTs to apps
 * (install callback, events, robots). Written independently of the client's encoder on purpose:
 * the simulator is the other side, so a shared bug would hide itself.
 */
export type PhpValue = string | PhpValue[] | { [key: string]: PhpValue };
export type PhpObject = { [key: string]: PhpValue };

function decode(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

/** PHP's parse_str: nested brackets, `[]` appends, later keys win; lists come back as arrays. */
export function parsePhpQuery(query: string): PhpObject {
  const root: PhpObject = {};
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const open = rawKey.indexOf('[');
    const base = open < 0 ? rawKey : rawKey.slice(0, open);
    if (!base) continue;
    const path: string[] = [base];
    if (open >= 0) {
      const rest = rawKey.slice(open);
      const re = /\[([^\]]*)\]/g;
      let m: RegExpExecArray | null;
      let consumed = 0;
      while ((m = re.exec(rest)) && m.index === consumed) {
        path.push(m[1]!);
        consumed = re.lastIndex;
      }
      if (consumed === 0) {
        path.length = 1;
        path[0] = rawKey;
      }
    }
    assign(root, path, value);
  }
  return listify(root) as PhpObject;
}

function nextIndex(obj: PhpObject): string {
  let max = -1;
  for (const k of Object.keys(obj)) if (/^(0|[1-9]\d*)$/.test(k)) max = Math.max(max, Number(k));
  return String(max + 1);
}

function assign(root: PhpObject, path: string[], value: string): void {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i] === '' ? nextIndex(node) : path[i]!;
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const child = node[key];
    if (typeof child !== 'object' || child === null) node[key] = {};
    node = node[key] as PhpObject;
  }
}

/** PHP arrays with keys 0..n-1 in order are lists (json_encode prints them as JSON arrays). */
function listify(value: PhpValue): PhpValue {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(listify);
  const keys = Object.keys(value);
  const out: PhpObject = {};
  for (const k of keys) out[k] = listify(value[k]!);
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => out[k]!);
  return out;
}

/** PHP's http_build_query: nested keys in brackets, true/false as 1/0, null left out. */
export function buildPhpQuery(value: Record<string, unknown>): string {
  const parts: string[] = [];
  const walk = (prefix: string, v: unknown): void => {
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) return v.forEach((item, i) => walk(`${prefix}[${i}]`, item));
    if (typeof v === 'object') {
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) walk(`${prefix}[${k}]`, item);
      return;
    }
    const s = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    parts.push(`${encodeURIComponent(prefix)}=${encodeURIComponent(s)}`);
  };
  for (const [k, v] of Object.entries(value)) walk(k, v);
  return parts.join('&');
}
