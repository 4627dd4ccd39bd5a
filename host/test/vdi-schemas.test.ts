/**
 * The client's OCloudView schemas (host/src/vdi/endpoints.ts, schemas/*) against
 * the contract file api-subset.json: every endpoint of the contract has an
 * entry and no entry is missing from it; every parameter, body field and
 * `data` field the contract lists is known to our schema with a compatible
 * type (checked on zod's JSON Schema of the input side), and no schema field
 * is absent from the contract. Fields we require although the contract marks
 * them optional are listed here, so making one strict is a visible decision.
 * Then the leniency rules on sample answers.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ENDPOINTS, type Endpoint } from '../src/vdi/endpoints.js';
import { envelopeSchema } from '../src/vdi/schemas/common.js';
import { domainSchema, spiceKeySchema } from '../src/vdi/schemas/domain.js';
import { eventSchema } from '../src/vdi/schemas/event.js';
import { userGroupSchema } from '../src/vdi/schemas/user.js';

const CONTRACT_FILE = fileURLToPath(new URL('../../docs/reference/ocloud/api-subset.json', import.meta.url));

type Spec = string | Spec[] | { [key: string]: Spec };
interface ContractEndpoint {
  method: string;
  path: string;
  params?: string[];
  body?: Record<string, Spec>;
  response: Record<string, Spec>;
}
const contract = JSON.parse(readFileSync(CONTRACT_FILE, 'utf8')) as ContractEndpoint[];

/** Named contract objects (`$`), for references by name such as `["UserGroupVO"]`. */
const named = new Map<string, Record<string, Spec>>();
(function collect(spec: Spec): void {
  if (Array.isArray(spec)) spec.forEach(collect);
  else if (typeof spec === 'object') {
    const name = spec['$'];
    if (typeof name === 'string' && !named.has(name)) named.set(name, spec);
    Object.values(spec).forEach(collect);
  }
})(contract as unknown as Spec);

type Json = { [key: string]: unknown };
interface Walk {
  root: Json;
  /** "body" or "answer": decides which side of requiredness is checked. */
  side: 'body' | 'answer';
  problems: string[];
  /** Answer fields our schema requires although the contract marks them optional. */
  stricter: string[];
  seen: Set<string>;
}

function resolve(node: Json, root: Json): Json {
  const ref = node['$ref'];
  if (typeof ref !== 'string') return node;
  if (ref === '#') return root;
  const key = ref.replace('#/$defs/', '');
  return ((root['$defs'] as Record<string, Json> | undefined)?.[key] ?? {}) as Json;
}

/** The alternatives a node accepts, unions and references flattened. */
function alternatives(node: Json, root: Json): Json[] {
  const n = resolve(node, root);
  const union = (n['anyOf'] ?? n['oneOf']) as Json[] | undefined;
  if (union) return union.flatMap((a) => alternatives(a, root));
  return [n];
}

function typesOf(node: Json): string[] {
  const t = node['type'];
  if (Array.isArray(t)) return t as string[];
  if (typeof t === 'string') return [t];
  if (typeof node['const'] === 'number') return ['integer'];
  return [];
}

const PRIMITIVE: Record<string, string[]> = {
  string: ['string'],
  'string:date-time': ['string'],
  'integer:int32': ['integer', 'number'],
  'integer:int64': ['integer', 'number'],
  number: ['number'],
  boolean: ['boolean'],
};

