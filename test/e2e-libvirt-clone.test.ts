/**
 * createClones / removeClones on a real libvirtd. The lab guest, defined as a
 * template and never started, is cloned into three transient domains that boot
 * at once (TCG): distinct names, UUIDs and agent sockets, and each guest's
 * agent reaches the hub through its own clone's socket, saying it runs in the
 * VM with that clone's UUID. removeClones leaves no domain and no dir. A
 * template with a small qcow2 disk (made here with qemu-img) gets a clone
 * whose overlay has the template's disk as its backing file (qemu-img info)
 * and which starts; `start: 'define'` makes persistent clones that
 * removeClones undefines; and a clone failing part-way (libvirt refusing a
 * UUID already in use) takes the clones made before it with it, typed,
 * naming the clone and the step; an existing clone dir is left alone.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHub, type HubItem } from '../host/src/hub/index.js';
import { buildDomainXml, createClones, removeClones, type CreatedClone } from '../host/src/vm/libvirt/index.js';
import { requireBinary } from '../host/test/support/binaries.js';
import { removeDomain, testDomainName } from '../host/test/support/libvirtd.js';
import { defineLabTemplate, type E2eLabTemplate } from './support/e2e-libvirt.js';

const run = promisify(execFile);
let tpl: E2eLabTemplate | undefined;
let root = '';
let diskTemplate = '';
const made: { name: string; dir: string }[] = [];

const template = (): E2eLabTemplate => {
  if (tpl === undefined) throw new Error('the lab template was not defined (see beforeAll)');
  return tpl;
};
const exists = (p: string): Promise<boolean> => stat(p).then(
  () => true,
  () => false,
);
/** Names of all domains libvirt knows that start with `prefix-`. */
async function domainsOf(prefix: string): Promise<string[]> {
  return (await template().client.listDomains()).map((d) => d.name).filter((n) => n.startsWith(`${prefix}-`));
}
function track(clones: readonly CreatedClone[]): CreatedClone[] {
  made.push(...clones.map((c) => ({ name: c.name, dir: c.dir })));
  return [...clones];
}

beforeAll(async () => {
  requireBinary('qemu-img', 'qemu-utils');
  tpl = await defineLabTemplate({ agentId: 'desk' });
  root = await mkdtemp(path.join(os.tmpdir(), 'atp-clones-'));
  // A second template: no OS, one 16 MiB qcow2 disk (SeaBIOS finds nothing to boot; the domain runs anyway).
  const disk = path.join(root, 'template-disk.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
  diskTemplate = testDomainName('atp-tpl-disk');
  const diskXml = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>`;
  await template().client.define(buildDomainXml({ name: diskTemplate, consoleLogPath: path.join(root, 'disk-template.log') }).replace('</devices>', `  ${diskXml}\n  </devices>`));
}, 600_000);

afterAll(async () => {
  if (tpl !== undefined) await removeClones(tpl.client, made).catch(() => Promise.all(made.map((m) => removeDomain(m.name))));
  if (diskTemplate) await removeDomain(diskTemplate);
  await tpl?.remove();
  if (root) await rm(root, { recursive: true, force: true });
}, 120_000);

describe('three transient clones of the lab template', () => {
  const prefix = testDomainName('atp-clone');
  let clones: CreatedClone[] = [];

  it('run as three transient domains with distinct names, UUIDs, dirs and agent sockets; the template stays shut off', async () => {
    const { client, name } = template();
    clones = track(await createClones(client, name, { count: 3, prefix, rootDir: root }));
    expect(clones.map((c) => c.name)).toEqual([`${prefix}-1`, `${prefix}-2`, `${prefix}-3`]);
    for (const c of clones) {
      expect(c.dir).toBe(path.join(root, c.name));
      expect(c.agentSocketPath).toBe(path.join(c.dir, 'agent.sock'));
      const info = await client.lookup(c.name);
      expect([info.state, info.persistent, info.uuid.toLowerCase()]).toEqual(['running', false, c.uuid]);
      expect((await client.domainXml(c.name)).agentChannel).toMatchObject({ type: 'unix', mode: 'bind', path: c.agentSocketPath });
    }
    expect(new Set(clones.map((c) => c.uuid)).size).toBe(3);
    expect(clones.map((c) => c.uuid)).not.toContain((await client.lookup(name)).uuid.toLowerCase());
    expect(await client.state(name)).toBe('shutoff');
  }, 120_000);

  it("reaches each guest's agent through its own clone's socket: the hello comes from the VM with that UUID", async () => {
    const { token } = template();
    const hub = await AgentHub.create({ auth: { tokens: [token] } });
    const t0 = performance.now();
    try {
      // Each channel is bound to its clone: an agent in another VM would be refused (ATP_HUB_IDENTITY).
      for (const c of clones) await hub.connectVirtio({ path: c.agentSocketPath ?? '', name: 'org.atp.agent.0', backoff: { initialMs: 100, maxMs: 1000 }, bind: { key: c.name, vmUuid: c.uuid } });
      const hellos = await Promise.all(
        clones.map(async (c) => {
          const signal = AbortSignal.timeout(420_000);
          try {
            for await (const item of hub.stream(c.name, { from: 'start', signal })) if (item.kind === 'connected') return item.hello;
          } catch (error) {
            throw new Error(`${c.name}: no agent session on ${c.agentSocketPath} within 420 s (refusals: ${JSON.stringify(hub.refusals())})`, { cause: error });
          }
          throw new Error(`${c.name}: the hub's stream ended without a session`);
        }),
      );
      console.log(`libvirt clone e2e: 3 clones' agents connected ${((performance.now() - t0) / 1000).toFixed(1)} s after createClones returned`);
      const seen = hellos.map((h: Extract<HubItem, { kind: 'connected' }>['hello']) => [h.agentId, h.vmUuid]);
      expect(seen).toEqual(clones.map((c) => ['desk', c.uuid]));
      expect(hub.refusals()).toEqual([]);
    } finally {
      await hub.close();
    }
  }, 480_000);

  it('removeClones leaves no domain and no dir, and again is a no-op', async () => {
    const { client } = template();
    await removeClones(client, clones);
    expect(await domainsOf(prefix)).toEqual([]);
    for (const c of clones) expect(await exists(c.dir)).toBe(false);
    await removeClones(client, clones);
    expect(await domainsOf(prefix)).toEqual([]);
  }, 120_000);
});

