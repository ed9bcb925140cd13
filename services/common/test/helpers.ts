import {
  type ConsumerSpec,
  type Knex,
  type Nats,
  Naming,
  commonMigrations,
  connectNats,
  createDb,
  createLogger,
  runMigrations,
} from '@hhb24/common';
import { serverMaxDeliver } from '../src/nats/consumer.js';
import { ensureConsumers, ensureStreams } from '../src/nats/topology.js';
import type { TestEnv } from '@hhb24/common/testing';

export const silentLog = createLogger({ name: 'test', level: 'silent' });

/** A consumer on the real HH stream, with a short ack wait so redeliveries come quickly. */
export function testSpec(durable: string, ackWaitMs = 1500): ConsumerSpec {
  return { stream: 'HH', durable, filterSubject: 'hh.test.messages', ackWaitMs, maxAckPending: 20 };
}

export interface Harness {
  db: Knex;
  nats: Nats;
  naming: Naming;
  publish(msgId: string, payload: unknown): Promise<void>;
  /** Messages of the consumer not yet acknowledged (pending delivery or awaiting ack). */
  unfinished(spec: ConsumerSpec): Promise<number>;
  close(): Promise<void>;
}

/** The test's own schema (common tables plus `effects`), streams and consumers, seen from outside the service. */
export async function harness(env: TestEnv, specs: ConsumerSpec[] = []): Promise<Harness> {
  const c = env.config;
  const db = createDb({
    url: c.DATABASE_URL,
    schema: c.DATABASE_SCHEMA,
    poolMax: 4,
    applicationName: 'test-harness',
  });
  await runMigrations(db, c.DATABASE_SCHEMA, [commonMigrations]);
  await db.schema.createTable('effects', (t) => {
    t.increments('id');
    t.text('msg_id').notNullable();
    t.integer('worker');
  });
  const nats = await connectNats({ servers: c.NATS_URL, name: 'test-harness', log: silentLog });
  const naming = new Naming(c.NATS_PREFIX);
  await ensureStreams(nats.jsm, naming);
  await ensureConsumers(nats.jsm, naming, specs, serverMaxDeliver(c.CONSUMER_MAX_DELIVER));
  return {
    db,
    nats,
    naming,
    async publish(msgId, payload) {
      await nats.js.publish(naming.subject('hh.test.messages'), JSON.stringify(payload), { msgID: msgId });
    },
    async unfinished(spec) {
      const info = await nats.jsm.consumers.info(naming.stream(spec.stream), spec.durable);
      return info.num_pending + info.num_ack_pending;
    },
    async close() {
      await nats.nc.close();
      await db.destroy();
    },
  };
}
