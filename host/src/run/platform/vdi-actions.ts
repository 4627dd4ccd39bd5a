/**
 * The `vdi:` registry: one handler per platform action of scenario v2
 * (VDI_ACTIONS in @atp/protocol), grouped by area in their own files (pools,
 * power and delete, users and display). Adding an action to the schema makes
 * this object fail to compile until its handler exists.
 */
import type { VdiAction, VdiActionName } from '@atp/protocol';
import type { StepContext, StepDone } from './context.js';
import { POOL_ACTIONS } from './vdi-pool-actions.js';
import { POWER_ACTIONS } from './vdi-power-actions.js';
import { USER_ACTIONS } from './vdi-user-actions.js';
import type { VdiActionHandlers, VdiArgs } from './vdi-types.js';

export const VDI_ACTION_HANDLERS: VdiActionHandlers = { ...POOL_ACTIONS, ...POWER_ACTIONS, ...USER_ACTIONS };

/** The action key of a parsed `vdi:` value (exactly one by the schema). */
export function vdiActionName(action: VdiAction): VdiActionName {
  return Object.keys(action)[0] as VdiActionName;
}

function argsOf<K extends VdiActionName>(action: VdiAction, name: K): VdiArgs<K> {
  return (action as unknown as Record<K, VdiArgs<K>>)[name];
}

export function describeVdiAction(action: VdiAction): string {
  const name = vdiActionName(action);
  return dispatch(name, action).describe();
}

export function runVdiAction(action: VdiAction, ctx: StepContext): Promise<StepDone> {
  return dispatch(vdiActionName(action), action).run(ctx);
}

function dispatch<K extends VdiActionName>(name: K, action: VdiAction): { describe(): string; run(ctx: StepContext): Promise<StepDone> } {
  const handler = VDI_ACTION_HANDLERS[name];
  const args = argsOf(action, name);
  return { describe: () => handler.describe(args), run: (ctx) => handler.run(args, ctx) };
}
