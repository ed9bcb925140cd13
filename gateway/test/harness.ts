/** A started gateway on its own test database, schema and NATS prefix, and what its tests look at. */
import type { Test } from 'tap';
import { Naming, connectNats, createDb, createLogger, loadConfig } from '@hhb24/common';
import { createTestEnv } from '@hhb24/common/testing';
import { buildGateway, schema } from '../src/app.js';

export async function startGateway(t: Test, env: Record<string, string> = {}) {
  const test = createTestEnv({ GATEWAY_PORT: '0', ...env });
  t.teardown(() => test.cleanup());
  const gateway = buildGateway(loadConfig('gateway', schema, test.env));
  await gateway.runtime.start();
  t.teardown(() => gateway.app.close());
  const db = createDb({
    url: test.config.DATABASE_URL,
    schema: test.config.DATABASE_SCHEMA,
    poolMax: 2,
    applicationName: 'gw-test',
  });
  t.teardown(() => db.destroy());
  const nats = await connectNats({
    servers: test.config.NATS_URL,
    name: 'gw-test',
    log: createLogger({ name: 't', level: 'silent' }),
  });
  t.teardown(() => nats.nc.close());
  const naming = new Naming(test.config.NATS_PREFIX);
  /** The messages on a stream of this test's prefix (`HH`, `PORTAL`). */
  const messages = async (stream: string) =>
    (await nats.jsm.streams.info(naming.stream(stream))).state.messages;
  /** The rows of a table in this test's schema. */
  const rows = async (table: string) => Number((await db(table).count({ n: '*' }))[0]!['n']);
  return { gateway, db, nats, naming, messages, rows };
}
