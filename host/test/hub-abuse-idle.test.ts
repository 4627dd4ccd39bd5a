/**
 * Abuse: 10,000 idle connections (never a byte) from a child process on five
 * loopback addresses, against a real hub with its default limits. At most
 * maxPendingPerAddress wait per address (the rest are refused at once with
 * ATP_HUB_LIMIT_PENDING), the hub's memory stays bounded, and legitimate agents
 * on other addresses keep connecting and getting their events acknowledged
 * meanwhile. A hub-wide cap evicts the longest waiter (also ATP_HUB_LIMIT_PENDING).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AgentHub, DEFAULT_HUB_LIMITS } from '../src/hub/index.js';
import { attackInChild, LegitAgent, logFigures, memoryMb, pct } from './hub-abuse-support.js';

const TOKEN = 'abuse-idle-token';
let hub: AgentHub | undefined;
const agents: LegitAgent[] = [];

afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await hub?.close();
  hub = undefined;
});

async function legit(port: number, address: string, agentId: string): Promise<LegitAgent> {
  const a = await LegitAgent.connect(port, address);
  agents.push(a);
  await a.hello(agentId, TOKEN);
  return a;
}

describe('hub abuse: idle connections', () => {
  it('holds 10,000 idle connections to maxPendingPerAddress per address, refuses the rest with ATP_HUB_LIMIT_PENDING, memory bounded, legit agents served', async () => {
    // A long hello timeout, so the held ones are still held when we look.
    const h = await AgentHub.create({ auth: { tokens: [TOKEN] }, limits: { helloTimeoutMs: 60_000 } });
    hub = h;
    const { port } = await h.listenTcp();
    const first = await legit(port, '127.0.0.2', 'legit-before');
    await first.sendEvents(5, 0);
    const before = memoryMb();
    const addresses = ['127.0.1.1', '127.0.1.2', '127.0.1.3', '127.0.1.4', '127.0.1.5'];
    const flood = attackInChild({ kind: 'idle', port, count: 10_000, addresses, holdMs: 12_000 });
    // Meanwhile: a new agent connects mid-flood, and the first keeps sending.
    const maxAwaiting: number[] = [];
    const sampler = setInterval(() => maxAwaiting.push(h.metrics().connectionsAwaitingHello), 50);
    let during: { rss: number; heap: number };
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const second = await legit(port, '127.0.0.3', 'legit-during');
      await Promise.all([second.sendEvents(20, 20), first.sendEvents(20, 20)]);
      while (h.metrics().connections < 10_000 && maxAwaiting.length < 200) await new Promise((r) => setTimeout(r, 100));
      during = memoryMb();
      const third = await legit(port, '127.0.0.4', 'legit-at-peak');
      await third.sendEvents(5, 0);
    } finally {
      clearInterval(sampler);
    }
    const report = await flood;
    const m = h.metrics();
    const perAddress = DEFAULT_HUB_LIMITS.maxPendingPerAddress;
    expect(report.opened + report.connectFailed).toBe(10_000);
    expect(report.connectFailed).toBe(0);
    // Held: perAddress per address (still open when the child let go); every other one refused with the code.
    expect(report.codes.open).toBe(perAddress * addresses.length);
    expect(report.codes.ATP_HUB_LIMIT_PENDING).toBe(10_000 - perAddress * addresses.length);
    expect(m.pendingRefused).toBe(10_000 - perAddress * addresses.length);
    expect(m.cuts.ATP_HUB_LIMIT_PENDING).toBe(m.pendingRefused);
    // The flood's share, plus the legitimate agents' own connections in the moment before their hello.
    expect(Math.max(...maxAwaiting)).toBeLessThanOrEqual(perAddress * addresses.length + 2);
    // Refused within a bound: the refusal is sent on accept (a loaded 2-core machine: generous).
    expect(report.cutMs.max).toBeLessThan(10_000);
    // Memory: 10,000 connections seen, a few hundred held: well under 100 MB more heap or RSS.
    expect(during.heap - before.heap).toBeLessThan(100);
    expect(during.rss - before.rss).toBeLessThan(150);
    expect(m.sessionsAdmitted).toBe(3);
    logFigures('10,000 idle TCP connections (5 addresses)', { codes: report.codes, cutMsP50: report.cutMs.p50, cutMsMax: report.cutMs.max, maxAwaitingHello: Math.max(...maxAwaiting), heapGrowthMb: Math.round(during.heap - before.heap), rssGrowthMb: Math.round(during.rss - before.rss), legitAckP99Ms: pct(first.ackLatencies, 0.99) });
  }, 60_000);

  it('evicts the connection waiting longest once maxPendingHellos wait hub-wide, and a newcomer still gets in', async () => {
    const h = await AgentHub.create({ auth: { tokens: [TOKEN] }, limits: { maxPendingHellos: 30, maxPendingPerAddress: 1000, helloTimeoutMs: 60_000 } });
    hub = h;
    const { port } = await h.listenTcp();
    const report = attackInChild({ kind: 'idle', port, count: 100, addresses: ['127.0.1.9'], holdMs: 4000 });
    const deadline = Date.now() + 20_000;
    while (h.metrics().connections < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(h.metrics().connectionsAwaitingHello).toBeLessThanOrEqual(30);
    const a = await legit(port, '127.0.0.2', 'legit-newcomer');
    await a.sendEvents(3, 0);
    const r = await report;
    // 100 flood sockets and the newcomer: 71 evicted, 29 of the flood still waiting.
    expect(r.codes.ATP_HUB_LIMIT_PENDING).toBe(71);
    expect(r.codes.open).toBe(29);
    expect(h.metrics().pendingEvicted).toBe(71);
  }, 40_000);
});
