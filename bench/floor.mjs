#!/usr/bin/env node
/**
 * The floor of the mesh's own infrastructure (the `floor` scenario of bench/bench.mjs, issue 20):
 * the bare two-hop pipeline on the same Postgres and NATS, in Node, with the libraries the services
 * use (knex over pg, @nats-io/jetstream). Each item is published to JetStream, consumed, upserted
 * into Postgres, published again, consumed, its row updated, and acked; consumers pull as the
 * services' consumer runner does (only as many as there are free slots, services/common/src/nats/consumer.ts).
 *
 * Run by the benchmark as a process of its own, so its CPU is that of one Node process doing the
 * whole pipeline. Reads FLOOR_ITEMS, FLOOR_CONCURRENCY, DATABASE_URL, DATABASE_POOL_MAX, NATS_URL
 * and FLOOR_ID (its schema and stream names, dropped at the end); prints one JSON line with its figures.
 */
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';

const env = process.env;
const items = Number(env['FLOOR_ITEMS'] ?? 1000);
const concurrency = Number(env['FLOOR_CONCURRENCY'] ?? 16);
const id = env['FLOOR_ID'] ?? `floor${randomBytes(4).toString('hex')}`;
const stream = `${id.toUpperCase()}_FLOOR`;
const subject = (hop) => `${id}.floor.${hop}`;

const db = knexFactory({
  client: 'pg',
  connection: {
    connectionString: env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    application_name: 'bench-floor',
  },
  searchPath: [id],
  pool: { min: 0, max: Number(env['DATABASE_POOL_MAX'] ?? 4) },
});
const nc = await connect({ servers: (env['NATS_URL'] ?? 'nats://127.0.0.1:4222').split(',') });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);

await db.raw('create schema if not exists ??', [id]);
await db.raw(
  `create table ??.items (id text primary key, payload jsonb not null, state text not null, version int not null default 1,
   updated_at timestamptz not null default now())`,
  [id],
);
await jsm.streams.add({ name: stream, subjects: [`${id}.floor.>`] });
for (const hop of ['a', 'b'])
  await jsm.consumers.add(stream, {
    durable_name: hop,
    ack_policy: AckPolicy.Explicit,
    filter_subject: subject(hop),
    max_ack_pending: concurrency * 4,
  });

// About the size of a negotiation as hh-connector hands it on: ~1 KB of JSON.
const payload = (n) => ({
  id: `n${n}`,
  state: 'response',
  vacancy: { id: String(1000 + (n % 40)), name: 'Ведущий инженер по данным' },
  applicant: { first: 'Иван', last: 'Петров', email: `ivan${n}@example.com`, phone: '+79990000000' },
  resume: { id: `r${n}`, title: 'Инженер', url: `https://hh.ru/resume/r${n}` },
  text: 'Здравствуйте! '.repeat(40),
  at: new Date().toISOString(),
});
const encode = (x) => new TextEncoder().encode(JSON.stringify(x));
const decode = (b) => JSON.parse(new TextDecoder().decode(b));

let done = 0;
let finish;
const finished = new Promise((r) => (finish = r));
const handlers = {
  a: async (item) => {
    await db.raw(
      `insert into items (id, payload, state) values (?, ?, 'stored')
       on conflict (id) do update set payload = excluded.payload, version = items.version + 1, updated_at = now()`,
      [item.id, JSON.stringify(item)],
    );
    await js.publish(subject('b'), encode({ id: item.id }), { msgID: `b-${item.id}` });
  },
  b: async (item) => {
    await db('items').where({ id: item.id }).update({ state: 'written', updated_at: db.fn.now() });
    if (++done === items) finish();
  },
};

let stopping = false;
async function run(hop) {
  const consumer = await js.consumers.get(stream, hop);
  const active = new Set();
  let slotFreed;
  while (!stopping) {
    while (active.size >= concurrency && !stopping) await new Promise((r) => (slotFreed = r));
    if (stopping) break;
    const messages = await consumer.fetch({ max_messages: concurrency - active.size, expires: 1000 });
    for await (const msg of messages) {
      const task = handlers[hop](decode(msg.data))
        .then(() => msg.ack())
        .catch((err) => {
          process.stderr.write(`floor ${hop}: ${err}\n`);
          msg.nak();
        })
        .finally(() => {
          active.delete(task);
          slotFreed?.();
        });
      active.add(task);
    }
  }
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const loops = [run('a'), run('b')];
// Published as fast as JetStream takes them, a window of acks at a time, with the clock running.
for (let n = 0; n < items; n += 64) {
  const batch = [];
  for (let k = n; k < Math.min(items, n + 64); k++)
    batch.push(js.publish(subject('a'), encode(payload(k)), { msgID: `a-${k}` }));
  await Promise.all(batch);
}
await finished;
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
stopping = true;
await Promise.all(loops);
const info = await jsm.streams.info(stream);
const rows = await db('items').where({ state: 'written' }).count({ n: '*' });
await jsm.streams.delete(stream);
await db.raw('drop schema ?? cascade', [id]);
await db.destroy();
await nc.close();
const cpuSec = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `${JSON.stringify({
    items,
    concurrency,
    seconds,
    perSec: items / seconds,
    cpuSec,
    cpuMsPerItem: (cpuSec / items) * 1000,
    natsMessages: info.state.last_seq,
    rowsWritten: Number(rows[0].n),
  })}\n`,
);
