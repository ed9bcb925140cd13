import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { ConfigOf } from './config.js';
import type { baseSchema } from './base-config.js';
import { BreakerRegistry } from './breaker.js';
import { createDb, pingDb } from './db/knex.js';
import { commonMigrations } from './db/common-migrations.js';
import { type MigrationSet, runMigrations } from './db/migrations.js';
import { pruneInbox } from './inbox.js';
import type { PortalUninstalled } from './contracts.js';
import { type ErasureResult, type PortalData, dueErasures, erasePortal, isErased } from './erasure.js';
import { ack } from './nats/outcome.js';
import { subjects } from './nats/topology.js';
import { type Logger, createLogger } from './logger.js';
import { type Metrics, createMetrics } from './metrics.js';
import { type Nats, connectNats, natsUsable } from './nats/connection.js';
import {
  type ConsumerRunner,
  type Handler,
  createConsumerRunner,
  serverMaxDeliver,
} from './nats/consumer.js';
import { type ConsumerSpec, Naming, ensureConsumers, ensureStreams } from './nats/topology.js';
import { type RpcContract, callRpc, serveRpc } from './nats/rpc.js';
import { type OutboxRelay, createOutboxRelay } from './outbox.js';
import { EventOccurrences } from './bitrix24/event-occurrences.js';
import { createRedis, pingRedis } from './redis/client.js';
import { RedisLock } from './redis/lock.js';
import { RateLimiter } from './redis/rate-limit.js';
import { Keyring } from './secrets.js';

export type BaseConfig = ConfigOf<typeof baseSchema>;
export type RuntimeState = 'created' | 'starting' | 'ready' | 'stopping' | 'stopped';

export interface ConsumerRegistration<T> {
  spec: ConsumerSpec;
  /** Gets the message checked against its subject's schema (contracts.ts, messageSchemas). */
  handler: Handler<T>;
  concurrency: number;
}

export interface ServiceOptions {
  name: string;
  config: BaseConfig;
  /** The service's own tables; the common ones are applied too. */
  migrations?: MigrationSet;
  log?: Logger;
  /**
   * Proxies in front of the service whose X-Forwarded-For is believed (addresses or CIDRs): the
   * request's address is then the first one left of them. Without it, the connection's address.
   */
  trustedProxies?: string[];
  /**
   * The subjects (names in `subjects`, un-prefixed) this service publishes through its outbox; its
   * relay publishes only rows with these subjects, which its NATS user may publish
   * (deploy/nats/users.conf). Checked against the code by services/mesh/test/nats-permissions.test.ts.
   */
  publishes?: readonly string[];
  /** The request/reply contracts this service calls (those it serves it registers with serve()). */
  calls?: ReadonlyArray<Pick<RpcContract<unknown, unknown>, 'subject'>>;
}

/** What a service does on NATS, from which its NATS user's permissions are made. */
export interface NatsUsage {
  /** Un-prefixed subjects it publishes (JetStream, through the outbox). */
  publishes: string[];
  /** Its durable pull consumers. */
  consumers: ConsumerSpec[];
  /** Un-prefixed request/reply subjects it answers. */
  serves: string[];
  /** Un-prefixed request/reply subjects it asks. */
  calls: string[];
}

/**
 * The connections and background work of one service: Postgres, Redis, NATS, the outbox relay,
 * JetStream consumers and periodic tasks. `start()` connects (waiting for dependencies that are
 * not up yet), migrates and starts the work; the fastify app's close runs the graceful shutdown:
 * readiness fails, pulling stops, in-flight work finishes, NATS drains, HTTP closes, pools go.
 */
export class Runtime {
  readonly name: string;
  readonly config: BaseConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly naming: Naming;
  readonly breakers: BreakerRegistry;
  /** Seals and opens tokens stored in Postgres. */
  readonly keyring: Keyring;
  state: RuntimeState = 'created';

  private dbPool?: Knex;
  private redisClient?: Redis;
  private natsConn?: Nats;
  private relay?: OutboxRelay;
  private wantsRelay = false;
  private readonly registrations: ConsumerRegistration<never>[] = [];
  private readonly responders: Array<() => void> = [];
  private readonly served: string[] = [];
  private readonly runners: ConsumerRunner[] = [];
  private readonly tasks: Array<{ name: string; everyMs: number; run: () => Promise<void> }> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly runningTasks = new Set<Promise<void>>();
  /** Aborted when the shutdown begins: waits for dependencies at start and for rate limits give up. */
  private readonly stopAbort = new AbortController();
  private readonly options: ServiceOptions;
  private portalData?: PortalData;

