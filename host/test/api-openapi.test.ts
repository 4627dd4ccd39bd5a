/**
 * The OpenAPI 3.1 document: valid for a standard validator
 * (@readme/openapi-parser, which checks OpenAPI 3.1 against its schema and
 * rules such as unique operation ids and declared path parameters), every
 * route of allRoutes() under /api/v1 in it with its parameters, body and
 * response schema, every $ref resolving, the error responses and security
 * as documented, and docs/openapi.json up to date. Then the real server:
 * GET /api/v1/openapi.json without a token, /docs and its files (only the
 * listed ones), and the API still locked.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '@readme/openapi-parser';
import { z } from 'zod';
import { startServer, type ApiServer } from '../src/api/server.js';
import { EventLog } from '../src/api/v1/event-log.js';
import { buildOpenApi, openApiPath, operationIdOf, type OpenApiDocument } from '../src/api/v1/openapi.js';
import { componentRefs } from '../src/api/v1/openapi-schemas.js';
import { allRoutes } from '../src/api/v1/routes/index.js';
import { PUBLIC_ROUTES } from '../src/cli/serve.js';
import { AgentHub } from '../src/hub/index.js';
import { OUTPUT_PATH, renderOpenApi } from '../scripts/gen-openapi.js';

/** The validator's own document type. */
type ApiDocument = Exclude<Parameters<typeof validate>[0], string>;

const routes = allRoutes();
const api = routes.filter((r) => r.path.startsWith('/api/v1/'));
const doc: OpenApiDocument = buildOpenApi(routes);
type Operation = { operationId: string; parameters?: { name: string; in: string; required: boolean; schema: unknown }[]; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: Record<string, { $ref?: string; content?: Record<string, { schema: { $ref?: string } }> }>; security?: unknown[]; tags: string[] };
const op = (method: string, p: string): Operation | undefined => doc.paths[openApiPath(p)]?.[method.toLowerCase()] as Operation | undefined;
const components = (doc['components'] as { schemas: Record<string, Record<string, unknown>>; responses: Record<string, unknown> }).schemas;

