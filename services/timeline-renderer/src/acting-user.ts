import {
  type ActingUserTokens,
  type Bitrix24Client,
  Bitrix24Error,
  type EntityType,
  phpQuery,
} from '@hhb24/common';

const WAIT_MS = 10_000;
/** Commands in one batch request (Bitrix24 takes 50). */
const BATCH_MAX = 50;

/** The user who clicked, as the portal says, and their own token for reads in their name. */
export interface ActingUser {
  userId: number;
  token: string;
}

/**
 * Who acted, in the portal's words: the access token the event carried for the acting user (kept
 * by the gateway, `ActingUserTokens`) is shown to the portal (`profile`), which names its owner.
 * `auth[user_id]` of the request is never used: anyone who can open the app holds the
 * application_token and can write any user id there. No token, or one the portal refuses
 * (expired, foreign, of another app): the user is unknown (null). A portal that does not answer
 * throws, so the click is tried again.
 */
export async function actingUser(
  client: Bitrix24Client,
  tokens: ActingUserTokens,
  memberId: string,
  ref: string | null | undefined,
): Promise<ActingUser | null> {
  const token = await tokens.take(memberId, ref);
  if (!token) return null;
  try {
    const profile = await client.callAs<{ ID?: unknown }>(
      memberId,
      token,
      'profile',
      {},
      { maxWaitMs: WAIT_MS },
    );
    const userId = Number(profile.ID);
    return Number.isInteger(userId) && userId > 0 ? { userId, token } : null;
  } catch (err) {
    if (err instanceof Bitrix24Error && !err.retryable) return null;
    throw err;
  }
}

/**
 * The leads and deals among `entities` this user may read, as the portal answers their own token
 * (`crm.lead.get` / `crm.deal.get`, batched): what the portal refuses them («Свои» rights, a
 * deleted entity) is left out. Keys are `type:id`.
 */
export async function readableBy(
  client: Bitrix24Client,
  memberId: string,
  user: ActingUser,
  entities: Array<{ type: EntityType; id: number }>,
): Promise<Set<string>> {
  const keys = [...new Set(entities.map((e) => `${e.type}:${e.id}`))];
  const readable = new Set<string>();
  for (let i = 0; i < keys.length; i += BATCH_MAX) {
    const chunk = keys.slice(i, i + BATCH_MAX);
    const cmd = Object.fromEntries(
      chunk.map((key, j) => {
        const [type, id] = key.split(':');
        return [`e${j}`, `crm.${type}.get?${phpQuery({ id: Number(id) })}`];
      }),
    );
    const answer = await client.callAs<{ result?: Record<string, unknown> | unknown[] }>(
      memberId,
      user.token,
      'batch',
      { halt: 0, cmd },
      { maxWaitMs: WAIT_MS },
    );
    const results = answer.result;
    chunk.forEach((key, j) => {
      const value = Array.isArray(results) ? results[j] : results?.[`e${j}`];
      if (value && typeof value === 'object') readable.add(key);
    });
  }
  return readable;
}