  constructor(options: ServiceOptions) {
    this.options = options;
    this.name = options.name;
    this.config = options.config;
    this.log = options.log ?? createLogger({ name: options.name, level: options.config.LOG_LEVEL });
    this.metrics = createMetrics(options.name);
    this.naming = new Naming(options.config.NATS_PREFIX);
    this.breakers = new BreakerRegistry({ log: this.log, metrics: this.metrics });
    this.keyring = new Keyring(options.config.TOKEN_ENCRYPTION_KEYS);
  }

  get db(): Knex {
    return this.need(this.dbPool, 'Postgres');
  }
  get redis(): Redis {
    return this.need(this.redisClient, 'Redis');
  }
  get nats(): Nats {
    return this.need(this.natsConn, 'NATS');
  }
  get locks(): RedisLock {
    return new RedisLock(this.redis, this.config.REDIS_PREFIX);
  }
  /** Which copy of a Bitrix24 event a message is (the gateway names it, its consumer moves it on). */
  get eventOccurrences(): EventOccurrences {
    return new EventOccurrences(this.redis, this.config.REDIS_PREFIX);
  }
  /** Aborted when the shutdown begins: long waits in request handlers should end on it. */
  get stopping(): AbortSignal {
    return this.stopAbort.signal;
  }
  get limiter(): RateLimiter {
    return new RateLimiter(this.redis, this.config.REDIS_PREFIX, this.stopAbort.signal);
  }

  /** Registers a JetStream consumer; it starts with the runtime. */
  addConsumer<T>(registration: ConsumerRegistration<T>): void {
    this.registrations.push(registration);
  }

  /** Answers a request/reply contract once started (replicas share requests in a queue group). */
  serve<Req, Res>(contract: RpcContract<Req, Res>, handler: (req: Req) => Promise<Res>): void {
    this.served.push(contract.subject);
    this.responders.push(() => {
      serveRpc({ nats: this.nats, naming: this.naming, log: this.log, queue: this.name }, contract, handler);
    });
  }

  /** Asks another service (request/reply); remote errors arrive as AppErrors with their codes. */
  call<Req, Res>(
    contract: RpcContract<Req, Res>,
    req: Req,
    options: { timeoutMs?: number } = {},
  ): Promise<Res> {
    return callRpc({ nats: this.nats, naming: this.naming }, contract, req, options);
  }

  /**
   * The portal data this service keeps: erased at once when a portal removes the app with CLEAN
   * (its own durable consumer of `portal.app.uninstalled`), otherwise after
   * HH_DATA_RETENTION_DAYS (a sweep every DATA_ERASE_SWEEP_SEC). See docs/security.md.
   */
  erasesPortalData(data: PortalData): void {
    if (this.portalData) throw new Error(`${this.name} declares its portal data twice`);
    this.portalData = data;
    this.addConsumer<PortalUninstalled>({
      spec: {
        stream: 'PORTAL',
        durable: data.durable ?? `${this.name}-erase`,
        filterSubject: subjects.portalUninstalled,
        ackWaitMs: 60_000,
        maxAckPending: 20,
      },
      concurrency: 2,
      handler: async (ctx) => {
        if (!ctx.data.clean) return ack();
        await data.onUninstalled?.(ctx.data, ctx.log);
        await this.erase(ctx.data.memberId, ctx.data.at || new Date().toISOString(), 'clean');
        return ack();
      },
    });
    this.every('erase-sweep', this.config.DATA_ERASE_SWEEP_SEC * 1000, async () => {
      await this.sweepErasures();
    });
  }

  /**
   * Erases what is due now (or at `now`): clean uninstalls not erased here yet (a second pass after
   * a few minutes catches a write that was in flight), and uninstalls without CLEAN older than the
   * retention. Replicas may sweep at once: each portal's erasure takes a lock and is idempotent.
   */
  async sweepErasures(now = new Date()): Promise<ErasureResult[]> {
    if (!this.portalData) return [];
    const due = await dueErasures(this.db, this.name, now, this.config.HH_DATA_RETENTION_DAYS);
    const done: ErasureResult[] = [];
    for (const d of due)
      done.push(await this.erase(d.memberId, d.uninstalledAt, d.clean ? 'clean' : 'retention passed'));
    return done;
  }