function check(spec: Spec, node: Json, at: string, w: Walk): void {
  const alts = alternatives(node, w.root);
  const pick = (type: string): Json | undefined => alts.find((a) => typesOf(a).includes(type));
  if (Array.isArray(spec)) {
    const arr = pick('array');
    if (!arr) return void w.problems.push(`${at}: contract has an array, schema accepts ${accepts(alts)}`);
    check(spec[0] as Spec, (arr['items'] ?? {}) as Json, `${at}[]`, w);
    return;
  }
  if (typeof spec === 'object') return checkObject(spec, pick('object'), at, w, alts);
  const accepted = PRIMITIVE[spec];
  if (accepted) {
    if (!alts.some((a) => typesOf(a).some((t) => accepted.includes(t)))) w.problems.push(`${at}: contract has ${spec}, schema accepts ${accepts(alts)}`);
    return;
  }
  if (spec === 'Timestamp') {
    const obj = pick('object');
    const time = obj && ((obj['properties'] as Record<string, Json> | undefined)?.['time'] ?? {});
    if (!time || !typesOf(time).includes('number')) w.problems.push(`${at}: contract has a Java Timestamp, schema has no object with a numeric time`);
    return;
  }
  const def = named.get(spec);
  if (!def) return void w.problems.push(`${at}: contract type ${spec} is unknown to this test`);
  const key = `${spec}@${JSON.stringify(resolve(node, w.root)).length}`;
  if (w.seen.has(key)) return; // a recursive reference already walked
  w.seen.add(key);
  checkObject(def, pick('object'), at, w, alts);
}

function checkObject(spec: Record<string, Spec>, obj: Json | undefined, at: string, w: Walk, alts: Json[]): void {
  if (!obj) return void w.problems.push(`${at}: contract has an object, schema accepts ${accepts(alts)}`);
  const props = (obj['properties'] ?? {}) as Record<string, Json>;
  const required = new Set((obj['required'] ?? []) as string[]);
  const listed = new Set<string>();
  for (const [rawKey, fieldSpec] of Object.entries(spec)) {
    if (rawKey === '$') continue;
    const optional = rawKey.endsWith('?');
    const key = optional ? rawKey.slice(0, -1) : rawKey;
    listed.add(key);
    const path = at === '' ? key : `${at}.${key}`;
    const prop = props[key];
    if (!prop) {
      w.problems.push(`${path}: in the contract, unknown to the schema`);
      continue;
    }
    if (!optional && !required.has(key)) w.problems.push(`${path}: required by the contract, optional in the schema`);
    if (optional && required.has(key) && w.side === 'answer') w.stricter.push(path);
    check(fieldSpec, prop, path, w);
  }
  for (const key of Object.keys(props)) if (!listed.has(key)) w.problems.push(`${at === '' ? key : `${at}.${key}`}: in the schema, not in the contract`);
  if (w.side === 'answer' && obj['additionalProperties'] === false) w.problems.push(`${at || '(data)'}: answer objects must pass unknown fields through`);
}

function accepts(alts: Json[]): string {
  return alts.map((a) => typesOf(a).join('|') || 'anything').join(' or ');
}

const jsonSchema = (schema: z.ZodType): Json => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;

function walk(spec: Spec, schema: z.ZodType, side: Walk['side']): Walk {
  const root = jsonSchema(schema);
  const w: Walk = { root, side, problems: [], stricter: [], seen: new Set() };
  check(spec, root, '', w);
  return w;
}

/** `name?:in:type` → the name, whether optional, where, and the type as a Spec. */
function parseParam(text: string): { name: string; optional: boolean; where: string; type: Spec } {
  const [rawName = '', where = '', ...rest] = text.split(':');
  const typeText = rest.join(':');
  const array = /^\['(.+)'\]$/.exec(typeText);
  const optional = rawName.endsWith('?');
  return { name: optional ? rawName.slice(0, -1) : rawName, optional, where, type: array ? [array[1] as string] : typeText };
}

const entries = Object.entries(ENDPOINTS) as [string, Endpoint][];
const find = (c: ContractEndpoint): [string, Endpoint] | undefined => entries.find(([, e]) => e.method === c.method && e.path === c.path);

/** Answer fields we require on purpose (ids, names, status integers, what a call is for). */
const STRICTER_BY_CHOICE = new Set([
  'id', 'name', 'status', 'token', 'eventId', 'ip', 'port', 'type', 'value', 'password', 'sAMAccountName', 'ou', 'distinguishedName',
]);

