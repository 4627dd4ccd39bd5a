/**
 * zod → JSON Schema for the OpenAPI document (openapi.ts), with zod 4's own
 * z.toJSONSchema (draft 2020-12, the dialect of OpenAPI 3.1):
 *
 *  - response bodies become components: the schemas are converted together
 *    through one registry, so a schema exported by @atp/protocol under a name
 *    (`ApiHostListSchema` → `ApiHostList`) is one component wherever it
 *    appears, nested ones included, and referenced with $ref;
 *  - request parts (path, query, body) are converted one by one in the
 *    "input" view (defaults make fields optional, coerced query numbers) and
 *    inlined into the operation;
 *  - `$schema`/`$id` are dropped (the document's dialect applies), and any
 *    `$defs` zod makes for cycles are moved into components, their refs
 *    rewritten, so every $ref resolves inside the document.
 * Pure: no I/O.
 */
import { z } from 'zod';
import * as protocol from '@atp/protocol';

export type JsonSchema = Record<string, unknown>;

export const COMPONENT_PREFIX = '#/components/schemas/';

const isZod = (value: unknown): value is z.ZodType => typeof value === 'object' && value !== null && '_zod' in value;

/** Every zod schema @atp/protocol exports as `NameSchema`, by identity → "Name" (first name in sort order wins). */
export function protocolSchemaNames(): Map<z.ZodType, string> {
  const names = new Map<z.ZodType, string>();
  for (const [key, value] of Object.entries(protocol).sort(([a], [b]) => a.localeCompare(b))) {
    if (!key.endsWith('Schema') || key.length === 'Schema'.length || !isZod(value) || names.has(value)) continue;
    names.set(value, key.slice(0, -'Schema'.length));
  }
  return names;
}

/** Walks a JSON value, rewriting every `$ref` string with `map`. */
function rewriteRefs(value: unknown, map: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, map));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === '$ref' && typeof v === 'string' ? map(v) : rewriteRefs(v, map);
  return out;
}

/** `$ref` targets (component names) inside a JSON value. */
export function componentRefs(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) componentRefs(v, into);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(COMPONENT_PREFIX)) into.add(decodeURIComponent(v.slice(COMPONENT_PREFIX.length)));
      else componentRefs(v, into);
    }
  }
  return into;
}

function strip(schema: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

/** Local `#/$defs/X` refs of a single conversion → components named `X`, added to `components`. */
function hoistDefs(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  const { $defs, ...rest } = strip(schema);
  const defs = ($defs ?? {}) as Record<string, JsonSchema>;
  const map = (ref: string): string => (ref.startsWith('#/$defs/') ? `${COMPONENT_PREFIX}${ref.slice('#/$defs/'.length)}` : ref);
  for (const [name, def] of Object.entries(defs)) components[name] = rewriteRefs(strip(def), map) as JsonSchema;
  return rewriteRefs(rest, map) as JsonSchema;
}

/** One schema in the input view, inline (components only for cycles). */
export function inputSchema(schema: z.ZodType, components: Record<string, JsonSchema>): JsonSchema {
  return hoistDefs(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, components);
}

/**
 * The response schemas as components: `roots` maps each schema to the name
 * it gets when @atp/protocol does not name it. Returns the components
 * reachable from the roots (named nested schemas included) and each root's name.
 */
export function responseComponents(roots: ReadonlyMap<z.ZodType, string>, named: ReadonlyMap<z.ZodType, string>): { components: Record<string, JsonSchema>; nameOf: Map<z.ZodType, string> } {
  const registry = z.registry<{ id: string }>();
  const nameOf = new Map<z.ZodType, string>();
  const taken = new Set<string>();
  const add = (schema: z.ZodType, name: string): void => {
    if (nameOf.has(schema)) return;
    let unique = name;
    for (let i = 2; taken.has(unique); i++) unique = `${name}${i}`;
    taken.add(unique);
    nameOf.set(schema, unique);
    registry.add(schema, { id: unique });
  };
  for (const [schema, name] of named) add(schema, name);
  for (const [schema, name] of roots) add(schema, named.get(schema) ?? name);
  const out = z.toJSONSchema(registry, { io: 'output', unrepresentable: 'any', uri: (id) => `${COMPONENT_PREFIX}${encodeURIComponent(id)}` }) as { schemas: Record<string, JsonSchema> };
  const all: Record<string, JsonSchema> = {};
  const sharedPrefix = `${COMPONENT_PREFIX}__shared#/$defs/`;
  const map = (ref: string): string => (ref.startsWith(sharedPrefix) ? `${COMPONENT_PREFIX}${ref.slice(sharedPrefix.length)}` : ref);
  for (const [id, schema] of Object.entries(out.schemas)) {
    if (id === '__shared') {
      for (const [defId, def] of Object.entries((schema['$defs'] ?? {}) as Record<string, JsonSchema>)) all[defId] = rewriteRefs(strip(def), map) as JsonSchema;
    } else all[id] = rewriteRefs(strip(schema), map) as JsonSchema;
  }
  // Keep what the roots reach.
  const keep = new Set<string>();
  const queue = [...roots.keys()].map((s) => nameOf.get(s)).filter((n): n is string => n !== undefined);
  while (queue.length > 0) {
    const name = queue.pop() ?? '';
    if (keep.has(name) || all[name] === undefined) continue;
    keep.add(name);
    queue.push(...componentRefs(all[name]));
  }
  const components: Record<string, JsonSchema> = {};
  for (const name of [...keep].sort()) components[name] = all[name] ?? {};
  return { components, nameOf };
}
