/**
 * VirshLibvirtClient, unchanged, against the real libvirtd through SSH: the
 * long-lived virsh is an exec channel on a real sshd on 127.0.0.1 (via the
 * connection manager). Lists domains, defines a TCG domain (the XML staged on
 * the "remote" side), starts it, runs qemu-monitor-command query-status, sees
 * a lifecycle event from a remote `virsh event --loop`, and restarts virsh
 * over a new connection after sshd (and with it the channel) is killed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryStatus } from '../src/vm/qmp/commands.js';
import type { VirshLibvirtClient } from '../src/vm/libvirt/client.js';
import { buildDomainXml } from '../src/vm/libvirt/domain-xml.js';
import { SshConnection } from '../src/vm/ssh/connection.js';
import { SshConnectionManager } from '../src/vm/ssh/manager.js';
import { remoteLibvirtClient } from '../src/vm/ssh/remote-virsh.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from './support/libvirtd.js';
import { startSshd, type Sshd } from './support/sshd.js';

const LONG = 180_000;

describe('remote virsh over an SSH exec channel', () => {
  let release: (() => Promise<void>) | undefined;
  let sshd: Sshd;
  let dir = '';
  let manager: SshConnectionManager;
  let client: VirshLibvirtClient;
  const name = testDomainName('atp-sshvirt');

  beforeAll(async () => {
    release = await acquireLibvirtSuiteLock();
    await ensureLibvirtd();
    sshd = await startSshd();
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-ssh-libvirt-'));
    const endpoint = { host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: path.join(dir, 'known_hosts') };
    (await SshConnection.connect(endpoint, { acceptNewHostKey: true })).close();
    manager = new SshConnectionManager([{ name: 'hv', ...endpoint }]);
    client = remoteLibvirtClient(manager, 'hv', { uri: SYSTEM_URI });
  }, LONG);

  afterAll(async () => {
    await client?.close();
    await manager?.close();
    await removeDomain(name);
    await sshd?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
    await release?.();
  }, LONG);

  it('lists domains, defines one (XML staged remotely) and reads it back', async () => {
    expect(Array.isArray(await client.listDomains())).toBe(true);
    await client.define(buildDomainXml({ name, agentSocketPath: path.join(dir, 'agent.sock') }));
    expect(await client.listDomains()).toContainEqual({ id: undefined, name, state: 'shutoff' });
    expect(client.runner.mode).toBe('interactive');
  }, LONG);

  it('starts the TCG domain and runs qemu-monitor-command query-status; events arrive from a remote virsh event', async () => {
    const events = client.events({ domain: name });
    try {
      await client.start(name);
      expect(await queryStatus(client.qmpExecutor(name))).toMatchObject({ running: true, status: 'running' });
      await expect(client.qmpExecutor(name).execute('no-such-command')).rejects.toMatchObject({ code: 'ATP_QMP_COMMAND' });
      let seen;
      for (let attempt = 0; attempt < 20 && !seen; attempt++) {
        await client.suspend(name);
        await client.resume(name);
        seen = await events.waitFor((e) => e.kind !== 'stream' && e.domain === name, 3000);
      }
      expect(seen).toMatchObject({ domain: name });
      expect(events.pid).toBeUndefined(); // not a local process
    } finally {
      events.close();
    }
  }, LONG);

  it('after sshd is killed and restarted (the virsh channel dies), calls fail typed, then work over a new connection', async () => {
    expect(await client.state(name)).toBe('running');
    const callsBefore = manager.metrics('hv').calls;
    await sshd.restart();
    const codes = new Set<string>();
    let state: string | undefined;
    const deadline = Date.now() + 60_000;
    while (state === undefined && Date.now() < deadline) {
      state = await client.state(name).catch((e: unknown) => {
        codes.add((e as { code?: string }).code ?? String(e));
        return undefined;
      });
      if (state === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toBe('running');
    for (const code of codes) expect(['ATP_LIBVIRT_CONNECTION', 'ATP_SSH_UNREACHABLE', 'ATP_SSH_DISCONNECTED', 'ATP_SSH_CONNECT']).toContain(code);
    expect(manager.metrics('hv')).toMatchObject({ connected: true, reconnects: 1 });
    expect(manager.metrics('hv').calls).toBeGreaterThan(callsBefore);
  }, LONG);
});
