import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Knex } from 'knex';
import { checkMessage } from '../contracts.js';
import { portalOf } from '../erasure.js';
import { classifyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Nats } from './connection.js';
import { type Outcome, drop } from './outcome.js';
import { type ConsumerSpec, type Naming, subjects } from './topology.js';

/** How long one pull waits for messages when the stream has none. */
const FETCH_EXPIRES_MS = 5000;

/** Deliveries a message may spend waiting (defer) on top of its failures before JetStream gives up. */
export const DEFER_BUDGET = 200;

/** The server-side max_deliver for a failure limit: failures, waits, and one last delivery to dead-letter. */
export function serverMaxDeliver(maxFailures: number): number {
  return maxFailures + DEFER_BUDGET + 1;
}

export interface MessageContext<T> {
  data: T;
  /** The subject without the installation prefix. */
  subject: string;
  msgId: string;
  streamSeq: number;
  /** JetStream's count, 1 on the first delivery. */
  deliveryCount: number;
  /** Earlier deliveries that failed (or crashed), not counting waits. */
  failures: number;
  log: Logger;
}

export type Handler<T> = (ctx: MessageContext<T>) => Promise<Outcome>;

export interface ConsumerRunnerOptions<T> {
  nats: Nats;
  naming: Naming;
  db: Knex;
  log: Logger;
  metrics?: Metrics;
  spec: ConsumerSpec;
  /** Gets the message checked against its subject's schema; one that fails goes to the dead letters with the schema's words. */
  handler: Handler<T>;
  /** Messages handled at once by this process. */
  concurrency: number;
  /** Failed deliveries before the message is dead-lettered. */
  maxFailures: number;
  /**
   * Whether the portal a message is about was erased before the message was published (or since
   * and not installed again): such a message is acknowledged unread. Not asked for
   * `portal.app.uninstalled`, which is what erases.
   */
  erased?: (memberId: string, publishedAt: Date) => Promise<boolean>;
}

export interface ConsumerRunner {
  readonly name: string;
  start(): Promise<void>;
  /** Stops pulling, hands back what was pulled but not started, waits for what is in flight. */
  stop(): Promise<void>;
  inFlight(): number;
}

