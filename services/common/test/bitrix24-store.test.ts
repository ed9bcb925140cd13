import t from 'tap';
import {
  Bitrix24PortalStore,
  Keyring,
  ValidationError,
  commonMigrations,
  createDb,
  runMigrations,
} from '@hhb24/common';
import { createTestEnv, sealV1 } from '@hhb24/common/testing';

const install = {
  memberId: '4c1a0e9d8b7f6a5e4d3c2b1a00ffeedd',
  domain: 'acme.bitrix24.ru',
  clientEndpoint: 'https://acme.bitrix24.ru/rest/',
  serverEndpoint: 'https://oauth.bitrix24.tech/rest/',
  accessToken: 'access-token-1',
  refreshToken: 'refresh-token-1',
  expiresIn: 3600,
  applicationToken: '51856fefc120afa4b628cc82d3935cce',
  scope: 'crm,placement bizproc',
  language: 'ru',
  userId: 1,
};

t.test(
  'the portal store: sealed tokens, checked input, application_token check, compare-and-swap',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const c = env.config;
    const db = createDb({
      url: c.DATABASE_URL,
      schema: c.DATABASE_SCHEMA,
      poolMax: 2,
      applicationName: 'store-test',
    });
    t.teardown(() => db.destroy());
    await runMigrations(db, c.DATABASE_SCHEMA, [commonMigrations]);
    const store = new Bitrix24PortalStore(db, new Keyring(c.TOKEN_ENCRYPTION_KEYS));

    const saved = await store.upsertFromInstall(install);
    t.match(saved, {
      memberId: install.memberId,
      accessToken: 'access-token-1',
      refreshToken: 'refresh-token-1',
      version: 1,
      status: 'installed',
      scope: ['crm', 'placement', 'bizproc'],
      userId: 1,
    });
    t.ok(Math.abs(saved.expiresAt.getTime() - Date.now() - 3600_000) < 5000, 'expiry from expires_in');
    const raw = JSON.stringify(await db('b24_portals').first());
    for (const secret of ['access-token-1', 'refresh-token-1', install.applicationToken])
      t.notOk(raw.includes(secret), `${secret} is not stored in clear`);

    t.equal(await store.verifyApplicationToken(install.memberId, install.applicationToken), true);
    t.equal(
      await store.verifyApplicationToken(install.memberId, `${install.applicationToken.slice(0, -1)}0`),
      false,
      'one character off',
    );
    t.equal(
      await store.verifyApplicationToken('no-such-portal', install.applicationToken),
      false,
      'an unknown portal',
    );
    t.equal(await store.verifyApplicationToken(install.memberId, ''), false);

    const rejected = async (patch: Partial<typeof install>, field: string) => {
      const err = await store
        .upsertFromInstall({ ...install, memberId: 'other', ...patch })
        .catch((e: unknown) => e);
      t.ok(
        err instanceof ValidationError && (err.details as { field: string }).field === field,
        `${field} is checked (${(err as Error).message})`,
      );
    };
    await rejected({ memberId: 'bad member id' }, 'member_id');
    await rejected({ clientEndpoint: 'javascript:alert(1)' }, 'client_endpoint');
    await rejected({ clientEndpoint: 'https://acme.bitrix24.ru/' }, 'client_endpoint');
    await rejected({ serverEndpoint: 'https://user:pw@oauth.bitrix.info/rest/' }, 'server_endpoint');
    await rejected({ accessToken: '' }, 'access_token');
    await rejected({ expiresIn: 0 }, 'expires_in');
    t.equal(await store.get('other'), null, 'nothing stored for refused installs');

    const swapped = await store.swapTokens(install.memberId, 1, {
      accessToken: 'access-token-2',
      refreshToken: 'refresh-token-2',
      expiresAt: new Date(Date.now() + 3600_000),
    });
    t.match(swapped, { accessToken: 'access-token-2', version: 2 });
    t.equal(
      await store.swapTokens(install.memberId, 1, {
        accessToken: 'late',
        refreshToken: 'late',
        expiresAt: new Date(),
      }),
      null,
      'a write based on an old read is refused',
    );
    t.equal((await store.get(install.memberId))!.accessToken, 'access-token-2');

    await store.setStatus(install.memberId, 'uninstalled');
    t.equal(
      await store.verifyApplicationToken(install.memberId, install.applicationToken),
      false,
      'an uninstalled portal’s calls are refused',
    );
    const again = await store.upsertFromInstall({
      ...install,
      applicationToken: 'ffffffffffffffffffffffffffffffff',
    });
    t.match(
      again,
      { status: 'installed', version: 3, accessToken: 'access-token-1' },
      'a reinstall replaces the tokens and moves the version on',
    );
    t.equal(
      await store.verifyApplicationToken(install.memberId, install.applicationToken),
      false,
      'the old application_token no longer passes',
    );
  },
);

