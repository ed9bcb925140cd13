/**
 * For the tests that check nothing is left behind (Linux's /proc): the processes that belong to a
 * private folder, by their command line (NATS, Postgres's main process) or their working folder
 * (Redis, which rewrites its command line, and every Postgres process).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export function processesUsing(dir: string): Array<{ pid: number; command: string }> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let command: string;
    try {
      command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // gone meanwhile
    }
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      // another user's process, or gone
    }
    if (command.includes(dir) || cwd === dir || cwd.startsWith(`${dir}/`))
      found.push({ pid: Number(entry), command });
  }
  return found;
}

/**
 * Whether a process with this id runs (signal 0 only checks). A zombie does not: where the init
 * process does not reap orphans (some containers), an ended server stays one.
 */
export function alive(pid: number): boolean {
  try {
    if (/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
  } catch {
    // no /proc (macOS) or no such process: signal 0 says
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