function backoffMs(failures: number): number {
  const base = Math.min(60_000, 500 * 2 ** Math.min(failures, 10));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

export function createConsumerRunner<T>(options: ConsumerRunnerOptions<T>): ConsumerRunner {
  const { nats, naming, db, spec, handler, metrics } = options;
  const stream = naming.stream(spec.stream);
  const name = `${spec.stream}/${spec.durable}`;
  const log = options.log.child({ consumer: name });
  const lastDelivery = serverMaxDeliver(options.maxFailures);
  const active = new Set<Promise<void>>();
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let stopping = false;
  let slotFreed: (() => void) | undefined;

  async function deferCount(seq: number): Promise<number> {
    const row = await db('message_defers')
      .where({ stream, consumer: spec.durable, stream_seq: seq })
      .first<{ defers: number | string } | undefined>('defers');
    return row ? Number(row.defers) : 0;
  }

  async function recordDefer(seq: number): Promise<void> {
    await db.raw(
      `insert into message_defers (stream, consumer, stream_seq, defers) values (?, ?, ?, 1)
       on conflict (stream, consumer, stream_seq) do update set defers = message_defers.defers + 1, updated_at = now()`,
      [stream, spec.durable, seq],
    );
  }

  async function forgetDefers(seq: number): Promise<void> {
    await db('message_defers').where({ stream, consumer: spec.durable, stream_seq: seq }).delete();
  }

  async function deadLetter(
    msg: JsMsg,
    raw: string,
    reason: string,
    lastError: string | undefined,
  ): Promise<void> {
    let portal: string | null = null;
    try {
      // The portal the message is about (`memberId`, a snapshot's, settings', or `portal`): a clean
      // uninstall erases the portal's dead letters by it.
      portal = portalOf(JSON.parse(raw));
    } catch {
      // Malformed payloads are kept as they came.
    }
    const headers: Record<string, string[]> = {};
    for (const [k, v] of msg.headers ?? []) headers[k] = v;
    await db('dead_letters')
      .insert({
        consumer: spec.durable,
        stream,
        subject: msg.subject,
        stream_seq: msg.seq,
        msg_id: msg.headers?.get('Nats-Msg-Id') || null,
        portal,
        payload: raw,
        headers,
        deliveries: msg.info.deliveryCount,
        reason,
        last_error: lastError ?? null,
      })
      .onConflict(['stream', 'consumer', 'stream_seq'])
      .ignore();
    metrics?.messages.inc({ consumer: name, outcome: 'dead_letter' });
    log.error(
      { seq: msg.seq, subject: msg.subject, reason, lastError, deliveries: msg.info.deliveryCount },
      'message dead-lettered',
    );
  }

  async function process(msg: JsMsg): Promise<void> {
    const raw = new TextDecoder().decode(msg.data);
    const deliveryCount = msg.info.deliveryCount;
    const msgId = msg.headers?.get('Nats-Msg-Id') || `${stream}:${msg.seq}`;
    const msgLog = log.child({ seq: msg.seq, msgId, delivery: deliveryCount });
    const timer = metrics?.handleSeconds.startTimer({ consumer: name });
    metrics?.inFlight.inc({ consumer: name });
    // Long handlers keep the message from being redelivered to another replica meanwhile.
    const heartbeat = setInterval(() => msg.working(), Math.max(1000, Math.floor(spec.ackWaitMs / 3)));
    try {
      const defers = deliveryCount > 1 ? await deferCount(msg.seq) : 0;
      const failures = deliveryCount - 1 - defers;
      let outcome: Outcome | undefined;
      let lastError: string | undefined;
      if (failures >= options.maxFailures || deliveryCount >= lastDelivery) {
        // Earlier deliveries crashed the process or timed out without an outcome.
        outcome = drop(`gave up after ${deliveryCount - 1} deliveries (${failures} failed)`);
      } else {
        let data: T | undefined;
        let value: unknown;
        try {
          value = JSON.parse(raw);
          data = checkMessage(naming.strip(msg.subject), value) as T;
        } catch (err) {
          outcome = drop(`malformed message: ${(err as Error).message}`);
        }
        const portal = outcome ? null : portalOf(value);
        if (
          portal &&
          options.erased &&
          naming.strip(msg.subject) !== subjects.portalUninstalled &&
          (await options.erased(portal, new Date(Number(msg.timestampNanos / 1_000_000n))))
        ) {
          // The portal's data is erased: its messages left in the stream change nothing.
          await msg.ackAck().catch(() => false);
          metrics?.messages.inc({ consumer: name, outcome: 'erased' });
          msgLog.debug({ memberId: portal, subject: msg.subject }, 'message of an erased portal skipped');
          return;
        }
        // A handler that throws before its first await fails like one that rejects.
        outcome ??= await Promise.resolve()
          .then(() =>
            handler({
              data: data as T,
              subject: naming.strip(msg.subject),
              msgId,
              streamSeq: msg.seq,
              deliveryCount,
              failures,
              log: msgLog,
            }),
          )
          .catch((err: unknown): Outcome => {
            const e = classifyError(err);
            lastError = `${e.code}: ${e.message}`;
            if (e.wait) return { kind: 'defer', reason: lastError, delayMs: e.retryAfterMs ?? 1000 };
            return e.retryable
              ? { kind: 'retry', error: lastError, delayMs: e.retryAfterMs }
              : drop(lastError);
          });
      }
      await settle(msg, raw, outcome, failures, lastError, msgLog);
    } catch (err) {
      // The runner itself failed (database down while dead-lettering, say): hand the message back.
      msgLog.error({ err }, 'could not settle message; it will be redelivered');
      msg.nak(5000);
    } finally {
      clearInterval(heartbeat);
      metrics?.inFlight.dec({ consumer: name });
      timer?.();
    }
  }

  async function settle(
    msg: JsMsg,
    raw: string,
    outcome: Outcome,
    failures: number,
    lastError: string | undefined,
    msgLog: Logger,
  ): Promise<void> {
    switch (outcome.kind) {
      case 'ack':
        // The effect is committed; confirm the ack so a drain cannot lose it.
        await msg
          .ackAck()
          .catch((err: unknown) => msgLog.warn({ err }, 'ack not confirmed; the message may come again'));
        if (msg.info.deliveryCount > 1) await forgetDefers(msg.seq).catch(() => {});
        break;
      case 'retry': {
        if (failures + 1 >= options.maxFailures) {
          await deadLetter(msg, raw, 'too many failures', outcome.error);
          // No reason on the term: NATS 2.9 ignores a `+TERM` that carries one (the reason is in the row).
          msg.term();
          await forgetDefers(msg.seq).catch(() => {});
          break;
        }
        const delay = outcome.delayMs ?? backoffMs(failures);
        msgLog.warn(
          { error: outcome.error, delayMs: delay, failures: failures + 1 },
          'handler failed; will retry',
        );
        msg.nak(delay);
        break;
      }
      case 'defer':
        await recordDefer(msg.seq);
        msg.nak(Math.max(0, outcome.delayMs));
        break;
      case 'drop':
        await deadLetter(msg, raw, outcome.reason, lastError);
        msg.term();
        await forgetDefers(msg.seq).catch(() => {});
        break;
    }
    metrics?.messages.inc({ consumer: name, outcome: outcome.kind });
  }

  /**
   * Pulls only as many messages as there are free slots, and starts each at once: a message is never
   * held by this process without its handler running (and heartbeating it). A pulled message that
   * waited in a buffer behind busy handlers passed its ack wait and went to another replica, and
   * that redelivery counted as a failure.
   */
  async function run(consumer: Consumer): Promise<void> {
    while (!stopping) {
      while (active.size >= options.concurrency && !stopping) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
      }
      if (stopping) break;
      messages = await consumer.fetch({
        max_messages: options.concurrency - active.size,
        expires: FETCH_EXPIRES_MS,
      });
      for await (const msg of messages) {
        if (stopping) {
          await handBack(msg);
          continue;
        }
        const task = process(msg).finally(() => {
          active.delete(task);
          slotFreed?.();
        });
        active.add(task);
      }
    }
  }

  /** Pulled but not started (the process is stopping): back at once, and not counted as a failure. */
  async function handBack(msg: JsMsg): Promise<void> {
    await recordDefer(msg.seq).catch(() => {});
    msg.nak();
  }

  return {
    name,
    async start() {
      const consumer = await nats.js.consumers.get(stream, spec.durable);
      loop = (async () => {
        // The pull loop survives NATS restarts and consumer re-creation: it starts again.
        while (!stopping) {
          await run(consumer).catch((err: unknown) => {
            if (!stopping) log.error({ err }, 'consumer loop failed; restarting');
          });
          if (!stopping) await new Promise((r) => setTimeout(r, 1000));
        }
      })();
      log.info({ concurrency: options.concurrency }, 'consumer started');
    },
    async stop() {
      stopping = true;
      await messages?.close().catch(() => {});
      slotFreed?.();
      await Promise.allSettled([...active]);
      await loop;
      log.info('consumer stopped');
    },
    inFlight: () => active.size,
  };
}
