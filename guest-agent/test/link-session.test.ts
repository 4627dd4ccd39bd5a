/**
 * AgentSession over real TCP and WebSocket connections to a test hub on
 * 127.0.0.1: hello, ordered delivery, acks, and exactly-once delivery across
 * repeated connection cuts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TcpLink, WsLink } from '../src/link/index.js';
import type { Link } from '../src/link/index.js';
import { keyEvent, makeSession, Sessions } from './support/agent-fixtures.js';
import { TestHub, waitFor } from './support/test-hub.js';

const hubs: TestHub[] = [];
const sessions = new Sessions();

afterEach(async () => {
  await sessions.stopAll();
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

async function startHub(): Promise<TestHub> {
  const hub = await TestHub.start();
  hubs.push(hub);
  return hub;
}

const transports: Array<[string, (hub: TestHub) => Link]> = [
  ['tcp', (hub) => new TcpLink({ host: '127.0.0.1', port: hub.tcpPort })],
  ['ws', (hub) => new WsLink({ url: hub.wsUrl })],
];

describe.each(transports)('AgentSession over %s', (name, linkFor) => {
  it('says hello with its identity and counters, delivers events 1..N in order, and acks trim the buffer', async () => {
    const hub = await startHub();
    const session = sessions.add(makeSession(linkFor(hub)));
    for (let i = 0; i < 5; i++) session.push(keyEvent(i));
    session.start();
    await waitFor(() => hub.uniqueSeqs(session.sender.bootId).length === 5, 'the first 5 events');
    const hello = hub.connections[0]?.hello;
    expect(hub.connections[0]?.transport).toBe(name);
    expect(hello).toMatchObject({
      agentId: 'test-agent',
      bootId: session.sender.bootId,
      token: 'secret',
      captureBackends: ['linux-evdev'],
      version: '0.1.0',
      lastSeq: 5,
      unacked: 5,
      overflowed: 0,
      os: { platform: 'linux' },
    });
    for (let i = 5; i < 300; i++) session.push(keyEvent(i));
    await waitFor(() => hub.uniqueSeqs(session.sender.bootId).length === 300, 'all 300 events');
    expect(hub.uniqueSeqs(session.sender.bootId)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(hub.events.get(session.sender.bootId)?.[7]).toMatchObject({ kind: 'key', key: 'KEY_A', action: 'up', t: 1_007, device: 'event0' });
    await waitFor(() => session.sender.unacked === 0, 'acks to empty the resend buffer');
    expect(session.sender.ackedSeq).toBe(300);
    expect(session.stats.resentEvents).toBe(0);
  });

  it('delivers 2,000 events exactly once, in order, across 10 connection cuts, resending only what was unacknowledged', async () => {
    const hub = await startHub();
    const session = sessions.add(makeSession(linkFor(hub)));
    session.start();
    const total = 2_000;
    let pushed = 0;
    for (let cut = 0; cut < 10; cut++) {
      // Push a slice, then cut: half the time at once, half the time by dropping the next batch unread.
      for (const end = pushed + 150; pushed < end; pushed++) session.push(keyEvent(pushed));
      const before = hub.connections.length;
      if (cut % 2 === 0) {
        await waitFor(() => hub.liveConnections().length > 0, 'a live connection');
        hub.dropAll();
      } else {
        hub.cutNextBatch = true;
        session.push(keyEvent(pushed++));
      }
      await waitFor(() => hub.connections.length > before && hub.liveConnections().length > 0, `reconnect after cut ${cut + 1}`);
    }
    for (; pushed < total; pushed++) session.push(keyEvent(pushed));
    await waitFor(() => hub.uniqueSeqs(session.sender.bootId).length === total, 'all 2,000 events', 60_000);

    const seqs = hub.uniqueSeqs(session.sender.bootId);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(hub.connections.length).toBeGreaterThanOrEqual(11);
    // Every connection carried only events after the ackedSeq its welcome announced, in increasing order.
    for (const conn of hub.connections) {
      const floor = conn.welcome?.ackedSeq ?? 0;
      for (const seq of conn.seqs) expect(seq).toBeGreaterThan(floor);
      expect([...conn.seqs].sort((a, b) => a - b)).toEqual(conn.seqs);
    }
    // The cut batches really were resent.
    expect(session.stats.resentEvents).toBeGreaterThan(0);
    await waitFor(() => session.sender.unacked === 0, 'the final acks');
  });
});
