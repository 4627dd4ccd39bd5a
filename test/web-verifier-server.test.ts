/**
 * The API server without a browser: routes, headers, the upgrade endpoint's
 * path check, a page that was not built, the listen address forms, and the
 * page's pure helpers (URL config, hash, wheel notches).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseListenAddress, startServer, type ApiServer } from '../host/src/api/index.js';
import { AgentHub } from '../host/src/hub/index.js';
import { readConfig, readHash } from '../web-verifier/src/config.js';
import { wheelNotches } from '../web-verifier/src/events.js';
import { buildVerifierPage } from '../web-verifier/scripts/build.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function serve(pageDir?: string): Promise<{ hub: AgentHub; server: ApiServer }> {
  const hub = await AgentHub.create({ auth: { tokens: ['t0k'] } });
  cleanup.push(() => hub.close());
  const server = await startServer({ hub, ...(pageDir === undefined ? { pageDir: path.join(os.tmpdir(), 'atp-no-such-page') } : { pageDir }) });
  cleanup.push(() => server.close());
  return { hub, server };
}

function upgrade(url: string): Promise<{ opened: boolean; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ opened: false, status: res.statusCode });
      res.resume();
    });
    ws.on('error', () => resolve({ opened: false }));
  });
}

describe('API server', () => {
  it('serves the built page at /verifier with no-store and no-referrer, redirects / and accepts /ws only', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-page-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await buildVerifierPage(dir);
    const { server } = await serve(dir);
    expect(server.host).toBe('127.0.0.1');
    expect(server.pageAvailable).toBe(true);
    for (const route of ['/verifier', '/verifier/', '/verifier/index.html']) {
      const res = await fetch(`${server.httpUrl}${route}?token=x`);
      expect(res.status, route).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(await res.text()).toContain('id="capture"');
    }
    const root = await fetch(`${server.httpUrl}/?token=abc`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/verifier?token=abc');
    expect(server.verifierUrl({ token: 'a b', agentId: 'vm1' })).toBe(`${server.httpUrl}/verifier?token=a+b&agent=vm1`);
    expect(await upgrade(server.wsUrl)).toEqual({ opened: true });
    expect(await upgrade(`ws://127.0.0.1:${server.port}/elsewhere`)).toMatchObject({ opened: false, status: 404 });
  });

  it('answers 503 with the build command when the page was not built', async () => {
    const { server } = await serve();
    expect(server.pageAvailable).toBe(false);
    const res = await fetch(`${server.httpUrl}/verifier`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:web');
  });

  it('refuses a port already taken with ATP_HUB_LISTEN', async () => {
    const { hub, server } = await serve();
    await expect(startServer({ hub, port: server.port })).rejects.toMatchObject({ code: 'ATP_HUB_LISTEN' });
  });

  it('parses listen addresses', () => {
    expect(parseListenAddress('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListenAddress('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseListenAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseListenAddress(':8081')).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(parseListenAddress('8082')).toEqual({ host: '127.0.0.1', port: 8082 });
    expect(parseListenAddress('localhost:80')).toEqual({ host: 'localhost', port: 80 });
    for (const bad of ['', 'host', 'host:', '::1:80', 'h:70000', 'h:-1', '1.2.3.4:8a']) {
      expect(() => parseListenAddress(bad), bad).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
    }
  });
});

describe('page helpers', () => {
  it('reads hub, token, agent and wheel scale from the URL', () => {
    const served = readConfig({ search: '?token=s3cret&agent=vm-7&wheelPx=53', protocol: 'http:', host: '10.0.2.2:8470' });
    expect(served).toEqual({ hubUrl: 'ws://10.0.2.2:8470/ws', token: 's3cret', agentId: 'vm-7', wheelPxPerNotch: 53, problems: [] });
    const file = readConfig({ search: '?hub=wss%3A%2F%2Fh%3A1%2Fws&token=t', protocol: 'file:', host: '' });
    expect(file).toMatchObject({ hubUrl: 'wss://h:1/ws', agentId: 'web', wheelPxPerNotch: 100, problems: [] });
    const broken = readConfig({ search: '?hub=http://x&agent=a%20b', protocol: 'file:', host: '' });
    expect(broken.problems).toHaveLength(3);
    expect(broken.hubUrl).toBeUndefined();
  });

  it('reads step and verdict from the hash', () => {
    expect(readHash('#step=Type%20hi&verdict=fail&detail=2%20lost')).toEqual({ step: 'Type hi', verdict: 'fail', detail: '2 lost' });
    expect(readHash('#verdict=maybe')).toEqual({ step: undefined, verdict: undefined, detail: undefined });
  });

  it('turns wheel deltas into notches for every deltaMode', () => {
    expect(wheelNotches(100, 0, 100)).toBe(1);
    expect(wheelNotches(-106, 0, 53)).toBe(-2);
    expect(wheelNotches(3, 1, 100)).toBe(1);
    expect(wheelNotches(-2, 2, 100)).toBe(-2);
  });
});
