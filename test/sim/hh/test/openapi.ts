/**
 * Validates JSON answers against hh.ru's OpenAPI spec (spec/hh-openapi.yaml, loaded at test time).
 * OpenAPI 3.0 schemas are not JSON Schema; these differences are translated before Ajv sees them:
 * - `nullable` (also on schemas without `type`, or beside `$ref`);
 * - `discriminator`: a oneOf whose branches a property tells apart;
 * - a oneOf with several nullable branches: `null` would match them all and fail, so null passes once;
 * - `additionalProperties: false` on one member of an allOf: in JSON Schema it forbids the
 *   properties the other members declare, which the spec does not mean; it becomes
 *   `unevaluatedProperties: false` on the allOf (JSON Schema 2019-09), keeping the object closed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 as Ajv } from 'ajv/dist/2019.js';
import type { ValidateFunction } from 'ajv';
import YAML from 'yaml';

type Node = Record<string, unknown>;

// ajv-formats is CommonJS whose default export TypeScript cannot call under NodeNext.
const addFormats = createRequire(import.meta.url)('ajv-formats') as (ajv: Ajv) => Ajv;

function isObject(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function translate(node: unknown, schemas: Node): unknown {
  if (Array.isArray(node)) return node.map((n) => translate(n, schemas));
  if (!isObject(node)) return node;
  const out: Node = {};
  for (const [k, v] of Object.entries(node))
    out[k] = k === 'example' || k === 'examples' ? v : translate(v, schemas);
  const resolve = (n: unknown): Node | undefined => {
    if (!isObject(n)) return undefined;
    return typeof n['$ref'] === 'string' ? (schemas[n['$ref'].split('/').pop()!] as Node | undefined) : n;
  };
  const allOf = out['allOf'] as unknown[] | undefined;
  if (allOf?.some((m) => isObject(m) && m['additionalProperties'] === false && m['$ref'] === undefined)) {
    out['allOf'] = allOf.map((m) => {
      if (!isObject(m) || m['additionalProperties'] !== false) return m;
      const { additionalProperties: _ap, ...open } = m;
      return open;
    });
    out['unevaluatedProperties'] = false;
  }
  const oneOf = out['oneOf'] as unknown[] | undefined;
  if (oneOf && !out['discriminator'] && oneOf.filter((b) => resolve(b)?.['nullable'] === true).length > 1) {
    const { oneOf: _o, ...rest } = out;
    return { ...rest, if: { type: 'null' }, then: true, else: { oneOf } };
  }
  const discriminator = out['discriminator'] as
    { propertyName?: string; mapping?: Record<string, string> } | undefined;
  const branches = (out['oneOf'] ?? out['anyOf']) as unknown[] | undefined;
  if (discriminator?.propertyName && discriminator.mapping && branches) {
    const prop = discriminator.propertyName;
    const { oneOf: _o, anyOf: _a, discriminator: _d, ...rest } = out;
    return {
      ...rest,
      allOf: [
        ...((rest['allOf'] as unknown[]) ?? []),
        {
          type: 'object',
          required: [prop],
          properties: { [prop]: { enum: Object.keys(discriminator.mapping) } },
        },
        ...Object.entries(discriminator.mapping).map(([value, ref]) => ({
          if: { properties: { [prop]: { const: value } }, required: [prop] },
          then: { $ref: ref },
        })),
      ],
    };
  }
  if (out['nullable'] === true && (out['type'] === undefined || out['$ref'] !== undefined)) {
    const { nullable: _n, ...rest } = out;
    return { anyOf: [{ type: 'null' }, rest] };
  }
  return out;
}

export interface Spec {
  /** The validator for one documented answer, or undefined when the spec does not document it. */
  validator(operationId: string, status: number): ValidateFunction | undefined;
  /** The common error envelope ({errors:[{type…}], request_id}) for answers no operation documents (429 rate limit, 5xx). */
  envelope: ValidateFunction;
  /** A validator for one of the spec's component schemas. */
  schema(name: string): ValidateFunction;
  operations: Set<string>;
}

export function loadSpec(file: URL): Spec {
  const raw = YAML.parse(readFileSync(file, 'utf8')) as Node;
  const schemas = (raw['components'] as Node)['schemas'] as Node;
  const doc = translate({ components: raw['components'], paths: raw['paths'] }, schemas) as Node;
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, allowUnionTypes: true });
  addFormats(ajv);
  // Formats the spec names but never defines.
  ajv.addFormat('phone', true);
  ajv.addFormat('dateTime', true);
  // hh.ru writes date-times without a colon in the offset (2015-05-14T12:00:05+0300), like its own examples.
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)$/);
  ajv.addSchema({ $id: 'hh', ...doc });
  const byOperation = new Map<string, { path: string; method: string; responses: Node }>();
  for (const [path, item] of Object.entries(doc['paths'] as Record<string, Node>)) {
    for (const [method, op] of Object.entries(item)) {
      if (isObject(op) && typeof op['operationId'] === 'string')
        byOperation.set(op['operationId'], { path, method, responses: (op['responses'] ?? {}) as Node });
    }
  }
  const cache = new Map<string, ValidateFunction | undefined>();
  const pointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
  return {
    operations: new Set(byOperation.keys()),
    schema: (name) =>
      ajv.getSchema(`hh#/components/schemas/${pointer(name)}`) ??
      ajv.compile({ $ref: `hh#/components/schemas/${pointer(name)}` }),
    envelope: ajv.compile({
      type: 'object',
      required: ['errors', 'request_id'],
      properties: {
        request_id: { type: 'string' },
        errors: {
          type: 'array',
          minItems: 1,
          items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
        },
      },
    }),
    validator(operationId, status) {
      const key = `${operationId} ${status}`;
      if (cache.has(key)) return cache.get(key);
      const op = byOperation.get(operationId);
      if (!op) throw new Error(`the spec has no operation ${operationId}`);
      let response = op.responses[String(status)] as Node | undefined;
      let at = `hh#/paths/${pointer(op.path)}/${op.method}/responses/${status}`;
      const ref = response?.['$ref'];
      if (typeof ref === 'string') {
        const name = ref.split('/').pop()!;
        response = ((doc['components'] as Node)['responses'] as Node)[name] as Node;
        at = `hh#/components/responses/${pointer(name)}`;
      }
      const content = (response?.['content'] as Node | undefined)?.['application/json'] as Node | undefined;
      const fn = content?.['schema']
        ? ajv.compile({ $ref: `${at}/content/application~1json/schema` })
        : undefined;
      cache.set(key, fn);
      return fn;
    },
  };
}
