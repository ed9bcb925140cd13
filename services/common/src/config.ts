/**
 * Configuration: each service declares one schema of environment variables; `loadConfig` validates
 * it once at start and returns a typed, frozen object. Only a service's `main.ts` hands
 * `process.env` to it; nothing else reads the environment.
 */
export interface Field<T> {
  readonly kind: string;
  readonly description: string;
  /** Used when the variable is unset. A field without a default (and not optional) is required. */
  readonly default?: T;
  /** With NODE_ENV=production the default is not enough: the operator must set the variable. */
  readonly productionRequired?: boolean;
  readonly optional?: boolean;
  /** Secrets are never printed, not even in error messages. */
  readonly secret?: boolean;
  parse(raw: string): T;
  format(value: T): string;
}

type FieldOptions<T> = {
  description: string;
  default?: T;
  productionRequired?: boolean;
  secret?: boolean;
};

export type Schema = Record<string, Field<unknown>>;
export type ConfigOf<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends Field<infer T>
    ? S[K] extends { optional: true }
      ? T | undefined
      : T
    : never;
};

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`Invalid configuration of ${service}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function field<T>(
  kind: string,
  options: FieldOptions<T>,
  parse: (raw: string) => T,
  format: (v: T) => string = String,
): Field<T> {
  return { kind, ...options, parse, format };
}

export function string(
  options: FieldOptions<string> & { pattern?: RegExp; patternHint?: string },
): Field<string> {
  return field('string', options, (raw) => {
    if (options.pattern && !options.pattern.test(raw)) {
      throw new Error(`must match ${options.patternHint ?? options.pattern}`);
    }
    return raw;
  });
}

export function integer(options: FieldOptions<number> & { min?: number; max?: number }): Field<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  return field('integer', options, (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error('must be a whole number');
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`must be between ${min} and ${max}`);
    return value;
  });
}

/** A number that may have a fraction (`0.5`); tests set a day-long setting to seconds this way. */
export function decimal(options: FieldOptions<number> & { min?: number; max?: number }): Field<number> {
  const { min = -Number.MAX_VALUE, max = Number.MAX_VALUE } = options;
  return field('number', options, (raw) => {
    if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(raw.trim())) throw new Error('must be a number, e.g. 30 or 0.5');
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`must be between ${min} and ${max}`);
    return value;
  });
}

export function port(options: FieldOptions<number>): Field<number> {
  return { ...integer({ ...options, min: 0, max: 65535 }), kind: 'port' };
}

export function boolean(options: FieldOptions<boolean>): Field<boolean> {
  return field('boolean', options, (raw) => {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new Error('must be true or false');
  });
}

export function url(options: FieldOptions<string> & { protocols: string[] }): Field<string> {
  return field('url', options, (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error('must be an absolute URL');
    }
    if (!options.protocols.includes(parsed.protocol.replace(/:$/, ''))) {
      throw new Error(`must use ${options.protocols.join(' or ')}`);
    }
    return raw.trim();
  });
}

export function oneOf<const V extends string>(values: readonly V[], options: FieldOptions<V>): Field<V> {
  return field(`one of ${values.join(', ')}`, options, (raw) => {
    if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
    return raw as V;
  });
}

/** Makes any field optional: unset means `undefined`. */
export function optional<T>(f: Field<T>): Field<T> & { optional: true } {
  return { ...f, optional: true };
}

export function loadConfig<S extends Schema>(
  service: string,
  schema: S,
  env: Record<string, string | undefined>,
): ConfigOf<S> {
  const production = env['NODE_ENV'] === 'production';
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(schema)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if (f.productionRequired && production) {
        problems.push(`${name} is required when NODE_ENV=production (${f.description})`);
      } else if (f.default !== undefined) {
        out[name] = f.default;
      } else if (f.optional) {
        out[name] = undefined;
      } else {
        problems.push(`${name} is required (${f.description})`);
      }
      continue;
    }
    try {
      out[name] = f.parse(raw);
    } catch (err) {
      const shown = f.secret ? '(hidden)' : JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
      problems.push(`${name} ${(err as Error).message}, got ${shown}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(service, problems);
  return Object.freeze(out) as ConfigOf<S>;
}

/** One row per variable, for the README's configuration table and the deployment checks. */
export function describeSchema(
  schema: Schema,
): Array<{ name: string; kind: string; default: string; description: string; secret: boolean }> {
  return Object.entries(schema).map(([name, f]) => ({
    name,
    kind: f.kind,
    default:
      f.default === undefined
        ? f.optional
          ? '(unset)'
          : '(required)'
        : f.secret && f.productionRequired
          ? '(development key)'
          : f.format(f.default) === ''
            ? '(empty)'
            : f.format(f.default),
    description: f.description + (f.productionRequired ? ' Required in production.' : ''),
    secret: Boolean(f.secret),
  }));
}
