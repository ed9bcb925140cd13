import {
  type Bitrix24Client,
  Bitrix24Error,
  type Logger,
  type MessageContext,
  type Outcome,
  type PortalUninstallClaimed,
  type PortalUninstalled,
  Refusal,
  type Runtime,
  ack,
  defer,
  enqueue,
  recordPortalUninstall,
  rpc,
  subjects,
} from '@hhb24/common';
import type { Installer } from './install-steps.js';

/**
 * What Bitrix24 says when asked whether the app is still on the portal:
 * - `removed`: the app's tokens no longer work there: the portal answers `APPLICATION_NOT_FOUND`,
 *   or the OAuth server refuses to renew them with `PAYMENT_REQUIRED`;
 * - `installed`: `app.info` answered, so the uninstall call was forged (or the app was installed
 *   again since);
 * - `unknown`: the portal did not answer (down, slow, over its limit): ask again later;
 * - `unconfirmed`: another refusal, which does not say the app is gone (a refresh token that
 *   expired, another error): nothing is done, nothing is retried;
 * - `absent`: no record of the portal is left, or it is already uninstalled: nothing to do.
 */
export type UninstallVerdict = 'removed' | 'installed' | 'unknown' | 'unconfirmed' | 'absent';

/** How long the route waits for the portal before it leaves the question to the retrying consumer. */
const INLINE_CHECK_MS = 5_000;
/** Between two questions to a portal that did not answer: from 2 s, doubling, at most 5 minutes. */
const RECHECK_FIRST_MS = 2_000;
const RECHECK_MAX_MS = 5 * 60_000;

/** Asks Bitrix24 (not the caller) whether the app is gone from the portal. */
export async function askBitrix24(
  client: Bitrix24Client,
  memberId: string,
  maxWaitMs: number,
): Promise<{ verdict: UninstallVerdict; said: string }> {
  const portal = await client.store.get(memberId);
  if (!portal || portal.status === 'uninstalled') return { verdict: 'absent', said: '' };
  try {
    await client.appInfo(memberId, { maxWaitMs });
    return { verdict: 'installed', said: 'app.info answered' };
  } catch (err) {
    if (!(err instanceof Bitrix24Error)) return { verdict: 'unknown', said: String(err) };
    const said = `${err.details.method}: ${err.b24Error || err.code}`;
    if (err.b24Error === 'APPLICATION_NOT_FOUND') return { verdict: 'removed', said };
    if (err.code === 'b24_reinstall_required' && err.b24Error === 'PAYMENT_REQUIRED')
      return { verdict: 'removed', said };
    return { verdict: err.retryable ? 'unknown' : 'unconfirmed', said };
  }
}

export interface UninstallCall {
  memberId: string;
  clean: boolean;
  /** The caller's address as the gateway saw it, and X-Forwarded-For as sent. */
  from: string;
}

/**
 * ONAPPUNINSTALL with the portal's application_token. That token passes through every user's
 * browser (the iframe POST of a page load), so it proves nothing on its own: the portal is asked
 * first (at most a few seconds here), and only an app the portal no longer knows is uninstalled.
 * A portal that does not answer in time is asked again by the gateway's consumer of
 * `portal.uninstall.claimed` until it does; nothing is erased on doubt.
 */
