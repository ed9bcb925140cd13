import t from 'tap';
import { Keyring, type SealContext } from '@hhb24/common';
import { sealV1 } from '@hhb24/common/testing';

const k1 = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
const k2 = `k2:${Buffer.alloc(32, 2).toString('base64')}`;
const here: SealContext = { table: 'b24_portals', column: 'access_token_sealed', owner: 'portal-a' };

t.test('sealed tokens open with the key that sealed them, after a rotation too', async (t) => {
  const before = new Keyring(k1);
  const sealed = before.seal('access-token-Ж', here);
  t.notMatch(sealed, /access-token/);
  t.match(sealed, /^v2\.k1\./);
  t.equal(before.open(sealed, here), 'access-token-Ж');
  t.not(before.seal('x', here), before.seal('x', here), 'a fresh IV each time');

  const rotated = new Keyring(`${k2},${k1}`);
  t.equal(rotated.open(sealed, here), 'access-token-Ж', 'the old key still opens');
  t.ok(rotated.isStale(sealed), 'and says the value should be re-sealed');
  const resealed = rotated.seal(rotated.open(sealed, here), here);
  t.notOk(rotated.isStale(resealed));
  t.throws(() => new Keyring(k1).open(resealed, here), /unknown key \(k2\)/, 'a dropped key cannot open');
});

t.test('a value opens only where it was sealed: its table, column and owner', async (t) => {
  const ring = new Keyring(k1);
  const sealed = ring.seal('portal-a-token', here);
  for (const [what, elsewhere] of [
    ['another portal’s row', { ...here, owner: 'portal-b' }],
    ['another column of the same row', { ...here, column: 'refresh_token_sealed' }],
    ['another table', { ...here, table: 'hh_accounts' }],
  ] as const) {
    const err = t.throws(() => ring.open(sealed, elsewhere), what) as Error & { code?: string };
    t.equal(err.code, 'secret_unreadable');
    t.notMatch(err.message, /portal-a-token/, 'the message never carries the value');
  }
  // The owner is not confused by a separator inside a part.
  const split = ring.seal('x', { table: 't', column: 'c', owner: 'a|b' });
  t.throws(() => ring.open(split, { table: 't|c', column: 'a', owner: 'b' }));
});

t.test('values sealed before they were bound (v1) still open, anywhere, and say so', async (t) => {
  const ring = new Keyring(k1);
  const legacy = sealV1(k1, 'old-token');
  t.ok(ring.isLegacy(legacy));
  t.ok(ring.isStale(legacy), 'a legacy value is stale even on the current key');
  t.equal(ring.open(legacy, here), 'old-token');
  t.equal(ring.open(legacy, { ...here, owner: 'portal-b' }), 'old-token', 'that is the hole binding closes');
  const bound = ring.seal(ring.open(legacy, here), here);
  t.notOk(ring.isLegacy(bound));
  t.throws(() => ring.open(bound, { ...here, owner: 'portal-b' }), 'once sealed again, it is bound');
});

t.test('tampering is detected', async (t) => {
  const ring = new Keyring(k1);
  const parts = ring.seal('token', here).split('.');
  parts[4] = Buffer.from('tampered').toString('base64url');
  t.throws(() => ring.open(parts.join('.'), here));
  const legacy = sealV1(k1, 'token').split('.');
  legacy[0] = 'v2';
  t.throws(() => ring.open(legacy.join('.'), here), 'a v1 value relabelled v2 does not open');
  const bound = ring.seal('token', here).split('.');
  bound[0] = 'v1';
  t.throws(
    () => ring.open(bound.join('.'), { ...here, owner: 'portal-b' }),
    'nor a bound value relabelled v1 to escape its place (the tag covers the place)',
  );
  t.throws(() => new Keyring('k1:short'), /32-byte key/);
});
