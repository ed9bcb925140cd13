/**
 * A whole installation for cross-service tests (and the import measurement): both simulators on
 * free ports, real Postgres, Redis and NATS isolated per run, and the services built from their
 * app factories (or run as child processes from their main.js, to be killed). Everything a person
 * or a portal would do goes through the simulators' control APIs, the Bitrix24 store's install
 * record, the services' request/reply contracts and `hh.import.requested`, never through our tables.
 */
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import {
  BreakerRegistry,
  Bitrix24Client,
  CRM_USER_FIELDS,
  type HhAccountView,
  type HhImportRequested,
  type ImportProgress,
  Keyring,
  type Knex,
  type Launchable,
  type Nats,
  Naming,
  type PortalSettings,
  type RpcContract,
  callRpc,
  connectNats,
  createDb,
  createLogger,
  createRedis,
  enqueue,
  loadConfig,
  rpc,
  subjects,
} from '@hhb24/common';
import {
  type SpawnedNode,
  type TestEnv,
  createTestEnv,
  eventually,
  installTestApp,
  spawnNode,
} from '@hhb24/common/testing';
import { buildCrmWriter, schema as crmWriterSchema } from '@hhb24/crm-writer';
import { buildGateway, installSteps, schema as gatewaySchema } from '@hhb24/gateway';
import { buildHhConnector, schema as hhConnectorSchema } from '@hhb24/hh-connector';
import { buildSettings, parseSettings, saveSettings, schema as settingsSchema } from '@hhb24/settings';
import { buildTimelineRenderer, schema as timelineRendererSchema } from '@hhb24/timeline-renderer';
import { type RunningSim, startB24Sim } from '@hhb24/sim-b24';
import { type GenerateOptions, type Manager, type RunningHhSim, startHhSim } from '@hhb24/sim-hh';
import { freePort } from './stack.js';

/** Services a world can run as child processes (their main.js). */
export type ChildService = 'gateway' | 'settings' | 'hh-connector' | 'crm-writer' | 'timeline-renderer';
/** The services a deployment runs several replicas of that a world can too (the gateway's replicas are stack.ts's). */
export const WORKERS = ['hh-connector', 'crm-writer', 'timeline-renderer'] as const;
export type Worker = (typeof WORKERS)[number];
export type Replicas = number | Partial<Record<Worker, number>>;

/**
 * How many replicas of a worker a world runs: the option (one number for every worker, or per
 * worker), else HHB24_REPLICAS_<SERVICE> (HHB24_REPLICAS_CRM_WRITER=3, say), else HHB24_REPLICAS,
 * else 1. Other services run once.
 */
export function replicasOf(service: ChildService, option?: Replicas): number {
  if (!(WORKERS as readonly string[]).includes(service)) return 1;
  const given = typeof option === 'number' ? option : option?.[service as Worker];
  const env = process.env;
  const n = Number(
    given ?? env[`HHB24_REPLICAS_${service.toUpperCase().replace(/-/g, '_')}`] ?? env['HHB24_REPLICAS'] ?? 1,
  );
  if (!Number.isInteger(n) || n < 1) throw new Error(`replicas of ${service}: not a positive whole number`);
  return n;
}

/** A child's name: the service for its first replica, `service#2` for the second, and so on. */
export const replicaName = (service: ChildService, replica: number): string =>
  replica === 1 ? service : `${service}#${replica}`;
export type SettingsInput = Parameters<typeof parseSettings>[1];

