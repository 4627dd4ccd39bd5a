/**
 * One lab guest as a real libvirt domain (TCG) for the libvirt e2e test: the
 * lab image with the agent (buildImage, as `verify --lab` builds it), direct
 * kernel boot with atp.token / atp.agent on the cmdline, our agent's channel
 * on a unix socket in a temp dir, the qemu-ga channel, PS/2 (the pc board's)
 * plus a USB tablet, the serial console in a file. Holds the libvirt suite
 * lock until `remove()`, which destroys and undefines even after a failure.
 *
 * `defineLabTemplate` defines that guest as a template (never started) for the
 * clone tests; `createLabDomains` clones it (createClones) into several
 * TRANSIENT domains for the fleet e2e test: the same kernel, initrd and
 * cmdline, so the same agent id (clones sharing a hostname) and token;
 * distinct names under one prefix, UUIDs chosen by libvirt, each with its own
 * agent socket and console file in its clone dir. `waitForGuestAgent` waits
 * until a domain's qemu-ga answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultLabAgent } from '../../host/src/targets/lab-target.js';
import { buildImage } from '../../host/src/lab/index.js';
import { defaultCacheDir } from '../../host/src/lab/paths.js';
import { buildDomainXml, createClones, removeClones, VirshLibvirtClient, type LibvirtClient } from '../../host/src/vm/libvirt/index.js';
import { qgaPing } from '../../host/src/vm/qga/index.js';
import { requireBinary } from '../../host/test/support/binaries.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from '../../host/test/support/libvirtd.js';

export interface E2eDomain {
  name: string;
  token: string;
  agentId: string;
  dir: string;
  client: VirshLibvirtClient;
  /** Host time just before `virsh start` returned. */
  startedAt: number;
  console(): Promise<string>;
  remove(): Promise<void>;
}

export async function defineLabDomain(): Promise<E2eDomain> {
  requireBinary('qemu-ga', 'qemu-guest-agent');
  const release = await acquireLibvirtSuiteLock();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-libvirt-'));
  const name = testDomainName('atp-e2e');
  const client = new VirshLibvirtClient({ uri: SYSTEM_URI });
  const consolePath = path.join(dir, 'console.log');
  const remove = async (): Promise<void> => {
    await client.close().catch(() => undefined);
    await removeDomain(name);
    await rm(dir, { recursive: true, force: true });
    await release();
  };
  try {
    await ensureLibvirtd();
    const agent = defaultLabAgent();
    if (agent === undefined) throw new Error('guest-agent/src/main.ts not found');
    const image = await buildImage({ cacheDir: defaultCacheDir(), agent: agent.agent, agentAliases: agent.aliases });
    const token = randomBytes(16).toString('hex');
    const agentId = `e2e-libvirt-${randomBytes(3).toString('hex')}`;
    const cmdline = ['console=ttyS0', 'quiet', 'panic=-1', 'rootfstype=ramfs', `atp.token=${token}`, `atp.agent=${agentId}`].join(' ');
    await client.define(
      buildDomainXml({
        name,
        memoryMiB: 384,
        boot: { kernel: image.kernel, initrd: image.initrd, cmdline },
        agentSocketPath: path.join(dir, 'agent.sock'),
        guestAgent: true,
        inputs: [{ type: 'tablet', bus: 'usb' }],
        consoleLogPath: consolePath,
      }),
    );
    await client.start(name);
    const startedAt = performance.now();
    return { name, token, agentId, dir, client, startedAt, console: () => readFile(consolePath, 'utf8').catch(() => ''), remove };
  } catch (error) {
    await remove().catch(() => undefined);
    throw error;
  }
}

export interface LabTemplate {
  /** A defined, never started lab domain to clone. */
  name: string;
  token: string;
  /** The agent id every clone gives itself (atp.agent= on the shared cmdline). */
  agentId: string;
  /** Where the template's own agent socket and console would go (clones get their own). */
  dir: string;
}

/** Defines (does not start) the lab domain as a template in `dir`: agent channel, qemu-ga, USB tablet, console log. */
async function defineLabTemplateIn(client: LibvirtClient, dir: string, agentId: string): Promise<LabTemplate> {
  await ensureLibvirtd();
  const agent = defaultLabAgent();
  if (agent === undefined) throw new Error('guest-agent/src/main.ts not found');
  const image = await buildImage({ cacheDir: defaultCacheDir(), agent: agent.agent, agentAliases: agent.aliases });
  const token = randomBytes(16).toString('hex');
  const name = testDomainName('atp-tpl');
  const cmdline = ['console=ttyS0', 'quiet', 'panic=-1', 'rootfstype=ramfs', `atp.token=${token}`, `atp.agent=${agentId}`].join(' ');
  await client.define(
    buildDomainXml({
      name,
      memoryMiB: 384,
      boot: { kernel: image.kernel, initrd: image.initrd, cmdline },
      agentSocketPath: path.join(dir, 'agent.sock'),
      guestAgent: true,
      inputs: [{ type: 'tablet', bus: 'usb' }],
      consoleLogPath: path.join(dir, 'console.log'),
    }),
  );
  return { name, token, agentId, dir };
}

