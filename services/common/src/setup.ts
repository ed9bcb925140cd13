import { commonMigrations } from './db/common-migrations.js';
import { createDb } from './db/knex.js';
import { type MigrationSet, runMigrations } from './db/migrations.js';
import { connectNats } from './nats/connection.js';
import { serverMaxDeliver } from './nats/consumer.js';
import { type ConsumerSpec, Naming, ensureConsumers, ensureStreams } from './nats/topology.js';
import type { BaseConfig, Runtime } from './runtime.js';

/**
 * Brings Postgres and JetStream up to what every given service needs: all migrations, all
 * streams, all durable consumers. Run as a job before a rollout (services then start with
 * MIGRATE_ON_START=false), and by the one-process mesh.
 */
export async function setupInfrastructure(
  config: BaseConfig,
  runtimes: Runtime[],
): Promise<{ applied: string[]; consumers: string[] }> {
  const log = runtimes[0]!.log;
  const sets = new Map<string, MigrationSet>([[commonMigrations.owner, commonMigrations]]);
  for (const r of runtimes) for (const s of r.migrationSets()) sets.set(s.owner, s);
  const specs = new Map<string, ConsumerSpec>();
  for (const r of runtimes) for (const s of r.consumerSpecs()) specs.set(`${s.stream}/${s.durable}`, s);

  const db = createDb({
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    poolMax: 2,
    applicationName: 'setup',
  });
  try {
    const applied = await runMigrations(db, config.DATABASE_SCHEMA, [...sets.values()]);
    const nats = await connectNats({
      servers: config.NATS_URL,
      name: 'setup',
      log,
      user: config.NATS_USER,
      password: config.NATS_PASSWORD,
    });
    try {
      const naming = new Naming(config.NATS_PREFIX);
      await ensureStreams(nats.jsm, naming);
      await ensureConsumers(
        nats.jsm,
        naming,
        [...specs.values()],
        serverMaxDeliver(config.CONSUMER_MAX_DELIVER),
      );
    } finally {
      await nats.nc.close();
    }
    return { applied, consumers: [...specs.keys()] };
  } finally {
    await db.destroy();
  }
}
