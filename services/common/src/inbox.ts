import type { Knex } from 'knex';

/**
 * Consumer-side dedupe: call inside the transaction that commits the message's effect. The first
 * delivery of a message id claims it; a redelivery (or a republished outbox row outside JetStream's
 * duplicate window) finds the claim and should be acknowledged without doing the work again.
 */
export async function claimInbox(trx: Knex.Transaction, consumer: string, msgId: string): Promise<boolean> {
  const rows = await trx('inbox')
    .insert({ consumer, msg_id: msgId })
    .onConflict(['consumer', 'msg_id'])
    .ignore()
    .returning('msg_id');
  return rows.length > 0;
}

/** Claims older than the longest redelivery horizon are useless; stream max age is a week. */
export async function pruneInbox(db: Knex, olderThanDays = 8): Promise<number> {
  return db('inbox')
    .where('processed_at', '<', db.raw(`now() - make_interval(days => ?)`, [olderThanDays]))
    .delete();
}
