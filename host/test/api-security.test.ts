/**
 * The API's guard rails against a real server (`startServer` with the API
 * on, real HTTP through fetch): a request without the token, with a wrong
 * one, or with the token in the query string is 401 ATP_API_AUTH; a foreign
 * Origin is 403 ATP_API_ORIGIN; the console's session cookie (POST
 * /api/v1/session) works for a GET, and a state-changing cookie request
 * without Origin is refused; a body over 1 MiB is 413 ATP_API_BODY, bad JSON
 * 400 ATP_API_BODY, a body with a wrong or unknown field 400
 * ATP_SCHEMA_INVALID naming that field; every answer carries no-store and
 * nosniff; and the token appears in no response body and no server log line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, explain, startApiRig, type ApiAnswer, type ApiRig } from './api-areas-support.js';

let rig: ApiRig;
let dir = '';
/** Every answer of this file, for the header and no-token checks at the end. */
const answers: ApiAnswer[] = [];

const call = async (...args: Parameters<ApiRig['call']>): Promise<ApiAnswer> => {
  const a = await rig.call(...args);
  answers.push(a);
  return a;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-api-security-'));
  rig = await startApiRig({ configDir: dir });
});

afterAll(async () => {
  await rig?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('API auth', () => {
  it('no token, a wrong token, a malformed Authorization: 401 ATP_API_AUTH', async () => {
    for (const authorization of [null, 'Bearer wrong-token', `Bearer ${'x'.repeat(40)}`, 'Basic abc', 'Bearer']) {
      const a = await call('GET', '/api/v1/hosts', { headers: { authorization } });
      expect(a.status, `${authorization}: ${explain(a)}`).toBe(401);
      expect(errorOf(a).code).toBe('ATP_API_AUTH');
    }
    const ok = await call('GET', '/api/v1/hosts');
    expect(ok.status, explain(ok)).toBe(200);
  });

  it('the token in the query string: 401 even with a correct bearer token, and even on an unknown path', async () => {
    for (const key of ['token', 'access_token']) {
      const a = await call('GET', `/api/v1/hosts?${key}=${rig.token}`);
      expect(a.status, explain(a)).toBe(401);
      expect(errorOf(a)).toMatchObject({ code: 'ATP_API_AUTH', details: { where: 'query' } });
    }
    const unknown = await call('GET', `/api/v1/no-such-thing?token=${rig.token}`, { headers: { authorization: null } });
    expect(unknown.status).toBe(401);
  });

  it('a foreign Origin: 403 ATP_API_ORIGIN, also with the right token; the own origin is fine', async () => {
    const foreign = await call('GET', '/api/v1/hosts', { headers: { origin: 'http://evil.example' } });
    expect(foreign.status, explain(foreign)).toBe(403);
    expect(errorOf(foreign).code).toBe('ATP_API_ORIGIN');
    const signIn = await call('POST', '/api/v1/session', { body: { token: rig.token }, headers: { authorization: null, origin: 'http://evil.example' } });
    expect(signIn.status).toBe(403);
    const own = await call('GET', '/api/v1/hosts', { headers: { origin: rig.origin } });
    expect(own.status, explain(own)).toBe(200);
  });

  it('a session cookie from POST /api/v1/session works for GET; a cookie POST needs Origin; a wrong sign-in token is 401', async () => {
    const wrong = await call('POST', '/api/v1/session', { body: { token: 'not-it' }, headers: { authorization: null, origin: rig.origin } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const signIn = await call('POST', '/api/v1/session', { body: { token: rig.token }, headers: { authorization: null, origin: rig.origin } });
    expect(signIn.status, explain(signIn)).toBe(200);
    const setCookie = signIn.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^atp_session=[\w-]+; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(setCookie).not.toContain(rig.token);
    const cookie = setCookie.split(';')[0] ?? '';

    const get = await call('GET', '/api/v1/suites', { headers: { authorization: null, cookie } });
    expect(get.status, explain(get)).toBe(200);
    const body = { yaml: 'name: x\nsteps:\n  - press: a\n' };
    const noOrigin = await call('POST', '/api/v1/suites/validate', { body, headers: { authorization: null, cookie } });
    expect(noOrigin.status, explain(noOrigin)).toBe(403);
    expect(errorOf(noOrigin).code).toBe('ATP_API_ORIGIN');
    const withOrigin = await call('POST', '/api/v1/suites/validate', { body, headers: { authorization: null, cookie, origin: rig.origin } });
    expect(withOrigin.status, explain(withOrigin)).toBe(200);
    const forged = await call('GET', '/api/v1/hosts', { headers: { authorization: null, cookie: 'atp_session=forged-session-id' } });
    expect(forged.status).toBe(401);

    const out = await call('DELETE', '/api/v1/session', { headers: { authorization: null, cookie, origin: rig.origin } });
    expect(out.status, explain(out)).toBe(200);
    const after = await call('GET', '/api/v1/hosts', { headers: { authorization: null, cookie } });
    expect(after.status).toBe(401);
  });
});

describe('API bodies', () => {
  it('a body over 1 MiB: 413 ATP_API_BODY naming the limit', async () => {
    const a = await call('POST', '/api/v1/suites/validate', { body: { yaml: `# ${'x'.repeat(1024 * 1024 + 10)}\n` } });
    expect(a.status, explain(a)).toBe(413);
    expect(errorOf(a)).toMatchObject({ code: 'ATP_API_BODY', details: { limit: 1024 * 1024 } });
  });

  it('malformed JSON: 400 ATP_API_BODY', async () => {
    for (const rawBody of ['{"vm": "x", "keys": [', 'not json', '{"a":1}}']) {
      const a = await call('POST', '/api/v1/keyboard/send', { rawBody });
      expect(a.status, `${rawBody}: ${explain(a)}`).toBe(400);
      expect(errorOf(a).code).toBe('ATP_API_BODY');
    }
  });

  it('a wrong, missing or unknown field: 400 ATP_SCHEMA_INVALID naming it (nothing is touched)', async () => {
    const cases: [string, unknown, string][] = [
      ['/api/v1/keyboard/send', { vm: 'web1', keys: 'a' }, 'keys'],
      ['/api/v1/keyboard/send', { vm: 'web1', keys: ['a'], rat: 3 }, 'rat'],
      ['/api/v1/keyboard/send', { vm: 'web1', keys: ['a'], rate: -1 }, 'rate'],
      ['/api/v1/keyboard/send', { vm: 'web 1', keys: ['a'] }, 'vm'],
      ['/api/v1/keyboard/send', { vm: 'web1', keys: ['a'], injector: 'rdp' }, 'injector'],
      ['/api/v1/mouse/move', { vm: 'web1', x: 2000, y: 1 }, 'x'],
      ['/api/v1/mouse/click', { vm: 'web1', button: 'fourth' }, 'button'],
      ['/api/v1/command/exec', { vm: 'web1' }, 'command'],
      ['/api/v1/hosts', { name: 'hv', kind: 'ssh', host: 'h', user: 'u' }, 'identityFile'],
      ['/api/v1/suites/validate', { yaml: 1 }, 'yaml'],
    ];
    for (const [route, body, field] of cases) {
      const a = await call('POST', route, { body });
      expect(a.status, `${route} ${JSON.stringify(body)}: ${explain(a)}`).toBe(400);
      const error = errorOf(a);
      expect(error.code).toBe('ATP_SCHEMA_INVALID');
      expect(error.message).toContain(field);
      const issues = (error.details?.issues ?? []) as { path: (string | number)[] }[];
      expect(issues.map((i) => i.path[0]), JSON.stringify(error)).toContain(field);
    }
  });

  it('a bad path parameter: 400 naming it; an unknown route: 404 ATP_API_NOT_FOUND', async () => {
    const bad = await call('GET', `/api/v1/hosts/${encodeURIComponent('bad name!')}/vms`);
    expect(bad.status, explain(bad)).toBe(400);
    expect(errorOf(bad)).toMatchObject({ code: 'ATP_SCHEMA_INVALID' });
    expect(errorOf(bad).message).toContain('name');
    const unknown = await call('GET', '/api/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).code).toBe('ATP_API_NOT_FOUND');
  });
});

describe('every answer', () => {
  it('carries Cache-Control: no-store and X-Content-Type-Options: nosniff, and no answer or log line holds the token', () => {
    expect(answers.length).toBeGreaterThan(30);
    for (const a of answers) {
      expect(a.headers.get('cache-control'), explain(a)).toBe('no-store');
      expect(a.headers.get('x-content-type-options'), explain(a)).toBe('nosniff');
      expect(a.text).not.toContain(rig.token);
      for (const value of a.headers.values()) expect(value).not.toContain(rig.token);
    }
    for (const line of rig.lines) expect(line).not.toContain(rig.token);
  });
});
