import { describeSchema, type Schema } from '@hhb24/common';
import { schema as crmWriter } from '@hhb24/crm-writer';
import { schema as gateway } from '@hhb24/gateway';
import { schema as hhConnector } from '@hhb24/hh-connector';
import { schema as settings } from '@hhb24/settings';
import { schema as timelineRenderer } from '@hhb24/timeline-renderer';

const services: Record<string, Schema> = {
  gateway,
  'hh-connector': hhConnector,
  'crm-writer': crmWriter,
  'timeline-renderer': timelineRenderer,
  settings,
};

/** The README's configuration table: every variable, its default, who reads it, what it does. */
export function configTable(): string {
  const rows = new Map<string, { kind: string; default: string; description: string; readers: string[] }>();
  for (const [service, schema] of Object.entries(services)) {
    for (const row of describeSchema(schema)) {
      const existing = rows.get(row.name);
      if (existing) existing.readers.push(service);
      else rows.set(row.name, { ...row, readers: [service] });
    }
  }
  const all = Object.keys(services).length;
  const lines = ['| Variable | Default | Read by | What it does |', '|---|---|---|---|'];
  for (const [name, r] of rows) {
    const readers = r.readers.length === all ? 'all' : r.readers.join(', ');
    lines.push(`| \`${name}\` | ${r.default.includes('(') ? r.default : `\`${r.default}\``} | ${readers} | ${r.description.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n');
}

export const CONFIG_START = '<!-- config:start (npm run docs:config) -->';
export const CONFIG_END = '<!-- config:end -->';
