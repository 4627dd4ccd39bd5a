/**
 * Fuzz target for HTTP API request bodies (host/src/api/v1): the real
 * `registerApiV1` on a bare Fastify instance, driven with `fastify.inject`
 * (no socket), with a bearer token. Every route that takes a body gets
 * hostile JSON built from a valid body of that route, raw text, or the wrong
 * content type. The promise: never a 500, every error body carries a
 * registered code, and a body error names the field (details.field / issues / line).
 *
 * Routes whose valid bodies act on VMs or start runs (input, exec, runs) keep
 * their schemas but get a handler that only echoes: what is fuzzed is the
 * parsing boundary, not libvirt. Sign-in, suite validation and host adding
 * (into a temp config dir) run their real handlers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import Fastify from 'fastify';
import { AtpError, ERROR_CODES, type AtpErrorCode } from '@atp/protocol';
import { ApiAuth } from '../../src/api/v1/auth.js';
import { EventLog } from '../../src/api/v1/event-log.js';
import { registerApiV1 } from '../../src/api/v1/plugin.js';
import type { ApiRoute } from '../../src/api/v1/route.js';
import { allRoutes } from '../../src/api/v1/routes/index.js';
import { AgentHub } from '../../src/hub/index.js';
import { namesPlace, type FuzzTarget } from './harness.js';
import { hostileJsonText } from './mutate.js';

const TOKEN = 'fuzz-api-token-0123456789';
const REAL_HANDLERS = new Set(['POST /api/v1/suites/validate', 'POST /api/v1/hosts']);

const vm = 'vm-01@hv-1';
const SEEDS: Record<string, unknown[]> = {
  'POST /api/v1/session': [{ token: TOKEN }, { token: 'wrong' }],
  'POST /api/v1/keyboard/send': [{ vm, keys: ['a', 'ctrl+alt+f2', 'enter'], rate: 20, injector: 'qmp' }],
  'POST /api/v1/keyboard/text': [{ vm: 'vm-01', text: 'Hello, wörld', layout: 'de', injector: 'vnc', display: 'vnc://127.0.0.1:5900' }],
  'POST /api/v1/mouse/move': [{ vm, x: 10, y: 20, screen: { width: 1024, height: 768 } }],
  'POST /api/v1/mouse/click': [{ vm, button: 'right', injector: 'spice', mouseMode: 'client' }],
  'POST /api/v1/command/exec': [{ vm, command: '/bin/echo', args: ['hi', ''], timeoutMs: 5000 }],
  'POST /api/v1/hosts': [
    { name: 'local-2', kind: 'local', libvirtUri: 'qemu:///system' },
    { name: 'hv-2', kind: 'ssh', host: '10.0.0.7', user: 'atp', agent: true, port: 22 },
  ],
  'POST /api/v1/suites/validate': [{ yaml: 'name: s\nsteps:\n  - press: a\n', name: 'x.yaml', layout: 'us' }, { path: 'smoke.yaml' }],
  'POST /api/v1/runs': [{ suites: [{ name: 'inline', yaml: 'name: s\nsteps:\n  - press: a\n' }], targets: { vm: 'vm-01' }, concurrency: 2, rounds: 1 }],
};

export interface ApiInput {
  route: string;
  contentType: string | undefined;
  body: string;
}

const routeKeys = Object.keys(SEEDS);
const input: fc.Arbitrary<ApiInput> = fc.constantFrom(...routeKeys).chain((route) =>
  fc.record({
    route: fc.constant(route),
    contentType: fc.oneof({ weight: 8, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom(undefined, 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'application/json\u0000') }),
    body: fc.oneof({ weight: 8, arbitrary: hostileJsonText(SEEDS[route] ?? [{}]) }, { weight: 1, arbitrary: fc.constantFrom('', 'null', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '\u0000', '{'.repeat(100_000)) }),
  }),
);

function withEchoHandler(route: ApiRoute): ApiRoute {
  if (REAL_HANDLERS.has(`${route.method} ${route.path}`) || route.body === undefined) return route;
  return { ...route, status: 200, handler: async ({ body }) => ({ raw: true, contentType: 'application/json', body: JSON.stringify({ echoed: body !== undefined }) }) };
}

const isCode = (code: unknown): code is AtpErrorCode => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

export const apiBodiesTarget: FuzzTarget<ApiInput> = {
  name: 'api-bodies',
  boundary: 'HTTP API request bodies (api/v1/plugin.ts, route schemas, fastify.inject)',
  input,
  maxMs: 2000,
  // Body errors must name the field; a handler's own refusal of a well-formed body (e.g. ATP_SSH_KEY_FILE) says why in its message.
  locates: (e) => !['ATP_SCHEMA_INVALID', 'ATP_API_BODY'].includes(e.code) || namesPlace(e, ['field', 'issues', 'line', 'limit']),
  async open() {
    const configDir = mkdtempSync(path.join(os.tmpdir(), 'atp-fuzz-api-'));
    const hub = await AgentHub.create({ auth: { tokens: ['fuzz-hub-token'] } });
    const lines: string[] = [];
    const app = Fastify({ logger: false });
    const context = { hub, location: { configDir }, events: new EventLog(), log: (line: string) => void lines.push(line), services: new Map<string, unknown>() };
    registerApiV1(app, { context, auth: new ApiAuth(TOKEN, () => ['http://127.0.0.1']), routes: allRoutes().map(withEchoHandler) });
    await app.ready();
    return {
      async run({ route, contentType, body }) {
        const [method, url] = route.split(' ') as ['POST', string];
        const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
        if (contentType !== undefined) headers['content-type'] = contentType;
        const reply = await app.inject({ method, url, headers, payload: body });
        if (reply.statusCode >= 500) throw new Error(`HTTP ${reply.statusCode} for ${route}: ${reply.body.slice(0, 300)}; server log: ${lines.slice(-2).join(' | ').slice(0, 1500)}`);
        if (reply.statusCode < 400) return undefined;
        const parsed = JSON.parse(reply.body) as { error?: { code?: unknown; message?: unknown; details?: Record<string, unknown> } };
        const code = parsed.error?.code;
        if (!isCode(code)) throw new Error(`HTTP ${reply.statusCode} for ${route} without a registered code: ${reply.body.slice(0, 300)}`);
        return [new AtpError(code, String(parsed.error?.message ?? ''), { details: parsed.error?.details ?? {} })];
      },
      async close() {
        await app.close();
        await hub.close();
        rmSync(configDir, { recursive: true, force: true });
      },
    };
  },
};
