import {
  type PortalUninstalled,
  type Runtime,
  ValidationError,
  ack,
  enqueue,
  rpc,
  subjects,
} from '@hhb24/common';
import type { Installer } from './install-steps.js';

/**
 * ONAPPUNINSTALL (already authenticated): the portal's row leaves service (or is erased when the
 * admin asked to delete the app's data, CLEAN=1), the install steps are forgotten (Bitrix removed
 * our placements, robots and handlers), and `portal.app.uninstalled` goes out in the same
 * transaction. Each service erases its own data from that event when `clean`; the gateway's own
 * consumer has hh-connector drop the hh.ru webhook subscription, retried until it answers
 * (Bitrix24 sends the event once).
 */
export async function recordUninstall(
  runtime: Runtime,
  installer: Installer,
  memberId: string,
  clean: boolean,
): Promise<void> {
  await runtime.db.transaction(async (trx) => {
    const row = (await trx('b24_portals').where({ member_id: memberId }).first('user_id')) as
      { user_id: number | null } | undefined;
    const payload: PortalUninstalled = {
      memberId,
      clean,
      installedBy: row?.user_id ?? null,
      at: new Date().toISOString(),
    };
    if (clean) await trx('b24_portals').where({ member_id: memberId }).delete();
    else
      await trx('b24_portals')
        .where({ member_id: memberId })
        .update({ status: 'uninstalled', updated_at: trx.fn.now() });
    await installer.forget(trx, memberId);
    await enqueue(trx, {
      subject: subjects.portalUninstalled,
      msgId: `uninstalled:${memberId}:${payload.at}`,
      payload,
    });
  });
  runtime.wakeOutbox();
  runtime.log.info({ memberId, clean }, 'app uninstalled from the portal');
}

function decodeUninstalled(value: unknown): PortalUninstalled {
  const v = value as Partial<PortalUninstalled>;
  if (!v || typeof v.memberId !== 'string' || !v.memberId || typeof v.clean !== 'boolean')
    throw new ValidationError('portal.app.uninstalled without memberId or clean');
  return {
    memberId: v.memberId,
    clean: v.clean,
    installedBy: Number.isInteger(v.installedBy) && Number(v.installedBy) > 0 ? Number(v.installedBy) : null,
    at: String(v.at ?? ''),
  };
}

/** The gateway's consumer of portal.app.uninstalled: «Выйти» on the portal's behalf (revoke, unsubscribe, stop). */
export function addUnsubscribeConsumer(runtime: Runtime): void {
  runtime.addConsumer<PortalUninstalled>({
    spec: {
      stream: 'PORTAL',
      durable: 'gateway-uninstalled',
      filterSubject: subjects.portalUninstalled,
      ackWaitMs: 30_000,
      maxAckPending: 20,
    },
    concurrency: 2,
    decode: decodeUninstalled,
    handler: async (ctx) => {
      // A failure (hh-connector away, hh.ru down) throws a retryable error: the runner tries again later.
      // In the name of the admin who installed the app (the portal's first user when that is not known).
      const view = await runtime.call(
        rpc.hhDisconnect,
        { memberId: ctx.data.memberId, userId: ctx.data.installedBy ?? 1 },
        { timeoutMs: 20_000 },
      );
      ctx.log.info(
        { memberId: ctx.data.memberId, status: view.status },
        'hh.ru connection of an uninstalled portal closed',
      );
      return ack();
    },
  });
}
