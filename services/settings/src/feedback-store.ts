import type { Knex } from '@hhb24/common';

export const FEEDBACK_MAX = 4000;
export const CONTACT_MAX = 200;

/**
 * What goes with a message so that its reader can act on it: the app's version and the portal's
 * state when it was written. No secrets and nothing personal beyond the sender.
 */
export interface FeedbackContext {
  domain: string | null;
  /** The release, and the version of the registrations the portal has (null: not complete or not known). */
  app: { release: string; registrations: number | null };
  /** null: the service that knows did not answer in time. */
  hh: { status: string } | null;
  import: { state: string; found: number; loaded: number; imported: number; failed: number } | null;
  /** Writes the portal refused (kept with what to fix). */
  refusedWrites: number | null;
}

/** A message as it is sent to the operator's channels. */
export interface FeedbackLetter {
  id: string;
  memberId: string;
  userId: number;
  userName: string | null;
  message: string;
  contact: string | null;
  createdAt: Date;
  context: FeedbackContext;
}

/** A message some configured channel has not taken yet. */
export interface OpenFeedback extends FeedbackLetter {
  deliveredVia: string[];
  attempts: number;
}

interface Row {
  id: string;
  member_id: string;
  user_id: number;
  user_name: string | null;
  message: string;
  contact: string | null;
  created_at: Date;
  context: FeedbackContext;
  delivered_via: string[];
  attempts: number;
}

const toOpen = (r: Row): OpenFeedback => ({
  id: String(r.id),
  memberId: r.member_id,
  userId: r.user_id,
  userName: r.user_name,
  message: r.message,
  contact: r.contact,
  createdAt: r.created_at,
  context: r.context,
  deliveredVia: r.delivered_via,
  attempts: r.attempts,
});

/**
 * «Обратная связь»: one portal user's message, kept until the operator's channels took it. It is
 * leased for `leaseMs` (no other process sends it meanwhile): the sender's own attempt runs first.
 */
export async function addFeedback(
  db: Knex,
  entry: {
    memberId: string;
    userId: number;
    userName: string | null;
    message: string;
    contact: string | null;
    context: FeedbackContext;
  },
  leaseMs: number,
): Promise<OpenFeedback> {
  const [row] = (await db('feedback')
    .insert({
      member_id: entry.memberId,
      user_id: entry.userId,
      user_name: entry.userName,
      message: entry.message,
      contact: entry.contact,
      context: JSON.stringify(entry.context),
      next_attempt_at: new Date(Date.now() + leaseMs),
    })
    .returning('*')) as Row[];
  return toOpen(row!);
}

/**
 * Open messages whose next attempt is due, each leased for `leaseMs` in the same statement, so
 * that replicas never send one message at once.
 */
export async function claimDueFeedback(db: Knex, limit: number, leaseMs: number): Promise<OpenFeedback[]> {
  const rows = (await db('feedback')
    .whereIn(
      'id',
      db('feedback')
        .select('id')
        .whereNull('done_at')
        .where('next_attempt_at', '<=', db.fn.now())
        .orderBy('next_attempt_at')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .update({ next_attempt_at: new Date(Date.now() + leaseMs) })
    .returning('*')) as Row[];
  return rows.map(toOpen);
}

/**
 * The outcome of an attempt: the channels that took the message now, and, if some are left, when
 * to try them again and why they failed.
 */
export async function recordAttempt(
  db: Knex,
  id: string,
  outcome: { tookIt: string[]; done: boolean; nextAttemptAt: Date; error: string | null },
): Promise<void> {
  await db('feedback')
    .where({ id })
    .update({
      attempts: db.raw('attempts + 1'),
      delivered_via: db.raw('array(select distinct unnest(delivered_via || ?::text[]))', [outcome.tookIt]),
      delivered_at:
        outcome.tookIt.length > 0 ? db.raw('coalesce(delivered_at, now())') : db.ref('delivered_at'),
      done_at: outcome.done ? db.fn.now() : null,
      next_attempt_at: outcome.nextAttemptAt,
      last_error: outcome.error,
    });
}

/** The portal's messages no person has received yet, for «Обратная связь» (oldest first). */
export async function undeliveredFeedback(
  db: Knex,
  memberId: string,
): Promise<Array<{ createdAt: Date; attempts: number; nextAttemptAt: Date }>> {
  const rows: Array<{ created_at: Date; attempts: number; next_attempt_at: Date }> = await db('feedback')
    .where({ member_id: memberId })
    .whereNull('delivered_at')
    .orderBy('created_at')
    .select('created_at', 'attempts', 'next_attempt_at');
  return rows.map((r) => ({
    createdAt: r.created_at,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
  }));
}

/** How many messages no channel has taken yet, over all portals (the operator's gauge). */
export async function countUndelivered(db: Knex): Promise<number> {
  const row = (await db('feedback').whereNull('delivered_at').count({ n: '*' }).first()) as { n: string };
  return Number(row.n);
}
