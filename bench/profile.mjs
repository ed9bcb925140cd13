#!/usr/bin/env node
/**
 * Summarises the CPU profiles `npm run bench -- --profile <dir>` leaves (one .cpuprofile per
 * service process): for each, where the time went by self time, per function and per package.
 * Usage: node bench/profile.mjs <dir> [rows=25]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const rows = Number(process.argv[3] ?? 25);
if (!dir) {
  console.error('usage: node bench/profile.mjs <dir with .cpuprofile files> [rows]');
  process.exit(2);
}

/** node_modules/<package> or the workspace folder a script belongs to. */
function owner(url) {
  if (!url) return '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const w = /\/(services\/[^/]+|gateway|test\/sim\/[^/]+)\//.exec(url);
  if (w) return w[1];
  return url.startsWith('node:') ? 'node' : url;
}

for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort()) {
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = p.timeDeltas;
  for (let i = 0; i < p.samples.length; i++)
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (dt[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map();
  const pkg = new Map();
  for (const [id, us] of self) {
    const { callFrame: c } = byId.get(id);
    const key = `${c.functionName || '(anonymous)'} ${c.url.replace(/^.*\/(node_modules|services|gateway|test)\//, '$1/')}:${c.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const o = c.url ? owner(c.url) : c.functionName;
    pkg.set(o, (pkg.get(o) ?? 0) + us);
  }
  const idle = (fn.get('(idle) :0') ?? 0) / 1e6;
  const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  console.log(`\n== ${file}: ${(total / 1e6).toFixed(1)} s sampled, ${idle.toFixed(1)} s idle`);
  console.log('-- by package');
  for (const [k, us] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${pct(us)}  ${k}`);
  console.log('-- by function (self time)');
  for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`${pct(us)}  ${k}`);
}
