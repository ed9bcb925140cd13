/**
 * Schemas at the boundaries: every message, RPC, route and form is described once with TypeBox
 * (https://github.com/sinclairzx81/typebox), and its TypeScript type is derived from the schema
 * (`Static<typeof X>`), so what is checked at run time and what the compiler knows cannot drift.
 * A schema is compiled once (`compileSchema`) and its failures are told in words that name the
 * field: `snapshot.memberId: must match pattern …`.
 */
import { type Static, type TLiteral, type TSchema, type TUnion, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { ValidationError } from './errors.js';

export { type Static, type TSchema, Type };

/** One failure as the JSON Schema validators (TypeBox's compiler, fastify's Ajv) report it. */
export interface SchemaIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `/snapshot/applicant/phones/0` → `snapshot.applicant.phones[0]`. */
function fieldName(instancePath: string): string {
  let out = '';
  for (const part of instancePath.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(key) ? `[${key}]` : out ? `.${key}` : key;
  }
  return out;
}

/** One failing field: its name as describeIssues writes it (`stageByState.response`) and the rule it broke. */
export interface FieldFailure {
  field: string;
  keyword: string;
}

/** The failing fields, each once (its first broken rule), in the order the validator found them. */
export function failingFields(issues: readonly SchemaIssue[]): FieldFailure[] {
  const out = new Map<string, string>();
  for (const issue of issues) {
    let path = issue.instancePath;
    if (issue.keyword === 'required') {
      const missing = (issue.params?.['requiredProperties'] ?? issue.params?.['missingProperty']) as
        string[] | string | undefined;
      for (const key of Array.isArray(missing) ? missing : missing ? [missing] : [])
        if (!out.has(fieldName(`${path}/${key}`))) out.set(fieldName(`${path}/${key}`), 'required');
      continue;
    }
    path = fieldName(path);
    if (!out.has(path)) out.set(path, issue.keyword);
  }
  return [...out].map(([field, keyword]) => ({ field, keyword }));
}

/**
 * The failures in words, one per field, the field named first. A union of constants (`kind`) is
 * told as the values it allows rather than one line per branch.
 */
export function describeIssues(issues: readonly SchemaIssue[], max = 3): string {
  const byPath = new Map<string, SchemaIssue[]>();
  for (const issue of issues) {
    let path = issue.instancePath;
    if (issue.keyword === 'required') {
      const missing = (issue.params?.['requiredProperties'] ?? issue.params?.['missingProperty']) as
        string[] | string | undefined;
      const first = Array.isArray(missing) ? missing[0] : missing;
      if (first !== undefined) path = `${path}/${first}`;
      byPath.set(path, [{ ...issue, message: 'is required' }]);
      continue;
    }
    const list = byPath.get(path) ?? [];
    list.push(issue);
    byPath.set(path, list);
  }
  const lines: string[] = [];
  for (const [path, list] of byPath) {
    const field = fieldName(path) || 'the message';
    const consts = list.filter((i) => i.keyword === 'const').map((i) => i.params?.['allowedValue']);
    const enums = list.find((i) => i.keyword === 'enum')?.params?.['allowedValues'] as unknown[] | undefined;
    const allowed = enums ?? (consts.length > 0 ? consts : undefined);
    if (allowed) lines.push(`${field}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
    else {
      const first = list.find((i) => i.keyword !== 'anyOf') ?? list[0]!;
      lines.push(`${field}: ${first.message ?? first.keyword}`);
    }
    if (lines.length >= max) break;
  }
  const more = byPath.size - lines.length;
  return lines.join('; ') + (more > 0 ? ` (and ${more} more)` : '');
}

/** A schema compiled once: a check, and a decode that throws a ValidationError naming the field. */
export interface Checker<T> {
  readonly schema: TSchema;
  check(value: unknown): value is T;
  /** The value typed, or a ValidationError `<what>: <field>: <words>`. */
  decode(value: unknown): T;
  /** The failures in words (empty when the value fits). */
  explain(value: unknown): string;
  /** The failing fields (none when the value fits): for a form that tells each field its own message. */
  failures(value: unknown): FieldFailure[];
}

export function compileSchema<S extends TSchema>(schema: S, what?: string): Checker<Static<S>> {
  const compiled = Compile(schema);
  const explain = (value: unknown): string =>
    compiled.Check(value) ? '' : describeIssues(compiled.Errors(value));
  return {
    schema,
    check: (value): value is Static<S> => compiled.Check(value),
    decode(value) {
      if (compiled.Check(value)) return value;
      const words = explain(value);
      throw new ValidationError(what ? `${what}: ${words}` : words);
    },
    explain,
    failures: (value) => (compiled.Check(value) ? [] : failingFields([...compiled.Errors(value)])),
  };
}

type Literals<V extends readonly string[]> = { -readonly [K in keyof V]: TLiteral<V[K]> };

/** A string that is one of `values`; told as «must be one of …» when it is not. */
export function Enum<const V extends readonly string[]>(values: V): TUnion<Literals<V>> {
  return Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<Literals<V>>;
}

/** A value or null. */
export const Nullable = <S extends TSchema>(schema: S) => Type.Union([schema, Type.Null()]);

/** Ids as the mesh passes them. */
export const Ids = {
  /** A Bitrix24 portal's member_id. */
  memberId: () => Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
  /** hh.ru's numeric ids (negotiations, vacancies, resumes' owners), as strings. */
  hhId: () => Type.String({ pattern: '^[\\w.:-]{1,200}$' }),
  negotiationId: () => Type.String({ pattern: '^\\d{1,20}$' }),
  /** A Bitrix24 user or entity id. */
  positive: () => Type.Integer({ minimum: 1 }),
  /** An ISO 8601 time. */
  time: () => Type.String({ minLength: 1, maxLength: 40 }),
};