export interface WorldOptions {
  /** hh.ru's request limit: `off` (the default, fast tests) or the simulator's per-address bucket. */
  hhRateLimit?: 'off' | { perSec: number; burst: number };
  /** Bitrix24's leaky bucket (2/s, burst 50): on unless told otherwise. */
  b24RateLimit?: boolean;
  generate?: GenerateOptions | false;
  /** Settings of every service on top of the test defaults. */
  env?: Record<string, string>;
  /**
   * Services run as child processes (their main.js), so a test can SIGKILL them; the others run in
   * this process. The gateway as a child keeps one port across restarts.
   */
  children?: ChildService[];
  /**
   * Replicas of hh-connector, crm-writer and timeline-renderer (all, or per worker; see
   * replicasOf): separate processes when the service is a child, separate instances in this process
   * otherwise. Each is a consumer of the same durable consumers, Postgres and Redis.
   */
  replicas?: Replicas;
  /** Service logs on stdout (children's logs are always collected). */
  logLevel?: string;
  /** Node's flags for the children instead of spawnNode's (source maps on). */
  childNodeArgs?: string[];
  /**
   * The Bitrix24 simulator's host as an allowed portal and OAuth server host (B24_PORTAL_HOSTS,
   * B24_OAUTH_HOSTS), so that the installer page gets past the host check to the OAuth server.
   */
  allowSimHosts?: boolean;
}

/**
 * hh.ru's data for a test about one account: one employer (paying, unless `unpaidEmployers: 1`)
 * whose one manager is its admin, with no heavy applicant and no deleted resumes; `options` add or
 * change the rest.
 */
export function oneManager(seed: number, options: GenerateOptions = {}): GenerateOptions {
  return {
    seed,
    employers: 1,
    unpaidEmployers: 0,
    managersPerEmployer: 1,
    vacanciesPerManager: 1,
    negotiations: 2,
    heavyApplicantResponses: 0,
    tombstones: 0,
    ...options,
  };
}

/** The settings of most import tests: leads for portal user 2 from source WEB, responses NEW, invitations IN_PROCESS. */
export const LEAD_SETTINGS = {
  responsibleUserId: 2,
  entityType: 'lead',
  sourceId: 'WEB',
  stageForResponse: 'NEW',
  stageForInvitation: 'IN_PROCESS',
} as const;

/**
 * Deals in the default pipeline with extended sync and the two-way status: each hh.ru state on its
 * own stage («Интервью» on «В работе», EXECUTING), offer and hired both won.
 */
export const TWO_WAY_DEAL_SETTINGS = {
  responsibleUserId: 1,
  entityType: 'deal',
  categoryId: 0,
  extendedSync: true,
  stageByState: {
    response: 'NEW',
    consider: 'PREPARATION',
    phone_interview: 'PREPAYMENT_INVOICE',
    assessment: 'FINAL_INVOICE',
    interview: 'EXECUTING',
    offer: 'WON',
    hired: 'WON',
    discard: 'LOSE',
  },
  twoWayStatus: true,
} as const;

/**
 * Leads with extended sync and the two-way status: «Обработан» (PROCESSED) is hh.ru's «Интервью»
 * and nothing else, so a person's move there has one hh.ru action; the fault matrix's settings.
 */
export const TWO_WAY_LEAD_SETTINGS = {
  responsibleUserId: 2,
  entityType: 'lead',
  sourceId: 'WEB',
  extendedSync: true,
  stageByState: {
    response: 'NEW',
    consider: 'IN_PROCESS',
    phone_interview: 'IN_PROCESS',
    assessment: 'IN_PROCESS',
    interview: 'PROCESSED',
    offer: 'CONVERTED',
    hired: 'CONVERTED',
    discard: 'JUNK',
  },
  twoWayStatus: true,
} as const;

const WEBHOOK_KEY = 'e2e-webhook-key-0123456789abcdefghij';
const MAIN: Record<ChildService, URL> = {
  gateway: new URL('../../../../gateway/dist/src/main.js', import.meta.url),
  settings: new URL('../../../../services/settings/dist/src/main.js', import.meta.url),
  'hh-connector': new URL('../../../../services/hh-connector/dist/src/main.js', import.meta.url),
  'crm-writer': new URL('../../../../services/crm-writer/dist/src/main.js', import.meta.url),
  'timeline-renderer': new URL('../../../../services/timeline-renderer/dist/src/main.js', import.meta.url),
};

/** Child services of every world in this process: killed when the process ends however it ends (a test timeout too), so none outlives it. */
const liveChildren = new Set<SpawnedNode>();
process.once('exit', () => {
  for (const c of liveChildren) c.child.kill('SIGKILL');
});

