/**
 * What the code says a deployment must provide, for the checks of the Dockerfile, docker-compose.yml
 * and the Kubernetes manifests: each service's variables (its schema), which of them are secret,
 * its port, its consumers, its HTTP routes and its metrics. Services are built without starting
 * them: nothing connects until `runtime.start()`.
 */
import { execFileSync } from 'node:child_process';
import { type ConsumerSpec, type Schema, loadConfig } from '@hhb24/common';
import { parse, parseAllDocuments } from 'yaml';
import { type ServiceEntry, catalogue } from '../src/catalogue.js';
import { schema as meshSchema } from '../src/mesh.js';

export { catalogue, meshSchema };

const repoRoot = new URL('../../../../', import.meta.url);
/** A path of the repository (tests run from services/mesh/dist/test). */
export const repoPath = (path: string): string => new URL(path, repoRoot).pathname;

/**
 * Variables that no schema reads but a deployment file may set, each with its reason. Everything
 * else a deployment sets must be read by the code, and everything the code reads must be set.
 */
export const INFRASTRUCTURE_VARIABLES: Record<string, string> = {
  HEALTH_PORT: "the image's HEALTHCHECK probes /livez on this port; compose sets it to the service's port",
  NODE_OPTIONS: "read by node itself: the V8 heap sizes of a service's process (deploy/base/shared.env)",
};

/** Stand-ins for secret values, which the manifests only reference, so that their settings can be validated. */
export const SECRET_SAMPLES: Record<string, string> = {
  DATABASE_URL: 'postgres://hhb24:sample@postgres:5432/hhb24',
  REDIS_URL: 'redis://redis:6379',
  TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
  HH_CLIENT_SECRET: 'sample-secret',
  WEBHOOK_SECRET_KEY: 'sample-webhook-key-0123456789abcdef',
  B24_CLIENT_SECRET: 'sample-b24-secret',
  SESSION_SIGNING_KEY: 'sample-session-signing-key-0123456789abcdef',
  FEEDBACK_WEBHOOK_URL: 'https://feedback.example.com/rest/1/sample/im.notify.system.add.json',
};

/** What an operator must give docker compose (its `${NAME:?…}` variables), as samples. */
export const OPERATOR_SAMPLES: Record<string, string> = {
  POSTGRES_PASSWORD: 'sample0postgres0password',
  TOKEN_ENCRYPTION_KEYS: SECRET_SAMPLES['TOKEN_ENCRYPTION_KEYS']!,
  HH_CLIENT_ID: 'sample-client-id',
  HH_CLIENT_SECRET: SECRET_SAMPLES['HH_CLIENT_SECRET']!,
  HH_USER_AGENT: 'hh-b24/0.1 (ops@example.com)',
  PUBLIC_URL: 'https://hhb24.example.com',
  WEBHOOK_SECRET_KEY: SECRET_SAMPLES['WEBHOOK_SECRET_KEY']!,
  B24_CLIENT_ID: 'sample-b24-client',
  B24_CLIENT_SECRET: SECRET_SAMPLES['B24_CLIENT_SECRET']!,
  SESSION_SIGNING_KEY: SECRET_SAMPLES['SESSION_SIGNING_KEY']!,
};

export function secretVariables(schema: Schema): string[] {
  return Object.entries(schema)
    .filter(([, f]) => f.secret)
    .map(([name]) => name);
}

export interface BuiltService {
  entry: ServiceEntry;
  config: Record<string, unknown>;
  port: number;
  consumers: ConsumerSpec[];
  /** True when the app answers `path` with anything but 404 (routes exist before start). */
  routeExists(path: string, method?: 'GET' | 'POST'): Promise<boolean>;
  close(): Promise<void>;
}

/** Validates `env` against the service's schema (throws ConfigError naming each problem) and builds it. */
export function buildFromEnv(entry: ServiceEntry, env: Record<string, string | undefined>): BuiltService {
  const config = loadConfig(entry.name, entry.schema, env);
  const { app, runtime, port } = entry.build(config as never);
  return {
    entry,
    config: config,
    port,
    consumers: runtime.consumerSpecs(),
    async routeExists(path, method = 'GET') {
      return (await app.inject({ method, url: path })).statusCode !== 404;
    },
    close: () => app.close(),
  };
}

/** Every metric a service registers, with its label names (the default `service` included). */
export async function metricCatalogue(): Promise<Map<string, Set<string>>> {
  const entry = catalogue[0]!;
  const built = entry.build(loadConfig(entry.name, entry.schema, { ...SECRET_SAMPLES }) as never);
  const names = new Map<string, Set<string>>();
  for (const m of await built.runtime.metrics.registry.getMetricsAsJSON()) {
    const metric = built.runtime.metrics.registry.getSingleMetric(m.name) as unknown as {
      labelNames?: string[];
    };
    const labels = new Set(['service', ...(metric.labelNames ?? [])]);
    const type = String(m.type);
    const suffixes =
      type === 'histogram'
        ? ['_bucket', '_sum', '_count']
        : type === 'summary'
          ? ['', '_sum', '_count']
          : [''];
    for (const s of suffixes)
      names.set(`${m.name}${s}`, s === '_bucket' ? new Set([...labels, 'le']) : labels);
  }
  await built.app.close();
  return names;
}

export function run(
  command: string,
  args: string[],
  env: Record<string, string | undefined> = process.env,
  cwd?: string,
): string {
  return execFileSync(command, args, {
    encoding: 'utf8',
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 32 * 1024 * 1024,
  });
}

/** A parsed manifest: plain JSON of unknown shape, read by the checks field by field. */
export type Doc = any;

export function parseYamlDocuments(text: string): Doc[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter(Boolean);
}

export function parseYaml(text: string): Doc {
  return parse(text);
}

/** Compose and Kubernetes durations ("15s", "1m30s") in seconds. */
export function seconds(duration: string | number): number {
  if (typeof duration === 'number') return duration;
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms' | 's' | 'm' | 'h'];
  }
  return total;
}

/** The variables a deployment gives a program, and which of them it names that the schema does not read. */
export function compareVariables(
  schema: Schema,
  provided: Iterable<string>,
): { missing: string[]; unread: string[] } {
  const given = new Set(provided);
  return {
    missing: Object.keys(schema).filter((n) => !given.has(n)),
    unread: [...given].filter((n) => !(n in schema) && !(n in INFRASTRUCTURE_VARIABLES)),
  };
}
