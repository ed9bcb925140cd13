import t from 'tap';
import { Keyring } from '@hhb24/common';

const k1 = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
const k2 = `k2:${Buffer.alloc(32, 2).toString('base64')}`;

t.test('sealed tokens open with the key that sealed them, after a rotation too', async (t) => {
  const before = new Keyring(k1);
  const sealed = before.seal('access-token-Ж');
  t.notMatch(sealed, /access-token/);
  t.equal(before.open(sealed), 'access-token-Ж');
  t.not(before.seal('x'), before.seal('x'), 'a fresh IV each time');

  const rotated = new Keyring(`${k2},${k1}`);
  t.equal(rotated.open(sealed), 'access-token-Ж', 'the old key still opens');
  t.ok(rotated.isStale(sealed), 'and says the value should be re-sealed');
  const resealed = rotated.seal(rotated.open(sealed));
  t.notOk(rotated.isStale(resealed));
  t.throws(() => new Keyring(k1).open(resealed), /unknown key \(k2\)/, 'a dropped key cannot open');
});

t.test('tampering is detected', async (t) => {
  const ring = new Keyring(k1);
  const parts = ring.seal('token').split('.');
  parts[4] = Buffer.from('tampered').toString('base64url');
  t.throws(() => ring.open(parts.join('.')));
  t.throws(() => new Keyring('k1:short'), /32-byte key/);
});
