/**
 * Desk pool clones: planning new ones from a model's template (planClone, no
 * libvirt domain yet: a clone that is shut off exists only as its plan) and
 * removing them (destroy if running, clone dir gone, forgotten). Clone names
 * are `${domainPrefix}-${n}`; a name libvirt already knows, or another clone
 * has, is refused rather than shadowed.
 */
import path from 'node:path';
import { conflict } from './envelope.js';
import { newId } from './ids.js';
import type { SimContext } from './context.js';
import type { SimDomain, SimModel, SimPool } from './store.js';

/** Plans `count` more clones of `model` for `pool` and adds them to the store. */
export async function planClones(ctx: SimContext, pool: SimPool, model: SimModel, count: number): Promise<SimDomain[]> {
  const templateXml = await ctx.backend.templateXml(model);
  const libvirtNames = await ctx.backend.states();
  const made: SimDomain[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const name = `${pool.domainPrefix}-${pool.nextIndex}`;
      pool.nextIndex += 1;
      if (libvirtNames.has(name) || ctx.store.domainByName(name) !== undefined) {
        throw conflict(`domain name '${name}' is already taken (in libvirt or by another clone); choose another domainPrefix`);
      }
      const id = newId();
      const dir = path.join(ctx.stateDir, name);
      const plan = ctx.backend.plan(templateXml, { name, uuid: id, dir });
      const at = Date.now();
      const domain: SimDomain = { id, name, poolId: pool.id, modelId: model.id, dir, plan, overlaysMade: false, vcpus: model.vcpus, memoryMiB: model.memoryMiB, userId: undefined, remark: undefined, createTime: at, updateTime: at };
      ctx.store.domains.set(id, domain);
      made.push(domain);
    }
  } catch (error) {
    // Nothing exists in libvirt yet: forgetting the plans undoes the partial pool.
    for (const d of made) ctx.store.domains.delete(d.id);
    throw error;
  }
  return made;
}

/** Destroys the clone if it runs, removes its dir and forgets it. */
export async function removeClone(ctx: SimContext, domain: SimDomain): Promise<void> {
  await ctx.backend.destroy(domain.name);
  await ctx.backend.removeDir(domain.dir);
  ctx.store.domains.delete(domain.id);
  const pool = ctx.store.pools.get(domain.poolId);
  if (pool !== undefined) pool.amount = ctx.store.poolDomains(pool.id).length;
}

/** Refuses when a task is in flight on any of them (status 5). */
export function requireIdle(ctx: SimContext, domains: readonly SimDomain[]): void {
  const busy = domains.find((d) => ctx.store.busy.has(d.id));
  if (busy) throw conflict(`domain ${busy.id} (${busy.name}): an operation is in progress`);
}
