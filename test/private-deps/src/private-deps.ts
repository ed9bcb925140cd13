/**
 * Postgres, Redis and NATS (JetStream on) of a run's own: on free ports of 127.0.0.1, with all their
 * data in one temporary folder that `close` removes with them. `npm run demo` starts the ones the
 * machine is not running; the fault matrix starts all three, so that restarting or flushing one
 * never touches the shared servers other runs use.
 *
 * Each server is a child of this process in a process group of its own: a terminal's Ctrl-C
 * reaches the run alone, which stops them after its services have drained (they would die first
 * otherwise, under the draining services), and their exits are seen (and reaped) here. A run that
 * dies without stopping them (SIGKILL, a test runner's timeout) leaves them to a watchdog: a
 * shell waiting on a pipe from this process, which the system closes however the process ends.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync as closeFile,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { type Server, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Dependency, PostgresBinaries, ServerBinaries } from './binaries.js';

const execFileAsync = promisify(execFile);

/** How long a server may take to answer after its start. */
const START_TIMEOUT_MS = 30_000;

/** Free ports of 127.0.0.1, all held until each is known so that no two are the same. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** Sends one inline command and resolves with the first line of the answer. */
function ask(port: number, command: string | null, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (err: Error | null, line?: string) => {
      socket.destroy();
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(line!);
    };
    const timer = setTimeout(() => done(new Error('no answer in time')), timeoutMs);
    socket.once('error', (err) => done(err));
    socket.once('connect', () => {
      if (command !== null) socket.write(`${command}\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      const end = answer.indexOf('\r\n');
      if (end >= 0) done(null, answer.slice(0, end));
    });
  });
}

/** The last lines of a server's log, for the error that says why it did not start. */
function logTail(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    return lines.slice(-5).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Postgres refuses to run as root: as root, its programs run as the postgres user (or nobody on a
 * machine without one, e.g. a container that has only the embedded binaries).
 */
function postgresUser(): { name: string; uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const users = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'));
  for (const name of ['postgres', 'nobody']) {
    const entry = users.find((fields) => fields[0] === name);
    if (entry) return { name, uid: Number(entry[2]), gid: Number(entry[3]) };
  }
  throw new Error(
    'Postgres refuses to run as root, and this machine has no postgres or nobody user to run it',
  );
}

/**
 * The watchdog: waits until its stdin closes (close() ends it; the system closes it when this
 * process dies), then stops the servers whose pid files are in the folder and removes it. After a
 * close() the folder is gone and it has nothing to do.
 */
const WATCHDOG = `
dir=$1
read -r _ || true
for pidfile in "$dir/redis/server.pid" "$dir/nats/server.pid"; do
  [ -f "$pidfile" ] && kill -KILL "$(cat "$pidfile")" 2>/dev/null
done
pg="$dir/postgres/data/postmaster.pid"
if [ -f "$pg" ]; then
  kill -QUIT "$(head -n 1 "$pg")" 2>/dev/null
  i=0
  while [ -f "$pg" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fi
rm -rf "$dir"
`;

export interface PrivateDepsOptions {
  /** Part of the temporary folder's name (hhb24-<purpose>-XXXXXX), so that a person sees whose it is. */
  purpose: string;
  /** From locateBinaries: only the dependencies started need theirs. */
  binaries: ServerBinaries;
  /**
   * A nats-server configuration to start NATS with (`-c`; the address, port, JetStream and store
   * given on the command line still apply): users and permissions, for example.
   */
  natsConfig?: string;
}

export class PrivateDeps {
  /** The temporary folder holding every server's data and logs. */
  readonly dir: string;
  private readonly binaries: ServerBinaries;
  private readonly natsConfig: string | undefined;
  private readonly runAs: ReturnType<typeof postgresUser>;
  private readonly ports: Partial<Record<Dependency, number>> = {};
  private postgres: ChildProcess | null = null;
  private redis: ChildProcess | null = null;
  private nats: ChildProcess | null = null;
  private readonly watchdog: ChildProcess;
  private starting: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | null = null;

  private constructor(options: PrivateDepsOptions) {
    this.binaries = options.binaries;
    this.natsConfig = options.natsConfig;
    this.runAs = postgresUser();
    this.dir = mkdtempSync(join(tmpdir(), `hhb24-${options.purpose}-`));
    // As root, Postgres runs as another user, who must be able to reach its folder inside.
    if (this.runAs) chmodSync(this.dir, 0o711);
    this.watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'watchdog', this.dir], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    this.watchdog.once('error', () => undefined); // without /bin/sh, close() still does its work
    this.watchdog.stdin!.on('error', () => undefined);
  }

  /** Makes the temporary folder; nothing runs yet. */
  static create(options: PrivateDepsOptions): PrivateDeps {
    return new PrivateDeps(options);
  }

  /**
   * Starts the given servers side by side. If one fails, every one started is stopped and the
   * folder removed before the error is thrown; `close` during a start waits for it, then stops all.
   */
  async start(dependencies: readonly Dependency[]): Promise<void> {
    if (this.closing) throw new Error('the private dependencies are closed');
    const ports = await freePorts(dependencies.length);
    this.throwIfClosing();
    dependencies.forEach((d, i) => (this.ports[d] = ports[i]!));
    const started = Promise.allSettled(
      dependencies.map((d) =>
        d === 'postgres'
          ? this.initPostgres().then(() => this.startPostgres())
          : d === 'redis'
            ? this.startRedis()
            : this.startNats(),
      ),
    );
    this.starting = started;
    const failed = (await started).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.close();
      throw failed.reason;
    }
  }

  /** Started dependencies and their addresses (the variables the services read). */
  get env(): Partial<Record<'DATABASE_URL' | 'REDIS_URL' | 'NATS_URL', string>> {
    const env: Partial<Record<'DATABASE_URL' | 'REDIS_URL' | 'NATS_URL', string>> = {};
    if (this.ports.postgres)
      env.DATABASE_URL = `postgres://postgres@127.0.0.1:${this.ports.postgres}/postgres`;
    if (this.ports.redis) env.REDIS_URL = `redis://127.0.0.1:${this.ports.redis}`;
    if (this.ports.nats) env.NATS_URL = `nats://127.0.0.1:${this.ports.nats}`;
    return env;
  }

  /** host:port of a started dependency (no URL: nothing to hide, nothing a terminal turns into a link). */
  address(dependency: Dependency): string {
    return `127.0.0.1:${this.port(dependency)}`;
  }

  private port(dependency: Dependency): number {
    const port = this.ports[dependency];
    if (!port) throw new Error(`${dependency} was not started here`);
    return port;
  }

  // Postgres

  private get postgresBinaries(): PostgresBinaries {
    if (!this.binaries.postgres) throw new Error('no Postgres binaries were given');
    return this.binaries.postgres;
  }

  private get postgresDir(): string {
    return join(this.dir, 'postgres');
  }

  private get postgresData(): string {
    return join(this.postgresDir, 'data');
  }

  /** As root, Postgres's programs run as its user (spawn's uid/gid), in a folder that user owns. */
  private get postgresSpawnOptions(): { cwd: string; uid?: number; gid?: number } {
    return this.runAs
      ? { cwd: this.postgresDir, uid: this.runAs.uid, gid: this.runAs.gid }
      : { cwd: this.postgresDir };
  }

  private async initPostgres(): Promise<void> {
    this.throwIfClosing();
    mkdirSync(this.postgresDir);
    if (this.runAs) chownSync(this.postgresDir, this.runAs.uid, this.runAs.gid);
    const initdb = join(this.postgresBinaries.dir, 'initdb');
    try {
      await execFileAsync(
        initdb,
        [
          '-D',
          this.postgresData,
          '-A',
          'trust',
          '-U',
          'postgres',
          '--no-sync',
          '-E',
          'UTF8',
          '--locale',
          'C',
        ],
        { ...this.postgresSpawnOptions, timeout: START_TIMEOUT_MS * 2 },
      );
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      const why = (e.stderr || e.message).trim().split('\n').slice(-3).join(' ');
      throw new Error(`initdb failed (${this.postgresBinaries.label}): ${why}`);
    }
  }

  /**
   * Starts the server (again, after stopPostgres) on the same port and data, as a child of this
   * process so that its exit is seen; resolves when it accepts connections.
   */
  async startPostgres(): Promise<void> {
    this.throwIfClosing();
    const log = join(this.postgresDir, 'server.log');
    const out = openSync(log, 'a');
    try {
      this.postgres = spawn(
        join(this.postgresBinaries.dir, 'postgres'),
        [
          '-D',
          this.postgresData,
          '-p',
          String(this.port('postgres')),
          '-c',
          'listen_addresses=127.0.0.1',
          '-k',
          this.postgresDir,
          // No fsync: the data is thrown away at the end, and a crash here is the server's, never the
          // machine's, so what a commit wrote is still in the OS's cache. Commits stay synchronous:
          // the fault matrix's crash must keep every committed transaction.
          '-c',
          'fsync=off',
          '-c',
          'max_connections=200',
        ],
        { ...this.postgresSpawnOptions, stdio: ['ignore', out, out], detached: true },
      );
    } finally {
      closeFile(out);
    }
    this.postgres.once('error', () => undefined); // seen by waitFor as a start that ended
    // The server writes "ready" into postmaster.pid once it accepts connections (what pg_ctl -w reads).
    await this.waitFor(`Postgres (${this.postgresBinaries.label})`, this.postgres, log, async () =>
      /\nready\s*\n?$/.test(readFileSync(join(this.postgresData, 'postmaster.pid'), 'utf8')),
    );
  }

  /**
   * `immediate` (SIGQUIT) is a crash: no checkpoint, connections cut, recovery on the next start;
   * `fast` (SIGINT) rolls back open transactions and checkpoints.
   */
  async stopPostgres(mode: 'fast' | 'immediate' = 'immediate'): Promise<void> {
    await stopProcess(this.postgres, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    this.postgres = null;
  }

  // Redis

  async startRedis(): Promise<void> {
    this.throwIfClosing();
    const dir = join(this.dir, 'redis');
    mkdirSync(dir, { recursive: true });
    const log = join(dir, 'server.log');
    const port = this.port('redis');
    this.redis = this.spawnServer(this.binaries.redis, 'redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--logfile',
      log,
      '--pidfile',
      join(dir, 'server.pid'),
    ]);
    await this.waitFor('Redis', this.redis, log, async () => (await ask(port, 'PING')) === '+PONG');
  }

  /** FLUSHALL: every lock, bucket, cache and login state gone at once. */
  async flushRedis(): Promise<void> {
    const answer = await ask(this.port('redis'), 'FLUSHALL');
    if (answer !== '+OK') throw new Error(`Redis FLUSHALL answered ${answer}`);
  }

  // NATS

  async startNats(): Promise<void> {
    this.throwIfClosing();
    const dir = join(this.dir, 'nats');
    mkdirSync(dir, { recursive: true });
    const log = join(dir, 'server.log');
    const port = this.port('nats');
    const config = join(dir, 'server.conf');
    if (this.natsConfig !== undefined) writeFileSync(config, this.natsConfig, { mode: 0o600 });
    this.nats = this.spawnServer(this.binaries.nats, 'nats-server', [
      ...(this.natsConfig !== undefined ? ['-c', config] : []),
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-js',
      '-sd',
      join(dir, 'jetstream'),
      '-l',
      log,
      '-P',
      join(dir, 'server.pid'),
    ]);
    // The server's greeting says whether JetStream is on.
    await this.waitFor('NATS', this.nats, log, async () => /"jetstream":true/.test(await ask(port, null)));
  }

  /** SIGKILL: the server goes without a word; JetStream recovers its store on the next start. */
  async stopNats(): Promise<void> {
    await stopProcess(this.nats, 'SIGKILL');
    this.nats = null;
    // Its pid may be another process's by the time a watchdog would read it.
    rmSync(join(this.dir, 'nats', 'server.pid'), { force: true });
  }

  // Common

  private spawnServer(program: string | undefined, name: string, args: string[]): ChildProcess {
    if (!program) throw new Error(`no ${name} was given`);
    const child = spawn(program, args, { stdio: 'ignore', detached: true });
    child.once('error', () => undefined); // reported by waitFor through the exit
    return child;
  }

  private async waitFor(
    name: string,
    child: ChildProcess,
    log: string,
    ready: () => Promise<boolean>,
  ): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (!running(child))
        throw new Error(`${name} stopped at its start (${child.spawnfile}):\n${logTail(log)}`);
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline)
        throw new Error(`${name} did not answer within ${START_TIMEOUT_MS / 1000} s:\n${logTail(log)}`);
      if (this.closing) throw new Error(`${name}: stopped before it answered`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private throwIfClosing(): void {
    if (this.closing) throw new Error('the private dependencies are closing');
  }

  /** Process ids of the servers running now (the tests check that none is left). */
  pids(): number[] {
    return [this.postgres, this.redis, this.nats].flatMap((p) => (p && running(p) ? [p.pid!] : []));
  }

  /**
   * Stops every server (after a start under way has finished) and removes the folder. Safe to call
   * more than once and from a signal handler; data is thrown away, so nothing waits for a checkpoint.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.starting;
      await Promise.all([
        stopProcess(this.nats, 'SIGKILL'),
        stopProcess(this.redis, 'SIGKILL'),
        stopProcess(this.postgres, 'SIGQUIT'),
      ]);
      this.nats = this.redis = this.postgres = null;
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      if (running(this.watchdog)) {
        const exited = new Promise((r) => this.watchdog.once('exit', r));
        this.watchdog.stdin!.end();
        await exited;
      }
    })();
    return this.closing;
  }

  /** For a process 'exit' handler (no waiting possible there): signals the servers, removes the folder. */
  closeSync(): void {
    const signals: Array<[ChildProcess | null, NodeJS.Signals]> = [
      [this.nats, 'SIGKILL'],
      [this.redis, 'SIGKILL'],
      // Postgres's immediate shutdown: its own processes end with it.
      [this.postgres, 'SIGQUIT'],
    ];
    for (const [p, signal] of signals)
      if (p && running(p)) {
        try {
          process.kill(p.pid!, signal);
        } catch {
          // already gone
        }
      }
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

function running(p: ChildProcess): boolean {
  return p.pid !== undefined && p.exitCode === null && p.signalCode === null;
}

async function stopProcess(p: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (!p || !running(p)) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill(signal);
  await exited;
}
