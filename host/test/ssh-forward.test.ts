/**
 * Remote unix sockets through SSH (OpenSSH direct-streamlocal): a real QEMU's
 * QMP socket with QmpClient (query-status, an event-carrying command) and a
 * real qemu-ga with QgaClient (guest-ping, guest-info). Both run on this
 * machine; they are "remote" because every byte goes through sshd on
 * 127.0.0.1, via the connection manager's shared connection.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpClient, queryStatus } from '../src/vm/qmp/index.js';
import { QgaClient } from '../src/vm/qga/client.js';
import { info as qgaInfo, ping as qgaPing } from '../src/vm/qga/commands.js';
import { SshConnectionManager } from '../src/vm/ssh/manager.js';
import { startQemu, type QemuInstance } from './support/qemu.js';
import { startQemuGa, type QemuGa } from './support/qemu-ga.js';
import { startSshd, type Sshd } from './support/sshd.js';
import { SshConnection } from '../src/vm/ssh/connection.js';

const LONG = 120_000;

describe('QMP and QGA through an SSH unix-socket forward', () => {
  let sshd: Sshd;
  let qemu: QemuInstance;
  let qga: QemuGa;
  let dir = '';
  let manager: SshConnectionManager;

  beforeAll(async () => {
    [sshd, qemu, qga] = await Promise.all([startSshd(), startQemu({ trace: false }), startQemuGa()]);
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-ssh-forward-'));
    const knownHostsFile = path.join(dir, 'known_hosts');
    const endpoint = { host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile };
    (await SshConnection.connect(endpoint, { acceptNewHostKey: true })).close();
    manager = new SshConnectionManager([{ name: 'hv', ...endpoint }]);
  }, LONG);

  afterAll(async () => {
    await manager?.close();
    await Promise.all([qemu?.cleanup(), qga?.stop(), sshd?.cleanup()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, LONG);

  it('QmpClient negotiates and runs commands through the forward', async () => {
    const qmp = await QmpClient.connect(manager.unixTarget('hv', qemu.qmpPath));
    try {
      expect(await queryStatus(qmp)).toMatchObject({ running: true, status: 'running' });
      await expect(qmp.execute('no-such-command')).rejects.toMatchObject({ code: 'ATP_QMP_COMMAND' });
      for (let i = 0; i < 20; i++) expect((await queryStatus(qmp)).running).toBe(true);
    } finally {
      await qmp.close();
    }
  }, LONG);

  it('QgaClient pings the guest agent through the forward', async () => {
    const agent = await QgaClient.connect(manager.unixTarget('hv', qga.socketPath));
    try {
      await qgaPing(agent);
      expect((await qgaInfo(agent)).version).toMatch(/^\d+\.\d+/);
    } finally {
      agent.close();
    }
  }, LONG);

  it('a forward to a socket that does not exist fails typed (ATP_SSH_CHANNEL, and ATP_QMP_CONNECT through QmpClient)', async () => {
    await expect(manager.forwardUnix('hv', path.join(dir, 'absent.sock'))).rejects.toMatchObject({ code: 'ATP_SSH_CHANNEL' });
    await expect(QmpClient.connect(manager.unixTarget('hv', path.join(dir, 'absent.sock')))).rejects.toMatchObject({ code: expect.stringMatching(/^ATP_(SSH_CHANNEL|QMP_CONNECT)$/) });
    // all of it over one shared connection
    expect(manager.metrics('hv')).toMatchObject({ connects: 1, connected: true });
  }, LONG);
});