  private async erase(memberId: string, uninstalledAt: string | Date, why: string): Promise<ErasureResult> {
    const result = await erasePortal(this.db, this.name, this.portalData!, memberId, uninstalledAt, {
      outbox: this.wantsRelay,
    });
    this.metrics.portalsErased.inc();
    this.log.info(
      { memberId, service: this.name, why, rows: result.rows, tables: result.tables },
      `portal data erased (${why})`,
    );
    return result;
  }

  /** This service writes outbox rows: run a relay (relays of all processes share the rows). */
  useOutboxRelay(): void {
    this.wantsRelay = true;
  }

  /** Wakes the relay after a commit that wrote outbox rows, so they go out now, not at the next poll. */
  wakeOutbox(): void {
    this.relay?.wake();
  }

  /** A periodic task; a run that is still going when the next is due is skipped. */
  every(name: string, everyMs: number, run: () => Promise<void>): void {
    this.tasks.push({ name, everyMs, run });
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new Error(`${this.name} runtime already ${this.state}`);
    this.state = 'starting';
    const c = this.config;
    this.dbPool = createDb({
      url: c.DATABASE_URL,
      schema: c.DATABASE_SCHEMA,
      poolMax: c.DATABASE_POOL_MAX,
      applicationName: this.name,
      log: this.log,
    });
    this.redisClient = createRedis({ url: c.REDIS_URL, name: this.name, log: this.log });
    await this.waitFor('Postgres', () => pingDb(this.dbPool!, 2000));
    await this.waitFor('Redis', () => pingRedis(this.redisClient!, 2000));
    await this.waitFor('NATS', async () => {
      this.natsConn = await connectNats({
        servers: c.NATS_URL,
        name: this.name,
        log: this.log,
        user: c.NATS_USER,
        password: c.NATS_PASSWORD,
      });
      return true;
    });
    if (c.MIGRATE_ON_START) {
      const applied = await runMigrations(this.db, c.DATABASE_SCHEMA, this.migrationSets());
      if (applied.length > 0) this.log.info({ applied }, 'migrations applied');
      await ensureStreams(this.nats.jsm, this.naming);
      await ensureConsumers(
        this.nats.jsm,
        this.naming,
        this.consumerSpecs(),
        serverMaxDeliver(c.CONSUMER_MAX_DELIVER),
      );
    }
    if (this.stopAbort.signal.aborted) return;
    if (this.wantsRelay) {
      this.relay = createOutboxRelay({
        db: this.db,
        nats: this.nats,
        naming: this.naming,
        log: this.log,
        metrics: this.metrics,
        pollMs: c.OUTBOX_POLL_MS,
        subjects: this.options.publishes,
      });
      this.relay.start();
    }
    for (const r of this.registrations) {
      const runner = createConsumerRunner({
        nats: this.nats,
        naming: this.naming,
        db: this.db,
        log: this.log,
        metrics: this.metrics,
        spec: r.spec,
        handler: r.handler,
        concurrency: r.concurrency,
        maxFailures: c.CONSUMER_MAX_DELIVER,
        erased: (memberId, publishedAt) => isErased(this.db, memberId, publishedAt, c.HH_DATA_RETENTION_DAYS),
      });
      await runner.start();
      this.runners.push(runner);
    }
    for (const start of this.responders) start();
    if (this.registrations.length > 0)
      this.every('prune-inbox', 3600_000, async () => void (await pruneInbox(this.db)));
    for (const task of this.tasks) this.schedule(task);
    this.state = 'ready';
    this.log.info('service ready');
  }

  /** First half of the shutdown: stop taking work and finish what is in flight, then drain NATS. */
  async stopWork(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    this.stopAbort.abort();
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled(this.runners.map((r) => r.stop()));
    await this.relay?.stop();
    await Promise.allSettled([...this.runningTasks]);
    await this.natsConn?.nc.drain().catch((err: unknown) => this.log.warn({ err }, 'nats drain failed'));
  }

