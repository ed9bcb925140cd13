#!/usr/bin/env node
/**
 * `npm test`: type-checks and builds every workspace (tsc -b, strict), runs every tap test file
 * against the real Postgres, Redis and NATS, prints one line per test file (the whole output of
 * a failing one), keeps the full TAP output in .tap/last-run.tap, and ends with
 * "N passed, N failed" (assertions). Arguments are passed to tap (e.g. a file to run alone).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

function run(cmd, args, onLine) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let rest = '';
    const feed = (chunk) => {
      rest += chunk;
      let i;
      while ((i = rest.indexOf('\n')) >= 0) {
        onLine(rest.slice(0, i));
        rest = rest.slice(i + 1);
      }
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.on('exit', (code) => {
      if (rest) onLine(rest);
      resolve(code ?? 1);
    });
  });
}

const started = Date.now();
const buildCode = await run('npx', ['tsc', '-b'], (line) => console.log(line));
if (buildCode !== 0) {
  console.log('\nType check failed.\n0 passed, 1 failed');
  process.exit(1);
}

const all = [];
let block = [];
const tapCode = await run('npx', ['tap', '--reporter=tap', ...process.argv.slice(2)], (line) => {
  all.push(line);
  if (/^(not )?ok \d+ - /.test(line)) {
    if (line.startsWith('not ok')) console.log(block.join('\n'));
    console.log(line);
    block = [];
  } else {
    block.push(line);
  }
});
mkdirSync('.tap', { recursive: true });
writeFileSync('.tap/last-run.tap', `${all.join('\n')}\n`);

const summary = all.filter((l) => l.startsWith('# { total')).at(-1) ?? '';
const count = (key) => Number(new RegExp(`${key}: (\\d+)`).exec(summary)?.[1] ?? 0);
const passed = count('pass');
let failed = count('fail');
if (!summary || (tapCode !== 0 && failed === 0)) failed += 1; // tap itself failed (crash, timeout)
console.log(`\nTests took ${Math.round((Date.now() - started) / 1000)} s; full output in .tap/last-run.tap`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
