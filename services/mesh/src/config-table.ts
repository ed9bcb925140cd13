import { describeSchema } from '@hhb24/common';
import { catalogue } from './catalogue.js';

/** The README's configuration table: every variable, its default, who reads it, what it does. */
export function configTable(): string {
  const rows = new Map<string, { kind: string; default: string; description: string; readers: string[] }>();
  for (const { name: service, schema } of catalogue) {
    for (const row of describeSchema(schema)) {
      const existing = rows.get(row.name);
      if (existing) existing.readers.push(service);
      else rows.set(row.name, { ...row, readers: [service] });
    }
  }
  const all = catalogue.length;
  const lines = ['| Variable | Default | Read by | What it does |', '|---|---|---|---|'];
  for (const [name, r] of rows) {
    const readers = r.readers.length === all ? 'all' : r.readers.join(', ');
    lines.push(
      `| \`${name}\` | ${r.default.includes('(') ? r.default : `\`${r.default}\``} | ${readers} | ${r.description.replace(/\|/g, '\\|')} |`,
    );
  }
  return lines.join('\n');
}

export const CONFIG_START = '<!-- config:start (npm run docs:config) -->';
export const CONFIG_END = '<!-- config:end -->';
