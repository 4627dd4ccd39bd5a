/**
 * A run request's targets → the TargetSpec targets/openers.ts opens, with
 * the server's lab settings (cache dir, agent, memory) for lab VMs, and the
 * SPICE/VNC servers a lab VM boots with when the run's injector (or a suite's)
 * needs one — as `atp-host verify --lab` decides it.
 */
import type { ApiRunRequest } from '@atp/protocol';
import type { LabDisplayOptions } from '../../../lab/index.js';
import type { RunSuiteSpec } from '../../../run/index.js';
import type { LabOpenerOptions, TargetSpec } from '../../../targets/index.js';

export interface ServerLabSettings extends LabOpenerOptions {
  /** Lab VMs booting at once (default: the CPU count, at least 2). */
  bootConcurrency?: number;
}

function labDisplayFor(request: ApiRunRequest, suites: readonly RunSuiteSpec[]): LabDisplayOptions | undefined {
  const kinds = new Set(request.injector?.kind !== undefined ? [request.injector.kind] : suites.map((s) => s.loaded.scenario.target.injector));
  if (!kinds.has('spice') && !kinds.has('vnc')) return undefined;
  return { ...(kinds.has('spice') ? { spice: {} } : {}), ...(kinds.has('vnc') ? { vnc: {} } : {}) };
}

export function targetSpecOf(request: ApiRunRequest, suites: readonly RunSuiteSpec[], lab: ServerLabSettings = {}): TargetSpec {
  const t = request.targets;
  const token = t.token ?? '';
  const timeout = t.agentTimeoutMs === undefined ? {} : { timeoutMs: t.agentTimeoutMs };
  const narrow = { ...(t.exclude === undefined ? {} : { exclude: t.exclude }), ...(t.limit === undefined ? {} : { limit: t.limit }) };
  if (t.lab !== undefined) {
    const { bootConcurrency, ...common } = lab;
    const display = labDisplayFor(request, suites);
    return {
      kind: 'lab',
      ...(t.lab.count === undefined ? {} : { count: t.lab.count }),
      ...(bootConcurrency === undefined ? {} : { bootConcurrency }),
      lab: { ...common, ...(display === undefined ? {} : { display }), killOnExit: true },
    };
  }
  if (t.platform !== undefined) {
    const p = t.platform;
    return { kind: 'platform', name: p.name, token, ...(p.pool === undefined ? {} : { pool: p.pool }), ...(p.vms === undefined ? {} : { vms: p.vms }), ...narrow, ...timeout };
  }
  if (t.vm !== undefined) return { kind: 'vm', vm: t.vm, token, ...timeout };
  return { kind: 'vms', selector: t.vms ?? '', token, ...narrow, ...timeout };
}
