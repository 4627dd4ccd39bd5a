/**
 * The SSH transport and the `host` commands against a real sshd on 127.0.0.1:
 * `host add --accept-new-host-key` (fingerprint printed, known_hosts written),
 * `host check` (remote virsh version), exec with tricky arguments arriving
 * verbatim, an unknown host refused without the flag, a changed host key
 * refused with the new fingerprint in the message, list/remove.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { SshConnection } from '../src/vm/ssh/connection.js';
import { runRemote } from '../src/vm/ssh/exec.js';
import { requireBinary } from './support/binaries.js';
import { freePort, startSshd, type Sshd } from './support/sshd.js';

const LONG = 120_000;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('SSH transport against a real sshd', () => {
  let sshd: Sshd;
  let dir = '';
  let configDir = '';
  let knownHosts = '';
  const endpoint = () => ({ host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: knownHosts });

  beforeAll(async () => {
    requireBinary('virsh', 'libvirt-clients');
    sshd = await startSshd();
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-ssh-transport-'));
    configDir = path.join(dir, 'config');
    knownHosts = path.join(dir, 'ssh', 'known_hosts');
  }, LONG);

  afterAll(async () => {
    await sshd?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, LONG);

  const addArgs = (name: string): string[] => ['host', 'add', name, '--config-dir', configDir, '--ssh', `${sshd.user}@127.0.0.1:${sshd.port}`, '--identity', sshd.identityFile, '--known-hosts', knownHosts, '--libvirt-uri', 'test:///default'];

  it('refuses an unknown host without --accept-new-host-key, printing its fingerprint; nothing is written', async () => {
    const r = await cli(addArgs('hv'));
    expect(r.code).toBe(3);
    expect(r.err).toContain('ATP_SSH_HOST_KEY_UNKNOWN');
    expect(r.err).toContain(await sshd.hostFingerprint());
    await expect(stat(knownHosts)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(path.join(configDir, 'hosts.yaml'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, LONG);

  it('adds the host with --accept-new-host-key: fingerprint printed, key appended to known_hosts, hosts.yaml 0600', async () => {
    const fp = await sshd.hostFingerprint();
    const r = await cli([...addArgs('hv'), '--accept-new-host-key']);
    expect(r.err).toBe(`recorded new host key for 127.0.0.1:${sshd.port}: ssh-ed25519 ${fp} in ${knownHosts}\n`);
    expect(r.code).toBe(0);
    expect(r.out).toContain(fp);
    const blob = (await sshd.hostPublicKey()).split(' ')[1];
    expect(await readFile(knownHosts, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ssh-ed25519 ${blob}\n`);
    expect((await stat(path.join(configDir, 'hosts.yaml'))).mode & 0o777).toBe(0o600);
    // adding it again is refused
    expect((await cli([...addArgs('hv'), '--accept-new-host-key'])).err).toContain('ATP_CONFIG_HOST_EXISTS');
  }, LONG);

  it('checks the host: connects strictly and runs virsh version remotely', async () => {
    const r = await cli(['host', 'check', 'hv', '--config-dir', configDir, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as Record<string, unknown>;
    expect(report).toMatchObject({ name: 'hv', kind: 'ssh', ok: true, libvirtUri: 'test:///default', hostKey: { type: 'ssh-ed25519', fingerprint: await sshd.hostFingerprint() } });
    expect(report.virshVersion).toMatch(/Using library: libvirt \d+/);
    const list = JSON.parse((await cli(['host', 'list', '--config-dir', configDir, '--json'])).out) as { hosts: unknown[] };
    // a new hosts.yaml starts from the commented default, which has `local`
    expect(list.hosts).toEqual([{ name: 'local', kind: 'local', libvirtUri: 'qemu:///system' }, expect.objectContaining({ name: 'hv', kind: 'ssh', host: '127.0.0.1', port: sshd.port, knownHostsFile: knownHosts })]);
  }, LONG);

  it('runs commands with tricky arguments that arrive verbatim (no remote shell interpretation)', async () => {
    const connection = await SshConnection.connect(endpoint());
    try {
      const marker = path.join(dir, 'pwned');
      const args = [`it's`, 'two  words', `$(touch ${marker})`, `\`touch ${marker}\``, `a;touch ${marker}`, '"dq" \\ $HOME', '*', '', 'new\nline', 'ünï ✓', '-n'];
      const r = await runRemote(connection, ['printf', '%s\\0', ...args]);
      expect(r.stdout.split('\0').slice(0, -1)).toEqual(args);
      await expect(stat(marker)).rejects.toMatchObject({ code: 'ENOENT' });
      const stdin = await runRemote(connection, ['cat'], { stdin: 'through stdin\n' });
      expect(stdin.stdout).toBe('through stdin\n');
      await expect(runRemote(connection, ['sh', '-c', 'echo oops >&2; exit 7'])).rejects.toMatchObject({ code: 'ATP_SSH_EXEC', details: { code: 7, stderr: 'oops' } });
      expect(await runRemote(connection, ['sh', '-c', 'exit 3'], { check: false })).toMatchObject({ code: 3 });
      await expect(runRemote(connection, ['sleep', '30'], { timeoutMs: 300 })).rejects.toMatchObject({ code: 'ATP_SSH_TIMEOUT' });
      // the connection is still usable after a timed-out channel
      expect((await runRemote(connection, ['echo', 'ok'])).stdout).toBe('ok\n');
    } finally {
      connection.close();
    }
  }, LONG);

  it('refuses wrong credentials and unreachable ports with typed errors', async () => {
    await expect(SshConnection.connect({ ...endpoint(), identityFile: path.join(dir, 'nope') })).rejects.toMatchObject({ code: 'ATP_SSH_KEY_FILE' });
    await expect(SshConnection.connect({ ...endpoint(), identityFile: `${sshd.identityFile}.pub` })).rejects.toMatchObject({ code: 'ATP_SSH_KEY_FILE' });
    await expect(SshConnection.connect({ ...endpoint(), identityFile: path.join(sshd.dir, 'host_ed25519') })).rejects.toMatchObject({ code: 'ATP_SSH_AUTH' });
    await expect(SshConnection.connect({ ...endpoint(), port: await freePort() })).rejects.toMatchObject({ code: 'ATP_SSH_CONNECT' });
  }, LONG);

  it('refuses a changed host key (same port, new key) with the new fingerprint in the message, even with the flag', async () => {
    const before = await readFile(knownHosts, 'utf8');
    await sshd.restart({ newHostKey: true });
    const fp = await sshd.hostFingerprint();
    const direct = SshConnection.connect(endpoint(), { acceptNewHostKey: true });
    await expect(direct).rejects.toMatchObject({ code: 'ATP_SSH_HOST_KEY_CHANGED', details: { fingerprint: fp, line: 1 } });
    await expect(direct).rejects.toThrow(fp);
    const r = await cli(['host', 'check', 'hv', '--config-dir', configDir]);
    expect(r.code).toBe(3);
    expect(r.err).toContain('ATP_SSH_HOST_KEY_CHANGED');
    expect(r.err).toContain(fp);
    expect(await readFile(knownHosts, 'utf8')).toBe(before);
  }, LONG);

  it('removes the host', async () => {
    expect((await cli(['host', 'remove', 'hv', '--config-dir', configDir, '--json'])).out).toContain('"removed":"hv"');
    expect((await cli(['host', 'remove', 'hv', '--config-dir', configDir])).err).toContain('ATP_CONFIG_HOST_UNKNOWN');
  });
});
