/**
 * Exactly-once delivery between the real agent session (guest-agent
 * AgentSession over TcpLink / WsLink) and the real hub (host AgentHub with a
 * JournalEventStore, in a child process), under chaos: the hub is killed with
 * SIGKILL and restarted on the same journal, and a TCP proxy between the two
 * cuts connections at random moments (often in the middle of a frame). A
 * consumer in this process (followJournal, which outlives every hub) must see
 * every pushed event once, in order, with the payload that was pushed. Then an
 * agent crash: a new boot must not lose what the old one had acknowledged, and
 * the stream must say what the old boot left unacknowledged.
 * Randomness is seeded (ATP_CHAOS_SEED=<n> replays a schedule; the seed is
 * printed when a test fails).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import type { ObservedEvent } from '@atp/protocol';
import { AgentSession, TcpLink, WsLink, type Link } from '../guest-agent/src/link/index.js';
import { followJournal, type HubItem } from '../host/src/hub/index.js';
import { StreamCollector } from '../host/test/support/hub-collect.js';
import { ChaosProxy } from './support/chaos-proxy.js';
import { chaosEvent, chaosSeed, exactlyOnceViolation, HubRunner, seededRandom, sleep, waitUntil } from './support/chaos-hub.js';

const TOKEN = 'chaos-token';
const AGENT = 'chaos-vm';
const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

interface Rig {
  proxy: ChaosProxy;
  hubs: HubRunner;
  consumer: StreamCollector;
  random: () => number;
  link: () => Link;
}

async function rig(transport: 'tcp' | 'ws'): Promise<Rig> {
  const seed = chaosSeed();
  onTestFailed(() => console.error(`chaos seed: ATP_CHAOS_SEED=${seed}`));
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'atp-chaos-'));
  cleanups.push(() => rm(scratch, { recursive: true, force: true }));
  const proxy = await ChaosProxy.start();
  cleanups.push(() => proxy.close());
  const hubs = new HubRunner(scratch, path.join(scratch, 'journal'), TOKEN, proxy, transport);
  cleanups.push(() => hubs.stopAll());
  await hubs.start();
  const abort = new AbortController();
  cleanups.push(() => abort.abort());
  const consumer = new StreamCollector(followJournal(hubs.journal, AGENT, { signal: abort.signal, pollMs: 50 }));
  const link = (): Link =>
    transport === 'tcp'
      ? new TcpLink({ host: '127.0.0.1', port: proxy.port, connectTimeoutMs: 5_000 })
      : new WsLink({ url: `ws://127.0.0.1:${proxy.port}/`, connectTimeoutMs: 5_000 });
  return { proxy, hubs, consumer, random: seededRandom(seed), link };
}

function startSession(r: Rig, bootId: string): AgentSession {
  const session = new AgentSession({
    link: r.link(),
    bootId,
    identity: {
      agentId: AGENT,
      bootId,
      os: { platform: 'linux', release: 'chaos', arch: 'x64' },
      captureBackends: ['linux-evdev'],
      capabilities: ['events', 'ping'],
      version: '0.1.0',
      token: TOKEN,
    },
    backoff: { initialMs: 10, maxMs: 150, jitter: 0.3 },
    welcomeTimeoutMs: 5_000,
    random: r.random,
  });
  cleanups.push(() => session.stop(0));
  session.start();
  return session;
}

/** Pushes `count` events at a steady pace (small bursts every few ms); returns them as numbered by the session. */
async function pushPaced(r: Rig, session: AgentSession, count: number, out: ObservedEvent[]): Promise<void> {
  for (let left = count; left > 0; ) {
    const burst = Math.min(left, 20 + Math.floor(r.random() * 40));
    for (let k = 0; k < burst; k++) out.push(session.push(chaosEvent(out.length, r.random)));
    left -= burst;
    await sleep(3 + Math.floor(r.random() * 10));
  }
}