export class World {
  /** Running child processes by replica name (replicaName: `crm-writer`, `crm-writer#2`, …). */
  readonly children = new Map<string, SpawnedNode>();
  private readonly closers: Array<() => Promise<unknown>> = [];
  private b24ClientInstance?: Bitrix24Client;
  private childNodeArgs?: string[];

  private constructor(
    readonly hh: RunningHhSim,
    readonly b24: RunningSim,
    readonly testEnv: TestEnv,
    /** The environment every service of this world reads. */
    readonly env: Record<string, string>,
    readonly db: Knex,
    readonly nats: Nats,
    readonly naming: Naming,
    readonly services: Launchable[],
  ) {}

  static async start(options: WorldOptions = {}): Promise<World> {
    const hh = await startHhSim({
      generate: options.generate,
      settings: {
        rateLimit:
          options.hhRateLimit === undefined || options.hhRateLimit === 'off'
            ? { by: 'off' }
            : { by: 'address', ...options.hhRateLimit },
      },
    });
    const b24 = await startB24Sim({ port: 0, rateLimit: options.b24RateLimit === false ? false : undefined });
    b24.sim.updateApp('hh-b24-dev', { installEventUrl: '' });
    const app = hh.sim.settings.apps[0]!;
    const testEnv = createTestEnv({
      LOG_LEVEL: options.logLevel ?? process.env['TEST_LOG_LEVEL'] ?? 'silent',
      HTTP_HOST: '127.0.0.1',
      GATEWAY_PORT: '0',
      HH_CONNECTOR_PORT: '0',
      CRM_WRITER_PORT: '0',
      TIMELINE_RENDERER_PORT: '0',
      SETTINGS_PORT: '0',
      HH_API_URL: hh.url,
      HH_OAUTH_URL: hh.url,
      HH_CLIENT_ID: app.clientId,
      HH_CLIENT_SECRET: app.clientSecret,
      HH_REDIRECT_URI: `${app.redirectUri}hh/oauth/callback`,
      HH_USER_AGENT: 'hhb24-e2e/1.0 (qa@hhb24.example)',
      HH_RATE_PER_SEC:
        options.hhRateLimit && options.hhRateLimit !== 'off' ? String(options.hhRateLimit.perSec) : '500',
      HH_RATE_BURST:
        options.hhRateLimit && options.hhRateLimit !== 'off'
          ? String(Math.max(1, Math.floor(options.hhRateLimit.burst / 2)))
          : '100',
      HH_RECONCILE_INTERVAL_SEC: '3600',
      WEBHOOK_SECRET_KEY: WEBHOOK_KEY,
      ...(options.allowSimHosts
        ? { B24_PORTAL_HOSTS: new URL(b24.url).host, B24_OAUTH_HOSTS: new URL(b24.url).host }
        : {}),
      ...options.env,
    });
    const env = testEnv.env;
    const children = new Set(options.children ?? []);
    const services: Launchable[] = [];
    if (children.has('gateway')) {
      // hh-connector writes the public URL into hh.ru's webhook subscriptions: it must be known before anything starts.
      env['GATEWAY_PORT'] = String(await freePort());
      env['PUBLIC_URL'] = `http://127.0.0.1:${env['GATEWAY_PORT']}`;
    } else {
      const gateway = buildGateway(loadConfig('gateway', gatewaySchema, env));
      await gateway.app.listen({ port: 0, host: '127.0.0.1' });
      env['PUBLIC_URL'] = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;
      services.push(gateway);
    }
    if (!children.has('settings')) services.push(buildSettings(loadConfig('settings', settingsSchema, env)));
    const inProcess = (name: Worker, build: () => Launchable) => {
      if (children.has(name)) return;
      for (let i = 0; i < replicasOf(name, options.replicas); i++) services.push(build());
    };
    inProcess('hh-connector', () => buildHhConnector(loadConfig('hh-connector', hhConnectorSchema, env)));
    inProcess('crm-writer', () => buildCrmWriter(loadConfig('crm-writer', crmWriterSchema, env)));
    inProcess('timeline-renderer', () =>
      buildTimelineRenderer(loadConfig('timeline-renderer', timelineRendererSchema, env)),
    );
    await Promise.all(services.map((s) => s.runtime.start()));
    const c = testEnv.config;
    const db = createDb({
      url: c.DATABASE_URL,
      schema: c.DATABASE_SCHEMA,
      poolMax: 4,
      applicationName: 'e2e',
    });
    const nats = await connectNats({
      servers: c.NATS_URL,
      name: 'e2e',
      log: createLogger({ name: 'e2e', level: 'silent' }),
    });
    const world = new World(hh, b24, testEnv, env, db, nats, new Naming(c.NATS_PREFIX), services);
    world.childNodeArgs = options.childNodeArgs;
    try {
      for (const name of children)
        for (let i = 0; i < replicasOf(name, options.replicas); i++) await world.startChild(name);
    } catch (err) {
      // Leave no process behind when one of them cannot start.
      await world.close();
      throw err;
    }
    return world;
  }

