/**
 * QmpInjector's sentAt is the moment the input leaves, after the executor's
 * own queueing, on real components:
 * - a QmpClient to a real QEMU that was killed: the send waits for the client
 *   to reconnect to the restarted QEMU, and sentAt comes after 'ready';
 * - qemu-monitor-command through a virsh pool of 1 (via reconnectingQmpExecutor)
 *   on a real libvirtd and TCG domain, the pool busy with an earlier call that
 *   SIGSTOP holds: sentAt comes after that call finished.
 * Every action of one input-send-event call shares one sentAt.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InputAction } from '../src/inject/actions.js';
import { QmpInjector } from '../src/inject/qmp-injector.js';
import { hostNow } from '../src/util/clock.js';
import { VirshLibvirtClient } from '../src/vm/libvirt/client.js';
import { buildDomainXml } from '../src/vm/libvirt/domain-xml.js';
import { reconnectingQmpExecutor } from '../src/vm/libvirt/executors.js';
import { QmpClient } from '../src/vm/qmp/client.js';
import { queryStatus } from '../src/vm/qmp/commands.js';
import type { QmpExecuteOptions, QmpExecutor } from '../src/vm/qmp/executor.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, signalLibvirtd, SYSTEM_URI, testDomainName } from './support/libvirtd.js';
import { startQemu, type QemuInstance } from './support/qemu.js';

const LONG = 180_000;
const HOLD_MS = 300;
const SCREEN = { width: 1024, height: 768 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Two key taps: four key actions, one input-send-event call. */
const TAPS: InputAction[] = [
  { kind: 'key', key: 'KEY_A', down: true },
  { kind: 'key', key: 'KEY_A', down: false },
  { kind: 'key', key: 'KEY_B', down: true },
  { kind: 'key', key: 'KEY_B', down: false },
];

/** Calls through to a real executor and records the onSent times it reports. */
class SentProbe implements QmpExecutor {
  readonly reported: number[] = [];
  constructor(private readonly inner: QmpExecutor) {}
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options?: QmpExecuteOptions): Promise<T> {
    const onSent = options?.onSent;
    return this.inner.execute<T>(command, args, {
      ...options,
      onSent: (at) => {
        this.reported.push(at);
        onSent?.(at);
      },
    });
  }
}

async function until(what: string, done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe('sentAt through a QmpClient that waits for a reconnect (real QEMU)', () => {
  let qemu: QemuInstance;
  let client: QmpClient;

  beforeAll(async () => {
    qemu = await startQemu();
    client = await QmpClient.connect({ path: qemu.qmpPath }, { reconnect: { initialMs: 50, maxMs: 200, jitter: 0 } });
  }, LONG);

  afterAll(async () => {
    await client?.close();
    await qemu?.cleanup();
  }, LONG);

  it('takes the time the executor reports, the same for every action of the call', async () => {
    const probe = new SentProbe(client);
    const injector = new QmpInjector({ executor: probe, screen: SCREEN });
    const before = hostNow();
    const sent = await injector.send(TAPS);
    const after = hostNow();
    expect(probe.reported).toHaveLength(1);
    expect(sent.map((s) => s.sentAt)).toEqual(Array(4).fill(probe.reported[0]));
    expect(probe.reported[0]).toBeGreaterThan(before);
    expect(probe.reported[0]).toBeLessThan(after);
  }, LONG);

  it('a send issued while QEMU is down is stamped when it is written after the reconnect', async () => {
    let readyAt: number | undefined;
    const off = client.on('state', (s) => {
      if (s === 'ready') readyAt = hostNow();
    });
    try {
      await qemu.kill();
      await client.waitForState('reconnecting', 15_000);
      const injector = new QmpInjector({ executor: client, screen: SCREEN });
      const queuedAt = hostNow();
      const sending = injector.send(TAPS);
      await sleep(HOLD_MS);
      await qemu.restart();
      const sent = await sending;
      if (readyAt === undefined) throw new Error('the client never became ready');
      const at = sent[0]?.sentAt ?? Number.NaN;
      expect(sent.map((s) => s.sentAt)).toEqual(Array(4).fill(at));
      expect(at).toBeGreaterThanOrEqual(readyAt);
      expect(at - queuedAt).toBeGreaterThanOrEqual(HOLD_MS);
      // and the input did reach the restarted QEMU
      await qemu.waitForTrace((lines) => lines.some((l) => l.includes('key qcode b, down 0')), 30_000);
    } finally {
      off();
    }
  }, LONG);
});

describe('sentAt through a busy virsh pool of 1 (real libvirtd, TCG domain)', () => {
  let release: (() => Promise<void>) | undefined;
  let dir = '';
  let client: VirshLibvirtClient;
  let stopped = false;
  const name = testDomainName('atp-sentat');

  beforeAll(async () => {
    release = await acquireLibvirtSuiteLock();
    await ensureLibvirtd();
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-sentat-'));
    client = new VirshLibvirtClient({ uri: SYSTEM_URI, pool: 1 });
    await client.define(buildDomainXml({ name, agentSocketPath: path.join(dir, 'agent.sock'), inputs: [{ type: 'keyboard', bus: 'virtio' }] }));
    await client.start(name);
    expect(await queryStatus(client.qmpExecutor(name))).toMatchObject({ running: true });
  }, LONG);

  afterAll(async () => {
    if (stopped) await signalLibvirtd('SIGCONT').catch(() => undefined);
    await client?.close();
    await removeDomain(name);
    if (dir) await rm(dir, { recursive: true, force: true });
    await release?.();
  }, LONG);

  it('an injection queued behind an earlier call is stamped after that call finished', async () => {
    const executor = new SentProbe(reconnectingQmpExecutor(client.qmpExecutor(name), { probe: () => client.lookup(name) }));
    const injector = new QmpInjector({ executor, screen: SCREEN });
    await signalLibvirtd('SIGSTOP');
    stopped = true;
    let earlierSentAt: number | undefined;
    let earlier: Promise<number> | undefined;
    let sending: ReturnType<QmpInjector['send']> | undefined;
    let queuedAt: number;
    let resumedAt: number;
    try {
      // .then on the pool's own promise: stamped before the pool hands the runner on.
      earlier = client.runner.run(['domstate', '--domain', name], { domain: name, timeoutMs: 60_000, onSent: (at) => (earlierSentAt = at) }).then(() => hostNow());
      await until('the earlier call written to virsh', () => earlierSentAt !== undefined);
      queuedAt = hostNow();
      sending = injector.send(TAPS);
      await sleep(HOLD_MS);
      expect(executor.reported).toHaveLength(0); // still queued behind the held call
    } finally {
      resumedAt = hostNow();
      stopped = false;
      await signalLibvirtd('SIGCONT');
    }
    if (earlier === undefined || sending === undefined) throw new Error('the calls were not issued');
    const finishedAt = await earlier;
    const sent = await sending;
    expect(executor.reported).toHaveLength(1);
    const at = executor.reported[0] ?? Number.NaN;
    expect(sent.map((s) => s.sentAt)).toEqual(Array(4).fill(at));
    expect(at).toBeGreaterThanOrEqual(finishedAt);
    expect(at).toBeGreaterThanOrEqual(resumedAt);
    expect(at - queuedAt).toBeGreaterThanOrEqual(HOLD_MS);
  }, LONG);
});
