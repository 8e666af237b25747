import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import { parse } from 'yaml';

/** The vendored public contract, found from this file (src/ and dist/ alike), not from the cwd. */
export const contractPath = fileURLToPath(
  new URL('../../../contracts/api-specification.yaml', import.meta.url),
);

export interface ContractOptions {
  /**
   * Accept properties the contract does not declare. Off by default: the contract leaves
   * `additionalProperties` open, but a body with fields the contract never mentions is usually a bug.
   */
  allowUnknownProperties?: boolean;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, { schema?: Json }> }> }>
  >;
  components: { schemas: Record<string, Json> };
}

const schemaBase = 'https://cinemaabyss.local/contract/schemas/';
const componentRef = '#/components/schemas/';

let document: OpenApiDocument | undefined;
const validators = new Map<boolean, Ajv>();
const compiled = new Map<string, ValidateFunction>();

/** The parsed contract (cached). */
export function loadContract(): OpenApiDocument {
  document ??= parse(readFileSync(contractPath, 'utf8')) as OpenApiDocument;
  return document;
}

/** Names of the contract's component schemas: Movie, User, Payment, Error, ... */
export function schemaNames(): string[] {
  return Object.keys(loadContract().components.schemas);
}

/**
 * Every way `body` breaks the named component schema, as readable lines (`/rating must be number`);
 * empty when it matches.
 */
export function contractErrors(schemaName: string, body: unknown, options: ContractOptions = {}): string[] {
  if (!(schemaName in loadContract().components.schemas)) {
    throw new Error(`the contract has no schema named ${schemaName} (it has: ${schemaNames().join(', ')})`);
  }
  return check(`schema ${schemaName}`, { $ref: `${schemaBase}${schemaName}` }, body, options);
}

/** Throws an error listing every mismatch when `body` does not match the named component schema. */
export function assertMatchesContract(
  schemaName: string,
  body: unknown,
  options: ContractOptions = {},
): void {
  const errors = contractErrors(schemaName, body, options);
  if (errors.length > 0) throw new Error(describe(schemaName, body, errors));
}

/**
 * Every way `body` breaks the JSON response the contract documents for `method path` with `status`,
 * e.g. `responseErrors('get', '/api/movies', 200, body)` checks an array of Movie.
 */
export function responseErrors(
  method: string,
  path: string,
  status: number,
  body: unknown,
  options: ContractOptions = {},
): string[] {
  const operation = loadContract().paths[path]?.[method.toLowerCase()];
  if (!operation) throw new Error(`the contract has no operation ${method.toUpperCase()} ${path}`);
  const schema = operation.responses?.[String(status)]?.content?.['application/json']?.schema;
  if (schema === undefined) {
    throw new Error(`the contract documents no JSON ${status} response for ${method.toUpperCase()} ${path}`);
  }
  return check(`${method.toUpperCase()} ${path} ${status}`, schema, body, options);
}

/** Throws an error listing every mismatch when `body` is not the documented response. */
export function assertMatchesResponse(
  method: string,
  path: string,
  status: number,
  body: unknown,
  options: ContractOptions = {},
): void {
  const errors = responseErrors(method, path, status, body, options);
  if (errors.length > 0) throw new Error(describe(`${method.toUpperCase()} ${path} ${status}`, body, errors));
}

function describe(what: string, body: unknown, errors: string[]): string {
  return `body does not match the contract's ${what}:\n  ${errors.join('\n  ')}\nbody: ${JSON.stringify(body)}`;
}

function check(
  key: string,
  schema: Json,
  body: unknown,
  { allowUnknownProperties = false }: ContractOptions,
) {
  const ajv = validator(allowUnknownProperties);
  const cacheKey = `${allowUnknownProperties}:${key}`;
  let validate = compiled.get(cacheKey);
  if (!validate) {
    validate = ajv.compile(toJsonSchema(schema, !allowUnknownProperties) as JsonObject);
    compiled.set(cacheKey, validate);
  }
  return validate(body) ? [] : (validate.errors ?? []).map(formatError);
}

function formatError(error: ErrorObject): string {
  const where = error.instancePath || '(root)';
  const extra =
    error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '';
  return `${where} ${error.message ?? error.keyword}${extra}`;
}

/** One Ajv per strictness, holding every component schema under an absolute id. */
function validator(allowUnknownProperties: boolean): Ajv {
  let ajv = validators.get(allowUnknownProperties);
  if (ajv) return ajv;
  ajv = new Ajv({ allErrors: true, strict: true });
  formats.default(ajv);
  // OpenAPI 3.0 additions to JSON Schema: annotations Ajv does not know, and numeric formats.
  // (`nullable`, `readOnly`, `writeOnly` and `deprecated` Ajv knows already.)
  for (const keyword of ['example', 'xml', 'externalDocs']) ajv.addKeyword(keyword);
  for (const format of ['float', 'double'])
    ajv.addFormat(format, { type: 'number', validate: Number.isFinite });
  ajv.addFormat('int32', { type: 'number', validate: (n) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: Number.isSafeInteger });
  for (const [name, schema] of Object.entries(loadContract().components.schemas)) {
    ajv.addSchema({
      ...(toJsonSchema(schema, !allowUnknownProperties) as JsonObject),
      $id: `${schemaBase}${name}`,
    });
  }
  validators.set(allowUnknownProperties, ajv);
  return ajv;
}

/**
 * Rewrites OpenAPI `$ref`s to the component ids Ajv knows and, when closing, forbids properties an
 * object schema does not declare (unless it says otherwise itself).
 */
function toJsonSchema(schema: Json, close: boolean): Json {
  if (Array.isArray(schema)) return schema.map((item) => toJsonSchema(item, close));
  if (schema === null || typeof schema !== 'object') return schema;
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith(componentRef)) {
      result.$ref = `${schemaBase}${value.slice(componentRef.length)}`;
    } else if (key === 'properties' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      // Property names are not schemas; only their values are.
      result.properties = Object.fromEntries(
        Object.entries(value).map(([name, property]) => [name, toJsonSchema(property, close)]),
      );
    } else if (key === 'example') {
      result.example = value; // examples are data, never rewritten
    } else {
      result[key] = toJsonSchema(value, close);
    }
  }
  if (close && result.type === 'object' && result.properties && !('additionalProperties' in result)) {
    result.additionalProperties = false;
  }
  return result;
}
