/**
 * One lab guest as a real libvirt domain (TCG) for the libvirt e2e test: the
 * lab image with the agent (buildImage, as `verify --lab` builds it), direct
 * kernel boot with atp.token / atp.agent on the cmdline, our agent's channel
 * on a unix socket in a temp dir, the qemu-ga channel, PS/2 (the pc board's)
 * plus a USB tablet, the serial console in a file. Holds the libvirt suite
 * lock until `remove()`, which destroys and undefines even after a failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultLabAgent } from '../../host/src/cli/verify-lab.js';
import { buildImage } from '../../host/src/lab/index.js';
import { defaultCacheDir } from '../../host/src/lab/paths.js';
import { buildDomainXml, VirshLibvirtClient } from '../../host/src/vm/libvirt/index.js';
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