t.test(
  'a portal’s sealed tokens open only in its own row; tokens sealed before binding open once and are bound',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const c = env.config;
    const db = createDb({
      url: c.DATABASE_URL,
      schema: c.DATABASE_SCHEMA,
      poolMax: 2,
      applicationName: 'store-test',
    });
    t.teardown(() => db.destroy());
    await runMigrations(db, c.DATABASE_SCHEMA, [commonMigrations]);
    const store = new Bitrix24PortalStore(db, new Keyring(c.TOKEN_ENCRYPTION_KEYS));
    const victim = await store.upsertFromInstall(install);
    const attacker = await store.upsertFromInstall({
      ...install,
      memberId: 'attacker-portal',
      domain: 'evil.bitrix24.ru',
      clientEndpoint: 'https://evil.bitrix24.ru/rest/',
      accessToken: 'attacker-access',
      refreshToken: 'attacker-refresh',
    });
    t.equal(attacker.accessToken, 'attacker-access');

    // Someone who can write the table moves the victim's sealed tokens into the attacker's row.
    const stolen = (await db('b24_portals').where({ member_id: victim.memberId }).first()) as Record<
      string,
      string
    >;
    await db('b24_portals').where({ member_id: 'attacker-portal' }).update({
      access_token_sealed: stolen['access_token_sealed'],
      refresh_token_sealed: stolen['refresh_token_sealed'],
    });
    await t.rejects(
      store.get('attacker-portal'),
      { code: 'secret_unreadable', message: /b24_portals\.access_token_sealed of attacker-portal/ },
      'they do not open there: nothing is called with the victim’s tokens',
    );
    // Nor does one column's value open in the other column of the same row.
    await db('b24_portals').where({ member_id: victim.memberId }).update({
      refresh_token_sealed: stolen['access_token_sealed'],
    });
    await t.rejects(store.get(victim.memberId), { code: 'secret_unreadable' });

    // A row as the release before binding left it: both tokens sealed without their place.
    await db('b24_portals')
      .where({ member_id: victim.memberId })
      .update({
        access_token_sealed: sealV1(c.TOKEN_ENCRYPTION_KEYS, 'legacy-access'),
        refresh_token_sealed: sealV1(c.TOKEN_ENCRYPTION_KEYS, 'legacy-refresh'),
      });
    t.match(
      await store.get(victim.memberId),
      { accessToken: 'legacy-access', refreshToken: 'legacy-refresh' },
      'a legacy row still opens',
    );
    const upgraded = (await db('b24_portals').where({ member_id: victim.memberId }).first()) as Record<
      string,
      string
    >;
    t.match(upgraded['access_token_sealed'], /^v2\./, 'and is sealed again, bound, right away');
    t.match(upgraded['refresh_token_sealed'], /^v2\./);
    t.match(await store.get(victim.memberId), {
      accessToken: 'legacy-access',
      refreshToken: 'legacy-refresh',
    });
    await db('b24_portals').where({ member_id: 'attacker-portal' }).update({
      access_token_sealed: upgraded['access_token_sealed'],
      refresh_token_sealed: upgraded['refresh_token_sealed'],
    });
    await t.rejects(store.get('attacker-portal'), { code: 'secret_unreadable' }, 'from then on it is bound');
  },
);
