/**
 * Writes the access files generated from the code: deploy/nats/users.conf (a NATS user per service
 * with the subjects it may use) and deploy/postgres/roles.sql (a Postgres role per service that
 * owns its tables). The roles are read from the migrations run on a Postgres (DATABASE_URL,
 * default the local one; a scratch schema, dropped again). `--check` writes nothing and fails
 * when a file is not what the code makes (the deployment tests do the same).
 *   npm run access:generate            (from the repository root)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { rolePlan, rolesSql } from './db-roles.js';
import { natsServerConfig, natsUsers } from './nats-users.js';

const root = new URL('../../../../', import.meta.url);

export const NATS_USERS_FILE = 'deploy/nats/users.conf';
export const POSTGRES_ROLES_FILE = 'deploy/postgres/roles.sql';

export async function accessFiles(databaseUrl: string): Promise<Record<string, string>> {
  return {
    [NATS_USERS_FILE]: natsServerConfig(await natsUsers()),
    [POSTGRES_ROLES_FILE]: rolesSql(await rolePlan(databaseUrl)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  let stale = 0;
  const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  for (const [path, text] of Object.entries(await accessFiles(databaseUrl))) {
    const url = new URL(path, root);
    let current = '';
    try {
      current = readFileSync(url, 'utf8');
    } catch {
      // missing: written below, or reported
    }
    if (current === text) continue;
    if (check) {
      stale++;
      console.error(`${path} is not what the code makes: run npm run access:generate`);
    } else {
      writeFileSync(url, text);
      console.log(`${path} written`);
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