describe('the document', () => {
  it('is valid OpenAPI 3.1 for @readme/openapi-parser, without warnings', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as unknown as ApiDocument, { resolve: { external: false } });
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('is refused by the same validator when broken (the check is real)', async () => {
    const broken = structuredClone(doc);
    const first = Object.values(broken.paths)[0];
    const operation = first === undefined ? undefined : Object.values(first)[0];
    if (operation !== undefined) delete operation['responses'];
    broken.paths['/api/v1/nowhere/{id}'] = { get: { operationId: 'nowhere', responses: { '200': { description: 'x' } } } };
    const result = await validate(broken as unknown as ApiDocument, { resolve: { external: false } });
    expect(result.valid).toBe(false);
  });

  it('has every API route with its path parameters, query, body and response', () => {
    expect(api.length).toBeGreaterThan(0);
    for (const route of api) {
      const where = `${route.method} ${route.path}`;
      const o = op(route.method, route.path);
      expect(o, where).toBeDefined();
      if (o === undefined) continue;
      expect(o.operationId, where).toBe(operationIdOf(route));
      expect(o.tags, where).toEqual([route.tag]);
      const pathNames = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      expect((o.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name).sort(), where).toEqual([...pathNames].sort());
      const queryNames = route.query === undefined ? [] : Object.keys((z.toJSONSchema(route.query, { io: 'input', unrepresentable: 'any' }) as { properties?: object }).properties ?? {});
      expect((o.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name).sort(), where).toEqual(queryNames.sort());
      if (route.body === undefined) expect(o.requestBody, where).toBeUndefined();
      else {
        const body = o.requestBody?.content['application/json']?.schema;
        const expected = z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
        expect(body?.['properties'] ?? body, where).toEqual(expected['properties'] ?? body);
      }
      const ok = o.responses[String(route.status ?? 200)];
      expect(ok, where).toBeDefined();
      if (route.response !== undefined) {
        const ref = ok?.content?.['application/json']?.schema.$ref ?? '';
        expect(ref, where).toMatch(/^#\/components\/schemas\/\w+$/);
        expect(components[ref.split('/').at(-1) ?? ''], where).toBeDefined();
      } else {
        expect(Object.keys(ok?.content ?? {}).sort(), where).toEqual([...(route.produces ?? [])].sort());
      }
    }
    const operations = Object.values(doc.paths).flatMap((item) => Object.keys(item));
    // every API route plus the two sign-in routes of plugin.ts, nothing else
    expect(operations).toHaveLength(api.length + 2);
  });

  it('documents the sign-in routes, and leaves out what is not under /api/v1 (the /docs page)', () => {
    expect(op('POST', '/api/v1/session')?.requestBody?.content['application/json']?.schema).toMatchObject({ properties: { token: { type: 'string', minLength: 1 } }, required: ['token'] });
    expect(op('POST', '/api/v1/session')?.security).toEqual([]);
    expect(op('DELETE', '/api/v1/session')?.security).toBeUndefined();
    expect(Object.keys(doc.paths).some((p) => !p.startsWith('/api/v1/'))).toBe(false);
    expect(routes.some((r) => r.path === '/docs')).toBe(true);
  });

  it('resolves every $ref inside the document', () => {
    for (const name of componentRefs(doc)) expect(components[name], name).toBeDefined();
    const responses = (doc['components'] as { responses: Record<string, unknown> }).responses;
    const text = JSON.stringify(doc);
    for (const m of text.matchAll(/"\$ref":"#\/components\/responses\/(\w+)"/g)) expect(responses[m[1] ?? ''], m[1]).toBeDefined();
    expect(text).not.toMatch(/"\$ref":"#\/\$defs|"\$ref":"(?!#\/components\/)/);
    expect(text).not.toContain('"$schema"');
  });

  it('gives every operation the error body for its failures, and locks all but the public routes', () => {
    expect(components['ApiError']).toMatchObject({ type: 'object', required: ['error'] });
    expect(doc['security']).toEqual([{ bearerAuth: [] }, { sessionCookie: [] }]);
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const [method, o] of Object.entries(item) as [string, Operation][]) {
        const isPublic = PUBLIC_ROUTES.includes(`${method.toUpperCase()} ${p}`) || (method === 'post' && p === '/api/v1/session');
        expect(o.security, `${method} ${p}`).toEqual(isPublic ? [] : undefined);
        expect(o.responses['500']?.$ref, `${method} ${p}`).toBe('#/components/responses/InternalError');
        expect(o.responses['401']?.$ref, `${method} ${p}`).toBe(isPublic ? undefined : '#/components/responses/Unauthorized');
        if (p.includes('{')) expect(o.responses['404']?.$ref, `${method} ${p}`).toBe('#/components/responses/NotFound');
        if (o.requestBody !== undefined) expect(o.responses['413']?.$ref).toBe('#/components/responses/PayloadTooLarge');
      }
    }
  });

  it('is checked in as docs/openapi.json, up to date (npm run gen:openapi)', () => {
    expect(readFileSync(OUTPUT_PATH, 'utf8')).toBe(renderOpenApi());
  });
});

describe('the server', () => {
  let server: ApiServer;
  let hub: AgentHub;
  const token = randomBytes(24).toString('base64url');

  beforeAll(async () => {
    hub = await AgentHub.create({ auth: { tokens: [randomBytes(16).toString('hex')] } });
    const context = { hub, location: { configDir: os.tmpdir() }, events: new EventLog(), log: (): void => undefined, services: new Map<string, unknown>() };
    server = await startServer({ hub, pageDir: path.join(os.tmpdir(), 'atp-no-such-page'), api: { token, context, routes: allRoutes(), publicRoutes: PUBLIC_ROUTES } });
  });

  afterAll(async () => {
    await server?.close();
    await hub?.close();
  });

  it('serves the document without a token, the same as the checked-in one', async () => {
    const response = await fetch(`${server.httpUrl}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(JSON.parse(readFileSync(OUTPUT_PATH, 'utf8')));
    const locked = await fetch(`${server.httpUrl}/api/v1/agents`);
    expect(locked.status).toBe(401);
  });

  it('serves /docs and its listed files, no other file', async () => {
    const page = await fetch(`${server.httpUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<script src="/docs/swagger-ui-bundle.js"></script>');
    expect(html).toContain("default-src 'self'");
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${server.httpUrl}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await bundle.text()).length).toBeGreaterThan(500_000);
    const init = await (await fetch(`${server.httpUrl}/docs/init.js`)).text();
    expect(init).toContain('url: "/api/v1/openapi.json"');
    expect(init).toContain('validatorUrl: null');
    for (const name of ['package.json', '..%2F..%2Fpackage.json', 'index.html', 'swagger-ui-bundle.js.map']) {
      const other = await fetch(`${server.httpUrl}/docs/${name}`);
      expect(other.status, name).toBe(404);
    }
  });
});