export interface E2eLabTemplate extends LabTemplate {
  /** A local client on qemu:///system (a pool of 4). */
  client: VirshLibvirtClient;
  /** Undefines the template, removes its dir, releases the suite lock; idempotent. */
  remove(): Promise<void>;
}

/** The lab template for clone tests; holds the libvirt suite lock until `remove()`. */
export async function defineLabTemplate(options: { agentId?: string } = {}): Promise<E2eLabTemplate> {
  requireBinary('qemu-ga', 'qemu-guest-agent');
  const release = await acquireLibvirtSuiteLock();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-tpl-'));
  const client = new VirshLibvirtClient({ uri: SYSTEM_URI, pool: 4 });
  let name: string | undefined;
  let removing: Promise<void> | undefined;
  const remove = (): Promise<void> =>
    (removing ??= (async () => {
      await client.close().catch(() => undefined);
      if (name !== undefined) await removeDomain(name);
      await rm(dir, { recursive: true, force: true });
      await release();
    })());
  try {
    const template = await defineLabTemplateIn(client, dir, options.agentId ?? 'desk');
    name = template.name;
    return { ...template, client, remove };
  } catch (error) {
    await remove().catch(() => undefined);
    throw error;
  }
}

export interface E2eFleetDomain {
  name: string;
  /** Its clone dir (agent socket, console log). */
  dir: string;
  console(): Promise<string>;
}

export interface E2eFleet {
  /** Every domain's name starts with `${prefix}-`. */
  prefix: string;
  token: string;
  /** The agent id every guest gives itself (atp.agent= on the shared cmdline). */
  agentId: string;
  domains: E2eFleetDomain[];
  /** A local client on qemu:///system. */
  client: VirshLibvirtClient;
  /** Host time just before the first clone was created. */
  startedAt: number;
  /** Destroys every domain (transient: then gone), undefines the template and removes the dirs; idempotent, also after a failure. */
  remove(): Promise<void>;
}

export interface LabDomainsOptions {
  /** The agent id all guests share (default 'desk'). */
  agentId?: string;
  /** Which client creates domain `index` (default the local one): e.g. an SSH client, to stage the XML remotely. */
  creator?: (index: number) => LibvirtClient | undefined;
}

/**
 * `count` transient clones of the lab template (createClones, one after the other, booting concurrently):
 * the same kernel, cmdline, token and agent id; distinct names `${prefix}-N`, UUIDs chosen by libvirt,
 * each with its own dir for the agent socket and console file.
 */
export async function createLabDomains(count: number, options: LabDomainsOptions = {}): Promise<E2eFleet> {
  requireBinary('qemu-ga', 'qemu-guest-agent');
  const release = await acquireLibvirtSuiteLock();
  const root = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-fleet-'));
  const prefix = testDomainName('atp-fleet');
  // A pool: the guests' qemu-ga pings (and a test's calls) for several domains run side by side.
  const client = new VirshLibvirtClient({ uri: SYSTEM_URI, pool: count });
  const clones = Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i + 1}`, dir: path.join(root, `${prefix}-${i + 1}`) }));
  let template: string | undefined;
  let removing: Promise<void> | undefined;
  const remove = (): Promise<void> =>
    (removing ??= (async () => {
      await removeClones(client, clones).catch(async () => {
        await Promise.all(clones.map((c) => removeDomain(c.name)));
      });
      await client.close().catch(() => undefined);
      if (template !== undefined) await removeDomain(template);
      await rm(root, { recursive: true, force: true });
      await release();
    })());
  try {
    const tpl = await defineLabTemplateIn(client, path.join(root, 'template'), options.agentId ?? 'desk');
    template = tpl.name;
    const startedAt = performance.now();
    for (let i = 0; i < count; i++) await createClones(options.creator?.(i) ?? client, tpl.name, { count: 1, prefix, rootDir: root, firstIndex: i + 1 });
    const domains = clones.map((c) => ({ ...c, console: () => readFile(path.join(c.dir, 'console.log'), 'utf8').catch(() => '') }));
    return { prefix, token: tpl.token, agentId: tpl.agentId, domains, client, startedAt, remove };
  } catch (error) {
    await remove().catch(() => undefined);
    throw error;
  }
}

/** Resolves once the domain's qemu-ga answers through libvirt; rejects after `timeoutMs` with the console's tail. */
export async function waitForGuestAgent(client: LibvirtClient, domain: E2eFleetDomain, timeoutMs: number): Promise<void> {
  const qga = client.qgaExecutor(domain.name);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await qgaPing(qga, { timeoutMs: 2000 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${domain.name}: qemu-ga did not answer within ${timeoutMs / 1000} s; console:\n${(await domain.console()).slice(-4000)}`, { cause: error });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
