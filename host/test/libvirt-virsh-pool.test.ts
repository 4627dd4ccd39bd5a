/**
 * VirshPool on real virsh against the real libvirtd (qemu:///system, started by
 * support/libvirtd.ts) and libvirt's test driver. Concurrency is shown without
 * wall-clock races: libvirtd is SIGSTOPped, so no call can finish, and the
 * calls' onSent hooks (fired as each command line is written to a virsh) count
 * how many virsh hold a command at the same moment: K for a pool of K, 1 for a
 * pool of 1 under the same load. Also: a runner whose virsh is killed mid-call
 * fails only its own call, a call waiting for a busy pool times out typed,
 * close() stops every virsh, and a pooled remoteLibvirtClient over a real sshd.
 */
import path from 'node:path';
import os from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostNow } from '../src/util/clock.js';
import { VirshLibvirtClient } from '../src/vm/libvirt/client.js';
import { AutoVirsh, createVirshRunner } from '../src/vm/libvirt/virsh-auto.js';
import { VirshPool } from '../src/vm/libvirt/virsh-pool.js';
import type { VirshRunner } from '../src/vm/libvirt/virsh-runner.js';
import { SshConnection } from '../src/vm/ssh/connection.js';
import { SshConnectionManager } from '../src/vm/ssh/manager.js';
import { remoteLibvirtClient } from '../src/vm/ssh/remote-virsh.js';
import { requireBinary } from './support/binaries.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, signalLibvirtd, SYSTEM_URI } from './support/libvirtd.js';
import { startSshd, type Sshd } from './support/sshd.js';

