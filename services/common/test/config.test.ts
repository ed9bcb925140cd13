import t from 'tap';
import {
  ConfigError,
  baseSchema,
  boolean,
  decimal,
  integer,
  loadConfig,
  optional,
  port,
  string,
  url,
  describeSchema,
  publicSchema,
} from '@hhb24/common';
import { keyringField } from '../src/secrets.js';

const schema = {
  A_PORT: port({ default: 3000, description: 'port' }),
  A_URL: url({ protocols: ['https'], description: 'required url' }),
  A_FLAG: boolean({ default: false, description: 'flag' }),
  A_SECRET: string({ description: 'secret', secret: true, pattern: /^s-/ }),
  A_COUNT: integer({ default: 2, min: 1, max: 5, description: 'count' }),
  A_OPT: optional(string({ description: 'optional' })),
  ...keyringField,
};

t.test('valid environment gives a typed, frozen config with defaults', async (t) => {
  const c = loadConfig('svc', schema, { A_URL: 'https://x.test/', A_SECRET: 's-1', A_FLAG: 'yes' });
  t.equal(c.A_PORT, 3000);
  t.equal(c.A_FLAG, true);
  t.equal(c.A_COUNT, 2);
  t.equal(c.A_OPT, undefined);
  t.ok(Object.isFrozen(c));
});

t.test('every bad or missing variable is named; secrets are not echoed', async (t) => {
  const err = t.throws(() =>
    loadConfig('svc', schema, { A_PORT: 'abc', A_SECRET: 'leaked-value', A_COUNT: '9', A_FLAG: 'maybe' }),
  ) as ConfigError;
  t.type(err, ConfigError);
  t.match(err.message, /Invalid configuration of svc/);
  t.match(err.message, /A_PORT must be a whole number, got "abc"/);
  t.match(err.message, /A_URL is required/);
  t.match(err.message, /A_FLAG must be true or false/);
  t.match(err.message, /A_COUNT must be between 1 and 5/);
  t.match(err.message, /A_SECRET must match .*\(hidden\)/);
  t.notMatch(err.message, /leaked-value/);
  t.equal(err.problems.length, 5);
});

t.test('production refuses development defaults of secrets', async (t) => {
  t.throws(
    () => loadConfig('svc', schema, { NODE_ENV: 'production', A_URL: 'https://x.test/', A_SECRET: 's-1' }),
    /TOKEN_ENCRYPTION_KEYS is required when NODE_ENV=production/,
  );
  const key = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
  t.equal(
    loadConfig('svc', schema, {
      NODE_ENV: 'production',
      A_URL: 'https://x.test/',
      A_SECRET: 's-1',
      TOKEN_ENCRYPTION_KEYS: key,
    }).TOKEN_ENCRYPTION_KEYS,
    key,
  );
  t.throws(
    () =>
      loadConfig('svc', schema, {
        A_URL: 'https://x.test/',
        A_SECRET: 's-1',
        TOKEN_ENCRYPTION_KEYS: 'k1:short',
      }),
    /TOKEN_ENCRYPTION_KEYS each key must be written id:base64 with a 32-byte key, got \(hidden\)/,
  );
});

t.test('the base schema works with no environment at all (local defaults)', async (t) => {
  const c = loadConfig('svc', baseSchema, {});
  t.equal(c.DATABASE_URL, 'postgres://postgres@127.0.0.1:5432/postgres');
  t.equal(c.NATS_URL, 'nats://127.0.0.1:4222');
  t.throws(
    () => loadConfig('svc', baseSchema, { NATS_PREFIX: 'Bad.Prefix' }),
    /NATS_PREFIX must match empty or up to 16 lower-case letters and digits/,
  );
  t.throws(
    () => loadConfig('svc', baseSchema, { DATABASE_URL: 'mysql://x' }),
    /DATABASE_URL must use postgres or postgresql, got \(hidden\)/,
  );
});

t.test('describeSchema lists every variable and hides secret defaults', async (t) => {
  const rows = describeSchema(schema);
  t.same(
    rows.map((r) => r.name),
    Object.keys(schema),
  );
  t.equal(rows.find((r) => r.name === 'TOKEN_ENCRYPTION_KEYS')?.default, '(development key)');
  t.equal(rows.find((r) => r.name === 'A_URL')?.default, '(required)');
});

t.test(
  'WEBHOOK_SECRET_KEY: at least 32 characters; production needs one, the development default is long enough',
  async (t) => {
    const dev = loadConfig('svc', publicSchema, {});
    t.ok(dev.WEBHOOK_SECRET_KEY.length >= 32, 'the development default passes its own rule');
    const short = 'x'.repeat(31);
    t.throws(
      () => loadConfig('svc', publicSchema, { WEBHOOK_SECRET_KEY: short }),
      /WEBHOOK_SECRET_KEY must match at least 32 characters, got \(hidden\)/,
      'a short key is refused, and not echoed',
    );
    t.throws(
      () => loadConfig('svc', publicSchema, { NODE_ENV: 'production', WEBHOOK_SECRET_KEY: short }),
      /WEBHOOK_SECRET_KEY must match at least 32 characters/,
      'in production too',
    );
    t.throws(
      () => loadConfig('svc', publicSchema, { NODE_ENV: 'production' }),
      /WEBHOOK_SECRET_KEY is required when NODE_ENV=production/,
      'production does not take the development default',
    );
    t.equal(
      loadConfig('svc', publicSchema, { NODE_ENV: 'production', WEBHOOK_SECRET_KEY: 'y'.repeat(32) })
        .WEBHOOK_SECRET_KEY,
      'y'.repeat(32),
    );
  },
);

t.test(
  'a decimal setting takes a fraction (a day-long setting in seconds) and refuses the rest',
  async (t) => {
    const schema = { DAYS: decimal({ default: 30, min: 0, max: 3650, description: 'days' }) };
    t.equal(loadConfig('svc', schema, {}).DAYS, 30, 'the default');
    t.equal(loadConfig('svc', schema, { DAYS: '0.0001' }).DAYS, 0.0001, 'a fraction');
    t.equal(loadConfig('svc', schema, { DAYS: '7' }).DAYS, 7, 'a whole number');
    for (const bad of ['abc', '1e3', '-1', '4000', '1.2.3'])
      t.throws(
        () => loadConfig('svc', schema, { DAYS: bad }),
        ConfigError,
        `refused: ${JSON.stringify(bad)}`,
      );
    t.equal(baseSchema.HH_DATA_RETENTION_DAYS.default, 30, 'HH_DATA_RETENTION_DAYS keeps 30 days by default');
  },
);
