import {
  APP_VERSION,
  type Bitrix24Client,
  type MessageContext,
  type Outcome,
  type PortalAppUpdate,
  type Runtime,
  ack,
  defer,
  enqueue,
  retry,
  subjects,
} from '@hhb24/common';
import type { Installer } from './install-steps.js';

/** How often a starting gateway looks for portals behind APP_VERSION until it has looked once. */
const START_CHECK_MS = 5_000;
/** A portal is brought up to date by one process at a time (kept alive while it works). */
const LOCK_MS = 30_000;

/** ONAPPUPDATE of a portal whose application_token matched: the portal is brought up to date through the stream. */
export async function enqueueAppUpdate(
  runtime: Runtime,
  memberId: string,
  data: Record<string, unknown>,
  ts: string,
): Promise<void> {
  const text = (v: unknown) =>
    typeof v === 'string' || typeof v === 'number' ? String(v).slice(0, 20) : null;
  const version = text(data['VERSION']);
  await enqueue(runtime.db, {
    subject: subjects.portalAppUpdate,
    msgId: `app-update:${memberId}:event:${version ?? ''}:${ts.slice(0, 20)}`,
    payload: {
      memberId,
      reason: 'event',
      version,
      previousVersion: text(data['PREVIOUS_VERSION']),
      at: new Date().toISOString(),
    } satisfies PortalAppUpdate,
  });
  runtime.wakeOutbox();
}

/**
 * App updates reach installed portals. A new version of the app may register more (a placement, a
 * robot, an event binding, a field: `installSteps`); each installed portal gets what it lacks:
 * - on ONAPPUPDATE (the gateway's events route enqueues `portal.app.update`), where Bitrix24 has
 *   also deleted the app's robots, so every step is checked again;
 * - when a gateway starts: every installed portal whose registrations are behind APP_VERSION
 *   (`b24_portals.app_version`) gets a `portal.app.update` named after the portal and the version,
 *   so the messages of several starting replicas are one (JetStream drops the copies).
 * The consumer works under a Redis lock per portal (replicas never update one portal at once), with
 * the installer's check-then-add batches in the portal's shared rate budget, and records the
 * version once every step is done. A failure is tried again.
 */
export function addAppUpdates(runtime: Runtime, client: () => Bitrix24Client, installer: Installer): void {
  runtime.addConsumer<PortalAppUpdate>({
    spec: {
      stream: 'PORTAL',
      durable: 'gateway-app-update',
      filterSubject: subjects.portalAppUpdate,
      ackWaitMs: 60_000,
      maxAckPending: 20,
    },
    concurrency: 2,
    handler: async (ctx: MessageContext<PortalAppUpdate>): Promise<Outcome> => {
      const { memberId, reason } = ctx.data;
      const portal = await client().store.get(memberId);
      if (!portal || portal.status !== 'installed') {
        ctx.log.info({ memberId, reason }, 'app update for a portal that is not installed: nothing to do');
        return ack();
      }
      if (reason === 'start' && (portal.appVersion ?? 0) >= APP_VERSION) return ack();
      const held = await runtime.locks.hold(`b24:app-update:${memberId}`, LOCK_MS, () =>
        installer.run(memberId, portal.userId ?? 1, { recheck: true }),
      );
      if (!held.ran) return defer('another process is bringing this portal up to date', 2000);
      const failed = held.value.filter((s) => s.state !== 'done');
      if (failed.length > 0)
        return retry(`registrations failed: ${failed.map((s) => `${s.key} (${s.errorCode})`).join(', ')}`);
      ctx.log.info(
        {
          memberId,
          reason,
          appVersion: APP_VERSION,
          b24Version: ctx.data.version,
          b24PreviousVersion: ctx.data.previousVersion,
        },
        'portal brought up to date with the app',
      );
      return ack();
    },
  });

  let checked = false;
  runtime.every('app-update-check', START_CHECK_MS, async () => {
    if (checked) return;
    const behind = await client().store.behind(APP_VERSION);
    if (behind.length > 0)
      await enqueue(
        runtime.db,
        behind.map((memberId) => ({
          subject: subjects.portalAppUpdate,
          msgId: `app-update:${memberId}:start:${APP_VERSION}`,
          payload: {
            memberId,
            reason: 'start',
            version: null,
            previousVersion: null,
            at: new Date().toISOString(),
          } satisfies PortalAppUpdate,
        })),
      );
    checked = true;
    runtime.wakeOutbox();
    if (behind.length > 0)
      runtime.log.info(
        { portals: behind.length, appVersion: APP_VERSION },
        'portals behind the app: updates queued',
      );
  });
}
