import type { Knex } from '@hhb24/common';

export const FEEDBACK_MAX = 4000;
export const CONTACT_MAX = 200;

/** «Обратная связь»: one portal user's message, kept per portal for the operator. */
export async function addFeedback(
  db: Knex,
  entry: { memberId: string; userId: number; message: string; contact: string | null },
): Promise<void> {
  await db('feedback').insert({
    member_id: entry.memberId,
    user_id: entry.userId,
    message: entry.message,
    contact: entry.contact,
  });
}