export async function onUninstallCall(
  runtime: Runtime,
  client: Bitrix24Client,
  installer: Installer,
  call: UninstallCall,
): Promise<{ status: number; body: Record<string, string> }> {
  const timeout = new Promise<{ verdict: UninstallVerdict; said: string }>((resolve) =>
    setTimeout(
      () => resolve({ verdict: 'unknown', said: `no answer within ${INLINE_CHECK_MS} ms` }),
      INLINE_CHECK_MS,
    ).unref(),
  );
  const asked = askBitrix24(client, call.memberId, INLINE_CHECK_MS).catch((err: unknown) => ({
    verdict: 'unknown' as const,
    said: String(err),
  }));
  const { verdict, said } = await Promise.race([asked, timeout]);
  const log = runtime.log;
  switch (verdict) {
    case 'removed':
      await recordUninstall(runtime, installer, call.memberId, call.clean);
      return { status: 200, body: { result: 'ok' } };
    case 'absent':
      return { status: 200, body: { result: 'ok' } };
    case 'unknown': {
      const claim: PortalUninstallClaimed = { ...call, at: new Date().toISOString() };
      await enqueue(runtime.db, {
        subject: subjects.portalUninstallClaimed,
        msgId: `uninstall-claimed:${call.memberId}:${claim.at}`,
        payload: claim,
      });
      runtime.wakeOutbox();
      log.info(
        { memberId: call.memberId, clean: call.clean, from: call.from, said },
        'ONAPPUNINSTALL: the portal did not confirm it yet; it will be asked again, nothing is erased before',
      );
      return { status: 202, body: { result: 'pending' } };
    }
    default: {
      logRefused(log, call, verdict, said);
      const refusal = new Refusal('b24_uninstall_unconfirmed');
      return { status: refusal.status, body: { error: refusal.code, message: refusal.texts.en } };
    }
  }
}

function logRefused(log: Logger, call: UninstallCall, verdict: UninstallVerdict, said: string): void {
  log.warn(
    { memberId: call.memberId, clean: call.clean, from: call.from, verdict, said },
    verdict === 'installed'
      ? 'ONAPPUNINSTALL refused: the portal says the app is installed (a forged call, or a reinstall since); nothing changed'
      : 'ONAPPUNINSTALL refused: the portal did not say the app is gone; nothing changed',
  );
}

/** The gateway's consumer of portal.uninstall.claimed: asks the portal again until it can tell. */
export function addUninstallCheckConsumer(
  runtime: Runtime,
  client: () => Bitrix24Client,
  installer: Installer,
): void {
  runtime.addConsumer<PortalUninstallClaimed>({
    spec: {
      stream: 'PORTAL',
      durable: 'gateway-uninstall-check',
      filterSubject: subjects.portalUninstallClaimed,
      ackWaitMs: 60_000,
      maxAckPending: 20,
    },
    concurrency: 2,
    handler: async (ctx: MessageContext<PortalUninstallClaimed>): Promise<Outcome> => {
      const call = ctx.data;
      const { verdict, said } = await askBitrix24(client(), call.memberId, 10_000);
      if (verdict === 'removed') await recordUninstall(runtime, installer, call.memberId, call.clean);
      else if (verdict === 'unknown') {
        const delay = Math.min(RECHECK_MAX_MS, RECHECK_FIRST_MS * 2 ** Math.min(20, ctx.deliveryCount - 1));
        return defer(`the portal did not say whether the app is gone (${said})`, delay);
      } else if (verdict !== 'absent') logRefused(ctx.log, call, verdict, said);
      return ack();
    },
  });
}

/**
 * ONAPPUNINSTALL, confirmed with Bitrix24 (`askBitrix24` said `removed`): the portal's row leaves
 * service (or is erased when the admin asked to delete the app's data, CLEAN=1), the install steps
 * are forgotten (Bitrix removed our placements, robots and handlers), and `portal.app.uninstalled`
 * goes out in the same transaction. Each service erases its own data from that event when `clean`; the gateway's own
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
    const row = await trx('b24_portals')
      .where({ member_id: memberId })
      .first<{ user_id: number | null } | undefined>('user_id');
    const payload: PortalUninstalled = {
      memberId,
      clean,
      installedBy: row?.user_id && row.user_id > 0 ? row.user_id : null,
      at: new Date().toISOString(),
    };
    if (clean) await trx('b24_portals').where({ member_id: memberId }).delete();
    else
      await trx('b24_portals')
        .where({ member_id: memberId })
        .update({ status: 'uninstalled', updated_at: trx.fn.now() });
    await installer.forget(trx, memberId);
    // Every service erases its rows from this (at once with CLEAN, else after the retention) and
    // skips the portal's messages published before a reinstall.
    await recordPortalUninstall(trx, memberId, clean, payload.at);
    await enqueue(trx, {
      subject: subjects.portalUninstalled,
      msgId: `uninstalled:${memberId}:${payload.at}`,
      payload,
    });
  });
  runtime.wakeOutbox();
  runtime.log.info({ memberId, clean }, 'app uninstalled from the portal');
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
