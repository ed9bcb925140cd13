import { randomUUID } from 'node:crypto';
import { AppError, type EntityType, type HhActRequest, type HhStateView, type HhTarget } from '@hhb24/common';
import {
  type HhAccount,
  type HhClient,
  HhError,
  HhLoginRequired,
  type HhNegotiation,
  type HhNegotiationAction,
} from '../hh/index.js';
import type { SyncEngine } from './engine.js';
import type { SyncStore } from './store.js';

const opts = { maxWaitMs: 10_000 };

export interface ActionDeps {
  hh: () => HhClient;
  store: SyncStore;
  engine: () => SyncEngine;
}

/**
 * What a recruiter asks of hh.ru from the CRM (the robots, the two-way status): read the
 * negotiation behind a lead or deal again, or move it with one of the actions hh.ru offers for it.
 * Each refusal has its own code, so the caller can say what to do: `entity_not_ours`,
 * `hh_not_connected`, `hh_login_required`, `hh_action_unavailable`, or hh.ru's own error.
 */
export class Actions {
  constructor(private readonly d: ActionDeps) {}

  async refresh(req: { memberId: string; entityType: EntityType; entityId: number }): Promise<HhStateView> {
    const { account, negotiationId, before } = await this.locate(req);
    const item = await this.read(account, negotiationId);
    await this.d.engine().storeFresh(account, item, `refresh:${randomUUID()}`);
    return {
      negotiationId,
      state: { id: item.employer_state.id, name: item.employer_state.name },
      changed: before !== item.employer_state.id,
    };
  }

  async act(req: HhActRequest): Promise<HhStateView> {
    const { account, negotiationId } = await this.locate(req);
    // The negotiation as hh.ru has it now: its state and the actions it allows from there.
    const item = await this.read(account, negotiationId);
    if (reaches(item.employer_state.id, req.target)) {
      await this.d.engine().storeFresh(account, item, `act:${randomUUID()}`);
      return {
        negotiationId,
        state: { id: item.employer_state.id, name: item.employer_state.name },
        changed: false,
      };
    }
    const action = (item.actions ?? []).find(
      (a) => a.enabled && reaches(a.resulting_employer_state?.id ?? a.id, req.target),
    );
    if (!action) {
      const allowed = (item.actions ?? []).filter((a) => a.enabled).map((a) => a.name);
      throw new AppError(
        'hh_action_unavailable',
        `hh.ru does not allow this move from «${item.employer_state.name}»; allowed: ${allowed.join(', ') || 'none'}`,
        {
          status: 409,
          details: { from: item.employer_state.name, allowed },
        },
      );
    }
    const message = req.message?.trim() || undefined;
    if (!message && needsMessage(action))
      throw new AppError('hh_message_required', `hh.ru requires a message for «${action.name}»`, {
        status: 400,
      });
    await this.guard(() => this.d.hh().account(account.id).act({ url: action.url }, { message }, opts));
    const after = await this.read(account, negotiationId);
    await this.d.engine().storeFresh(account, after, `act:${randomUUID()}`);
    return {
      negotiationId,
      state: { id: after.employer_state.id, name: after.employer_state.name },
      changed: after.employer_state.id !== item.employer_state.id,
    };
  }

  /** The negotiation behind the entity and an account that may still act on it. */
  private async locate(req: {
    memberId: string;
    entityType: EntityType;
    entityId: number;
  }): Promise<{ account: HhAccount; negotiationId: string; before: string | null }> {
    const row = await this.d.store.byEntity(req.memberId, req.entityType, req.entityId);
    if (!row)
      throw new AppError(
        'entity_not_ours',
        `${req.entityType} ${req.entityId} was not made from an hh.ru response`,
        { status: 404 },
      );
    const account = await this.d.hh().accounts.current(req.memberId);
    if (!account)
      throw new AppError('hh_not_connected', 'hh.ru is not connected for this portal', { status: 409 });
    if (account.status !== 'active')
      throw new AppError('hh_login_required', 'hh.ru revoked the access: a new login is needed', {
        status: 409,
      });
    return { account, negotiationId: row.negotiationId, before: row.snapshot?.state.id ?? null };
  }

  private read(account: HhAccount, negotiationId: string): Promise<HhNegotiation> {
    return this.guard(async () => {
      const item = await this.d.hh().account(account.id).negotiation(negotiationId, opts);
      if (!item.vacancy)
        throw new AppError('hh_not_found', 'hh.ru returned the negotiation without its vacancy', {
          status: 404,
        });
      return item;
    });
  }

  /** hh.ru's refusals keep hh.ru's code; a lost login is said as such. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof HhLoginRequired)
        throw new AppError('hh_login_required', 'hh.ru revoked the access: a new login is needed', {
          status: 409,
        });
      if (err instanceof HhError && !err.retryable)
        throw new AppError(err.code, err.message, {
          status: err.status >= 400 && err.status < 500 ? err.status : 502,
        });
      throw err;
    }
  }
}

/** Does an employer state id count as the target (hh.ru's refusals all start with `discard`)? */
function reaches(stateId: string, target: HhTarget): boolean {
  return target === 'discard' ? stateId.startsWith('discard') : stateId === target;
}

function needsMessage(action: HhNegotiationAction): boolean {
  return (action.arguments ?? []).some((a) => a.id === 'message' && a.required);
}