describe('a template with a qcow2 disk', () => {
  it('gets a clone whose overlay is backed by the template disk, and the clone runs on it', async () => {
    const { client } = template();
    const prefix = testDomainName('atp-clone-disk');
    const [clone] = track(await createClones(client, diskTemplate, { count: 1, prefix, rootDir: root }));
    if (clone === undefined) throw new Error('no clone');
    const overlay = path.join(clone.dir, 'template-disk.qcow2');
    // -U: the running clone holds the image's write lock.
    const info = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', overlay])).stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ format: 'qcow2', 'backing-filename': path.join(root, 'template-disk.qcow2'), 'backing-filename-format': 'qcow2', 'virtual-size': 16 * 1024 * 1024 });
    expect(await client.state(clone.name)).toBe('running');
    expect(await client.rawDomainXml(clone.name)).toContain(`<source file='${overlay}'`);
    await removeClones(client, [clone]);
    expect(await exists(clone.dir)).toBe(false);
    expect(await exists(path.join(root, 'template-disk.qcow2'))).toBe(true);
  }, 120_000);

  it("start: 'define' makes persistent running clones; removeClones destroys and undefines them", async () => {
    const { client } = template();
    const prefix = testDomainName('atp-clone-def');
    const clones = track(await createClones(client, diskTemplate, { count: 2, prefix, rootDir: root, start: 'define' }));
    for (const c of clones) expect(await client.lookup(c.name)).toMatchObject({ state: 'running', persistent: true });
    await removeClones(client, clones);
    expect(await domainsOf(prefix)).toEqual([]);
  }, 120_000);

  it('a clone failing part-way takes the ones made before it along: ATP_LIBVIRT_CLONE_FAILED naming the clone and the step', async () => {
    const { client } = template();
    const prefix = testDomainName('atp-clone-fail');
    const taken = (await client.lookup(diskTemplate)).uuid.toLowerCase();
    const fresh = '5d0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b';
    made.push({ name: `${prefix}-1`, dir: path.join(root, `${prefix}-1`) }, { name: `${prefix}-2`, dir: path.join(root, `${prefix}-2`) });
    // The second clone asks for the template's own UUID: libvirt refuses to create it.
    const error: unknown = await createClones(client, diskTemplate, { count: 2, prefix, rootDir: root, uuids: [fresh, taken] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ATP_LIBVIRT_CLONE_FAILED', details: { clone: `${prefix}-2`, step: 'virsh create', removed: [`${prefix}-1`, `${prefix}-2`] } });
    expect((error as Error).message).toMatch(new RegExp(`^cloning '${diskTemplate}' on local: ${prefix}-2 failed at virsh create: `));
    expect(await domainsOf(prefix)).toEqual([]);
    expect((await readdir(root)).filter((n) => n.startsWith(prefix))).toEqual([]);
    expect(await client.state(diskTemplate)).toBe('shutoff');
  }, 120_000);

  it("a clone dir that already exists is someone else's: the clone fails at mkdir and the dir is left as it was", async () => {
    const { client } = template();
    const prefix = testDomainName('atp-clone-dir');
    const theirs = path.join(root, `${prefix}-2`);
    await mkdir(theirs);
    await writeFile(path.join(theirs, 'keep.txt'), 'not yours');
    made.push({ name: `${prefix}-1`, dir: path.join(root, `${prefix}-1`) });
    const error: unknown = await createClones(client, diskTemplate, { count: 2, prefix, rootDir: root }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ATP_LIBVIRT_CLONE_FAILED', details: { clone: `${prefix}-2`, step: 'mkdir', removed: [`${prefix}-1`] } });
    expect((error as Error).message).toContain('EEXIST');
    expect(await domainsOf(prefix)).toEqual([]);
    expect(await exists(path.join(root, `${prefix}-1`))).toBe(false);
    expect(await readFile(path.join(theirs, 'keep.txt'), 'utf8')).toBe('not yours');
  }, 120_000);
});
