/**
 * The OpenAPI 3.1 document of /api/v1, built only from the route
 * descriptions (route.ts: method, path, summary, tag, the zod schemas of
 * params/query/body/response, raw content types, status), so it cannot drift
 * from what the server does. Served at GET /api/v1/openapi.json
 * (routes/openapi.ts), checked in as docs/openapi.json by
 * host/scripts/gen-openapi.ts (`npm run gen:check` fails when it is stale).
 *
 *  - paths: Fastify's `/runs/:id` becomes `/runs/{id}`; each path parameter
 *    and each query field is a parameter with its JSON Schema; a body is
 *    application/json; a JSON response is a component (openapi-schemas.ts), a
 *    raw one lists its content types;
 *  - errors: every operation lists the statuses it can answer besides 2xx
 *    (http-errors.ts: 400 bad input, 401 no/wrong token, 403 foreign Origin,
 *    404 unknown object, 413 body too large, 502 a VM or platform failed, 500)
 *    as shared responses carrying the one error body (ApiError);
 *  - security: a bearer token or the `atp_session` cookie, except the public
 *    routes (`security: []`);
 *  - the sign-in routes plugin.ts registers itself (POST/DELETE
 *    /api/v1/session) are described here, since they are not ApiRoutes.
 * Pure: no I/O.
 */
import { z } from 'zod';
import { ApiOkSchema } from '@atp/protocol';
import { SESSION_COOKIE } from './auth.js';
import { API_PREFIX } from './plugin.js';
import type { ApiRoute } from './route.js';
import { COMPONENT_PREFIX, inputSchema, protocolSchemaNames, responseComponents, type JsonSchema } from './openapi-schemas.js';

export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;
/** Routes that need no token, as "METHOD /path" (the server's PUBLIC_ROUTES plus the sign-in). */
export const OPENAPI_PUBLIC_ROUTES: readonly string[] = [`GET ${OPENAPI_PATH}`, `POST ${API_PREFIX}/session`];

export interface OpenApiOptions {
  /** "METHOD /path" of routes that need no token (default OPENAPI_PUBLIC_ROUTES). */
  publicRoutes?: readonly string[];
}

export type OpenApiDocument = Record<string, unknown> & { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };

/** plugin.ts's sign-in body (kept there with the handler). */
const SessionBody = z.strictObject({ token: z.string().min(1).max(4096) });

/** The sign-in routes of plugin.ts, described like any route (their handlers are never called from here). */
function sessionRoutes(): ApiRoute[] {
  const unused = (): never => {
    throw new Error('described only');
  };
  return [
    { method: 'POST', path: `${API_PREFIX}/session`, summary: 'Sign in with the API token: sets the atp_session cookie (HttpOnly, SameSite=Strict) for the console and this page', tag: 'session', body: SessionBody, response: ApiOkSchema, handler: unused },
    { method: 'DELETE', path: `${API_PREFIX}/session`, summary: 'Sign out: ends the session of the atp_session cookie', tag: 'session', response: ApiOkSchema, handler: unused },
  ];
}

const TAG_TEXT: Readonly<Record<string, string>> = {
  session: 'Signing in with the API token (a cookie for browsers; scripts send Authorization: Bearer)',
  hosts: 'The hypervisors ATP reaches (hosts.yaml)',
  vms: 'The VMs of a host and their state',
  input: 'Keyboard and mouse input into a VM',
  exec: 'Commands in a guest (qemu-guest-agent)',
  suites: 'Suite files: list and validate',
  runs: 'Runs of suites on VMs, their progress and reports (JSON, JUnit, HTML)',
  agents: 'Guest agents and pages connected to the hub',
  metrics: 'The server\'s own load',
  platform: 'The VDI platform, passed through',
  docs: 'This document',
};

/** `/api/v1/runs/:id/report.xml` → `/api/v1/runs/{id}/report.xml` (a param's regex, if any, dropped). */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\([^)]*\))?/g, '{$1}');
}

/** `GET /api/v1/runs/:id/report.xml` → `getRunsByIdReportXml`. */
export function operationIdOf(route: Pick<ApiRoute, 'method' | 'path'>): string {
  const words = route.path
    .replace(API_PREFIX, '')
    .split(/[/.\-_]/)
    .filter((w) => w !== '')
    .map((w) => (w.startsWith(':') ? `By${cap(w.slice(1).replace(/\(.*$/, ''))}` : cap(w)));
  return `${route.method.toLowerCase()}${words.join('')}`;
}

const cap = (w: string): string => (w === '' ? w : `${w[0]?.toUpperCase() ?? ''}${w.slice(1)}`);
const pascal = (w: string): string => cap(w);

const ERROR_RESPONSES: Readonly<Record<string, { name: string; description: string }>> = {
  '400': { name: 'BadRequest', description: 'Bad input: the body, a parameter or the query is invalid (details.field names it), or a suite or key is unknown' },
  '401': { name: 'Unauthorized', description: 'No token, a wrong token, or a token in the URL (refused: URLs end up in logs)' },
  '403': { name: 'Forbidden', description: "The request's Origin is not this server's (or a cookie request that changes state carries none)" },
  '404': { name: 'NotFound', description: 'The object (host, VM, run, suite ...) does not exist' },
  '409': { name: 'Conflict', description: 'The object is in a state that does not allow this' },
  '413': { name: 'PayloadTooLarge', description: 'The body is larger than the limit (1 MiB by default)' },
  '502': { name: 'UpstreamFailed', description: 'A VM, hypervisor or the platform failed (the AtpError code says which)' },
  '500': { name: 'InternalError', description: 'A bug: the cause is in the server log, not in the answer' },
};

