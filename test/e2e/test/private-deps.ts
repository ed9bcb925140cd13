/**
 * Postgres, Redis and NATS of the fault matrix's own, on free ports with their data in a temporary
 * directory: the cases that restart a dependency or flush it must never touch the shared ones
 * other test runs use. Each can be stopped, started and (Redis) flushed; `close` removes all.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTcp } from 'node:net';
import { eventually } from '@hhb24/common/testing';
import { freePort } from './stack.js';

/** Where the Postgres server binaries are: PG_BIN, or Debian's newest /usr/lib/postgresql/<v>/bin. */
function pgBin(): string {
  if (process.env['PG_BIN']) return process.env['PG_BIN'];
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? execFileSync('ls', [root])
        .toString()
        .split('\n')
        .filter(Boolean)
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error('no Postgres server binaries: set PG_BIN to the directory holding initdb and pg_ctl');
  return `${root}/${versions[0]}/bin`;
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Postgres refuses to run as root: as root, its commands run as the postgres user. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

export class PrivateDeps {
  private nats: ChildProcess | null = null;
  private redis: ChildProcess | null = null;

  private constructor(
    private readonly dir: string,
    readonly pgPort: number,
    readonly redisPort: number,
    readonly natsPort: number,
  ) {}

  static async start(): Promise<PrivateDeps> {
    const dir = mkdtempSync(join(tmpdir(), 'hhb24-chaos-'));
    chmodSync(dir, 0o777);
    const deps = new PrivateDeps(dir, await freePort(), await freePort(), await freePort());
    const [initdb, args] = asPostgres(`${pgBin()}/initdb`, [
      '-D',
      deps.pgData,
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale',
      'C',
    ]);
    execFileSync(initdb, args, { stdio: 'ignore' });
    await deps.startPostgres();
    const [psql, psqlArgs] = asPostgres(`${pgBin()}/psql`, [
      '-h',
      '127.0.0.1',
      '-p',
      String(deps.pgPort),
      '-U',
      'postgres',
      '-c',
      'create database test',
    ]);
    execFileSync(psql, psqlArgs, { stdio: 'ignore' });
    await deps.startRedis();
    await deps.startNats();
    return deps;
  }

  /** What a World reads instead of the shared dependencies. */
  get env(): Record<string, string> {
    return {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${this.pgPort}/test`,
      REDIS_URL: `redis://127.0.0.1:${this.redisPort}`,
      NATS_URL: `nats://127.0.0.1:${this.natsPort}`,
    };
  }

  private get pgData(): string {
    return join(this.dir, 'pg');
  }

  private pgCtl(args: string[]): void {
    const [cmd, a] = asPostgres(`${pgBin()}/pg_ctl`, ['-D', this.pgData, ...args]);
    execFileSync(cmd, a, { stdio: 'ignore' });
  }

  async startPostgres(): Promise<void> {
    this.pgCtl([
      '-w',
      '-l',
      join(this.dir, 'pg.log'),
      '-o',
      `-p ${this.pgPort} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off -c max_connections=200`,
      'start',
    ]);
  }

  /** `immediate` is a crash: no checkpoint, connections cut, recovery on the next start. */
  async stopPostgres(mode: 'fast' | 'immediate' = 'immediate'): Promise<void> {
    this.pgCtl(['-w', '-m', mode, 'stop']);
  }

  async startRedis(): Promise<void> {
    this.redis = spawn(
      'redis-server',
      [
        '--port',
        String(this.redisPort),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    );
    await eventually(() => reachable(this.redisPort), { timeoutMs: 10_000, what: 'the private Redis' });
  }

  /** FLUSHALL: every lock, bucket, cache and login state gone at once. */
  flushRedis(): void {
    execFileSync('redis-cli', ['-p', String(this.redisPort), 'flushall'], { stdio: 'ignore' });
  }

  async startNats(): Promise<void> {
    this.nats = spawn(
      '/usr/sbin/nats-server',
      ['-a', '127.0.0.1', '-p', String(this.natsPort), '-js', '-sd', join(this.dir, 'nats')],
      { stdio: 'ignore' },
    );
    await eventually(() => reachable(this.natsPort), { timeoutMs: 10_000, what: 'the private NATS' });
  }

  /** SIGKILL: the server goes without a word; JetStream recovers its store on the next start. */
  async stopNats(): Promise<void> {
    const nats = this.nats;
    if (!nats) return;
    const exited = new Promise((r) => nats.once('exit', r));
    nats.kill('SIGKILL');
    await exited;
    this.nats = null;
  }

  async close(): Promise<void> {
    for (const p of [this.nats, this.redis]) {
      if (p && p.exitCode === null) {
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await exited;
      }
    }
    try {
      await this.stopPostgres('immediate');
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
