/**
 * Chaos-test plumbing: a seeded random source, the hub in a child process that
 * can be killed with SIGKILL and restarted on the same journal (behind a
 * ChaosProxy), and the exactly-once check of what a consumer received.
 */
import type { ObservedEvent, UnsequencedEvent } from '@atp/protocol';
import type { HubItem } from '../../host/src/hub/index.js';
import { startHubProcess, type HubProcess } from '../../host/test/support/hub-process.js';
import type { ChaosProxy } from './chaos-proxy.js';

/** mulberry32: small, fast, and the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ATP_CHAOS_SEED replays a run; otherwise a fresh seed (printed when the test fails). */
export function chaosSeed(): number {
  const fixed = Number(process.env.ATP_CHAOS_SEED);
  return Number.isInteger(fixed) && fixed > 0 ? fixed : 1 + Math.floor(Math.random() * 0x7fffffff);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until true; fails with `what` and `state()` after timeoutMs. */
export async function waitUntil(check: () => boolean, what: string, timeoutMs: number, state: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${state()}`);
    await sleep(10);
  }
}

/** A varied, deterministic event for index i, so payloads are worth comparing. */
export function chaosEvent(i: number, random: () => number): UnsequencedEvent {
  const t = 1_000_000 + i + Math.round(random() * 1000) / 1000;
  switch (i % 3) {
    case 0:
      return { kind: 'key', key: i % 2 === 0 ? 'KEY_A' : 'KEY_LEFTSHIFT', action: random() < 0.5 ? 'down' : 'up', t, device: 'event0' };
    case 1:
      return { kind: 'rel', dx: Math.round(random() * 200) - 100, dy: i % 7, t, device: 'event1' };
    default:
      return { kind: 'text', text: `chunk-${i}-${Math.floor(random() * 1e6)}`, t, device: '' };
  }
}

/** The hub child behind the proxy: kill() is a real SIGKILL; every process started is killed by stopAll(). */
export class HubRunner {
  kills = 0;
  private current: HubProcess | undefined;
  private readonly all: HubProcess[] = [];

  constructor(
    private readonly scratch: string,
    readonly journal: string,
    private readonly token: string,
    private readonly proxy: ChaosProxy,
    private readonly transport: 'tcp' | 'ws',
  ) {}

  async start(): Promise<void> {
    const hub = await startHubProcess(this.scratch, this.journal, this.token);
    this.all.push(hub);
    this.current = hub;
    this.proxy.target = this.transport === 'tcp' ? hub.tcp : hub.ws;
  }

  /** SIGKILL (nothing flushed), then a new hub on the same journal after `downMs`. */
  async killAndRestart(downMs: number): Promise<void> {
    const hub = this.current;
    this.proxy.target = undefined;
    this.current = undefined;
    await hub?.kill();
    this.kills++;
    await sleep(downMs);
    await this.start();
  }

  async stopAll(): Promise<void> {
    this.proxy.target = undefined;
    await Promise.all(this.all.splice(0).map((h) => h.kill()));
  }
}

/**
 * Exactly once and in order: the events of `bootId` in `items` are `pushed[0..]`
 * one for one (same seq, same payload). Returns the first violation, or undefined.
 */
export function exactlyOnceViolation(items: readonly HubItem[], bootId: string, pushed: readonly ObservedEvent[]): string | undefined {
  const events = items.filter((i) => i.kind === 'event' && i.bootId === bootId);
  if (events.length !== pushed.length) {
    const seqs = events.map((e) => (e.kind === 'event' ? e.seq : 0));
    const dups = seqs.filter((s, k) => seqs.indexOf(s) !== k).length;
    return `boot ${bootId}: ${events.length} events delivered for ${pushed.length} pushed (${dups} duplicates)`;
  }
  for (const [k, item] of events.entries()) {
    const want = pushed[k];
    if (item.kind !== 'event' || want === undefined) return `boot ${bootId}: item ${k} is not an event`;
    if (item.seq !== want.seq) return `boot ${bootId}: position ${k} holds seq ${item.seq}, expected ${want.seq}`;
    if (JSON.stringify(item.event) !== JSON.stringify(want)) return `boot ${bootId}: seq ${item.seq} payload ${JSON.stringify(item.event)} != pushed ${JSON.stringify(want)}`;
  }
  return undefined;
}
