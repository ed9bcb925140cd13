/** The hh.ru client: other code in hh-connector imports from here. */
import type { Runtime } from '@hhb24/common';
import type { Config } from '../config.js';
import { HhClient, type HhClientConfig } from './client.js';
import type { HhAccount } from './accounts.js';

export {
  HhClient,
  HhAccountClient,
  hasPaidAccess,
  type HhClientConfig,
  type HhDeps,
  type CallOptions,
  type VacancyQuery,
  type ActionArguments,
} from './client.js';
export { HhAccountStore, type HhAccount, type HhAccountStatus } from './accounts.js';
export { HhOAuth, type HhAppConfig } from './oauth.js';
export { HhHttp, type HhHttpConfig, type HhResponse, type ByteCap } from './http.js';
export * from './errors.js';
export type * from './types.js';
export { RateLimitExceeded } from '@hhb24/common';

export function hhClientConfig(config: Config): HhClientConfig {
  return {
    apiUrl: config.HH_API_URL,
    oauthUrl: config.HH_OAUTH_URL,
    clientId: config.HH_CLIENT_ID,
    clientSecret: config.HH_CLIENT_SECRET,
    redirectUri: config.HH_REDIRECT_URI,
    userAgent: config.HH_USER_AGENT,
    jsonCap: { bytes: config.HH_MAX_JSON_BYTES, setting: 'HH_MAX_JSON_BYTES' },
    pdfCap: { bytes: config.HH_MAX_PDF_BYTES, setting: 'HH_MAX_PDF_BYTES' },
    rate: { ratePerSec: config.HH_RATE_PER_SEC, burst: config.HH_RATE_BURST },
    rateScope: config.HH_RATE_SCOPE,
    egressAddresses: config.HH_EGRESS_ADDRESSES,
    timeoutMs: config.HH_REQUEST_TIMEOUT_MS,
    maxAttempts: config.HH_MAX_ATTEMPTS,
  };
}

/** The client wired to a started runtime's Postgres, Redis, breakers and keyring. */
export function createHhClient(
  runtime: Runtime,
  config: Config,
  hooks: { onLoginRequired?: (account: HhAccount) => void | Promise<void> } = {},
): HhClient {
  return new HhClient(
    hhClientConfig(config),
    {
      db: runtime.db,
      keyring: runtime.keyring,
      locks: runtime.locks,
      limiter: runtime.limiter,
      breakers: runtime.breakers,
      log: runtime.log,
      stopping: runtime.stopping,
      metrics: runtime.metrics,
    },
    hooks,
  );
}