  /** A world for one test, closed when the test ends. */
  static async forTest(t: Test, options: WorldOptions = {}): Promise<World> {
    const world = await World.start(options);
    t.teardown(() => world.close());
    return world;
  }

  /**
   * Runs a replica of a service from its main.js with this world's settings, and waits until it is
   * ready: the given replica, or the first one not running.
   */
  async startChild(name: ChildService, replica?: number): Promise<SpawnedNode> {
    let n = replica ?? 1;
    while (replica === undefined && this.children.has(replicaName(name, n))) n++;
    const child = spawnNode(MAIN[name], { ...this.env, LOG_LEVEL: 'info' }, [], this.childNodeArgs);
    this.children.set(replicaName(name, n), child);
    liveChildren.add(child);
    void child.exited.then(() => liveChildren.delete(child));
    // Several replicas starting at once on a busy machine take a while.
    await child.waitForLine(/"msg":"service ready"/, 60_000);
    return child;
  }

  async killChild(name: ChildService, replica = 1): Promise<void> {
    await this.stopChild(name, 'SIGKILL', replica);
  }

  /** Sends the signal to a replica and waits for the process to end: how it ended (a clean SIGTERM exits 0). */
  async stopChild(
    name: ChildService,
    signal: NodeJS.Signals,
    replica = 1,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const key = replicaName(name, replica);
    const child = this.children.get(key);
    if (!child) throw new Error(`${key} is not running`);
    child.child.kill(signal);
    const { code, signal: by } = await child.exited;
    this.children.delete(key);
    return { code, signal: by };
  }

  /** The replicas of a service running as children, by number (1, 2, …). */
  replicas(name: ChildService): number[] {
    return [...this.children.keys()]
      .filter((k) => k === name || k.startsWith(`${name}#`))
      .map((k) => (k === name ? 1 : Number(k.slice(name.length + 1))))
      .sort((a, b) => a - b);
  }

  /** Starts replicas of a child service, or stops the highest ones (SIGTERM), until `count` run. */
  async scale(name: ChildService, count: number): Promise<void> {
    while (this.replicas(name).length < count) await this.startChild(name);
    for (const r of this.replicas(name).slice(count).reverse()) await this.stopChild(name, 'SIGTERM', r);
  }

  call<Req, Res>(contract: RpcContract<Req, Res>, req: Req, timeoutMs = 20_000): Promise<Res> {
    return callRpc({ nats: this.nats, naming: this.naming }, contract, req, { timeoutMs });
  }

  /** A Bitrix24 client on the world's database and Redis: what an installer or an admin calls. */
  get b24Client(): Bitrix24Client {
    if (!this.b24ClientInstance) {
      const log = createLogger({ name: 'e2e-b24', level: 'silent' });
      const redis = createRedis({ url: this.testEnv.config.REDIS_URL, name: 'e2e', log });
      const breakers = new BreakerRegistry({ log });
      this.closers.push(async () => {
        breakers.shutdown();
        redis.disconnect();
      });
      this.b24ClientInstance = new Bitrix24Client({
        db: this.db,
        redis,
        redisPrefix: this.testEnv.config.REDIS_PREFIX,
        keyring: new Keyring(this.testEnv.config.TOKEN_ENCRYPTION_KEYS),
        breakers,
        log,
        clientId: 'hh-b24-dev',
        clientSecret: 'hh-b24-dev-secret',
        ratePerSec: 2,
        burst: 50,
        burstHeadroom: 5,
        timeoutMs: 10_000,
        maxResponseBytes: 5_000_000,
      });
    }
    return this.b24ClientInstance;
  }

