/**
 * Abuse: oversized frames against a real hub over TCP and WebSocket. Before
 * hello a peer may make the hub buffer at most maxHelloBytes, after it
 * maxFrameBytes; past that it is cut with ATP_FRAME_TOO_LARGE (details name the
 * limit), the line splitter never holding more, so 40 peers each pushing 8 MB
 * without a newline leave the hub's memory where it was. A legitimate agent is
 * served meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AgentHub, DEFAULT_HUB_LIMITS } from '../src/hub/index.js';
import { attack } from './hub-abuse-attack.js';
import { LegitAgent, logFigures, memoryMb, pct } from './hub-abuse-support.js';
import { RawHubClient } from './support/hub-client.js';

const TOKEN = 'abuse-oversized-token';
let hub: AgentHub | undefined;
const cleanup: (() => void)[] = [];

afterEach(async () => {
  for (const c of cleanup.splice(0)) c();
  await hub?.close();
  hub = undefined;
});

describe('hub abuse: oversized frames', () => {
  it('cuts TCP peers pushing 8 MB lines before hello with ATP_FRAME_TOO_LARGE at maxHelloBytes; memory stays put; a legit agent is served', async () => {
    const h = await AgentHub.create({ auth: { tokens: [TOKEN] } });
    hub = h;
    const { port } = await h.listenTcp();
    const legit = await LegitAgent.connect(port, '127.0.0.2');
    cleanup.push(() => legit.close());
    await legit.hello('legit', TOKEN);
    const before = memoryMb();
    let peak = before;
    const sampler = setInterval(() => {
      const m = memoryMb();
      peak = { rss: Math.max(peak.rss, m.rss), heap: Math.max(peak.heap, m.heap) };
    }, 200);
    cleanup.push(() => clearInterval(sampler));
    const [report] = await Promise.all([attack({ kind: 'oversized', port, perSecond: 20, durationMs: 2000, bytes: 8 * 1024 * 1024, address: '127.0.1.3' }), legit.sendEvents(40, 50)]);
    clearInterval(sampler);
    expect(report.opened).toBeGreaterThanOrEqual(20);
    expect(report.codes).toEqual({ ATP_FRAME_TOO_LARGE: report.opened });
    expect(report.cutMs.max).toBeLessThan(5000);
    expect(h.metrics().badFrames.ATP_FRAME_TOO_LARGE).toBe(report.opened);
    // Each peer is cut once it passes 256 KiB: the hub never held anything near the 8 MB each sent.
    expect(peak.heap - before.heap).toBeLessThan(64);
    expect(peak.rss - before.rss).toBeLessThan(128);
    expect(legit.ackLatencies.length).toBe(40);
    logFigures('8 MB TCP lines before hello at 20/s', { codes: report.codes, cutMsP50: report.cutMs.p50, cutMsMax: report.cutMs.max, heapPeakGrowthMb: Math.round(peak.heap - before.heap), rssPeakGrowthMb: Math.round(peak.rss - before.rss), legitAckP99Ms: pct(legit.ackLatencies, 0.99) });
  }, 30_000);

  it('cuts an authenticated TCP agent at maxFrameBytes, and WebSocket peers at maxHelloBytes before hello, naming the limit', async () => {
    const h = await AgentHub.create({ auth: { tokens: [TOKEN] } });
    hub = h;
    const tcp = (await h.listenTcp()).port;
    const ws = (await h.listenWs()).port;
    const agent = await RawHubClient.connect({ tcp: { port: tcp } });
    cleanup.push(() => agent.close());
    agent.hello({ agentId: 'big', bootId: 'b', token: TOKEN });
    await agent.waitFor('welcome');
    agent.sendRaw(Buffer.alloc(3 * 1024 * 1024, 0x61));
    const tcpError = await agent.waitFor('error');
    expect(tcpError.body).toMatchObject({ code: 'ATP_FRAME_TOO_LARGE', fatal: true, details: { maxBytes: DEFAULT_HUB_LIMITS.maxFrameBytes } });
    await agent.waitClosed();

    const page = await RawHubClient.connect({ ws: `ws://127.0.0.1:${ws}/` });
    cleanup.push(() => page.close());
    page.sendRaw('a'.repeat(1_500_000));
    const wsError = await page.waitFor('error');
    expect(wsError.body).toMatchObject({ code: 'ATP_FRAME_TOO_LARGE', fatal: true, details: { maxBytes: DEFAULT_HUB_LIMITS.maxHelloBytes, frame: 'hello' } });
    await page.waitClosed();
    expect(h.metrics().badFrames.ATP_FRAME_TOO_LARGE).toBe(2);
  }, 30_000);
});
