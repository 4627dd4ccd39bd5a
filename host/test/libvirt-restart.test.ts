/**
 * Faults of the connection to a real libvirtd: the daemon killed while a call
 * is in flight (SIGSTOP first, so the call is certainly waiting on it), then
 * started again: the in-flight call fails typed, the long-lived virsh restarts
 * and the next call works, and the event stream comes back. A hung daemon makes
 * a call time out typed (and the QMP executor report ATP_QMP_TIMEOUT).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryStatus } from '../src/vm/qmp/commands.js';
import { VirshLibvirtClient } from '../src/vm/libvirt/client.js';
import { buildDomainXml } from '../src/vm/libvirt/domain-xml.js';
import type { LibvirtEventStream } from '../src/vm/libvirt/events.js';
import { AutoVirsh } from '../src/vm/libvirt/virsh-auto.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, killLibvirtd, removeDomain, signalLibvirtd, SYSTEM_URI, testDomainName } from './support/libvirtd.js';

const LONG = 240_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('libvirtd faults', () => {
  let release: (() => Promise<void>) | undefined;
  let dir = '';
  let client: VirshLibvirtClient;
  let events: LibvirtEventStream;
  const name = testDomainName('atp-restart');

  beforeAll(async () => {
    release = await acquireLibvirtSuiteLock();
    await ensureLibvirtd();
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-libvirt-'));
    client = new VirshLibvirtClient({ uri: SYSTEM_URI, backoff: { initialMs: 50, maxMs: 500 } });
    events = client.events({ domain: name });
    await client.define(buildDomainXml({ name, agentSocketPath: path.join(dir, 'agent.sock') }));
    await client.start(name);
  }, LONG);

  afterAll(async () => {
    await signalLibvirtd('SIGCONT').catch(() => undefined);
    await ensureLibvirtd();
    await client?.close();
    await removeDomain(name);
    if (dir) await rm(dir, { recursive: true, force: true });
    await release?.();
  }, LONG);

  const virshProcess = (): AutoVirsh => {
    if (!(client.runner instanceof AutoVirsh)) throw new Error('expected the auto runner');
    return client.runner;
  };

  it('a call in flight when libvirtd dies fails typed; after the restart virsh restarts and calls work', async () => {
    expect(await queryStatus(client.qmpExecutor(name))).toMatchObject({ running: true });
    const firstPid = virshProcess().process.pid;
    const startsBefore = virshProcess().process.starts;

    await signalLibvirtd('SIGSTOP');
    const inFlight = client.state(name, { timeoutMs: 120_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await sleep(300); // let the command reach the stopped daemon
    await killLibvirtd();
    expect(await inFlight).toMatchObject({ code: 'ATP_LIBVIRT_CONNECTION' });

    // while the daemon is down, calls fail typed (never hang)
    await expect(client.state(name, { timeoutMs: 20_000 })).rejects.toMatchObject({ code: expect.stringMatching(/^ATP_LIBVIRT_(CONNECTION|TIMEOUT)$/) });

    await ensureLibvirtd();
    let state: string | undefined;
    for (let i = 0; i < 100 && state === undefined; i++) {
      state = await client.state(name, { timeoutMs: 20_000 }).catch(() => undefined);
      if (state === undefined) await sleep(200);
    }
    expect(state).toBe('running'); // the domain outlived the daemon
    expect(await queryStatus(client.qmpExecutor(name))).toMatchObject({ running: true });
    expect(virshProcess().process.starts).toBeGreaterThan(startsBefore);
    expect(virshProcess().process.pid).not.toBe(firstPid);
  }, LONG);

  it('the event stream reports the outage and delivers events again', async () => {
    const stopped = await events.waitFor((e) => e.kind === 'stream' && e.state === 'stopped', 60_000);
    expect(stopped).toBeDefined();
    const started = await events.waitFor((e) => e.kind === 'stream' && e.state === 'started', 60_000);
    expect(started).toBeDefined();
    let seen = false;
    for (let attempt = 0; attempt < 20 && !seen; attempt++) {
      await client.suspend(name);
      await client.resume(name);
      seen = (await events.waitFor((e) => e.kind === 'lifecycle' && e.event === 'suspended', 3000)) !== undefined;
    }
    expect(seen).toBe(true);
    expect(events.starts).toBeGreaterThanOrEqual(2);
  }, LONG);

  it('a hung daemon makes calls time out typed; the client recovers when it continues', async () => {
    await signalLibvirtd('SIGSTOP');
    try {
      await expect(client.state(name, { timeoutMs: 1500 })).rejects.toMatchObject({ code: 'ATP_LIBVIRT_TIMEOUT', details: { domain: name } });
      await expect(queryStatus(client.qmpExecutor(name), { timeoutMs: 1500 })).rejects.toMatchObject({ code: 'ATP_QMP_TIMEOUT' });
    } finally {
      await signalLibvirtd('SIGCONT');
    }
    let state: string | undefined;
    for (let i = 0; i < 50 && state === undefined; i++) state = await client.state(name, { timeoutMs: 20_000 }).catch(() => undefined);
    expect(state).toBe('running');
  }, LONG);
});
