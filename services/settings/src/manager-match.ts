import type { HhManagerView } from '@hhb24/common';
import type { UserCandidate } from './portal-data.js';

/** How a portal user was proposed for an hh.ru manager. */
export type MatchedBy = 'email' | 'name';

const norm = (s: string | null | undefined) =>
  (s ?? '').trim().toLowerCase().replace(/ё/g, 'е').replace(/\s+/g, ' ');

/**
 * The portal user proposed for an hh.ru manager: the one with the same e-mail, else the one with
 * the same first and last name (in either order; the middle name is not compared). Two users
 * that fit equally propose nobody: a wrong guess would send responses to the wrong person.
 */
export function proposeUser(
  manager: Pick<HhManagerView, 'email' | 'firstName' | 'lastName'>,
  users: readonly UserCandidate[],
): { userId: number; by: MatchedBy } | null {
  const email = norm(manager.email);
  if (email) {
    const same = users.filter((u) => norm(u.email) === email);
    if (same.length === 1) return { userId: same[0]!.id, by: 'email' };
  }
  const first = norm(manager.firstName);
  const last = norm(manager.lastName);
  if (!first || !last) return null;
  const same = users.filter(
    (u) =>
      (norm(u.firstName) === first && norm(u.lastName) === last) ||
      (norm(u.firstName) === last && norm(u.lastName) === first),
  );
  return same.length === 1 ? { userId: same[0]!.id, by: 'name' } : null;
}
