/**
 * Reliable delivery from the page in real Chromium: the WebSocket is cut from
 * the server side mid-stream, then the whole server is stopped and restarted on
 * the same port while the tester keeps typing; after each reconnect the page
 * resends from welcome.ackedSeq and the hub holds seq 1..N exactly once. A wrong
 * token is refused by the hub and the page says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type ApiServer } from '../host/src/api/index.js';
import type { HubItem } from '../host/src/hub/index.js';
import { hubEvents, startRig, waitForLinkState, type Rig } from './support/web-verifier.js';

let rig: Rig | undefined;
const extraServers: ApiServer[] = [];

afterEach(async () => {
  for (const s of extraServers.splice(0)) await s.close();
  await rig?.close();
  rig = undefined;
});

const textOf = (items: readonly HubItem[], agentId: string): string =>
  hubEvents(items, agentId)
    .map((e) => (e.kind === 'text' ? e.text : ''))
    .join('');

describe('web verifier delivery', () => {
  it('loses and doubles nothing when the link is cut mid-stream and the server restarts', async () => {
    // A long ack delay: events the hub has are still unacknowledged when the link drops.
    rig = await startRig({ timing: { pingIntervalMs: 1000, ackDelayMs: 400 } });
    const { page, collector } = rig;
    const agent = 'vm-delivery';
    await rig.open(agent);
    await waitForLinkState(page, 'ready');

    // 1. Cut every WebSocket from the server side while typing is under way.
    const first = 'abcdefghijklmnopqrst';
    const typing = page.keyboard.type(first, { delay: 15 });
    await collector.until((items) => hubEvents(items, agent).length >= 12, 'the first events');
    expect(rig.server.ws.dropConnections()).toBe(1);
    await typing;
    await collector.until((items) => textOf(items, agent) === first, 'the first text after the reconnect');

    // 2. Stop the server, type while it is down, start a new one on the same port.
    const port = rig.server.port;
    await rig.server.close();
    await page.waitForFunction(() => window.atpVerifier?.status().state !== 'ready', undefined, { polling: 20 });
    const second = 'while-down';
    await page.keyboard.type(second);
    const restarted = await startServer({ hub: rig.hub, port, pageDir: rig.pageDir });
    extraServers.push(restarted);
    const third = 'after';
    await waitForLinkState(page, 'ready');
    await page.keyboard.type(third);
    await collector.until((items) => textOf(items, agent) === first + second + third, 'all the text');
    await page.waitForFunction(() => {
      const s = window.atpVerifier?.status();
      return s !== undefined && 'delivery' in s && s.delivery.unacked === 0;
    });

    const events = hubEvents(collector.items, agent);
    const n = events.length;
    // Every key gives down + text + up; plus the two initial focus events.
    expect(n).toBe(2 + 3 * (first + second + third).length);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const status = await page.evaluate(() => window.atpVerifier?.status());
    expect(status).toMatchObject({ state: 'ready', delivery: { lastSeq: n, acked: n, unacked: 0, overflowed: 0 } });
    const mine = collector.items.filter((i) => i.agentId === agent);
    expect(mine.filter((i) => i.kind === 'gap')).toEqual([]);
    expect(mine.filter((i) => i.kind === 'boot-changed')).toEqual([]);
    const connected = mine.filter((i) => i.kind === 'connected');
    expect(connected.length).toBeGreaterThanOrEqual(3);
    // Reconnects carried unacknowledged events (at least what was typed while the server was down).
    expect(Math.max(...connected.slice(1).map((c) => c.hello.unacked))).toBeGreaterThanOrEqual(3 * second.length);
    expect(await page.inputValue('#capture')).toBe(first + second + third);
  });

  it('refuses a wrong token and the page shows it', async () => {
    rig = await startRig();
    const { page } = rig;
    await rig.open('vm-bad-token', 'not-the-token');
    await waitForLinkState(page, 'refused');
    await expect.poll(() => page.locator('#link-state').textContent()).toBe('Refused');
    const detail = await page.locator('#link-detail').textContent();
    expect(detail).toContain('token refused');
    expect(detail).toContain('ATP_HUB_AUTH');
    expect(await page.locator('#link-state').getAttribute('data-state')).toBe('refused');
    // Typing is still shown locally and kept for a later connection, never sent.
    await page.keyboard.type('x');
    expect(rig.hub.metrics().authFailures).toBeGreaterThanOrEqual(1);
    expect(rig.collector.items.filter((i) => i.agentId === 'vm-bad-token')).toEqual([]);
    const status = await page.evaluate(() => window.atpVerifier?.status());
    expect(status).toMatchObject({ state: 'refused', lastError: { code: 'ATP_HUB_AUTH' }, delivery: { acked: null } });
  });
});
