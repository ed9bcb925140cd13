import { isIP } from 'node:net';
import {
  type ConfigOf,
  type Field,
  baseSchema,
  bitrix24Schema,
  decimal,
  hhOAuthSchema,
  integer,
  oneOf,
  port,
  publicSchema,
  string,
  url,
} from '@hhb24/common';

/** A comma-separated list of IP addresses (no ranges), each once; empty for none. */
function ipList(options: { description: string }): Field<string[]> {
  return {
    kind: 'address list',
    description: options.description,
    default: [],
    parse(raw) {
      const list = raw
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean);
      const bad = list.filter((a) => isIP(a) === 0);
      if (bad.length > 0) throw new Error(`has entries that are not an IP address (${bad.join(', ')})`);
      const twice = list.filter((a, i) => list.indexOf(a) !== i);
      if (twice.length > 0) throw new Error(`names an address more than once (${twice.join(', ')})`);
      return list;
    },
    format: (list) => list.join(','),
  };
}

/** How hh-connector reaches hh.ru (or the simulator: point both URLs at it). */
export const hhSchema = {
  ...hhOAuthSchema,
  HH_API_URL: url({
    protocols: ['https', 'http'],
    default: 'https://api.hh.ru',
    description: 'hh.ru API base URL (the simulator in tests and the demo).',
  }),
  HH_CLIENT_SECRET: string({
    default: 'hh-b24-dev-secret',
    productionRequired: true,
    secret: true,
    description: 'Client secret of the app registered at dev.hh.ru.',
  }),
  HH_USER_AGENT: string({
    default: 'hh-b24/0.1 (admin@hh-b24.example)',
    productionRequired: true,
    description:
      'Sent as HH-User-Agent on every hh.ru call: "App/version (contact e-mail)"; hh.ru refuses calls without it.',
  }),
  HH_RATE_PER_SEC: integer({
    default: 9,
    min: 1,
    max: 1000,
    description:
      'Calls per second to hh.ru, shared by every replica (hh.ru allows about 10 per client address).',
  }),
  HH_RATE_BURST: integer({
    default: 5,
    min: 1,
    max: 1000,
    description: 'Calls that may go at once after a quiet period.',
  }),
  HH_RATE_SCOPE: oneOf(['global', 'account', 'egress'] as const, {
    default: 'global',
    description:
      'global: one shared bucket (hh.ru counts per client address, and all replicas share one); account: a bucket per hh account; egress: a bucket per address of HH_EGRESS_ADDRESSES, each shared by every replica.',
  }),
  HH_EGRESS_ADDRESSES: ipList({
    description:
      'Local addresses hh.ru calls leave from, comma-separated (each must be an address of every hh-connector host, and reach hh.ru as its own public address): each hh account calls from one of them, chosen from its id and the same in every replica, so with HH_RATE_SCOPE=egress each address has the budget of HH_RATE_PER_SEC (docs/operations.md, «Several egress addresses»). Empty: the system chooses, one address.',
  }),
  HH_REQUEST_TIMEOUT_MS: integer({
    default: 15_000,
    min: 100,
    max: 120_000,
    description: 'Longest wait for one hh.ru answer.',
  }),
  HH_MAX_JSON_BYTES: integer({
    default: 5_000_000,
    min: 10_000,
    max: 100_000_000,
    description:
      'Largest JSON answer read from hh.ru (a page of 50 negotiations from the simulated hh.ru is 395 KB); a larger one is cut there and its message goes to the dead letters naming this setting.',
  }),
  HH_MAX_PDF_BYTES: integer({
    default: 20_000_000,
    min: 10_000,
    max: 200_000_000,
    description:
      'Largest resume PDF read from hh.ru; a larger one is cut there and the response goes to the dead letters naming this setting.',
  }),
  HH_MAX_ATTEMPTS: integer({
    default: 5,
    min: 1,
    max: 20,
    description:
      'Attempts of one hh.ru call on 429 (and on 5xx for reads), with growing back-off, before the wait is handed back.',
  }),
};

/** How the sync behaves: how often it looks for what a lost webhook missed, how it waits for resume views. */
export const syncSchema = {
  HH_RECONCILE_INTERVAL_SEC: integer({
    default: 300,
    min: 1,
    max: 86_400,
    description:
      'Each connected account’s vacancies are compared with hh.ru this often, to find what a lost webhook missed.',
  }),
  HH_PDF_KEEP_HOURS: decimal({
    default: 24,
    min: 0,
    max: 8760,
    description:
      'A resume PDF is dropped this long after it was downloaded once every lead or deal of that resume holds the file (their «Резюме» field); a later need downloads it again.',
  }),
  HH_EVENT_LOG_RETENTION_DAYS: integer({
    default: 14,
    min: 1,
    max: 365,
    description:
      'How long the delivery log of the «Состояние» tab keeps webhooks and what reconciliation passes found.',
  }),
  HH_IMPORT_WINDOW: integer({
    default: 32,
    min: 1,
    max: 10_000,
    description:
      'Negotiation steps of one portal queued at once; portals importing together take turns in windows of this size (enough to keep one process’s 32 import slots busy).',
  }),
  HH_VIEW_LIMIT_RECHECK_SEC: integer({
    default: 900,
    min: 1,
    max: 86_400,
    description:
      'While the daily resume views are used up, how often to ask hh.ru whether they are back (hh.ru does not say when they reset).',
  }),
  HH_PAID_ACCESS_RECHECK_SEC: integer({
    default: 600,
    min: 1,
    max: 86_400,
    description:
      "While hh.ru refuses an employer's responses for want of paid API access, how often to ask whether it has it now (the import then carries on by itself).",
  }),
};

export const schema = {
  ...baseSchema,
  HH_CONNECTOR_PORT: port({
    default: 3010,
    description: 'hh-connector: port of its HTTP server (health and metrics only).',
  }),
  ...hhSchema,
  ...syncSchema,
  ...publicSchema,
  ...bitrix24Schema,
};

export type Config = ConfigOf<typeof schema>;

/** What the schema cannot say field by field; empty when the settings agree. */
export function configProblems(config: Config): string[] {
  return config.HH_RATE_SCOPE === 'egress' && config.HH_EGRESS_ADDRESSES.length === 0
    ? ['HH_RATE_SCOPE=egress needs HH_EGRESS_ADDRESSES (the addresses whose budgets it counts)']
    : [];
}