function errorStatuses(route: ApiRoute, isPublic: boolean): string[] {
  const statuses = ['403', '500'];
  const takesInput = route.params !== undefined || route.query !== undefined || route.body !== undefined;
  if (takesInput) statuses.push('400');
  if (!isPublic) statuses.push('401');
  if (route.params !== undefined || /:[A-Za-z]/.test(route.path)) statuses.push('404');
  if (route.method !== 'GET') statuses.push('409');
  if (route.body !== undefined) statuses.push('413');
  if (route.tag !== 'session' && route.tag !== 'docs') statuses.push('502');
  return statuses.sort();
}

function parameters(route: ApiRoute, where: 'path' | 'query', components: Record<string, JsonSchema>): Record<string, unknown>[] {
  const schema = where === 'path' ? route.params : route.query;
  const names = where === 'path' ? [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? '') : [];
  const json = schema === undefined ? undefined : inputSchema(schema, components);
  const properties = (json?.['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json?.['required'] ?? []) as string[]);
  const all = [...new Set([...names, ...Object.keys(properties)])];
  return all.map((name) => {
    const property = properties[name] ?? { type: 'string' };
    const description = typeof property['description'] === 'string' ? { description: property['description'] } : {};
    return { name, in: where, required: where === 'path' || required.has(name), ...description, schema: property };
  });
}

function operation(route: ApiRoute, isPublic: boolean, responseName: string | undefined, components: Record<string, JsonSchema>): Record<string, unknown> {
  const status = String(route.status ?? 200);
  const content: Record<string, unknown> =
    route.response !== undefined && responseName !== undefined
      ? { 'application/json': { schema: { $ref: `${COMPONENT_PREFIX}${encodeURIComponent(responseName)}` } } }
      : Object.fromEntries((route.produces ?? ['application/json']).map((type) => [type, { schema: type.includes('json') ? {} : { type: 'string' } }]));
  const responses: Record<string, unknown> = { [status]: { description: route.summary, content } };
  for (const code of errorStatuses(route, isPublic)) responses[code] = { $ref: `#/components/responses/${ERROR_RESPONSES[code]?.name ?? 'InternalError'}` };
  const params = [...parameters(route, 'path', components), ...parameters(route, 'query', components)];
  return {
    operationId: operationIdOf(route),
    summary: route.summary,
    tags: [route.tag],
    ...(params.length === 0 ? {} : { parameters: params }),
    ...(route.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: inputSchema(route.body, components) } } } }),
    responses,
    ...(isPublic ? { security: [] } : {}),
  };
}

/** The OpenAPI 3.1 document for `routes` (plus the sign-in routes). */
export function buildOpenApi(routes: readonly ApiRoute[], options: OpenApiOptions = {}): OpenApiDocument {
  const publicRoutes = new Set(options.publicRoutes ?? OPENAPI_PUBLIC_ROUTES);
  const api = [...sessionRoutes(), ...routes].filter((r) => r.path.startsWith(`${API_PREFIX}/`));
  const named = protocolSchemaNames();
  const error = [...named].find(([, name]) => name === 'ApiError')?.[0];
  if (error === undefined) throw new Error('@atp/protocol exports no ApiErrorSchema');
  const roots = new Map<z.ZodType, string>([[error, 'ApiError']]);
  for (const r of api) if (r.response !== undefined && !roots.has(r.response)) roots.set(r.response, `${pascal(operationIdOf(r))}Response`);
  const { components: schemas, nameOf } = responseComponents(roots, named);
  const errorName = nameOf.get(error) ?? 'ApiError';
  const inlineComponents: Record<string, JsonSchema> = {};
  const paths: OpenApiDocument['paths'] = {};
  for (const route of api) {
    const path = openApiPath(route.path);
    const item = (paths[path] ??= {});
    const method = route.method.toLowerCase();
    if (item[method] !== undefined) throw new Error(`two routes for ${route.method} ${route.path}`);
    const responseName = route.response === undefined ? undefined : nameOf.get(route.response);
    item[method] = operation(route, publicRoutes.has(`${route.method} ${route.path}`), responseName, inlineComponents);
  }
  const tags = [...new Set(api.map((r) => r.tag))].sort().map((name) => ({ name, ...(TAG_TEXT[name] === undefined ? {} : { description: TAG_TEXT[name] }) }));
  const responses = Object.fromEntries(
    Object.values(ERROR_RESPONSES).map(({ name, description }) => [name, { description, content: { 'application/json': { schema: { $ref: `${COMPONENT_PREFIX}${errorName}` } } } }]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'ATP API',
      version: '1',
      summary: 'Input verification for virtual desktops: hosts, VMs, input, runs and their reports',
      description:
        'Every request needs the API token (`Authorization: Bearer TOKEN`) or the session cookie from `POST /api/v1/session`, ' +
        'except the routes marked public. A token in the URL is refused. Every failure is one JSON shape: ' +
        '`{ "error": { "code", "message", "details" } }` with a stable ATP error code. ' +
        'Live events (run progress, agents, metrics, log) stream over the WebSocket at /api/v1/events, which OpenAPI does not describe.\n\n' +
        'On the /docs page: open `POST /api/v1/session`, *Try it out* with `{ "token": "…" }` and *Execute*; the cookie it sets then ' +
        'authenticates every *Try it out* on the page. Or press *Authorize* and give the token as the bearer token (kept in memory only).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags,
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas: { ...inlineComponents, ...schemas },
      responses,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'The API token (atp-host serve: --api-token-file, $ATP_API_TOKEN or CONFIG_DIR/api-token)' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Set by POST /api/v1/session; a request that changes state must also carry Origin' },
      },
    },
    security: [{ bearerAuth: [] }, { sessionCookie: [] }],
  };
}
