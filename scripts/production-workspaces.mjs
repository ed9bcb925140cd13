#!/usr/bin/env node
// Keeps in package.json only the workspaces that the given one (default @hhb24/mesh, which runs
// every service) depends on, directly or through another workspace, so that a following
// `npm prune --omit=dev` leaves no package of the simulators, the demo or the tests. The
// Dockerfile's production build runs it; services/mesh/test/deploy-dockerfile.test.ts checks it.
//   node scripts/production-workspaces.mjs [dir] [root workspace package]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.';
const root = process.argv[3] ?? '@hhb24/mesh';
const manifestPath = join(dir, 'package.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const byName = new Map(
  manifest.workspaces.map((path) => [
    JSON.parse(readFileSync(join(dir, path, 'package.json'), 'utf8')),
    path,
  ]),
);
const paths = new Map([...byName].map(([pkg, path]) => [pkg.name, { path, pkg }]));
if (!paths.has(root)) throw new Error(`${root} is not a workspace of ${manifestPath}`);

const keep = new Set();
const visit = (name) => {
  const ws = paths.get(name);
  if (!ws || keep.has(ws.path)) return;
  keep.add(ws.path);
  for (const dep of Object.keys(ws.pkg.dependencies ?? {})) visit(dep);
};
visit(root);

manifest.workspaces = manifest.workspaces.filter((path) => keep.has(path));
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`production workspaces: ${manifest.workspaces.join(', ')}`);
