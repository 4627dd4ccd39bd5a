/**
 * `vdi:` actions on desk pools: createPool (the model by name or id; waits for
 * the platform's creation event; `as:` gets {id, name, vms, value: name}),
 * enablePool, disablePool, deletePool. Deleting a pool leaves no VM behind:
 * the simulator (and, by its manual, the platform) deletes a pool's VMs with
 * it; a platform that refuses to delete a pool that still has VMs gets them
 * deleted first, and VMs still listed after the pool went are deleted then.
 */
import { isAtpError } from '@atp/protocol';
import { createPoolAndWait, POOL_TYPE, type PoolCreate } from '../../vdi/index.js';
import { DEFAULT_TASK_MS, type StepContext, type StepDone } from './context.js';
import { findModel, findPool } from './names.js';
import type { VdiActionHandlers, VdiArgs } from './vdi-types.js';
import { deleteVmsAndWait, stillListed, waitGone } from './vm-removal.js';

/** How long a pool's VMs may stay listed after the pool was deleted before they are deleted one by one. */
const DELETE_GRACE_MS = 30_000;

async function createPool(a: VdiArgs<'createPool'>, ctx: StepContext): Promise<StepDone> {
  const model = await findModel(ctx.client, a.model, ctx.signal);
  const dto: PoolCreate = {
    name: a.name,
    amount: a.amount,
    type: POOL_TYPE[a.type],
    modelId: model.id,
    ...(a.prefix === undefined ? {} : { domainPrefix: a.prefix }),
    ...(a.remark === undefined ? {} : { remark: a.remark }),
  };
  const created = await createPoolAndWait(ctx.client, dto, { deadlineMs: a.timeoutMs ?? DEFAULT_TASK_MS, signal: ctx.signal });
  const names = created.domains.map((d) => d.name);
  return {
    vms: created.domains.map((d) => ({ vm: d.name, ok: true, detail: 'created' })),
    vars: { id: created.pool.id, name: created.pool.name, vms: names, value: created.pool.name },
  };
}

async function deletePool(a: VdiArgs<'deletePool'>, ctx: StepContext): Promise<StepDone> {
  const deadlineMs = a.timeoutMs ?? DEFAULT_TASK_MS;
  const pool = await findPool(ctx.client, a.pool, ctx.signal);
  const vms = await ctx.client.poolDomains(pool.id, { signal: ctx.signal });
  const what = `delete desk pool ${pool.name}`;
  try {
    await ctx.client.deletePool(pool.id, { signal: ctx.signal });
  } catch (error) {
    // A platform that will not delete a pool with VMs in it: delete them, then the pool.
    if (!isAtpError(error, 'ATP_VDI_STATUS') || vms.length === 0) throw error;
    ctx.log(`${what}: the platform refused (${error.message}); deleting its ${vms.length} VMs first`);
    await deleteVmsAndWait(ctx, vms, deadlineMs, what);
    await ctx.client.deletePool(pool.id, { signal: ctx.signal });
  }
  // The platform deletes a pool's VMs with it, maybe a little later; the ones still listed after a grace are deleted here.
  try {
    await waitGone(ctx, vms, Math.min(deadlineMs, DELETE_GRACE_MS), what);
  } catch (error) {
    if (!isAtpError(error, 'ATP_VDI_DEADLINE')) throw error;
    const left = await stillListed(ctx, vms);
    ctx.log(`${what}: ${left.length} of its VMs are still listed; deleting them`);
    await deleteVmsAndWait(ctx, left, deadlineMs, what);
  }
  return { vms: vms.map((d) => ({ vm: d.name, ok: true, detail: 'deleted' })), vars: { id: pool.id, name: pool.name, value: pool.name } };
}

export const POOL_ACTIONS: VdiActionHandlers<'createPool' | 'enablePool' | 'disablePool' | 'deletePool'> = {
  createPool: {
    describe: (a) => `createPool ${a.name} (${a.amount} × ${a.model})`,
    run: createPool,
  },
  enablePool: {
    describe: (a) => `enablePool ${a.pool}`,
    async run(a, ctx) {
      const pool = await findPool(ctx.client, a.pool, ctx.signal);
      await ctx.client.enablePool(pool.id, { signal: ctx.signal });
      return { vars: { id: pool.id, name: pool.name, value: pool.name } };
    },
  },
  disablePool: {
    describe: (a) => `disablePool ${a.pool}`,
    async run(a, ctx) {
      const pool = await findPool(ctx.client, a.pool, ctx.signal);
      await ctx.client.disablePool(pool.id, { signal: ctx.signal });
      return { vars: { id: pool.id, name: pool.name, value: pool.name } };
    },
  },
  deletePool: {
    describe: (a) => `deletePool ${a.pool}`,
    run: deletePool,
  },
};
