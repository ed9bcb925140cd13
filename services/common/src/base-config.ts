import { boolean, decimal, integer, oneOf, string, url } from './config.js';
import { keyringField } from './secrets.js';

/** The variables every service reads: where its dependencies are and how it behaves at start and stop. */
export const baseSchema = {
  NODE_ENV: oneOf(['development', 'production', 'test'] as const, {
    default: 'development',
    description: 'production refuses development defaults for secrets.',
  }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, {
    default: 'info',
    description: 'Minimum level of the JSON logs on stdout.',
  }),
  HTTP_HOST: string({ default: '0.0.0.0', description: 'Address the service HTTP servers listen on.' }),
  DATABASE_URL: url({
    protocols: ['postgres', 'postgresql'],
    default: 'postgres://postgres@127.0.0.1:5432/postgres',
    secret: true,
    description: 'PostgreSQL connection string (the system of record).',
  }),
  DATABASE_SCHEMA: string({
    default: 'hhb24',
    pattern: /^[a-z_][a-z0-9_]{0,62}$/,
    patternHint: 'a lower-case SQL identifier',
    description: 'Schema holding all tables; created when missing.',
  }),
  DATABASE_POOL_MAX: integer({
    default: 10,
    min: 1,
    max: 200,
    description: 'Connections per service process.',
  }),
  MIGRATE_ON_START: boolean({
    default: true,
    description:
      'Run database migrations and create NATS streams at start (false when a Kubernetes job does it).',
  }),
  REDIS_URL: url({
    protocols: ['redis', 'rediss'],
    default: 'redis://127.0.0.1:6379',
    secret: true,
    description: 'Redis for locks, shared rate limits, dedupe keys.',
  }),
  REDIS_PREFIX: string({ default: 'hhb24:', description: 'Prefix of every Redis key.' }),
  NATS_URL: string({
    default: 'nats://127.0.0.1:4222',
    description: 'NATS servers (comma-separated), JetStream enabled.',
  }),
  NATS_USER: string({
    default: '',
    pattern: /^([A-Za-z0-9_-]{1,64})?$/,
    patternHint: 'empty, or up to 64 letters, digits, _ and -',
    description:
      'The NATS user this service connects as (empty: none). With the per-service users of deploy/nats/users.conf each service may publish and subscribe only the subjects it uses (docs/operations.md, «NATS users»).',
  }),
  NATS_PASSWORD: string({
    default: '',
    secret: true,
    description: 'The password of NATS_USER (empty: none).',
  }),
  NATS_PREFIX: string({
    default: '',
    pattern: /^([a-z][a-z0-9]{0,15})?$/,
    patternHint: 'empty or up to 16 lower-case letters and digits',
    description: 'Prefix of subjects and stream names, to run several installations on one NATS.',
  }),
  CONSUMER_MAX_DELIVER: integer({
    default: 8,
    min: 1,
    max: 100,
    description: 'Failed deliveries of a message before it goes to the dead-letter table.',
  }),
  OUTBOX_POLL_MS: integer({
    default: 200,
    min: 10,
    max: 60_000,
    description: 'How often the outbox relay looks for rows written by other processes.',
  }),
  HH_DATA_RETENTION_DAYS: decimal({
    default: 30,
    min: 0,
    max: 3650,
    description:
      'How long a portal’s data is kept after the app was removed without «Удалить данные» (CLEAN), for a reinstall; then it is erased (a fraction of a day is allowed).',
  }),
  DATA_ERASE_SWEEP_SEC: integer({
    default: 600,
    min: 1,
    max: 86_400,
    description: 'How often each service looks for removed portals whose data is due to be erased.',
  }),
  ...keyringField,
  SHUTDOWN_TIMEOUT_MS: integer({
    default: 8000,
    min: 100,
    max: 120_000,
    description: 'Longest graceful shutdown before the process exits anyway.',
  }),
};
