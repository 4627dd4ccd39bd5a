/**
 * The target openers a run needs, from a plain description of its targets
 * (`TargetSpec`): lab VMs booted for the run (one, or `count` of them named
 * lab-01…), one libvirt domain, every running domain a selector matches
 * (listed now: a selector matching nothing is ATP_RUN_NO_TARGETS), a
 * platform's running VMs (one pool or all, placed on their hypervisors), or a
 * QMP socket with an agent endpoint. `atp-host verify` builds the spec from
 * its flags (cli/verify-targets.ts); the HTTP API from a run request.
 * Domains and VMs that match but are not running are skipped and named
 * through `warn`.
 */
import os from 'node:os';
import { AtpError } from '@atp/protocol';
import type { ConfigLocation } from '../config/paths.js';
import { effectivePlatform, loadPlatforms } from '../config/platforms-file.js';
import type { AgentEndpoint } from '../scenario/index.js';
import { Semaphore } from '../vm/ssh/semaphore.js';
import type { HostConnections } from './domains.js';
import { resolveVms } from './domains.js';
import { labOpener, type LabTargetOptions } from './lab-target.js';
import { libvirtOpener } from './libvirt-target.js';
import { platformClient, platformTargets } from './platform.js';
import { qmpOpener } from './qmp-target.js';
import type { TargetOpener } from './target.js';

/** What every lab VM of a run shares (state dirs are per VM: a temp dir each, or `stateDir` for a single VM). */
export type LabOpenerOptions = Omit<LabTargetOptions, 'label' | 'onClose' | 'stateDir' | 'log'>;

export type TargetSpec =
  | { kind: 'lab'; count?: number; bootConcurrency?: number; stateDir?: string; lab?: LabOpenerOptions }
  | { kind: 'vm'; vm: string; token: string; timeoutMs?: number }
  | { kind: 'vms'; selector: string; token: string; exclude?: string; limit?: number; timeoutMs?: number }
  | { kind: 'platform'; name: string; pool?: string; vms?: string; exclude?: string; limit?: number; token: string; timeoutMs?: number }
  | { kind: 'qmp'; qmp: string; agent: AgentEndpoint; agentId?: string; timeoutMs?: number };

export interface OpenersContext {
  connections: HostConnections;
  location?: ConfigLocation;
  /** Lines about VMs left out (not running). */
  warn?: (line: string) => void;
  /** False: never ask for a platform password on the terminal (a server has none). */
  prompt?: false;
  signal?: AbortSignal;
}

/** The openers the spec names; selectors are resolved now. */
export async function targetOpeners(spec: TargetSpec, context: OpenersContext): Promise<TargetOpener[]> {
  const location = context.location ?? {};
  const warn = context.warn ?? (() => undefined);
  switch (spec.kind) {
    case 'lab': {
      const common = { ...spec.lab, killOnExit: spec.lab?.killOnExit ?? true };
      const count = spec.count ?? 1;
      if (count === 1) return [labOpener('lab', { ...common, ...(spec.stateDir === undefined ? {} : { stateDir: spec.stateDir }) })];
      const bootGate = new Semaphore(spec.bootConcurrency ?? Math.max(2, os.availableParallelism()));
      const width = Math.max(2, String(count).length);
      return Array.from({ length: count }, (_, i) => labOpener(`lab-${String(i + 1).padStart(width, '0')}`, { ...common, bootGate }));
    }
    case 'vm':
      return [libvirtOpener(spec.vm, { token: spec.token, location, ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }) })];
    case 'vms': {
      const resolved = await resolveVms(spec.selector, location, {
        connections: context.connections,
        ...(spec.exclude === undefined ? {} : { exclude: spec.exclude }),
        ...(spec.limit === undefined ? {} : { limit: spec.limit }),
      });
      for (const s of resolved.skipped) warn(`skipped ${s.name}: ${s.state}, not running`);
      return resolved.specs.map((vm) => libvirtOpener(vm, { token: spec.token, location, ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }) }));
    }
    case 'platform':
      return platformOpeners(spec, location, warn, context);
    case 'qmp':
      return [qmpOpener(spec.qmp, { qmp: spec.qmp, agent: spec.agent, ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }), ...(spec.agentId === undefined ? {} : { agentId: spec.agentId }) })];
  }
}

/** The running VMs of a platform (one pool or all), placed on their hypervisors; the client logs out once they are listed. */
async function platformOpeners(spec: Extract<TargetSpec, { kind: 'platform' }>, location: ConfigLocation, warn: (line: string) => void, context: OpenersContext): Promise<TargetOpener[]> {
  const platform = effectivePlatform(await loadPlatforms(location), spec.name);
  const client = platformClient(platform, context.prompt === false ? { prompt: false } : {});
  try {
    const found = await platformTargets(client, platform, {
      token: spec.token,
      location,
      ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
      ...(spec.pool === undefined ? {} : { pool: spec.pool }),
      ...(spec.vms === undefined ? {} : { vms: spec.vms }),
      ...(spec.exclude === undefined ? {} : { exclude: spec.exclude }),
      ...(spec.limit === undefined ? {} : { limit: spec.limit }),
      ...(context.signal === undefined ? {} : { signal: context.signal }),
    });
    for (const s of found.skipped) warn(`skipped ${s.name}: platform status ${s.status}, not running`);
    if (found.openers.length === 0) {
      throw new AtpError('ATP_RUN_NO_TARGETS', `platform ${spec.name}${spec.pool === undefined ? '' : `, pool ${spec.pool}`}: no selected VM is running (${found.skipped.map((s) => `${s.name} ${s.status}`).join(', ')})`, {
        details: { platform: spec.name },
      });
    }
    return found.openers;
  } finally {
    await client.logout().catch(() => undefined);
  }
}
