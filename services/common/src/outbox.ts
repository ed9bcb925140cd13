import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { checkMessage } from './contracts.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Nats } from './nats/connection.js';
import type { Naming } from './nats/topology.js';

export interface OutboxMessage {
  /** Subject without the installation prefix, e.g. `hh.negotiation.synced`. */
  subject: string;
  /** Stable id of this fact: a republish with the same id is dropped by JetStream and by consumers. */
  msgId: string;
  payload: unknown;
  headers?: Record<string, string>;
}

const MSG_ID_MAX = 512;

/**
 * The msgId as it can travel in the `Nats-Msg-Id` header. Ids are built from what callers sent us
 * (an event's handler id and ts, a robot's workflow_id): a line break there would make the row
 * unpublishable and stop the relay behind it, a very long one bloats every header. Such an id is
 * replaced by its kind (up to the first `:`) and a SHA-256 of the whole: the same input gives the
 * same id, so deduplication is unchanged.
 */
export function publishableMsgId(msgId: string): string {
  if (msgId.length <= MSG_ID_MAX && /^[\x21-\x7e]+$/.test(msgId)) return msgId;
  const kind = /^[\x21-\x39\x3b-\x7e]{1,40}(?=:)/.exec(msgId)?.[0] ?? 'id';
  return `${kind}:sha256:${createHash('sha256').update(msgId).digest('hex')}`;
}

/**
 * Writes messages in the caller's transaction, next to the business rows they describe: both
 * commit or neither does. The relay publishes them afterwards.
 */
export async function enqueue(
  trx: Knex | Knex.Transaction,
  messages: OutboxMessage | OutboxMessage[],
): Promise<void> {
  const list = Array.isArray(messages) ? messages : [messages];
  if (list.length === 0) return;
  // A message that does not fit its subject's schema is the publisher's bug: it fails here, in
  // the publisher's transaction, instead of reaching the consumers' dead letters.
  for (const m of list) checkMessage(m.subject, m.payload);
  await trx('outbox').insert(
    list.map((m) => ({
      subject: m.subject,
      msg_id: publishableMsgId(m.msgId),
      payload: JSON.stringify(m.payload),
      headers: m.headers ? JSON.stringify(m.headers) : null,
    })),
  );
}

export interface OutboxRelayOptions {
  db: Knex;
  nats: Nats;
  naming: Naming;
  log: Logger;
  metrics?: Metrics;
  pollMs: number;
  batchSize?: number;
  /**
   * Only rows with these (un-prefixed) subjects: the service's own, which its NATS user may
   * publish. Without it, every row (one process running every service, the tests).
   */
  subjects?: readonly string[];
}

export interface OutboxRelay {
  start(): void;
  stop(): Promise<void>;
  /** Publish now instead of at the next poll (call after committing outbox rows). */
  wake(): void;
  /** One pass over at most one batch. Used by the loop and by tests. */
  relayOnce(): Promise<{ published: number; failed: number }>;
}

interface OutboxRow {
  id: string;
  subject: string;
  msg_id: string;
  payload: unknown;
  headers: Record<string, string> | null;
  created_at: Date;
}

/**
 * Publishes outbox rows. Each pass claims rows with FOR UPDATE SKIP LOCKED (relays of several
 * processes share the work, never the same row), publishes them with Nats-Msg-Id, and deletes
 * them in the same transaction. A crash after publishing and before the commit leaves the rows;
 * the next pass publishes them again and JetStream's duplicate window drops the copies.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, nats, naming, log, metrics } = options;
  const batchSize = options.batchSize ?? 200;
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let pending = false;

  async function relayOnce(): Promise<{ published: number; failed: number }> {
    // Most passes find nothing (a timer's poll; a wake whose rows the pass before took): one
    // statement says so, instead of a transaction's three.
    const own = <T extends Knex.QueryBuilder>(q: T): T =>
      (options.subjects ? q.whereIn('subject', [...options.subjects]) : q) as T;
    if ((await own(db('outbox').select(db.raw('1'))).limit(1)).length === 0)
      return { published: 0, failed: 0 };
    return db.transaction(async (trx) => {
      const rows = await own(trx('outbox'))
        .select<OutboxRow[]>('id', 'subject', 'msg_id', 'payload', 'headers', 'created_at')
        .orderBy('id')
        .limit(batchSize)
        .forUpdate()
        .skipLocked();
      if (rows.length === 0) return { published: 0, failed: 0 };
      // Sent in order on one connection; the acks are awaited together.
      const results = await Promise.allSettled(
        rows.map((row) => {
          const h = natsHeaders();
          for (const [k, v] of Object.entries(row.headers ?? {})) h.set(k, v);
          return nats.js.publish(naming.subject(row.subject), JSON.stringify(row.payload), {
            msgID: row.msg_id,
            headers: h,
          });
        }),
      );
      const published: string[] = [];
      for (const [i, r] of results.entries()) {
        const row = rows[i]!;
        if (r.status === 'fulfilled') {
          published.push(row.id);
        } else {
          metrics?.outboxFailures.inc();
          log.warn(
            { err: r.reason, subject: row.subject, msgId: row.msg_id },
            'outbox publish failed; will retry',
          );
          await trx('outbox')
            .where({ id: row.id })
            .update({ attempts: trx.raw('attempts + 1'), last_error: String(r.reason).slice(0, 500) });
        }
      }
      if (published.length > 0) await trx('outbox').whereIn('id', published).delete();
      metrics?.outboxPublished.inc(published.length);
      metrics?.outboxLagSeconds.set((Date.now() - new Date(rows[0]!.created_at).getTime()) / 1000);
      return { published: published.length, failed: rows.length - published.length };
    });
  }

  async function run(): Promise<void> {
    while (running) {
      let pass: { published: number; failed: number };
      try {
        pass = await relayOnce();
      } catch (err) {
        log.warn({ err }, 'outbox relay pass failed');
        pass = { published: 0, failed: 1 };
      }
      if (pass.failed > 0) {
        // NATS or Postgres is struggling: try again soon, without spinning.
        await sleep(Math.max(options.pollMs, 1000));
        continue;
      }
      if (pass.published >= batchSize || pending) {
        pending = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
    },
    wake() {
      pending = true;
      wakeUp?.();
    },
    relayOnce,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
