import knexFactory, { type Knex } from 'knex';
import type { Logger } from '../logger.js';

export type { Knex } from 'knex';

export interface DbOptions {
  url: string;
  schema: string;
  poolMax: number;
  applicationName: string;
  log?: Logger;
}

/**
 * One knex pool per process and service. Every connection's search_path is the installation's
 * schema, so queries and migrations name tables without a schema, and tests can each use a
 * schema of their own.
 */
export function createDb(options: DbOptions): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: options.url, application_name: options.applicationName },
    searchPath: [options.schema],
    // Migrations hold one connection for the advisory lock and use another to run.
    pool: { min: 0, max: Math.max(2, options.poolMax), idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: 10_000,
    log: options.log
      ? {
          warn: (m: unknown) => options.log?.warn({ knex: m }, 'knex warning'),
          error: (m: unknown) => options.log?.error({ knex: m }, 'knex error'),
          deprecate: (m: unknown) => options.log?.warn({ knex: m }, 'knex deprecation'),
          debug: () => {},
        }
      : undefined,
  });
}

/** Liveness of the pool for /readyz: a trivial query with a short deadline. */
export async function pingDb(db: Knex, timeoutMs = 1000): Promise<boolean> {
  try {
    await db.raw('select 1').timeout(timeoutMs, { cancel: true });
    return true;
  } catch {
    return false;
  }
}
