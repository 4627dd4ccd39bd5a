/**
 * The OCloudView contract (docs/reference/ocloud/api-subset.json) as
 * a checker for tests: the endpoints, and `checkValue` that walks one of its
 * field specs over a JSON value. Hand-written because the notation is the
 * reference's own: an object spec maps field names (`?` = optional) to specs,
 * `$` names the schema; a spec is a type string ("string",
 * "string:date-time", "integer:int32", "integer:int64", "number", "boolean",
 * "Timestamp" = an object whose `time` is epoch ms), a nested object spec, a
 * one-element array [item spec], or the name of a schema defined elsewhere in
 * the file (recursion: UserGroupVO.list). Fields the spec does not list are
 * reported too, so an answer must use exactly the contract's names. Pure.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

export const CONTRACT_FILE = fileURLToPath(new URL('../../../docs/reference/ocloud/api-subset.json', import.meta.url));

export type FieldSpec = string | FieldSpec[] | { [field: string]: FieldSpec };
export type ObjectSpec = { [field: string]: FieldSpec };

export interface ContractEndpoint {
  method: string;
  path: string;
  operationId: string;
  /** `name?:in:type` */
  params?: string[];
  body?: ObjectSpec;
  response: ObjectSpec;
}

export function loadContract(file = CONTRACT_FILE): ContractEndpoint[] {
  return JSON.parse(readFileSync(file, 'utf8')) as ContractEndpoint[];
}

/** Every object spec with a `$` name, by that name. */
export function schemasOf(endpoints: readonly ContractEndpoint[]): Map<string, ObjectSpec> {
  const out = new Map<string, ObjectSpec>();
  const visit = (spec: FieldSpec): void => {
    if (typeof spec === 'string') return;
    if (Array.isArray(spec)) return spec.forEach(visit);
    const name = spec.$;
    if (typeof name === 'string' && !out.has(name)) out.set(name, spec);
    for (const [key, value] of Object.entries(spec)) if (key !== '$') visit(value);
  };
  for (const e of endpoints) {
    visit(e.response);
    if (e.body) visit(e.body);
  }
  return out;
}

/** The endpoint whose method and path template (`{id}` = one segment) match a concrete request. */
export function endpointFor(endpoints: readonly ContractEndpoint[], method: string, path: string): ContractEndpoint | undefined {
  const bare = path.split('?')[0] ?? path;
  return endpoints.find((e) => e.method === method.toUpperCase() && new RegExp(`^${e.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(bare));
}

const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

function typeProblem(type: string, value: unknown): string | undefined {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? undefined : 'expected a string';
    case 'string:date-time':
      return typeof value === 'string' && ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)) ? undefined : 'expected an ISO date-time string';
    case 'integer:int32':
      return typeof value === 'number' && Number.isInteger(value) && value >= INT32[0] && value <= INT32[1] ? undefined : 'expected a 32-bit integer';
    case 'integer:int64':
      return typeof value === 'number' && Number.isSafeInteger(value) ? undefined : 'expected an integer';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'expected a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'expected a boolean';
    case 'Timestamp': {
      const ok = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && Number.isSafeInteger((value as { time?: unknown }).time);
      return ok ? undefined : 'expected a Timestamp {time: epoch ms}';
    }
    default:
      return `the contract type ${JSON.stringify(type)} is not one this checker knows`;
  }
}

/** Problems of `value` against `spec`, each as `path: what`; [] when it conforms. */
export function checkValue(spec: FieldSpec, value: unknown, schemas: ReadonlyMap<string, ObjectSpec>, at = '$'): string[] {
  if (typeof spec === 'string') {
    const named = schemas.get(spec);
    if (named !== undefined) return checkValue(named, value, schemas, at);
    const problem = typeProblem(spec, value);
    return problem === undefined ? [] : [`${at}: ${problem} (got ${JSON.stringify(value)})`];
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(value)) return [`${at}: expected an array (got ${JSON.stringify(value)})`];
    const item = spec[0];
    if (item === undefined) return [`${at}: the contract gives no item spec`];
    return value.flatMap((v, i) => checkValue(item, v, schemas, `${at}[${i}]`));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: expected an object${typeof spec.$ === 'string' ? ` (${spec.$})` : ''} (got ${JSON.stringify(value)})`];
  const fields = new Map(
    Object.entries(spec)
      .filter(([k]) => k !== '$')
      .map(([k, v]) => [k.replace(/\?$/, ''), { spec: v, optional: k.endsWith('?') }]),
  );
  const problems: string[] = [];
  for (const [name, field] of fields) {
    const v = (value as Record<string, unknown>)[name];
    if (v === undefined) {
      if (!field.optional) problems.push(`${at}.${name}: required but absent`);
    } else problems.push(...checkValue(field.spec, v, schemas, `${at}.${name}`));
  }
  for (const name of Object.keys(value)) if (!fields.has(name)) problems.push(`${at}.${name}: not a field of ${typeof spec.$ === 'string' ? spec.$ : 'this object'}`);
  return problems;
}