/** One cut that really cuts a live connection: mid-frame after a few bytes, or at once. */
async function cut(r: Rig): Promise<void> {
  const before = r.proxy.cuts;
  if (r.random() < 0.6) {
    r.proxy.cutAfter(1 + Math.floor(r.random() * 3000));
    await sleep(50 + r.random() * 150);
  }
  while (r.proxy.cuts === before) {
    await waitUntil(() => r.proxy.open > 0, 'a connection to cut', 20_000);
    r.proxy.cutNow();
  }
}

/** Streams `total` events while the hub is killed `kills` times and connections are cut `cuts` times, in a seeded order. */
async function streamUnderChaos(r: Rig, session: AgentSession, total: number, kills: number, cuts: number, out: ObservedEvent[]): Promise<void> {
  const faults = [...Array<'kill'>(kills).fill('kill'), ...Array<'cut'>(cuts).fill('cut')];
  for (let i = faults.length - 1; i > 0; i--) {
    const j = Math.floor(r.random() * (i + 1));
    [faults[i], faults[j]] = [faults[j] as 'kill' | 'cut', faults[i] as 'kill' | 'cut'];
  }
  const per = Math.ceil(total / faults.length);
  for (const fault of faults) {
    const n = Math.min(per, total - out.length);
    const fire = async (): Promise<void> => {
      await sleep(r.random() * 120);
      if (fault === 'kill') await r.hubs.killAndRestart(Math.floor(r.random() * 150));
      else await cut(r);
    };
    await Promise.all([pushPaced(r, session, n, out), fire()]);
  }
  if (out.length < total) await pushPaced(r, session, total - out.length, out);
}

const delivered = (items: readonly HubItem[], bootId: string): number => items.filter((i) => i.kind === 'event' && i.bootId === bootId).length;

async function drained(r: Rig, session: AgentSession, bootId: string, count: number): Promise<void> {
  const state = (): string => `(delivered ${delivered(r.consumer.items, bootId)}/${count}, unacked ${session.sender.unacked}, state ${session.state})`;
  await waitUntil(() => r.consumer.error !== undefined || delivered(r.consumer.items, bootId) >= count, 'the consumer to have every event', 60_000, state);
  if (r.consumer.error !== undefined) throw r.consumer.error;
  await waitUntil(() => session.sender.unacked === 0, 'the last ack', 30_000, state);
}

async function exactlyOnceUnderChaos(transport: 'tcp' | 'ws', total: number, kills: number, cuts: number): Promise<void> {
  const r = await rig(transport);
  const bootId = `boot-${transport}-1`;
  const session = startSession(r, bootId);
  const pushed: ObservedEvent[] = [];
  await streamUnderChaos(r, session, total, kills, cuts, pushed);
  await drained(r, session, bootId, total);
  // Let anything a late resend could still add reach the consumer before judging.
  await sleep(300);

  expect(exactlyOnceViolation(r.consumer.items, bootId, pushed)).toBeUndefined();
  expect(r.consumer.items.filter((i) => i.kind === 'gap')).toEqual([]);
  const indexes = r.consumer.items.map((i) => i.index);
  expect(indexes.every((v, k) => v === k)).toBe(true);
  expect(r.hubs.kills).toBeGreaterThanOrEqual(kills);
  expect(r.proxy.cuts).toBeGreaterThanOrEqual(cuts);
  console.log(`${transport}: ${total} events, ${r.hubs.kills} hub kills, ${r.proxy.cuts} cuts, ${session.stats.welcomes} welcomes, ${session.stats.resentEvents} resent`);
}

