/**
 * The target openers `verify`'s flags name: the lab (one VM or --count N),
 * a libvirt domain (--vm) or every running domain a selector matches (--vms,
 * listed now: a selector matching nothing is a usage error), a platform's
 * running VMs (--platform [--pool]), or a QMP socket with an agent endpoint.
 */
import os from 'node:os';
import { AtpError } from '@atp/protocol';
import { effectivePlatform, loadPlatforms } from '../config/platforms-file.js';
import type { LabDisplayOptions } from '../lab/index.js';
import { parseAgentEndpoint } from '../scenario/index.js';
import { labOpener, libvirtOpener, platformClient, platformTargets, qmpOpener, resolveVms, type HostConnections, type TargetOpener } from '../targets/index.js';
import { Semaphore } from '../vm/ssh/semaphore.js';
import type { CliIo } from './program.js';
import type { FleetSettings } from './verify-fleet-options.js';
import { labAgentOptions, labInputOptions, verifyUsage } from './verify-options.js';

export interface TargetFlags {
  lab?: boolean;
  stateDir?: string;
  cacheDir?: string;
  labAgent?: string;
  agentBinary?: string;
  labInput?: string;
  labKeyboard?: string;
  labMemory?: string;
  qmp?: string;
  vm?: string;
  vms?: string;
  platform?: string;
  pool?: string;
  configDir?: string;
  agent?: string;
  token?: string;
  agentId?: string;
  timeout?: string;
}

function positiveMb(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 256) throw verifyUsage(`--lab-memory ${JSON.stringify(text)}: expected MiB, at least 256`);
  return n;
}

/** The targets the flags name; --vms lists the host's domains now (a selector matching nothing is a usage error). */
export async function openers(flags: TargetFlags, fleet: FleetSettings, connections: HostConnections, io: CliIo, labDisplay?: LabDisplayOptions): Promise<TargetOpener[]> {
  const timeoutMs = flags.timeout === undefined ? 120_000 : Number(flags.timeout) * 1000;
  const location = flags.configDir === undefined ? {} : { configDir: flags.configDir };
  if (flags.lab === true) {
    const memoryMb = positiveMb(flags.labMemory);
    const common = {
      ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
      ...labAgentOptions(flags),
      ...labInputOptions(flags),
      ...(memoryMb === undefined ? {} : { memoryMb }),
      ...(labDisplay === undefined ? {} : { display: labDisplay }),
      killOnExit: true,
    };
    const count = fleet.count ?? 1;
    const bootGate = new Semaphore(fleet.bootConcurrency ?? Math.max(2, os.availableParallelism()));
    if (count === 1) return [labOpener('lab', { ...common, ...(flags.stateDir === undefined ? {} : { stateDir: flags.stateDir }) })];
    const width = Math.max(2, String(count).length);
    return Array.from({ length: count }, (_, i) => labOpener(`lab-${String(i + 1).padStart(width, '0')}`, { ...common, bootGate }));
  }
  if (flags.platform !== undefined) return platformOpeners(flags.platform, flags, fleet, io);
  if (flags.vm !== undefined) return [libvirtOpener(flags.vm, { token: flags.token ?? '', location, timeoutMs })];
  if (flags.vms !== undefined) {
    const resolved = await resolveVms(flags.vms, location, { connections, ...(fleet.exclude === undefined ? {} : { exclude: fleet.exclude }), ...(fleet.limit === undefined ? {} : { limit: fleet.limit }) });
    for (const s of resolved.skipped) io.err(`verify: skipped ${s.name}: ${s.state}, not running\n`);
    return resolved.specs.map((spec) => libvirtOpener(spec, { token: flags.token ?? '', location, timeoutMs }));
  }
  const agent = parseAgentEndpoint(flags.agent ?? '');
  return [qmpOpener(flags.qmp ?? 'vm', { qmp: flags.qmp ?? '', agent, timeoutMs, ...(flags.agentId === undefined ? {} : { agentId: flags.agentId }) })];
}

/** The running VMs of a platform (one pool or all), placed on their hypervisors; the client logs out once they are listed. */
async function platformOpeners(name: string, flags: TargetFlags, fleet: FleetSettings, io: CliIo): Promise<TargetOpener[]> {
  const location = flags.configDir === undefined ? {} : { configDir: flags.configDir };
  const platform = effectivePlatform(await loadPlatforms(location), name);
  const client = platformClient(platform);
  try {
    const found = await platformTargets(client, platform, {
      token: flags.token ?? '',
      location,
      ...(flags.timeout === undefined ? {} : { timeoutMs: Number(flags.timeout) * 1000 }),
      ...(flags.pool === undefined ? {} : { pool: flags.pool }),
      ...(flags.vms === undefined ? {} : { vms: flags.vms }),
      ...(fleet.exclude === undefined ? {} : { exclude: fleet.exclude }),
      ...(fleet.limit === undefined ? {} : { limit: fleet.limit }),
    });
    for (const s of found.skipped) io.err(`verify: skipped ${s.name}: platform status ${s.status}, not running\n`);
    if (found.openers.length === 0) {
      throw new AtpError('ATP_RUN_NO_TARGETS', `platform ${name}${flags.pool === undefined ? '' : `, pool ${flags.pool}`}: no selected VM is running (${found.skipped.map((s) => `${s.name} ${s.status}`).join(', ')})`, { details: { platform: name } });
    }
    return found.openers;
  } finally {
    await client.logout().catch(() => undefined);
  }
}

