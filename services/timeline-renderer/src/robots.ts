import {
  AppError,
  type Bitrix24Client,
  Bitrix24Error,
  HH_ACTION_ROBOT_CODE,
  HH_STATUS_ROBOT_CODE,
  HH_TARGETS,
  type HhStateView,
  type HhTarget,
  type MessageContext,
  type Outcome,
  type PortalLang,
  type PortalRobotInvoked,
  type Runtime,
  ack,
  isPortalTextKey,
  portalText,
  rpc,
  textOf,
} from '@hhb24/common';

/** The choice «Отказ с сообщением» of «Сменить статус на НН»: a discard that writes to the applicant. */
export const DISCARD_WITH_MESSAGE = 'discard_message';

/** How many times a robot's work is tried before its automation gets the failure (it must never hang). */
const ATTEMPTS = 5;
/** Bitrix24's error code for a workflow another process holds right now (CBPRuntime::EXCEPTION_CODE_INSTANCE_LOCKED). */
const WORKFLOW_LOCKED = '423';

/**
 * The robots «Обновить статус НН» and «Сменить статус на НН»: the gateway records each run
 * (portal.robot.invoked), hh-connector reads or moves the negotiation on hh.ru, and the run is
 * completed with `bizproc.event.send`: the hh.ru status as the return value and a line for the
 * log, or a clear error, so the automation never waits forever.
 */
export class Robots {
  constructor(
    private readonly runtime: Runtime,
    private readonly b24: () => Bitrix24Client,
  ) {}

  async onInvoked(ctx: MessageContext<PortalRobotInvoked>): Promise<Outcome> {
    const r = ctx.data;
    // The automation log and the returned error are in the portal's language.
    const lang = await this.b24().store.language(r.memberId);
    if (!(await this.isLiveRun(ctx, r, lang))) return ack();
    let outcome: { status: string; error: string; log: string };
    try {
      const view = await this.work(r);
      const status = view.state.name;
      const log = portalText(
        lang,
        r.code === HH_STATUS_ROBOT_CODE ? 'robot.status' : view.changed ? 'robot.moved' : 'robot.already',
        { status },
      );
      outcome = { status, error: '', log };
    } catch (err) {
      const known = err instanceof AppError && !err.retryable;
      // hh-connector or hh.ru unavailable: tried again a few times, then the automation is told.
      if (!known && ctx.failures + 1 < ATTEMPTS) throw err;
      const text = refusalText(err, lang);
      ctx.log.info(
        {
          memberId: r.memberId,
          code: r.code,
          entity: `${r.entityType}:${r.entityId}`,
          error: err instanceof AppError ? err.code : String(err),
        },
        'robot refused',
      );
      outcome = { status: '', error: text, log: portalText(lang, 'robot.error', { text }) };
    }
    await this.complete(ctx, r, outcome);
    return ack();
  }

  /**
   * Whether the call belongs to an automation that is running now, in the portal's words, before
   * anything reaches hh.ru: `bizproc.activity.log` with the call's event_token succeeds only for a
   * token the portal signed itself and whose workflow still runs (it writes one line in the
   * robot's log). A made-up token gets 403 ACCESS_DENIED, the token of a run that ended 400
   * WorkflowNotFound: such a call is logged and nothing else happens (its automation, if any, is
   * not ours to complete). The application_token the call also carries proves nothing here: every
   * user's browser sees it, while the event_token travels only from Bitrix24's queue to us.
   */
  private async isLiveRun(
    ctx: MessageContext<PortalRobotInvoked>,
    r: PortalRobotInvoked,
    lang: PortalLang,
  ): Promise<boolean> {
    const about = { memberId: r.memberId, code: r.code, entity: `${r.entityType}:${r.entityId}` };
    if (!r.eventToken) {
      ctx.log.warn(about, 'robot call not taken: it carries no event_token');
      return false;
    }
    try {
      await this.b24().call(
        r.memberId,
        'bizproc.activity.log',
        { event_token: r.eventToken, log_message: portalText(lang, 'robot.taken') },
        { maxWaitMs: 10_000 },
      );
      return true;
    } catch (err) {
      if (!(err instanceof Bitrix24Error)) throw err;
      if (err.b24Error === WORKFLOW_LOCKED)
        throw new AppError('b24_workflow_locked', 'the portal is busy with this automation', {
          wait: true,
          retryAfterMs: 1000,
          cause: err,
        });
      if (err.retryable) throw err;
      const said = `${err.b24Error || err.code} ${err.details.b24Description}`.trim();
      // A redelivered run that we completed already finds its workflow ended: expected, not a forgery.
      if (ctx.deliveryCount > 1) ctx.log.info({ ...about, said }, 'robot run already ended');
      else
        ctx.log.warn(
          { ...about, said },
          'robot call not taken: the portal knows no running automation with its event_token; nothing sent to hh.ru',
        );
      return false;
    }
  }

  private work(r: PortalRobotInvoked): Promise<HhStateView> {
    const entity = { memberId: r.memberId, entityType: r.entityType, entityId: r.entityId };
    if (r.code === HH_STATUS_ROBOT_CODE)
      return this.runtime.call(rpc.hhRefresh, entity, { timeoutMs: 20_000 });
    if (r.code !== HH_ACTION_ROBOT_CODE)
      throw new AppError('unknown_action', `unknown robot ${r.code}`, { status: 400 });
    const choice = textOf(r.properties['action']);
    const message = typeof r.properties['message'] === 'string' ? r.properties['message'].trim() : '';
    let target: HhTarget;
    let text: string | null = message || null;
    if (choice === DISCARD_WITH_MESSAGE) {
      if (!message)
        throw new AppError('message_required', 'a discard with a message needs the message', { status: 400 });
      target = 'discard';
    } else if ((HH_TARGETS as readonly string[]).includes(choice)) {
      target = choice as HhTarget;
      // A plain «Отказ» is silent: hh.ru sends the applicant nothing.
      if (target === 'discard') text = null;
    } else {
      throw new AppError('unknown_action', `no hh.ru status chosen (${choice.slice(0, 40)})`, {
        status: 400,
      });
    }
    return this.runtime.call(rpc.hhAct, { ...entity, target, message: text }, { timeoutMs: 20_000 });
  }

  /** bizproc.event.send; a token already used (a redelivered run) has nothing left to complete. */
  private async complete(
    ctx: MessageContext<PortalRobotInvoked>,
    r: PortalRobotInvoked,
    outcome: { status: string; error: string; log: string },
  ): Promise<void> {
    if (!r.eventToken) return;
    try {
      await this.b24().call(
        r.memberId,
        'bizproc.event.send',
        {
          event_token: r.eventToken,
          return_values: { status: outcome.status, error: outcome.error },
          log_message: outcome.log,
        },
        { maxWaitMs: 10_000 },
      );
    } catch (err) {
      if (err instanceof Bitrix24Error && err.code === 'b24_access_denied' && ctx.deliveryCount > 1) {
        ctx.log.info({ memberId: r.memberId }, 'robot run already completed');
        return;
      }
      throw err;
    }
  }
}

/** Words for a refusal, as the automation log shows them: ours for the codes we know, hh.ru's own otherwise. */
function refusalText(err: unknown, lang: PortalLang): string {
  if (!(err instanceof AppError)) return portalText(lang, 'robot.hhSilent');
  const key = `robot.${err.code}`;
  return isPortalTextKey(key)
    ? portalText(lang, key)
    : portalText(lang, 'robot.hhRefused', { message: err.message });
}
