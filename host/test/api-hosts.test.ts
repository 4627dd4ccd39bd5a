/**
 * /api/v1/hosts against a real server and a real sshd on 127.0.0.1: the list
 * starts with this machine as `local`; adding an SSH host whose key is not in
 * known_hosts is refused (ATP_SSH_HOST_KEY_UNKNOWN with the fingerprint,
 * nothing written), `acceptNewHostKey` records it (and the server logs it);
 * the host is listed with its defaults; check connects strictly and runs
 * virsh there (test:///default, no VM); a second add is 400; a changed host
 * key is refused on check and on a new add even with acceptNewHostKey;
 * removing it twice gives 404 the second time; `local` checks libvirt here.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from './support/binaries.js';
import { startSshd, type Sshd } from './support/sshd.js';
import { ensureLibvirtd } from './support/libvirtd.js';
import { errorOf, explain, startApiRig, type ApiRig } from './api-areas-support.js';

const LONG = 120_000;
let sshd: Sshd;
let rig: ApiRig;
let dir = '';
let configDir = '';
let knownHosts = '';

const sshBody = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  kind: 'ssh',
  host: '127.0.0.1',
  port: sshd.port,
  user: sshd.user,
  identityFile: sshd.identityFile,
  knownHostsFile: knownHosts,
  libvirtUri: 'test:///default',
  ...extra,
});

beforeAll(async () => {
  requireBinary('virsh', 'libvirt-clients');
  await ensureLibvirtd();
  sshd = await startSshd();
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-api-hosts-'));
  configDir = path.join(dir, 'config');
  knownHosts = path.join(dir, 'ssh', 'known_hosts');
  rig = await startApiRig({ configDir });
}, LONG);

afterAll(async () => {
  await rig?.close();
  await sshd?.cleanup();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, LONG);

describe('/api/v1/hosts', () => {
  it('lists this machine as local before hosts.yaml exists', async () => {
    const a = await rig.call('GET', '/api/v1/hosts');
    expect(a.status, explain(a)).toBe(200);
    expect(a.json).toEqual({ file: path.join(configDir, 'hosts.yaml'), hosts: [{ name: 'local', kind: 'local', libvirtUri: 'qemu:///system', source: 'default' }] });
  });

  it('refuses an SSH host whose key is unknown, naming its fingerprint; nothing is written', async () => {
    const a = await rig.call('POST', '/api/v1/hosts', { body: sshBody('hv') });
    expect(a.status, explain(a)).toBe(502);
    expect(errorOf(a).code).toBe('ATP_SSH_HOST_KEY_UNKNOWN');
    expect(errorOf(a).message).toContain(await sshd.hostFingerprint());
    await expect(stat(knownHosts)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(path.join(configDir, 'hosts.yaml'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, LONG);

  it('adds it with acceptNewHostKey: 201, the key recorded in known_hosts and logged, hosts.yaml 0600', async () => {
    const fp = await sshd.hostFingerprint();
    const a = await rig.call('POST', '/api/v1/hosts', { body: sshBody('hv', { acceptNewHostKey: true, maxConcurrency: 3 }) });
    expect(a.status, explain(a)).toBe(201);
    expect(a.json).toEqual({
      added: { name: 'hv', kind: 'ssh', host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, agent: false, knownHostsFile: knownHosts, libvirtUri: 'test:///default', maxConcurrency: 3, source: 'hosts.yaml' },
      file: path.join(configDir, 'hosts.yaml'),
      hostKey: { type: 'ssh-ed25519', fingerprint: fp },
      recordedHostKey: { type: 'ssh-ed25519', fingerprint: fp, knownHostsFile: knownHosts },
    });
    const blob = (await sshd.hostPublicKey()).split(' ')[1];
    expect(await readFile(knownHosts, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ssh-ed25519 ${blob}\n`);
    expect((await stat(path.join(configDir, 'hosts.yaml'))).mode & 0o777).toBe(0o600);
    expect(rig.lines).toContain(`api: recorded new host key for host 'hv': ssh-ed25519 ${fp} in ${knownHosts}`);

    const again = await rig.call('POST', '/api/v1/hosts', { body: sshBody('hv', { acceptNewHostKey: true }) });
    expect(again.status, explain(again)).toBe(400);
    expect(errorOf(again).code).toBe('ATP_CONFIG_HOST_EXISTS');
  }, LONG);

  it('lists hosts.yaml (its own local, then hv) and checks hv: strict connect, virsh version there', async () => {
    const list = await rig.call('GET', '/api/v1/hosts');
    expect((list.json as { hosts: unknown[] }).hosts).toEqual([
      { name: 'local', kind: 'local', libvirtUri: 'qemu:///system', source: 'hosts.yaml' },
      expect.objectContaining({ name: 'hv', kind: 'ssh', port: sshd.port, knownHostsFile: knownHosts, source: 'hosts.yaml' }),
    ]);
    const check = await rig.call('POST', '/api/v1/hosts/hv/check');
    expect(check.status, explain(check)).toBe(200);
    expect(check.json).toMatchObject({ name: 'hv', kind: 'ssh', ok: true, target: `${sshd.user}@[127.0.0.1]:${sshd.port}`, libvirtUri: 'test:///default', hostKey: { type: 'ssh-ed25519', fingerprint: await sshd.hostFingerprint() } });
    expect((check.json as { virshVersion: string }).virshVersion).toMatch(/Using library: libvirt \d+/);
  }, LONG);

  it('checks local: virsh version against this machine\'s libvirtd', async () => {
    const a = await rig.call('POST', '/api/v1/hosts/local/check');
    expect(a.status, explain(a)).toBe(200);
    expect(a.json).toMatchObject({ name: 'local', kind: 'local', ok: true, target: 'this machine', libvirtUri: 'qemu:///system' });
    expect((a.json as { virshVersion: string }).virshVersion).toMatch(/Running hypervisor: QEMU/);
  }, LONG);

  it('a changed host key is refused on check and on add, even with acceptNewHostKey; known_hosts is untouched', async () => {
    const before = await readFile(knownHosts, 'utf8');
    await sshd.restart({ newHostKey: true });
    const fp = await sshd.hostFingerprint();
    const check = await rig.call('POST', '/api/v1/hosts/hv/check');
    expect(check.status, explain(check)).toBe(502);
    expect(errorOf(check).code).toBe('ATP_SSH_HOST_KEY_CHANGED');
    expect(errorOf(check).message).toContain(fp);
    const add = await rig.call('POST', '/api/v1/hosts', { body: sshBody('hv2', { acceptNewHostKey: true }) });
    expect(add.status, explain(add)).toBe(502);
    expect(errorOf(add).code).toBe('ATP_SSH_HOST_KEY_CHANGED');
    expect(await readFile(knownHosts, 'utf8')).toBe(before);
    expect(((await rig.call('GET', '/api/v1/hosts')).json as { hosts: { name: string }[] }).hosts.map((h) => h.name)).toEqual(['local', 'hv']);
  }, LONG);

  it('a missing identity file is 400 ATP_SSH_KEY_FILE; an unknown host is 404 on check, vms and remove', async () => {
    const a = await rig.call('POST', '/api/v1/hosts', { body: sshBody('hv3', { identityFile: path.join(dir, 'nope') }) });
    expect(a.status, explain(a)).toBe(400);
    expect(errorOf(a).code).toBe('ATP_SSH_KEY_FILE');
    for (const [method, route] of [['POST', '/api/v1/hosts/nope/check'], ['GET', '/api/v1/hosts/nope/vms'], ['DELETE', '/api/v1/hosts/nope']] as const) {
      const r = await rig.call(method, route);
      expect(r.status, `${method} ${route}: ${explain(r)}`).toBe(404);
      expect(errorOf(r).code).toBe('ATP_CONFIG_HOST_UNKNOWN');
    }
  }, LONG);

  it('removes hv (known_hosts left alone); a second remove is 404', async () => {
    const a = await rig.call('DELETE', '/api/v1/hosts/hv');
    expect(a.status, explain(a)).toBe(200);
    expect(a.json).toEqual({ removed: 'hv', file: path.join(configDir, 'hosts.yaml') });
    expect(((await rig.call('GET', '/api/v1/hosts')).json as { hosts: { name: string }[] }).hosts.map((h) => h.name)).toEqual(['local']);
    const again = await rig.call('DELETE', '/api/v1/hosts/hv');
    expect(again.status).toBe(404);
    expect(errorOf(again).code).toBe('ATP_CONFIG_HOST_UNKNOWN');
    for (const line of rig.lines) expect(line).not.toContain(rig.token);
  });
});
