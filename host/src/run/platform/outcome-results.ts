/**
 * Per-VM results of platform waits and power batches (vdi VmOutcomes) as the
 * report's per-VM rows: the VM's name, ok, and its status or why not.
 */
import { describeDomainStatus, type VmOutcome } from '../../vdi/index.js';
import type { VmResult } from './context.js';

export function outcomeResults(outcomes: readonly VmOutcome[]): VmResult[] {
  return outcomes.map((o) => ({
    vm: o.domainName ?? o.domainId ?? 'a VM the platform did not name',
    ok: o.ok,
    detail: o.ok ? describeDomainStatus(o.status) : (o.error?.message ?? `failed (${describeDomainStatus(o.status)})`),
  }));
}