describe('OCloudView schemas against api-subset.json', () => {
  it('has one entry per contract endpoint and no other', () => {
    expect(contract).toHaveLength(30);
    const missing = contract.filter((c) => !find(c)).map((c) => `${c.method} ${c.path}`);
    expect(missing).toEqual([]);
    const extra = entries.filter(([, e]) => !contract.some((c) => c.method === e.method && c.path === e.path)).map(([n]) => n);
    expect(extra).toEqual([]);
  });

  it.each(contract.map((c) => [`${c.method} ${c.path}`, c] as const))('%s: params, body and data match the contract', (_label, c) => {
    const [name, e] = find(c) ?? ['?', undefined];
    expect(e, name).toBeDefined();
    if (!e) return;
    const problems: string[] = [];
    // Parameters: every contract parameter known, required ones required, path ones in the template.
    const params = e.params ? jsonSchema(e.params) : { properties: {}, required: [] };
    const props = (params['properties'] ?? {}) as Record<string, Json>;
    const required = new Set((params['required'] ?? []) as string[]);
    const contractParams = (c.params ?? []).map(parseParam);
    for (const p of contractParams) {
      const prop = props[p.name];
      if (!prop) problems.push(`param ${p.name}: in the contract, unknown to the schema`);
      else {
        if (!p.optional && !required.has(p.name)) problems.push(`param ${p.name}: required by the contract, optional in the schema`);
        const w: Walk = { root: params, side: 'body', problems, stricter: [], seen: new Set() };
        check(p.type, prop, `param ${p.name}`, w);
      }
      if (p.where === 'path' && !e.path.includes(`{${p.name}}`)) problems.push(`param ${p.name}: a path parameter missing from ${e.path}`);
    }
    for (const key of Object.keys(props)) if (!contractParams.some((p) => p.name === key)) problems.push(`param ${key}: in the schema, not in the contract`);
    // Body.
    if (c.body === undefined) {
      if (e.body) problems.push('body: the contract has none');
    } else if (!e.body) problems.push('body: the contract has one, the endpoint none');
    else {
      const w = walk(c.body, e.body, 'body');
      problems.push(...w.problems.map((p) => `body.${p}`));
      if (jsonSchema(e.body)['additionalProperties'] !== false) problems.push('body: request bodies are strict objects');
    }
    // Envelope and data.
    const { 'data?': data, ...envelope } = c.response;
    const env = walk({ ...envelope, 'data?': 'string' }, envelopeSchema, 'answer');
    problems.push(...env.problems.filter((p) => !p.startsWith('data:')).map((p) => `envelope.${p}`));
    let stricter: string[] = [];
    if (data === undefined) {
      if (e.data) problems.push('data: the contract has none');
    } else if (!e.data) problems.push('data: the contract has some, the endpoint none');
    else {
      const w = walk(data, e.data, 'answer');
      problems.push(...w.problems.map((p) => `data${p.startsWith('[') ? '' : '.'}${p}`));
      stricter = w.stricter;
      expect(Boolean(e.paged), 'paged iff the data is a PageResult').toBe(typeof data === 'object' && !Array.isArray(data) && String(data['$']).startsWith('PageResult'));
    }
    expect(problems).toEqual([]);
    const unexpected = stricter.filter((path) => !STRICTER_BY_CHOICE.has(path.split('.').pop()?.replace('[]', '') ?? ''));
    expect(unexpected, 'answer fields required against the contract').toEqual([]);
  });

  it('notices a contract change: a new field, a changed type, a dropped field, a newly required body field', () => {
    const one = contract.find((c) => c.method === 'GET' && c.path === '/ocloud/v1/domain/{id}');
    const data = one?.response['data?'] as Record<string, Spec>;
    const schema = ENDPOINTS.domainOne.data;
    expect(walk(data, schema, 'answer').problems).toEqual([]);
    expect(walk(data, schema, 'answer').stricter.sort()).toEqual(['id', 'name', 'status']);
    expect(walk({ ...data, 'gpuCount?': 'integer:int32' }, schema, 'answer').problems).toEqual(['gpuCount: in the contract, unknown to the schema']);
    expect(walk({ ...data, 'hostId?': 'integer:int32' }, schema, 'answer').problems).toEqual(['hostId: contract has integer:int32, schema accepts string|null']);
    expect(walk({ ...data, 'createTime?': 'boolean' }, schema, 'answer').problems).toHaveLength(1);
    const { 'remark?': _dropped, ...fewer } = data;
    expect(walk(fewer, schema, 'answer').problems).toEqual(['remark: in the schema, not in the contract']);
    const body = contract.find((c) => c.path === '/ocloud/v1/desk-pool' && c.method === 'POST')?.body as Record<string, Spec>;
    const { 'remark?': remark, ...rest } = body;
    expect(walk({ ...rest, remark: remark as Spec }, ENDPOINTS.poolCreate.body, 'body').problems).toEqual(['remark: required by the contract, optional in the schema']);
    const tree = contract.find((c) => c.path === '/ocloud/v1/group/tree')?.response['data?'] as Spec[];
    const group = tree[0] as Record<string, Spec>;
    expect(walk([{ ...group, 'list?': ['UserGroupVO'] }], ENDPOINTS.groupTree.data, 'answer').problems).toEqual([]);
    expect(walk([{ ...group, 'list?': ['string'] }], ENDPOINTS.groupTree.data, 'answer').problems).toEqual(['[].list[]: contract has string, schema accepts object']);
  });

  it('the envelope requires the status the client branches on', () => {
    expect(envelopeSchema.safeParse({ msg: 'ok', data: null }).success).toBe(false);
    expect(envelopeSchema.parse({ status: 0, msg: null, data: { a: 1 }, extra: true })).toMatchObject({ status: 0, data: { a: 1 }, extra: true });
  });
});