const LONG = 180_000;
const LIST = ['list', '--all'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pool(runner: VirshRunner): VirshPool {
  if (!(runner instanceof VirshPool)) throw new Error('expected a VirshPool');
  return runner;
}

function pidOf(runner: VirshRunner): number | undefined {
  if (!(runner instanceof AutoVirsh)) throw new Error('expected auto runners in the pool');
  return runner.process.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** A call whose result or error is kept, and whose onSent time is recorded. */
interface Tracked {
  sentAt: number | undefined;
  settled: boolean;
  done: Promise<{ ok: true; at: number } | { ok: false; error: unknown }>;
}

function track(runner: VirshRunner, argv: readonly string[], timeoutMs = 60_000): Tracked {
  const t: Tracked = { sentAt: undefined, settled: false, done: Promise.resolve({ ok: true, at: 0 }) };
  // .then on the runner's own promise: stamped before the pool hands the runner on.
  t.done = runner.run(argv, { timeoutMs, onSent: (at) => (t.sentAt = at) }).then(
    () => {
      t.settled = true;
      return { ok: true as const, at: hostNow() };
    },
    (error: unknown) => {
      t.settled = true;
      return { ok: false as const, error };
    },
  );
  return t;
}

const sentCount = (calls: readonly Tracked[]): number => calls.filter((c) => c.sentAt !== undefined).length;

describe('VirshPool on test:///default', () => {
  beforeAll(() => {
    requireBinary('virsh', 'libvirt-clients');
  });

  it('refuses a pool size outside 1..16, naming the option', () => {
    for (const size of [0, -1, 1.5, 17, Number.NaN]) {
      expect(() => createVirshRunner({ uri: 'test:///default', pool: size })).toThrow(expect.objectContaining({ code: 'ATP_LIBVIRT_ARGUMENT', details: { field: 'pool', value: size } }));
    }
  });

  it('makes virsh lazily: calls one after another stay on one virsh', async () => {
    const client = new VirshLibvirtClient({ uri: 'test:///default', pool: 3 });
    try {
      const p = pool(client.runner);
      for (let i = 0; i < 5; i++) expect(await client.state('test')).toBe('running');
      expect(p.stats).toMatchObject({ size: 3, runners: 1, peakBusy: 1, busy: 0, waiting: 0 });
      expect(client.runner.mode).toBe('interactive');
    } finally {
      await client.close();
    }
  });

  it('close() stops every virsh of the pool; later calls reject ATP_LIBVIRT_CLOSED', async () => {
    const p = pool(createVirshRunner({ uri: 'test:///default', pool: 3 }));
    await Promise.all([p.run(LIST), p.run(LIST), p.run(LIST)]);
    const pids = p.runners.map(pidOf);
    expect(new Set(pids).size).toBe(3);
    for (const pid of pids) expect(pid !== undefined && alive(pid)).toBe(true);
    await p.close();
    await until('every virsh exited', () => pids.every((pid) => pid === undefined || !alive(pid)));
    await expect(p.run(LIST)).rejects.toMatchObject({ code: 'ATP_LIBVIRT_CLOSED' });
  });
});

describe('VirshPool on a real libvirtd (held with SIGSTOP)', () => {
  let release: (() => Promise<void>) | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    await signalLibvirtd('SIGSTOP');
    stopped = true;
  };
  const resume = async (): Promise<void> => {
    stopped = false;
    await signalLibvirtd('SIGCONT');
  };

  beforeAll(async () => {
    release = await acquireLibvirtSuiteLock();
    await ensureLibvirtd();
  }, LONG);

  afterAll(async () => {
    if (stopped) await signalLibvirtd('SIGCONT').catch(() => undefined);
    await release?.();
  }, LONG);

  /**
   * With the daemon stopped, sends `calls` commands at once and counts how many
   * reached a virsh (onSent) while none can finish; then lets them all finish.
   */
  async function holdAndRelease(p: VirshPool, calls: number): Promise<{ concurrent: number; tracked: Tracked[] }> {
    await Promise.all(Array.from({ length: p.size }, () => p.run(LIST))); // every virsh started and connected
    await stop();
    let tracked: Tracked[] = [];
    let concurrent: number;
    try {
      tracked = Array.from({ length: calls }, () => track(p, LIST));
      const expected = Math.min(calls, p.size);
      await until(`${expected} commands written`, () => sentCount(tracked) === expected);
      await sleep(300); // the rest must stay in the pool's queue: no runner is free
      concurrent = sentCount(tracked);
      expect(tracked.some((t) => t.settled)).toBe(false);
      expect(p.stats).toMatchObject({ busy: expected, waiting: calls - expected });
    } finally {
      await resume();
    }
    const results = await Promise.all(tracked.map((t) => t.done));
    expect(results.every((r) => r.ok)).toBe(true);
    return { concurrent, tracked };
  }

  it('a pool of 3 has 3 virsh holding a command at once; a pool of 1 under the same load holds 1 and queues the rest', async () => {
    const three = pool(createVirshRunner({ uri: SYSTEM_URI, pool: 3 }));
    const one = pool(createVirshRunner({ uri: SYSTEM_URI, pool: 1 }));
    try {
      const wide = await holdAndRelease(three, 4);
      const narrow = await holdAndRelease(one, 4);
      expect(wide.concurrent).toBe(3);
      expect(narrow.concurrent).toBe(1);
      expect(wide.concurrent).toBeGreaterThan(narrow.concurrent);
      expect(three.stats).toMatchObject({ runners: 3, peakBusy: 3, busy: 0, waiting: 0 });
      expect(one.stats).toMatchObject({ runners: 1, peakBusy: 1, busy: 0, waiting: 0 });
      expect(new Set(three.runners.map(pidOf)).size).toBe(3);

      // A queued command leaves only after a runner's earlier call finished.
      const finishedFirst = (t: readonly Tracked[], n: number): Promise<number> =>
        Promise.all(t.slice(0, n).map((c) => c.done)).then((r) => Math.min(...r.map((x) => (x.ok ? x.at : Number.POSITIVE_INFINITY))));
      expect(wide.tracked[3]?.sentAt).toBeGreaterThanOrEqual(await finishedFirst(wide.tracked, 3));
      for (let i = 1; i < 4; i++) expect(narrow.tracked[i]?.sentAt).toBeGreaterThanOrEqual(await finishedFirst(narrow.tracked, i));
    } finally {
      await Promise.all([three.close(), one.close()]);
    }
  }, LONG);

  it('a runner whose virsh is killed mid-call fails only that call; the other finishes and the pool keeps working', async () => {
    const p = pool(createVirshRunner({ uri: SYSTEM_URI, pool: 2, backoff: { initialMs: 20, maxMs: 200 } }));
    try {
      await Promise.all([p.run(LIST), p.run(LIST)]);
      const [first, second] = p.runners.map(pidOf);
      if (first === undefined || second === undefined) throw new Error('both virsh should run');
      await stop();
      let victim: Tracked;
      let survivor: Tracked;
      try {
        victim = track(p, LIST); // the oldest idle runner: the first virsh
        survivor = track(p, LIST);
        await until('both commands written', () => sentCount([victim, survivor]) === 2);
        process.kill(first, 'SIGKILL');
        expect(await victim.done).toMatchObject({ ok: false, error: { code: 'ATP_LIBVIRT_CONNECTION' } });
        expect(survivor.settled).toBe(false);
      } finally {
        await resume();
      }
      expect(await survivor.done).toMatchObject({ ok: true });
      // The next call goes to the healthy runner; the failed one restarts when it is needed again.
      expect((await p.run(['uri'])).trim()).toBe(SYSTEM_URI);
      expect(p.runners.map(pidOf)).toEqual([undefined, second]);
      await Promise.all([p.run(LIST), p.run(LIST)]);
      const after = p.runners.map(pidOf);
      expect(after[1]).toBe(second);
      expect(after[0]).toBeDefined();
      expect(after[0]).not.toBe(first);
    } finally {
      await p.close();
    }
  }, LONG);

  it('a call waiting for a busy pool times out typed and never reaches virsh; close() fails waiting calls', async () => {
    const p = pool(createVirshRunner({ uri: SYSTEM_URI, pool: 1 }));
    try {
      await p.run(LIST);
      await stop();
      let busy: Tracked;
      try {
        busy = track(p, LIST);
        await until('the first command written', () => busy.sentAt !== undefined);
        const late = track(p, ['domstate', '--domain', 'whatever'], 400);
        expect(await late.done).toMatchObject({ ok: false, error: { code: 'ATP_LIBVIRT_TIMEOUT', details: { command: 'domstate', timeoutMs: 400, pool: 1 } } });
        expect(late.sentAt).toBeUndefined();
        const closedWhileWaiting = track(p, LIST);
        await p.close();
        expect(await closedWhileWaiting.done).toMatchObject({ ok: false, error: { code: 'ATP_LIBVIRT_CLOSED' } });
        expect(closedWhileWaiting.sentAt).toBeUndefined();
      } finally {
        await resume();
      }
      expect(await busy.done).toMatchObject({ ok: false, error: { code: 'ATP_LIBVIRT_CONNECTION' } }); // its virsh was stopped by close()
    } finally {
      await p.close();
    }
  }, LONG);

  describe('remoteLibvirtClient({ pool }) over a real sshd', () => {
    let sshd: Sshd;
    let dir = '';
    let manager: SshConnectionManager;
    let client: VirshLibvirtClient;

    beforeAll(async () => {
      sshd = await startSshd();
      dir = await mkdtemp(path.join(os.tmpdir(), 'atp-ssh-pool-'));
      const endpoint = { host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: path.join(dir, 'known_hosts') };
      (await SshConnection.connect(endpoint, { acceptNewHostKey: true })).close();
      manager = new SshConnectionManager([{ name: 'hv', ...endpoint }], { heartbeatIntervalMs: 0 });
      client = remoteLibvirtClient(manager, 'hv', { uri: SYSTEM_URI, pool: 2 });
    }, LONG);

    afterAll(async () => {
      await client?.close();
      await manager?.close();
      await sshd?.cleanup();
      if (dir) await rm(dir, { recursive: true, force: true });
    }, LONG);

    it('two remote virsh hold a command at once', async () => {
      await Promise.all([client.runner.run(LIST), client.runner.run(LIST)]);
      await stop();
      let calls: Tracked[] = [];
      try {
        calls = [track(client.runner, LIST), track(client.runner, LIST)];
        await until('both commands written', () => sentCount(calls) === 2);
        expect(calls.some((c) => c.settled)).toBe(false);
      } finally {
        await resume();
      }
      expect((await Promise.all(calls.map((c) => c.done))).every((r) => r.ok)).toBe(true);
      expect(manager.metrics('hv').maxInFlight).toBeGreaterThanOrEqual(2);
      expect(client.runner.mode).toBe('interactive');
    }, LONG);
  });
});
