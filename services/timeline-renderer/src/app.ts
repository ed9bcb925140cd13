import {
  ActingUserTokens,
  Bitrix24Client,
  type CrmEntityWritten,
  type Launchable,
  type Logger,
  rpc,
  type MessageContext,
  type Outcome,
  type PortalEventReceived,
  type PortalRobotInvoked,
  ValidationError,
  ack,
  createService,
  drop,
  subjects,
} from '@hhb24/common';
import { ActivityStore, BrokenLayout, Renderer } from './activities.js';
import type { Config } from './config.js';
import { OTHERS_ACTION } from './layout.js';
import { migrations } from './migrations.js';
import { Robots } from './robots.js';

export { schema, type Config } from './config.js';
export { buildLayout, ALL_RESPONSES_VIEW, MAX_BLOCKS } from './layout.js';
export { layoutProblems } from './validate.js';
export { DISCARD_WITH_MESSAGE, RUN_TAKEN_LOG } from './robots.js';

const MEMBER_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Builds timeline-renderer: owns the timeline activity of each negotiation and its buttons
 * («Другие отклики», «Резюме»), and completes the robots «Обновить статус HH» and «Сменить статус
 * на HH» (the work on hh.ru is hh-connector's).
 */
export function buildTimelineRenderer(config: Config, options: { log?: Logger } = {}): Launchable {
  const { app, runtime } = createService({
    name: 'timeline-renderer',
    config,
    migrations,
    log: options.log,
    publishes: [],
    calls: [rpc.hhAct, rpc.hhCard, rpc.hhRefresh],
  });

  // Built on first use: they need the runtime's connections, which exist only after start().
  let b24Client: Bitrix24Client | undefined;
  let actingUsers: ActingUserTokens | undefined;
  let parts: { renderer: Renderer; robots: Robots } | undefined;
  const b24 = () => (b24Client ??= Bitrix24Client.fromRuntime(runtime, config));
  const the = () =>
    (parts ??= {
      renderer: new Renderer(
        runtime,
        b24,
        new ActivityStore(runtime.db),
        () => (actingUsers ??= new ActingUserTokens(runtime.redis, config.REDIS_PREFIX, runtime.keyring)),
      ),
      robots: new Robots(runtime, b24),
    });

  /** A layout that would break Bitrix24's rules is never sent: dead-lettered with the reasons. */
  const unbroken = async (ctx: MessageContext<unknown>, work: () => Promise<Outcome>): Promise<Outcome> => {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof BrokenLayout)) throw err;
      ctx.log.error({ problems: err.problems }, 'activity layout refused before sending');
      return drop(err.message);
    }
  };

  runtime.addConsumer({
    spec: {
      stream: 'CRM',
      durable: 'timeline-renderer',
      filterSubject: subjects.crmEntityWritten,
      ackWaitMs: 30_000,
      maxAckPending: 128,
    },
    concurrency: 16,
    decode: decodeWritten,
    handler: (ctx) => unbroken(ctx, () => the().renderer.onWritten(ctx.data)),
  });
  // Bound events: the clicks on «Другие отклики» (ONCRMTIMELINEITEMACTION); other events are someone else's.
  runtime.addConsumer({
    spec: {
      stream: 'PORTAL',
      durable: 'timeline-renderer',
      filterSubject: subjects.portalEventReceived,
      ackWaitMs: 60_000,
      maxAckPending: 32,
    },
    concurrency: 4,
    decode: decodeEvent,
    handler: (ctx) => {
      const e = ctx.data;
      if (e.event !== 'ONCRMTIMELINEITEMACTION') return Promise.resolve(ack());
      const data = (e.data ?? {}) as Record<string, unknown>;
      const activityId = Number(data['activityId']);
      if (data['id'] !== OTHERS_ACTION || !Number.isInteger(activityId) || activityId <= 0)
        return Promise.resolve(drop('not a click on «Другие отклики»'));
      return unbroken(ctx, async () => {
        // A same-looking click arriving from now on is one of its own (EventOccurrences).
        await runtime.eventOccurrences.advance(e.occurrence);
        return the().renderer.onOthers(e.memberId, activityId, e.actorToken ?? null, ctx.log);
      });
    },
  });
  runtime.addConsumer({
    spec: {
      stream: 'PORTAL',
      durable: 'timeline-renderer-robots',
      filterSubject: subjects.portalRobotInvoked,
      ackWaitMs: 60_000,
      maxAckPending: 32,
    },
    concurrency: 4,
    decode: decodeRobot,
    handler: (ctx) => the().robots.onInvoked(ctx),
  });

  // The activities drawn (with the snapshots they show): erased at a clean uninstall, or once the retention passed.
  runtime.erasesPortalData({ tables: ['tl_activities'] });
  return { app, runtime, port: config.TIMELINE_RENDERER_PORT };
}

function decodeWritten(v: unknown): CrmEntityWritten {
  const m = v as CrmEntityWritten;
  const ok =
    m &&
    typeof m.memberId === 'string' &&
    MEMBER_ID.test(m.memberId) &&
    typeof m.negotiationId === 'string' &&
    /^\d{1,20}$/.test(m.negotiationId) &&
    Number.isInteger(m.version) &&
    (m.entityType === 'lead' || m.entityType === 'deal') &&
    Number.isInteger(m.entityId) &&
    m.entityId > 0 &&
    m.snapshot?.negotiationId === m.negotiationId &&
    typeof m.snapshot.vacancy?.name === 'string' &&
    typeof m.snapshot.state?.name === 'string' &&
    typeof m.snapshot.applicant === 'object' &&
    Array.isArray(m.snapshot.applicant?.phones);
  if (!ok) throw new ValidationError('crm.entity.written is incomplete');
  return m;
}

function decodeEvent(v: unknown): PortalEventReceived {
  const e = v as PortalEventReceived;
  if (!e || typeof e.memberId !== 'string' || !MEMBER_ID.test(e.memberId) || typeof e.event !== 'string')
    throw new ValidationError('portal.event.received is incomplete');
  return e;
}

function decodeRobot(v: unknown): PortalRobotInvoked {
  const r = v as PortalRobotInvoked;
  const ok =
    r &&
    typeof r.memberId === 'string' &&
    MEMBER_ID.test(r.memberId) &&
    typeof r.code === 'string' &&
    (r.entityType === 'lead' || r.entityType === 'deal') &&
    Number.isInteger(r.entityId) &&
    typeof r.eventToken === 'string' &&
    typeof r.properties === 'object';
  if (!ok) throw new ValidationError('portal.robot.invoked is incomplete');
  return r;
}
