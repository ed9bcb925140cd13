/**
 * The work items hh-connector hands itself over JetStream (`hh.import.*`), and the checks of what
 * arrives from other services. A message that fails its check is dropped to the dead letters
 * with the reason.
 */
import { type HhImportRequested, type HhWebhookReceived, ValidationError } from '@hhb24/common';

/** One vacancy of an import run (`runId`) or of a reconciliation pass (`runId` null). */
export interface VacancyStep {
  memberId: string;
  accountId: string;
  vacancyId: string;
  runId: string | null;
}

/** One negotiation whose snapshot must be brought up to date. */
export interface NegotiationStep {
  memberId: string;
  accountId: string;
  negotiationId: string;
}

/** An hh.ru callback's body (docs/reference/hh-api.md#webhooks), as far as we rely on it. */
export interface HhCallback {
  id: string;
  action_type: string;
  user_id?: string;
  payload: { topic_id?: string; vacancy_id?: string; [k: string]: unknown };
}

function str(v: unknown, what: string, pattern = /^[\w.:-]{1,200}$/): string {
  if (typeof v !== 'string' || !pattern.test(v)) throw new ValidationError(`${what} is missing or malformed`);
  return v;
}

const object = (v: unknown, what: string): Record<string, unknown> => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ValidationError(`${what} is not an object`);
  return v as Record<string, unknown>;
};

export function decodeImportRequested(v: unknown): HhImportRequested {
  const o = object(v, 'hh.import.requested');
  const kind = o['kind'];
  if (kind !== 'initial' && kind !== 'resume' && kind !== 'reconcile')
    throw new ValidationError('kind must be initial, resume or reconcile');
  const by = o['requestedBy'];
  return {
    memberId: str(o['memberId'], 'memberId'),
    kind,
    requestedBy: typeof by === 'number' ? by : null,
    requestedAt: typeof o['requestedAt'] === 'string' ? o['requestedAt'] : new Date().toISOString(),
  };
}

export function decodeVacancyStep(v: unknown): VacancyStep {
  const o = object(v, 'hh.import.vacancy');
  return {
    memberId: str(o['memberId'], 'memberId'),
    accountId: str(o['accountId'], 'accountId'),
    vacancyId: str(o['vacancyId'], 'vacancyId'),
    runId: o['runId'] === null ? null : str(o['runId'], 'runId'),
  };
}

export function decodeNegotiationStep(v: unknown): NegotiationStep {
  const o = object(v, 'hh.import.negotiation');
  return {
    memberId: str(o['memberId'], 'memberId'),
    accountId: str(o['accountId'], 'accountId'),
    negotiationId: str(o['negotiationId'], 'negotiationId'),
  };
}

export function decodeWebhook(v: unknown): HhWebhookReceived & { body: HhCallback } {
  const o = object(v, 'hh.webhook.received');
  const body = object(o['body'], 'the callback body');
  const payload = object(body['payload'], 'the callback payload');
  return {
    accountId: str(o['accountId'], 'accountId'),
    receivedAt: typeof o['receivedAt'] === 'string' ? o['receivedAt'] : new Date().toISOString(),
    body: {
      id: str(body['id'], 'the callback id'),
      action_type: str(body['action_type'], 'action_type', /^[A-Z_]{1,80}$/),
      user_id: typeof body['user_id'] === 'string' ? body['user_id'] : undefined,
      payload: payload,
    },
  };
}
