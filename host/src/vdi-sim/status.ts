/**
 * Platform status of domains and models, read from libvirt at answer time:
 * one `virsh list --all` per answer, mapped by platformStatus (running 1,
 * paused 2, absent or shut off 0; 5 while a task of ours is in flight).
 */
import type { SimContext } from './context.js';
import { domainVO, modelVO, platformStatus, type DomainVO } from './records.js';
import type { SimDomain } from './store.js';

export interface StatusView {
  domain(d: SimDomain): DomainVO;
  modelRecords(): DomainVO[];
  /** Status of a clone or model id. */
  status(id: string, name: string): number;
}

export async function statusView(ctx: SimContext): Promise<StatusView> {
  const states = await ctx.backend.states();
  const status = (id: string, name: string): number => platformStatus(states.get(name), ctx.store.busy.has(id));
  return {
    status,
    domain: (d) => domainVO(d, status(d.id, d.name), ctx.host, ctx.store.models.get(d.modelId)),
    modelRecords: () =>
      [...ctx.store.models.values()].map((m) =>
        modelVO(m, status(m.id, m.name), ctx.host, [...ctx.store.domains.values()].filter((d) => d.modelId === m.id).length, ctx.startedAt),
      ),
  };
}
