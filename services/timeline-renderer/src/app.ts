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
  ack,
  createService,
  drop,
  subjects,
} from '@hhb24/common';
import { ActivityStore, BrokenLayout, DrawingQueue, Renderer } from './activities.js';
import type { Config } from './config.js';
import { OTHERS_ACTION } from './layout.js';
import { migrations } from './migrations.js';
import { Robots } from './robots.js';

export { schema, type Config } from './config.js';
export { buildLayout, ALL_RESPONSES_VIEW, MAX_BLOCKS } from './layout.js';
export { layoutProblems } from './validate.js';
export { DISCARD_WITH_MESSAGE } from './robots.js';

/**
 * Builds timeline-renderer: owns the timeline activity of each negotiation and its buttons
 * («Другие отклики», «Резюме»), and completes the robots «Обновить статус НН» and «Сменить статус
 * на НН» (the work on hh.ru is hh-connector's).
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
        new DrawingQueue(runtime.db),
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

  runtime.addConsumer<CrmEntityWritten>({
    spec: {
      stream: 'CRM',
      durable: 'timeline-renderer',
      filterSubject: subjects.crmEntityWritten,
      ackWaitMs: 30_000,
      maxAckPending: 128,
    },
    concurrency: 16,
    // A layout that breaks the rules comes back as a drop (the drawing is done apart from the message).
    handler: (ctx) => the().renderer.onWritten(ctx.data),
  });
  // Bound events: the clicks on «Другие отклики» (ONCRMTIMELINEITEMACTION); other events are someone else's.
  runtime.addConsumer<PortalEventReceived>({
    spec: {
      stream: 'PORTAL',
      durable: 'timeline-renderer',
      filterSubject: subjects.portalEventReceived,
      ackWaitMs: 60_000,
      maxAckPending: 32,
    },
    concurrency: 4,
    handler: (ctx) => {
      const e = ctx.data;
      if (e.event !== 'ONCRMTIMELINEITEMACTION') return Promise.resolve(ack());
      const data = (e.data ?? {}) as Record<string, unknown>;
      const activityId = Number(data['activityId']);
      // Anyone holding the portal's application_token can post such an event (docs/security.md):
      // logged and acknowledged, not dead-lettered, so that it leaves no row behind.
      if (data['id'] !== OTHERS_ACTION || !Number.isInteger(activityId) || activityId <= 0) {
        ctx.log.warn(
          { memberId: e.memberId, action: String(data['id']).slice(0, 40) },
          'timeline action not taken: not a click on «Другие отклики»',
        );
        return Promise.resolve(ack());
      }
      return unbroken(ctx, async () => {
        // A same-looking click arriving from now on is one of its own (EventOccurrences).
        await runtime.eventOccurrences.advance(e.occurrence);
        return the().renderer.onOthers(e.memberId, activityId, e.actorToken ?? null, ctx.log);
      });
    },
  });
  runtime.addConsumer<PortalRobotInvoked>({
    spec: {
      stream: 'PORTAL',
      durable: 'timeline-renderer-robots',
      filterSubject: subjects.portalRobotInvoked,
      ackWaitMs: 60_000,
      maxAckPending: 32,
    },
    concurrency: 4,
    handler: (ctx) => the().robots.onInvoked(ctx),
  });

  // The activities drawn and those waiting to be (with the snapshots they show): erased at a clean uninstall, or once the retention passed.
  runtime.erasesPortalData({ tables: ['tl_activities', 'tl_drawings'] });
  return { app, runtime, port: config.TIMELINE_RENDERER_PORT };
}
