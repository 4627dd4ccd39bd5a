/**
 * Finds the guest side of a virtio-serial port by its name. With udev the port
 * is /dev/virtio-ports/NAME; without udev (a tiny initramfs) the name is only in
 * /sys/class/virtio-ports/vportNpM/name and the node is /dev/vportNpM. Both
 * roots are configurable so tests can lay out a fake tree in a temp dir.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AtpError } from '@atp/protocol';

export const DEFAULT_VIRTIO_PORT = 'org.atp.agent.0';

export interface VirtioRoots {
  /** Default /dev. */
  devRoot?: string;
  /** Default /sys. */
  sysRoot?: string;
}

export interface ResolvedVirtioPort {
  path: string;
  /** 'path': the endpoint was a path; 'udev': /dev/virtio-ports/NAME; 'sysfs': found by scanning sysfs. */
  via: 'path' | 'udev' | 'sysfs';
}

const exists = async (p: string): Promise<boolean> => {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
};

/** Port name → device path; an absolute endpoint is used as it is. Throws ATP_AGENT_CONNECT. */
export async function resolveVirtioPort(endpoint: string, roots: VirtioRoots = {}): Promise<ResolvedVirtioPort> {
  if (path.isAbsolute(endpoint)) return { path: endpoint, via: 'path' };
  if (endpoint === '' || endpoint.includes('/')) {
    throw new AtpError('ATP_AGENT_CONFIG', `endpoint: a virtio-serial port name or absolute path, got ${JSON.stringify(endpoint)}`, { details: { field: 'endpoint' } });
  }
  const devRoot = roots.devRoot ?? '/dev';
  const sysRoot = roots.sysRoot ?? '/sys';
  const byName = path.join(devRoot, 'virtio-ports', endpoint);
  if (await exists(byName)) return { path: byName, via: 'udev' };

  const classDir = path.join(sysRoot, 'class', 'virtio-ports');
  const entries = await readdir(classDir).then(
    (names) => names.sort(),
    () => [] as string[],
  );
  const seen: string[] = [];
  for (const entry of entries) {
    let name: string;
    try {
      name = (await readFile(path.join(classDir, entry, 'name'), 'utf8')).trim();
    } catch {
      continue; // a port without a name (or one that vanished meanwhile)
    }
    seen.push(`${entry}=${name === '' ? '(unnamed)' : name}`);
    if (name !== endpoint) continue;
    const node = path.join(devRoot, entry);
    if (await exists(node)) return { path: node, via: 'sysfs' };
    throw new AtpError('ATP_AGENT_CONNECT', `virtio-serial port ${endpoint} is ${entry} in sysfs, but ${node} does not exist (is devtmpfs mounted?)`, {
      details: { port: endpoint, node },
    });
  }
  throw new AtpError(
    'ATP_AGENT_CONNECT',
    `no virtio-serial port named ${endpoint}: ${byName} is missing and ${classDir} lists ${seen.length === 0 ? 'no named ports' : seen.join(', ')}`,
    { details: { port: endpoint, looked: [byName, classDir], seen } },
  );
}
