/**
 * What each service declares it does on NATS (the `publishes` and `calls` of its createService, its
 * consumers, the contracts it serves), held to its source: every subject and request/reply
 * contract the code of a service names is one it publishes, pulls, serves or calls, and nothing is
 * declared that the code does not use. deploy/nats/users.conf is what the declarations make. The
 * users themselves run on a nats-server in test/e2e/test/nats-users.test.ts.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { type NatsUsage, rpc, streams, subjects } from '@hhb24/common';
import { NATS_USERS_FILE } from '../src/access-files.js';
import { natsServerConfig, natsUsers, serviceUsages } from '../src/nats-users.js';
import { repoPath } from './deployment-facts.js';
import { catalogue } from '../src/catalogue.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The code of a workspace's src without comments (a subject named in a comment is not a use). */
function code(workspace: string): string {
  return sources(repoPath(`${workspace}/src`))
    .map((f) =>
      readFileSync(f, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/(^|[^:])\/\/.*$/gm, '$1'),
    )
    .join('\n');
}

const subjectByName = subjects as Record<string, string>;
const rpcByName = rpc as Record<string, { subject: string }>;

/** Whether a NATS subject filter (`hh.import.>`) takes a subject. */
function matches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}

const usages = new Map<string, NatsUsage>((await serviceUsages()).map((u) => [u.service, u.usage]));

for (const entry of catalogue) {
  t.test(`${entry.name}: its NATS usage is what its code does`, async (t) => {
    const usage = usages.get(entry.name)!;
    const text = code(entry.workspace);
    const named = new Set([...text.matchAll(/\bsubjects\.(\w+)/g)].map((m) => subjectByName[m[1]!]!));
    const enqueued = new Set(
      [...text.matchAll(/\bsubject:\s*subjects\.(\w+)/g)].map((m) => subjectByName[m[1]!]!),
    );
    const pulled = (s: string) => usage.consumers.some((c) => matches(c.filterSubject, s));
    t.same(
      [...named].filter((s) => s === undefined),
      [],
      'every subjects.<name> it names exists',
    );

    for (const s of enqueued)
      t.ok(usage.publishes.includes(s), `it writes ${s} to its outbox, and declares it published`);
    for (const s of named)
      t.ok(usage.publishes.includes(s) || pulled(s), `${s}, named in its code, is one it publishes or pulls`);
    for (const s of usage.publishes)
      t.ok(enqueued.has(s), `${s}, declared published, is written to its outbox by its code`);

    const contracts = new Set([...text.matchAll(/\brpc\.(\w+)\b/g)].map((m) => rpcByName[m[1]!]?.subject));
    contracts.delete(undefined);
    t.same(
      [...contracts].sort(),
      [...new Set([...usage.serves, ...usage.calls])].sort(),
      'the contracts its code names are those it serves and those it declares it calls',
    );
    t.same(
      usage.serves.filter((s) => usage.calls.includes(s)),
      [],
      'it never calls a contract it serves itself',
    );
  });
}

t.test('between the services: every call has a server, every published subject a stream', async (t) => {
  const all = [...usages.values()];
  for (const [name, usage] of usages) {
    for (const s of usage.calls)
      t.equal(
        all.filter((u) => u.serves.includes(s)).length,
        1,
        `${name} calls ${s}, which one service serves`,
      );
    for (const s of usage.publishes)
      t.ok(
        streams.some((st) => st.subjects.some((f) => matches(f, s))),
        `${name} publishes ${s} into a stream`,
      );
    for (const c of usage.consumers)
      t.ok(
        all.some((u) => u.publishes.some((s) => matches(c.filterSubject, s))),
        `${name}'s consumer ${c.durable} reads a subject a service publishes`,
      );
  }
  const served = all.flatMap((u) => u.serves);
  t.same(
    Object.values(rpc)
      .map((c) => c.subject)
      .filter((s) => !served.includes(s)),
    [],
    'every contract is served',
  );
  t.same(
    [...usages].filter(([, u]) => u.publishes.includes(subjects.portalUninstalled)).map(([n]) => n),
    ['gateway'],
    'only the gateway may say a portal uninstalled the app',
  );
  t.same(usages.get('timeline-renderer')?.publishes, [], 'timeline-renderer publishes nothing');
});

t.test('deploy/nats/users.conf is what the code makes (npm run access:generate)', async (t) => {
  t.equal(
    readFileSync(repoPath(NATS_USERS_FILE), 'utf8'),
    natsServerConfig(await natsUsers()),
    `${NATS_USERS_FILE} is up to date`,
  );
  const users = await natsUsers();
  t.same(
    users.map((u) => u.service),
    [...catalogue.map((e) => e.name), 'setup'],
    'a user per service, and one for the setup job',
  );
  for (const u of users.filter((u) => u.service !== 'setup'))
    t.notOk(
      u.publish.some(
        (s) => s === '>' || s.startsWith('$JS.API.STREAM') || s.startsWith('$JS.API.CONSUMER.CREATE'),
      ),
      `${u.service} cannot manage streams or consumers`,
    );
});
