/**
 * The shape of one `vdi:` action's handler: a label for the report and the
 * log, and the action itself. Kept apart from the registry (vdi-actions.ts)
 * so the handler files and the registry do not import each other.
 */
import type { VdiAction, VdiActionName, VmSet } from '@atp/protocol';
import type { StepContext, StepDone } from './context.js';

/** The arguments of action K, e.g. VdiArgs<'start'> = { on, force?, timeoutMs? } (a union of keys gives the union of their arguments). */
export type VdiArgs<K extends VdiActionName> = K extends unknown ? Extract<VdiAction, Record<K, unknown>>[K] : never;

export interface VdiActionHandler<K extends VdiActionName> {
  describe(args: VdiArgs<K>): string;
  run(args: VdiArgs<K>, ctx: StepContext): Promise<StepDone>;
}

export type VdiActionHandlers<K extends VdiActionName = VdiActionName> = { [P in K]: VdiActionHandler<P> };

/** "pool desks" or "VMs a, b". */
export function describeVmSet(set: VmSet): string {
  return 'pool' in set ? `pool ${set.pool}` : `VM${set.vms.length === 1 ? '' : 's'} ${set.vms.join(', ')}`;
}
