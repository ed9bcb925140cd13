import { createHash } from 'node:crypto';

/**
 * Which of the deployment's egress addresses an hh.ru account calls from (HH_EGRESS_ADDRESSES).
 * hh.ru counts its request limit per client address (docs/reference/hh-api.md#limits), so with
 * several addresses each account keeps to one of them and each address has a budget of its own.
 *
 * Rendezvous (highest random weight) hashing: every address scores the account by a hash of
 * (address, account id) and the highest score wins. The choice needs no shared state, so every
 * replica makes the same one; accounts spread evenly over the addresses; and adding an address
 * moves only the accounts it now wins (about 1/(n+1) of them), removing one moves only its own.
 */
export function egressFor(key: string, addresses: readonly string[]): string {
  let best: string | undefined;
  let bestScore = -1n;
  for (const address of addresses) {
    const score = createHash('sha256').update(address).update('\0').update(key).digest().readBigUInt64BE(0);
    if (score > bestScore || (score === bestScore && best !== undefined && address < best)) {
      best = address;
      bestScore = score;
    }
  }
  if (best === undefined) throw new Error('no egress addresses to choose from');
  return best;
}