  /**
   * A portal with the app installed: the simulator's install and installFinish, the install
   * recorded as the gateway records it, and the app's user fields on leads and deals (created with
   * the same Bitrix24 methods the installer uses).
   */
  async installPortal(options: { lang?: 'ru' | 'en' } = {}): Promise<string> {
    const portal = this.b24.sim.createPortal({ lang: options.lang ?? 'ru' });
    return this.installApp(portal.memberId);
  }

  /**
   * The app added again to a portal that removed it: a new install (new tokens and
   * application_token) recorded as the gateway records it; the app's user fields, which the
   * portal kept, are there already.
   */
  async reinstallPortal(memberId: string): Promise<void> {
    await this.installApp(memberId, { fieldsKept: true });
  }

  private async installApp(memberId: string, options: { fieldsKept?: boolean } = {}): Promise<string> {
    await installTestApp(this.b24.sim, this.b24Client.store, memberId);
    const commands = (['lead', 'deal'] as const).flatMap((type) =>
      CRM_USER_FIELDS.map(
        (f) =>
          [
            `crm.${type}.userfield.add`,
            {
              fields: {
                FIELD_NAME: f.name,
                USER_TYPE_ID: f.type,
                LABEL: f.label.ru,
                EDIT_FORM_LABEL: f.label,
              },
            },
          ] as [string, Record<string, unknown>],
      ),
    );
    const created = await this.b24Client.batch(memberId, commands);
    const errors = Object.values(created.errors).filter(
      (e) => !(options.fieldsKept && /already exists/.test(JSON.stringify(e))),
    );
    if (errors.length > 0) throw new Error(JSON.stringify(errors[0]));
    return memberId;
  }

  /**
   * What «Готово» registers besides the user fields: the card tabs, the robots and the bound events,
   * with handlers on this world's gateway (the same registrations the installer makes).
   */
  async registerHandlers(memberId: string, installerUserId = 1): Promise<void> {
    const adds = installSteps(this.env['PUBLIC_URL']!, installerUserId)
      .filter((s) => !s.key.startsWith('userfield:'))
      .map((s) => s.add);
    const done = await this.b24Client.batch(memberId, adds);
    if (Object.keys(done.errors).length > 0) throw new Error(JSON.stringify(Object.values(done.errors)[0]));
  }

  /** «Войти» as an hh.ru manager: the simulator's code, then rpc.hhConnect as the gateway's callback calls it. */
  connect(memberId: string, hhUserId: string, portalUserId = 1): Promise<HhAccountView> {
    return this.call(rpc.hhConnect, {
      memberId,
      userId: portalUserId,
      code: this.hh.sim.authorize({ userId: hhUserId }),
    });
  }

  /** The first employer's company admin on hh.ru: the manager who connects in most tests. */
  get admin(): Manager {
    const admin = [...this.hh.sim.store.managers.values()].find((m) => m.isAdmin);
    if (!admin) throw new Error('hh.ru has no company admin');
    return admin;
  }

  /**
   * A portal as its admin leaves it before the first import: the app installed («Готово»), an hh.ru
   * manager connected by portal user 1 («Войти»; the first employer's admin unless told) and the
   * settings saved.
   */
  async connectedPortal(
    input: SettingsInput,
    manager: Manager = this.admin,
  ): Promise<{ memberId: string; settings: PortalSettings }> {
    const memberId = await this.installPortal();
    await this.connect(memberId, manager.userId);
    const settings = await this.saveSettings(memberId, input);
    return { memberId, settings };
  }