describe('leniency the real platform needs', () => {
  const base = { id: 'd1', name: 'vm-01', status: 1 };

  it('reads Java timestamps as epoch ms from {time}, ISO strings and numbers', () => {
    const d = domainSchema.parse({ ...base, createTime: { time: 1700000000000, nanos: 0 }, updateTime: '2024-01-02T03:04:05Z', connectTime: 1700000000001 });
    expect(d.createTime).toBe(1700000000000);
    expect(d.updateTime).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(d.connectTime).toBe(1700000000001);
    expect(eventSchema.parse({ id: 'e1', createTime: '2024-01-02T03:04:05.000+08:00' }).createTime).toBe(Date.UTC(2024, 0, 1, 19, 4, 5));
    expect(domainSchema.safeParse({ ...base, createTime: 'yesterday' }).success).toBe(false);
  });

  it('takes null for optional fields, keeps unknown fields, and reads the SPICE port string as a number', () => {
    const d = domainSchema.parse({ ...base, hostId: null, remark: null, futureField: { x: 1 } });
    expect(d.hostId).toBeUndefined();
    expect(d['futureField']).toEqual({ x: 1 });
    expect(spiceKeySchema.parse({ ip: '10.0.0.5', port: '5901', key: 'tkt' }).port).toBe(5901);
    expect(spiceKeySchema.safeParse({ ip: '10.0.0.5', port: 'x' }).success).toBe(false);
  });

  it('is strict on ids, names and status integers', () => {
    expect(domainSchema.safeParse({ name: 'vm', status: 1 }).success).toBe(false);
    expect(domainSchema.safeParse({ ...base, status: '1' }).success).toBe(false);
    expect(domainSchema.safeParse({ ...base, status: 1.5 }).success).toBe(false);
    expect(domainSchema.safeParse({ ...base, id: '' }).success).toBe(false);
  });

  it('reads the recursive group tree', () => {
    const tree = userGroupSchema.parse({ id: 'g1', ou: 'Root', distinguishedName: 'OU=Root', list: [{ id: 'g2', ou: 'Lab', distinguishedName: 'OU=Lab,OU=Root', list: null }] });
    expect(tree.list[0]?.list).toEqual([]);
    expect(userGroupSchema.safeParse({ id: 'g1', ou: 'Root', distinguishedName: 'x', list: [{ id: 'g2' }] }).success).toBe(false);
  });
});
