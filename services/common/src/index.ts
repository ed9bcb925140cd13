/**
 * The public surface of @hhb24/common: everything a service, the gateway, the demo or a test may
 * import, by name. What is not listed here is internal to common (the consumer runner, the outbox
 * relay, the inbox, health probes, stream set-up), reached through Runtime or setupInfrastructure.
 * Test helpers are in @hhb24/common/testing.
 */

// Config and environment: the schema DSL, and the schemas the services share
export {
  type ConfigOf,
  ConfigError,
  describeSchema,
  type Field,
  loadConfig,
  type Schema,
  boolean,
  decimal,
  integer,
  oneOf,
  optional,
  port,
  string,
  url,
} from './config.js';
export { baseSchema } from './base-config.js';
export { hhOAuthSchema, publicSchema } from './public-config.js';
export { type Bitrix24Config, bitrix24Schema } from './bitrix24/config.js';

// Schemas: TypeBox, compiled checks, and the words of a failure
export {
  type Checker,
  compileSchema,
  describeIssues,
  Enum,
  failingFields,
  type FieldFailure,
  Ids,
  Nullable,
  type SchemaIssue,
  type Static,
  type TSchema,
  Type,
} from './schema.js';

// Service runtime and start-up
export {
  type BaseConfig,
  type ConsumerRegistration,
  createService,
  type NatsUsage,
  Runtime,
  type RuntimeState,
  type ServiceOptions,
} from './runtime.js';
export { configOrExit, launch, type Launchable } from './launch.js';
export { setupInfrastructure } from './setup.js';

// Contracts and subjects: what travels over NATS (each payload a schema, its type derived), and the RPCs
export {
  CardView,
  checkMessage,
  AnalyticsRequest,
  AnalyticsView,
  CRM_USER_FIELDS,
  CrmEntityFailed,
  CrmEntityWritten,
  CrmFailureView,
  CrmHealthView,
  EntityType,
  entityTypeOf,
  HealthCounts,
  HH_ACTION_ROBOT_CODE,
  HH_ROBOT_CODES,
  HH_STATE_NAMES,
  HH_STATES,
  HH_STATUS_ROBOT_CODE,
  HH_TARGETS,
  HhAccountChanged,
  HhAccountStatus,
  HhAccountView,
  HhActRequest,
  HhCallback,
  HhHealthView,
  HhImportRequested,
  HhManagerView,
  HhNegotiationSynced,
  type HhState,
  HhStateView,
  type HhTarget,
  HhWebhookReceived,
  ImportFailureView,
  ImportProgress,
  IMPORT_PERIOD_MAX_DAYS,
  IMPORT_VACANCIES_MAX,
  ImportScope,
  ManagerUser,
  WHOLE_SCOPE,
  type MessageOf,
  messageSchemas,
  NegotiationSnapshot,
  NegotiationStep,
  OtherResponse,
  PdfRef,
  APP_VERSION,
  PortalAppUpdate,
  PortalEventReceived,
  PortalRobotInvoked,
  PortalSettings,
  PortalSettingsSaved,
  PortalUninstallClaimed,
  PortalUninstalled,
  rpc,
  SyncEventView,
  toHhState,
  UiRequest,
  UiResponse,
  UiSession,
  VacancyOverview,
  VacancyRule,
  VacancyStep,
} from './contracts.js';
export { ruleFor } from './vacancy-rules.js';
export { type ConsumerSpec, Naming, type StreamSpec, streams, subjects } from './nats/topology.js';

// NATS and messaging: connection, handler outcomes, RPC, the outbox
export { connectNats, inboxPrefix, type Nats } from './nats/connection.js';
export { ack, defer, drop, type Outcome, retry } from './nats/outcome.js';
export { type Handler, type MessageContext } from './nats/consumer.js';
export { callRpc, defineRpc, type RpcContract } from './nats/rpc.js';
export { enqueue, type OutboxMessage } from './outbox.js';

// Postgres: connection and migrations
export { createDb, type DbOptions, type Knex } from './db/knex.js';
export {
  type Migration,
  type MigrationSet,
  runMigrations,
  type SealedColumns,
  sealedOwner,
} from './db/migrations.js';
export { commonMigrations } from './db/common-migrations.js';

// A removed portal's data: what each service erases, when, and the record of it
export {
  ERASE_SETTLE_MS,
  type ErasureResult,
  type PortalData,
  type PortalTable,
  portalOf,
  recordPortalUninstall,
  recordPortalReinstall,
} from './erasure.js';

// Secrets: sealing values at rest, and re-sealing them under a new key
export { Keyring, type SealContext } from './secrets.js';
export { type ResealReport, resealSealedValues, sealedColumnsOf } from './reseal.js';

// Redis: connection, locks, rate limits
export { createRedis, type Redis } from './redis/client.js';
export { type AcquireOptions, type Lease, RedisLock } from './redis/lock.js';
export { type RateLimit, RateLimitExceeded, RateLimiter, type TakeResult } from './redis/rate-limit.js';

// Outgoing HTTP: breakers and capped answers
export { BreakerRegistry, type BreakerSettings } from './breaker.js';
export {
  BodyTooLarge,
  isRefusedRedirect,
  OAUTH_ANSWER_CAP_BYTES,
  readCapped,
  streamCapped,
} from './outgoing.js';
export {
  FILE_PART_BYTES,
  FileGone,
  FileStore,
  queryBase64,
  type StoredFileRef,
  StreamedFile,
} from './files.js';

// hh.ru: webhook address, and how an applicant is shown
export { HH_WEBHOOK_PATH, hhWebhookUrl, verifyHhWebhookToken } from './hh-webhook-url.js';
export {
  applicantName,
  applicantTitleName,
  ddmmyyyy,
  hiddenEmailText,
  hiddenPhoneText,
  resumePdfName,
} from './applicant.js';
export {
  type PortalLang,
  type PortalTextKey,
  bbText,
  isPortalTextKey,
  portalLang,
  portalText,
  testMarkText,
} from './portal-texts.js';

// Bitrix24 client: calls, errors, portals and their tokens
export {
  type BatchCommand,
  type BatchResult,
  Bitrix24Client,
  type Bitrix24ClientOptions,
  type CallOptions,
  type Params,
} from './bitrix24/client.js';
export { Bitrix24Error, type Bitrix24ErrorCode, type Bitrix24ErrorDetails } from './bitrix24/errors.js';
export {
  Bitrix24PortalStore,
  type InstallInput,
  type PortalRecord,
  type PortalStatus,
  type TokenPair,
} from './bitrix24/portal-store.js';
export { PortalGroups, type PortalGroupsOptions } from './bitrix24/portal-groups.js';
export { ActingUserTokens } from './bitrix24/acting-user.js';
export { type EventOccurrence, EventOccurrences, eventContentKey } from './bitrix24/event-occurrences.js';
export { phpQuery } from './bitrix24/query.js';

// Errors and texts: error classes, the error catalogue, reading text from outside
export {
  AppError,
  type AppErrorOptions,
  classifyError,
  ShuttingDown,
  UnavailableError,
  ValidationError,
  waitUnlessStopping,
} from './errors.js';
export {
  ERROR_TEXTS,
  type ErrorCode,
  ERRORS,
  type ErrorTextKey,
  hasErrorCode,
  Refusal,
} from './error-catalogue.js';
export { httpUrl, textOf } from './text.js';

// Logging and metrics
export { createLogger, type Logger } from './logger.js';
export { type Metrics } from './metrics.js';
