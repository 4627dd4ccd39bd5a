/**
 * The target openers `verify`'s flags name: the lab (one VM or --count N),
 * a libvirt domain (--vm) or every running domain a selector matches (--vms,
 * listed now: a selector matching nothing is a usage error), a platform's
 * running VMs (--platform [--pool]), or a QMP socket with an agent endpoint.
 * The flags become a TargetSpec here; targets/openers.ts (shared with the
 * HTTP API) makes the openers.
 */
import type { LabDisplayOptions } from '../lab/index.js';
import { parseAgentEndpoint } from '../scenario/index.js';
import { targetOpeners, type HostConnections, type TargetOpener, type TargetSpec } from '../targets/index.js';
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

/** The targets `verify`'s flags describe. */
export function targetSpecOf(flags: TargetFlags, fleet: FleetSettings, labDisplay?: LabDisplayOptions): TargetSpec {
  const timeoutMs = flags.timeout === undefined ? 120_000 : Number(flags.timeout) * 1000;
  const narrow = { ...(fleet.exclude === undefined ? {} : { exclude: fleet.exclude }), ...(fleet.limit === undefined ? {} : { limit: fleet.limit }) };
  if (flags.lab === true) {
    const memoryMb = positiveMb(flags.labMemory);
    return {
      kind: 'lab',
      ...(fleet.count === undefined ? {} : { count: fleet.count }),
      ...(fleet.bootConcurrency === undefined ? {} : { bootConcurrency: fleet.bootConcurrency }),
      ...(flags.stateDir === undefined ? {} : { stateDir: flags.stateDir }),
      lab: {
        ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
        ...labAgentOptions(flags),
        ...labInputOptions(flags),
        ...(memoryMb === undefined ? {} : { memoryMb }),
        ...(labDisplay === undefined ? {} : { display: labDisplay }),
        killOnExit: true,
      },
    };
  }
  const token = flags.token ?? '';
  if (flags.platform !== undefined) {
    return {
      kind: 'platform',
      name: flags.platform,
      token,
      ...(flags.pool === undefined ? {} : { pool: flags.pool }),
      ...(flags.vms === undefined ? {} : { vms: flags.vms }),
      ...narrow,
      ...(flags.timeout === undefined ? {} : { timeoutMs }),
    };
  }
  if (flags.vm !== undefined) return { kind: 'vm', vm: flags.vm, token, timeoutMs };
  if (flags.vms !== undefined) return { kind: 'vms', selector: flags.vms, token, ...narrow, timeoutMs };
  return { kind: 'qmp', qmp: flags.qmp ?? '', agent: parseAgentEndpoint(flags.agent ?? ''), timeoutMs, ...(flags.agentId === undefined ? {} : { agentId: flags.agentId }) };
}

/** The targets the flags name; --vms lists the host's domains now (a selector matching nothing is a usage error). */
export async function openers(flags: TargetFlags, fleet: FleetSettings, connections: HostConnections, io: CliIo, labDisplay?: LabDisplayOptions): Promise<TargetOpener[]> {
  return targetOpeners(targetSpecOf(flags, fleet, labDisplay), {
    connections,
    ...(flags.configDir === undefined ? {} : { location: { configDir: flags.configDir } }),
    warn: (line) => io.err(`verify: ${line}\n`),
  });
}
