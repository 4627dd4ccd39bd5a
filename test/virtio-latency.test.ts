/**
 * Latency through the lab VM's virtio-serial port with the real agent (QEMU
 * TCG, Debian's kernel, node in the guest) and the real hub, one VM for the
 * file. It fails if the agent polls its port instead of being woken by it:
 *  - 1,000 host pings answered by the agent: the path's round trip (the
 *    agent's own time t3 − t2 taken out; a poll every 1–5 ms would add its
 *    half-period to the median) and how long the agent held each ping;
 *  - 1,000 key events typed at 30 keys/s: hub receive time − the guest
 *    kernel's event time (moved onto the host clock with qemu-ga's offset);
 *  - the hub's clock offset (from its fastest pings) against qemu-ga's
 *    guest-get-time, the reference.
 * The bounds are the TCG guest's: 2 ms p99 is the goal on hardware, but under
 * TCG a node in the guest holds a ping ~0.9 ms (median) and its tail (GC, the
 * capture's 2 s device rescan, the guest scheduler) reaches 15 ms; the test
 * bounds medians, which a polling read would move, and prints every figure.
 * At 300 keys/s QEMU's PS/2 path loses keys in this guest (not the link), so
 * the event latency is taken at 30 keys/s.
 * Run it under the heavy-work lock (flock /tmp/atp-heavy.lock).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClockTimestamps } from '@atp/protocol';
import { hostNow } from '../host/src/util/clock.js';
import { startE2eLab, qemuProcessesFor, type E2eLab } from './support/e2e-lab.js';

let lab: E2eLab | undefined;
const p = (xs: readonly number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] ?? Number.NaN;
const summary = (xs: readonly number[]): string => `p50 ${p(xs, 0.5).toFixed(2)} p99 ${p(xs, 0.99).toFixed(2)} max ${p(xs, 1).toFixed(2)} ms (n ${xs.length})`;

beforeAll(async () => {
  lab = await startE2eLab();
}, 600_000);

afterAll(async () => {
  const stateDir = lab?.stateDir;
  await lab?.stop();
  if (stateDir !== undefined) expect(qemuProcessesFor(stateDir)).toEqual([]);
}, 120_000);

function theLab(): NonNullable<typeof lab> {
  if (lab === undefined) throw new Error('the lab VM did not start (see beforeAll)');
  return lab;
}

async function until<T>(what: string, get: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(1);
  }
}

describe('virtio-serial latency on the lab VM', () => {
  it('answers 1,000 pings the moment they arrive: path round trip median < 3 ms, held < 2 ms', async () => {
    const { target } = theLab();
    const bootId = target.hub.agentHello(target.agentId)?.bootId ?? '';
    const tracker = target.hub.clockFor(target.agentId, bootId);
    const samples: ClockTimestamps[] = [];
    for (let i = 0; i < 1_000; i++) {
      const t1 = hostNow();
      const id = tracker.ping(t1);
      expect(target.hub.send(target.agentId, { v: 1, type: 'ping', body: { id, t1 } })).toBe(true);
      samples.push(await until(`the pong to ping ${i + 1}`, () => tracker.recent().find((s) => s.t1 === t1), 10_000));
      await sleep(3);
    }
    const path = samples.map((s) => s.t4 - s.t1 - (s.t3 - s.t2));
    const held = samples.map((s) => s.t3 - s.t2);
    console.log(`ping round trip ${summary(path)}; held by the agent ${summary(held)}`);
    expect(p(path, 0.5)).toBeLessThan(3);
    expect(p(held, 0.5)).toBeLessThan(2);
  }, 120_000);

  it('delivers 1,000 key events typed at 30 keys/s to the hub, median < 10 ms', async () => {
    const { target } = theLab();
    const abort = new AbortController();
    const got: Array<{ t: number; receivedAt: number }> = [];
    const reading = (async () => {
      for await (const item of target.hub.stream(target.agentId, { from: 'now', signal: abort.signal })) {
        if (item.kind === 'event' && item.event.kind === 'key') got.push({ t: item.event.t, receivedAt: item.receivedAt });
      }
    })().catch(() => undefined);
    const before = await target.clock();
    const start = performance.now();
    for (let i = 0; i < 500; i++) {
      const wait = start + (i * 1000) / 30 - performance.now();
      if (wait > 0) await sleep(wait);
      const key = { type: 'qcode', data: 'abcdefghij'[i % 10] };
      await target.qmp.execute('input-send-event', { events: [{ type: 'key', data: { down: true, key } }] });
      await target.qmp.execute('input-send-event', { events: [{ type: 'key', data: { down: false, key } }] });
    }
    await until('1,000 key events at the hub', () => (got.length >= 1_000 ? true : undefined), 30_000);
    const after = await target.clock();
    abort.abort();
    await reading;
    const offset = (before.offsetMs + after.offsetMs) / 2;
    const latency = got.map((g) => g.receivedAt - (g.t - offset));
    console.log(`agent → hub ${summary(latency)}; qga offset moved ${(after.offsetMs - before.offsetMs).toFixed(3)} ms (±${before.uncertaintyMs.toFixed(2)})`);
    expect(got).toHaveLength(1_000);
    expect(p(latency, 0.5)).toBeLessThan(10);
  }, 120_000);

  it("takes the hub's clock offset from its fastest pings, within 1 ms of qemu-ga's guest-get-time", async () => {
    const { target } = theLab();
    const before = await target.clock();
    const hub = await until("the hub's estimate", () => target.hub.clock(target.agentId), 30_000);
    const after = await target.clock();
    const reference = (before.offsetMs + after.offsetMs) / 2;
    console.log(`hub offset ${hub.offsetMs.toFixed(3)} ±${hub.uncertaintyMs.toFixed(3)} (best round trip ${hub.delayMs.toFixed(2)} ms) vs qemu-ga ${reference.toFixed(3)} ±${before.uncertaintyMs.toFixed(3)}`);
    // Within 1 ms of the reference, which itself is known only within its own uncertainty (±0.2-0.6 ms here).
    expect(Math.abs(hub.offsetMs - reference)).toBeLessThan(1 + Math.max(before.uncertaintyMs, after.uncertaintyMs));
  }, 120_000);
});