  async saveSettings(memberId: string, input: SettingsInput, userId = 1) {
    const settings = parseSettings(memberId, input);
    await saveSettings(this.db, settings, userId);
    return settings;
  }

  /** «Сохранить и начать импорт» (or a reconciliation): the request settings publishes, with the admin's choice of what to import. */
  async requestImport(
    memberId: string,
    kind: HhImportRequested['kind'] = 'initial',
    scope?: HhImportRequested['scope'],
  ): Promise<void> {
    await enqueue(this.db, {
      subject: subjects.hhImportRequested,
      msgId: `e2e-import:${memberId}:${kind}:${Date.now()}`,
      payload: {
        memberId,
        kind,
        requestedBy: 1,
        requestedAt: new Date().toISOString(),
        ...(scope ? { scope } : {}),
      } satisfies HhImportRequested,
    });
  }

  /** «Сохранить и начать импорт», and its end. */
  async importAll(memberId: string, timeoutMs?: number): Promise<ImportProgress> {
    await this.requestImport(memberId);
    return this.waitForImport(memberId, timeoutMs);
  }

  progress(memberId: string): Promise<ImportProgress> {
    return this.call(rpc.hhImportProgress, { memberId });
  }

  async waitForImport(memberId: string, timeoutMs = 120_000): Promise<ImportProgress> {
    return eventually(
      async () => {
        const p = await this.progress(memberId);
        return p.state === 'finished' ? p : null;
      },
      { timeoutMs, intervalMs: 250, what: `the import of ${memberId} to finish` },
    );
  }

  /**
   * Every durable consumer's deliveries against the messages it was given (JetStream's own counts):
   * 1.00 a message when nothing was delivered twice. Messages not delivered yet are left out.
   */
  async deliveries(): Promise<Array<{ consumer: string; messages: number; deliveries: number }>> {
    const out: Array<{ consumer: string; messages: number; deliveries: number }> = [];
    const jsm = this.nats.jsm;
    for await (const stream of jsm.streams.list()) {
      if (!stream.config.name.startsWith(this.naming.stream(''))) continue;
      for await (const c of jsm.consumers.list(stream.config.name)) {
        const filter = c.config.filter_subject ?? '>';
        const info = await jsm.streams.info(stream.config.name, { subjects_filter: filter });
        const stored = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
        out.push({
          consumer: `${stream.config.name}/${c.name}`,
          messages: stored - c.num_pending,
          deliveries: c.delivered.consumer_seq,
        });
      }
    }
    return out;
  }

  /**
   * Samples the portal's import steps in flight (negotiations queued for a step and not done) every
   * 100 ms until stopped: the most seen, which HH_IMPORT_WINDOW bounds however many replicas run.
   */
  watchImportWindow(memberId: string): { stop: () => Promise<number> } {
    let most = 0;
    let running = true;
    const sampling = (async () => {
      let downSince: number | null = null;
      while (running) {
        try {
          const [row] = await this.db('hh_negotiations')
            .where({ member_id: memberId, status: 'pending' })
            .whereNotNull('queued_at')
            .count<Array<{ n: string | number }>>({ n: '*' });
          most = Math.max(most, Number(row?.n ?? 0));
          downSince = null;
        } catch (err) {
          // Postgres restarted by a fault: nothing to count until it is back, unless it stays away.
          downSince ??= Date.now();
          if (Date.now() - downSince > 60_000) throw err;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    return {
      // A sampling that failed fails here; one left running when a test failed ends when the world closes.
      stop: async () => {
        running = false;
        const failed = await sampling;
        if (failed) throw failed;
        return most;
      },
    };
  }

  onClose(fn: () => Promise<unknown>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    for (const child of this.children.values()) child.child.kill('SIGKILL');
    await Promise.allSettled([...this.children.values()].map((c) => c.exited));
    await Promise.allSettled(this.services.map((s) => s.app.close()));
    for (const fn of this.closers) await fn().catch(() => undefined);
    await this.nats.nc.close().catch(() => undefined);
    await this.db.destroy();
    await this.hh.close();
    await this.b24.close();
    await this.testEnv.cleanup();
  }
}
