/**
 * /api/v1/events under cuts and slow readers, on a real server: events are
 * published at a steady pace while the client's link is cut again and again
 * (a TCP proxy between them dropped and kept down for a moment, and the
 * server dropping its sockets); the resuming client ends with every index
 * exactly once, in order. A client that stops reading is closed with 4413 and
 * a reason it reads once it reads again, and the server never buffered more
 * for it than its bound.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EVENTS_CLOSE_CODES } from '@atp/protocol';
import { EventsTestClient, ResumingClient, startEventsRig, TcpProxy, until, type EventsRig } from './api-events-support.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rigWithProxy(options: Parameters<typeof startEventsRig>[0] = {}): Promise<{ rig: EventsRig; proxy: TcpProxy; url: () => string }> {
  const rig = await startEventsRig(options);
  cleanups.push(() => rig.close());
  const proxy = new TcpProxy(rig.server.port);
  await proxy.start();
  cleanups.push(() => proxy.close());
  return { rig, proxy, url: () => `ws://127.0.0.1:${proxy.port}/api/v1/events` };
}

describe('resume after cuts', () => {
  it('delivers every index exactly once, in order, while the link is cut six times mid-stream', async () => {
    const { rig, proxy, url } = await rigWithProxy();
    const client = new ResumingClient(url, rig.token);
    cleanups.push(() => client.stop());
    await until(() => client.connections === 1, 'the first connection');
    const total = 3000;
    let published = 0;
    const publisher = (async () => {
      // 3 events every 2 ms: a steady stream the cuts land in the middle of.
      while (published < total) {
        for (let i = 0; i < 3 && published < total; i++) {
          published++;
          rig.events.publish({ kind: 'run', runId: 'r', data: { n: published, pad: 'p'.repeat(200) } });
        }
        await sleep(2);
      }
    })();
    for (let cut = 0; cut < 6; cut++) {
      const seen = client.events.length;
      await until(() => client.events.length > seen + 50 || published === total, `events flowing again before cut ${cut + 1}`, 30_000);
      if (cut % 3 === 2) rig.server.events?.dropConnections();
      else await proxy.cut(cut % 2 === 0 ? 150 : 0);
    }
    await publisher;
    await until(() => client.lastIndex === rig.events.lastIndex, `the client to reach index ${rig.events.lastIndex}`, 30_000);
    const indexes = client.events.map((e) => e.index);
    expect(indexes).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(client.events.map((e) => e.data['n'])).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(client.gaps).toEqual([]);
    expect(client.connections).toBeGreaterThanOrEqual(7);
  });

  it('keeps a run filter across reconnects: only that run, each of its events once', async () => {
    const { rig, proxy, url } = await rigWithProxy();
    const client = new ResumingClient(url, rig.token, { runId: 'wanted' });
    cleanups.push(() => client.stop());
    await until(() => client.connections === 1, 'the first connection');
    for (let i = 1; i <= 600; i++) {
      rig.events.publish({ kind: 'run', runId: i % 3 === 0 ? 'wanted' : 'other', data: { n: i } });
      rig.events.publish({ kind: 'metrics', data: { n: i } });
      if (i % 150 === 0) await proxy.cut(50);
      if (i % 10 === 0) await sleep(1);
    }
    await until(() => client.events.length === 200, 'the 200 events of the wanted run', 30_000);
    expect(client.events.map((e) => e.data['n'])).toEqual(Array.from({ length: 200 }, (_, i) => (i + 1) * 3));
    expect(new Set(client.events.map((e) => e.runId))).toEqual(new Set(['wanted']));
  });
});

describe('a client that stops reading', () => {
  it('is closed with 4413 and a reason it reads later, and the server buffered no more than its bound for it', async () => {
    const highWaterBytes = 64 * 1024;
    const { rig, proxy, url } = await rigWithProxy({ capacity: 4000, events: { highWaterBytes, stallMs: 1000, closeGraceMs: 20_000 } });
    const client = await EventsTestClient.open(url(), { authorization: `Bearer ${rig.token}` });
    cleanups.push(async () => client.close());
    const ready = await client.next('ready');
    client.send({ type: 'subscribe', after: ready.lastIndex });
    await until(() => rig.server.events?.stats()[0]?.subscribed === true, 'the subscription');
    proxy.hold('fromServer', true);

    const frameBytes = 8 * 1024;
    const pad = 'z'.repeat(frameBytes);
    let publishedBytes = 0;
    let maxBuffered = 0;
    const cut = (): boolean => rig.lines.some((l) => l.includes('closed a client that left'));
    // Loopback socket buffers take several MB before the server's own buffer grows; publish until it gives up.
    while (!cut()) {
      for (let i = 0; i < 50; i++) rig.events.publish({ kind: 'log', data: { line: pad } });
      publishedBytes += 50 * frameBytes;
      await sleep(5);
      for (const s of rig.server.events?.stats() ?? []) maxBuffered = Math.max(maxBuffered, s.maxBuffered);
      if (publishedBytes > 400 * 1024 * 1024) throw new Error(`the server never closed the client that stopped reading (${publishedBytes} bytes published)`);
    }
    expect(publishedBytes).toBeGreaterThan(10 * highWaterBytes);
    // The pump stops at the bound: at most one frame beyond it.
    expect(maxBuffered).toBeGreaterThanOrEqual(highWaterBytes);
    expect(maxBuffered).toBeLessThanOrEqual(highWaterBytes + frameBytes + 512);

    proxy.hold('fromServer', false);
    const closed = await client.closed(20_000);
    expect(closed.code).toBe(EVENTS_CLOSE_CODES.slowClient);
    expect(closed.reason).toMatch(/^ATP_API_EVENTS_SLOW: client stopped reading/);
    expect(client.messages.at(-1)).toMatchObject({ type: 'error', error: { code: 'ATP_API_EVENTS_SLOW' } });
    // What it did get is the start of the stream, in order, each once.
    const indexes = client.events.map((e) => e.index);
    expect(indexes.length).toBeGreaterThan(0);
    expect(indexes).toEqual(Array.from({ length: indexes.length }, (_, i) => ready.lastIndex + 1 + i));
    await until(() => rig.server.events?.clientCount === 0, 'the closed client to be gone');
  });
});
