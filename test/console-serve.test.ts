/**
 * The built console as `atp-host serve` serves it, without a browser: the
 * build writes index.html, console.js and console.css (no inline script, so
 * the strict CSP holds), the server answers /console/ with the CSP and the
 * framing and caching headers, and the bundle is what index.html loads.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ApiServer } from '../host/src/api/index.js';
import { EventLog } from '../host/src/api/v1/event-log.js';
import { AgentHub } from '../host/src/hub/index.js';
import { buildConsole } from '../web-console/scripts/build.js';

let dir = '';
let hub: AgentHub;
let server: ApiServer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-console-serve-'));
  await buildConsole(path.join(dir, 'console'));
  hub = await AgentHub.create({ auth: { tokens: ['hub-token'] } });
  const context = { hub, location: { configDir: path.join(dir, 'config') }, events: new EventLog(), log: () => undefined, services: new Map<string, unknown>() };
  server = await startServer({ hub, pageDir: path.join(dir, 'no-page'), consoleDir: path.join(dir, 'console'), api: { token: 'api-token', context, routes: [] } });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await hub?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('the built console, served', () => {
  it('builds three files and no inline script', async () => {
    expect((await readdir(path.join(dir, 'console'))).sort()).toEqual(['console.css', 'console.js', 'index.html']);
    const html = await readFile(path.join(dir, 'console', 'index.html'), 'utf8');
    expect(html).toMatch(/<script src="console.js" defer><\/script>/);
    expect(html).not.toMatch(/<script>|\son[a-z]+="/i);
  });

  it('serves /console/ with a CSP that allows only its own origin', async () => {
    const redirect = await fetch(`${server.httpUrl}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/console/');
    const page = await fetch(`${server.httpUrl}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(page.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const script = await fetch(`${server.httpUrl}/console/console.js`);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect((await script.text()).length).toBeGreaterThan(10_000);
    const css = await fetch(`${server.httpUrl}/console/console.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });
});