  /** Second half, after HTTP closed: release the pools. */
  async closeConnections(): Promise<void> {
    this.breakers.shutdown();
    await this.dbPool?.destroy().catch(() => {});
    if (this.redisClient) await this.redisClient.quit().catch(() => this.redisClient?.disconnect());
    this.state = 'stopped';
  }

  async readiness(): Promise<{ ready: boolean; state: RuntimeState; checks: Record<string, boolean> }> {
    if (this.state !== 'ready') return { ready: false, state: this.state, checks: {} };
    const [postgres, redis] = await Promise.all([pingDb(this.db), pingRedis(this.redis)]);
    const checks = { postgres, nats: natsUsable(this.natsConn), redis };
    return { ready: checks.postgres && checks.nats, state: this.state, checks };
  }

  /** What this service needs in Postgres: the common tables and its own. */
  migrationSets(): MigrationSet[] {
    return this.options.migrations ? [commonMigrations, this.options.migrations] : [commonMigrations];
  }

  /** What it publishes, pulls, answers and asks on NATS (its NATS user's permissions are made of it). */
  natsUsage(): NatsUsage {
    return {
      publishes: [...(this.options.publishes ?? [])],
      consumers: this.consumerSpecs(),
      serves: [...this.served],
      calls: (this.options.calls ?? []).map((c) => c.subject),
    };
  }

  /** The durable consumers this service pulls from. */
  consumerSpecs(): ConsumerSpec[] {
    return this.registrations.map((r) => r.spec);
  }

  private schedule(task: { name: string; everyMs: number; run: () => Promise<void> }): void {
    let running = false;
    this.timers.push(
      setInterval(() => {
        if (running || this.state !== 'ready') return;
        running = true;
        const p = task
          .run()
          .catch((err: unknown) => this.log.error({ err, task: task.name }, 'periodic task failed'))
          .finally(() => {
            running = false;
            this.runningTasks.delete(p);
          });
        this.runningTasks.add(p);
      }, task.everyMs).unref(),
    );
  }

  private async waitFor(what: string, probe: () => Promise<boolean>): Promise<void> {
    let logged = false;
    for (;;) {
      if (this.stopAbort.signal.aborted) throw new Error(`${this.name} stopped while waiting for ${what}`);
      const ok = await probe().catch((err: unknown) => {
        if (!logged) this.log.warn({ err }, `waiting for ${what}`);
        return false;
      });
      if (ok) {
        if (logged) this.log.info(`${what} is available`);
        return;
      }
      if (!logged) this.log.warn(`waiting for ${what}`);
      logged = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private need<T>(value: T | undefined, what: string): T {
    if (value === undefined)
      throw new Error(`${this.name}: ${what} is not connected yet (call start() first)`);
    return value;
  }
}

/**
 * A service: its fastify app (health, metrics, and whatever routes the service adds) and its
 * runtime. Tests build this, call `runtime.start()` and use `app.inject()`; `app.close()` runs
 * the graceful shutdown.
 */
export function createService(options: ServiceOptions): { app: FastifyInstance; runtime: Runtime } {
  const runtime = new Runtime(options);
  const app = Fastify({
    // pino's Logger and fastify's FastifyBaseLogger differ by a field only the compiler sees.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: runtime.log as FastifyBaseLogger,
    // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    bodyLimit: 1024 * 1024,
    trustProxy: options.trustedProxies && options.trustedProxies.length > 0 ? options.trustedProxies : false,
    // Probes and scrapes every few seconds would drown the request log.
    logController: new LogController({
      disableRequestLogging: (req) => /^\/(livez|readyz|metrics)\b/.test(req.url),
    }),
  });
  app.get('/livez', async () => ({ status: 'ok', service: runtime.name }));
  app.get('/readyz', async (_req, reply) => {
    const r = await runtime.readiness();
    return reply.code(r.ready ? 200 : 503).send({
      status: r.ready ? 'ready' : 'not ready',
      service: runtime.name,
      state: r.state,
      checks: r.checks,
    });
  });
  app.get('/metrics', async (_req, reply) =>
    reply.type(runtime.metrics.registry.contentType).send(await runtime.metrics.registry.metrics()),
  );
  app.addHook('preClose', async () => runtime.stopWork());
  app.addHook('onClose', async () => runtime.closeConnections());
  return { app, runtime };
}