describe('agent session ↔ hub under chaos', () => {
  it('delivers 20,000 events over TCP exactly once and in order through 20 hub SIGKILLs and 20 connection cuts', async () => {
    await exactlyOnceUnderChaos('tcp', 20_000, 20, 20);
  }, 100_000);

  it('delivers 10,000 events over WebSocket exactly once and in order through 20 hub SIGKILLs and 20 connection cuts', async () => {
    await exactlyOnceUnderChaos('ws', 10_000, 20, 20);
  }, 100_000);

  it('keeps what an agent had acknowledged across its crash, and reports what the crashed boot left unacknowledged', async () => {
    const r = await rig('tcp');
    const old = startSession(r, 'boot-old');
    const oldPushed: ObservedEvent[] = [];
    await streamUnderChaos(r, old, 3_000, 3, 3, oldPushed);
    // Mid-stream on a live connection: keep streaming until the hub has acked some of it on this connection.
    const acked = old.sender.ackedSeq ?? 0;
    const pacing = pushPaced(r, old, 400, oldPushed);
    await waitUntil(() => old.state === 'ready' && (old.sender.ackedSeq ?? 0) > acked, 'an ack on a live connection', 30_000);
    await pacing;
    // A burst the old agent never gets to send, then a crash: no flush, no goodbye.
    for (let k = 0; k < 300; k++) oldPushed.push(old.push(chaosEvent(oldPushed.length, r.random)));
    const atCrash = { lastSeq: old.sender.lastSeq ?? 0, ackedSeq: old.sender.ackedSeq ?? 0, unacked: old.sender.unacked };
    await old.stop(0);
    expect(atCrash.unacked).toBe(atCrash.lastSeq - atCrash.ackedSeq);

    const fresh = startSession(r, 'boot-new');
    const newPushed: ObservedEvent[] = [];
    await streamUnderChaos(r, fresh, 1_000, 1, 2, newPushed);
    await drained(r, fresh, 'boot-new', newPushed.length);
    await sleep(300);

    const items = r.consumer.items;
    const oldDelivered = delivered(items, 'boot-old');
    // Everything the old boot had acknowledged is there, once, in order; what never reached the hub is not.
    expect(oldDelivered).toBeGreaterThanOrEqual(atCrash.ackedSeq);
    expect(oldDelivered).toBeLessThanOrEqual(atCrash.lastSeq - 300);
    expect(exactlyOnceViolation(items, 'boot-old', oldPushed.slice(0, oldDelivered))).toBeUndefined();
    expect(exactlyOnceViolation(items, 'boot-new', newPushed)).toBeUndefined();

    const changed = items.filter((i) => i.kind === 'boot-changed');
    expect(changed).toHaveLength(1);
    const notice = changed[0];
    if (notice?.kind !== 'boot-changed') throw new Error('no boot-changed item');
    expect(notice.bootId).toBe('boot-new');
    expect(notice.previous.bootId).toBe('boot-old');
    expect(notice.previous.lastSeq).toBe(oldDelivered);
    // The hub's last ack to the old boot covers at least what the agent had seen acked, and never more than was delivered.
    const hubAcked = notice.previous.ackedSeq ?? -1;
    expect(hubAcked).toBeGreaterThanOrEqual(atCrash.ackedSeq);
    expect(hubAcked).toBeLessThanOrEqual(oldDelivered);
    // The old agent's unacknowledged events = delivered but not yet acked + never arrived.
    const deliveredUnacked = oldDelivered - atCrash.ackedSeq;
    const lost = atCrash.lastSeq - oldDelivered;
    expect(deliveredUnacked + lost).toBe(atCrash.unacked);
    expect(lost).toBeGreaterThanOrEqual(300);
    const lastOldEvent = items.findLast((i) => i.kind === 'event' && i.bootId === 'boot-old');
    const firstNew = items.find((i) => i.bootId === 'boot-new');
    expect(firstNew).toBe(notice);
    expect(notice.index).toBeGreaterThan(lastOldEvent?.index ?? Number.POSITIVE_INFINITY);
    const oldEnd = items.filter((i) => i.kind === 'disconnected' && i.bootId === 'boot-old').at(-1);
    expect(oldEnd?.kind === 'disconnected' ? oldEnd.lastSeq : undefined).toBe(oldDelivered);
    console.log(
      `agent crash: old boot assigned ${atCrash.lastSeq}, agent saw ack ${atCrash.ackedSeq}, hub acked ${hubAcked}, delivered ${oldDelivered}; ` +
        `unacked at crash ${atCrash.unacked} = ${deliveredUnacked} delivered + ${lost} lost`,
    );
  }, 100_000);
});
