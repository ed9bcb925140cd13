import t from 'tap';
import { Redis } from 'ioredis';
import { ActingUserTokens, Keyring } from '@hhb24/common';
import { createTestEnv } from '@hhb24/common/testing';

t.test(
  'the acting user’s token: sealed in Redis under a reference, only for its portal, never past its expiry',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const redis = new Redis(env.config.REDIS_URL);
    t.teardown(() => redis.disconnect());
    const tokens = new ActingUserTokens(
      redis,
      env.config.REDIS_PREFIX,
      new Keyring(env.config.TOKEN_ENCRYPTION_KEYS),
    );

    const ref = await tokens.keep('portal-a', 'user-token-1', 3600);
    t.match(ref, /^[0-9a-f]{32}$/);
    t.equal(await tokens.take('portal-a', ref), 'user-token-1');
    t.equal(await tokens.take('portal-a', ref), 'user-token-1', 'kept for a redelivery');
    t.equal(await tokens.take('portal-b', ref), null, 'not for another portal');
    t.equal(await tokens.take('portal-a', 'f'.repeat(32)), null, 'an unknown reference');
    t.equal(await tokens.take('portal-a', '../x'), null, 'a malformed one');
    t.equal(await tokens.take('portal-a', null), null);

    const keys = await redis.keys(`${env.config.REDIS_PREFIX}b24:actor:*`);
    t.equal(keys.length, 1);
    t.notMatch(await redis.get(keys[0]!), /user-token-1/, 'sealed, not in clear');
    const ttl = await redis.ttl(keys[0]!);
    t.ok(ttl > 0 && ttl <= 15 * 60, `at most 15 minutes (${ttl} s)`);

    const short = await tokens.keep('portal-a', 'user-token-2', 2);
    t.ok(
      (await redis.ttl(`${env.config.REDIS_PREFIX}b24:actor:${short}`)) <= 2,
      'never past the token’s expiry',
    );
    t.equal(await tokens.keep('portal-a', '', 3600), null, 'no token, nothing kept');
    t.equal(await tokens.keep('portal-a', 'bad token with spaces', 3600), null);
    t.equal(await tokens.keep('portal-a', 'user-token-3', 0), null, 'already expired');
  },
);
