/**
 * Deleting platform VMs so that none is left: the platform's delete, then the
 * VM list polled until none of them is listed any more (a platform may delete
 * asynchronously). Still listed at the deadline: ATP_VDI_DEADLINE naming them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@atp/protocol';
import type { DomainVO } from '../../vdi/index.js';
import { listNames, type StepContext } from './context.js';

const POLL_MS = 1000;

/** The VMs of `vms` the platform still lists. */
export async function stillListed(ctx: StepContext, vms: readonly DomainVO[]): Promise<DomainVO[]> {
  if (vms.length === 0) return [];
  const listed = new Set((await ctx.client.domains({}, { signal: ctx.signal })).map((d) => d.id));
  return vms.filter((v) => listed.has(v.id));
}

/** Polls until the platform lists none of `vms`; ATP_VDI_DEADLINE naming the rest after `deadlineMs`. */
export async function waitGone(ctx: StepContext, vms: readonly DomainVO[], deadlineMs: number, what: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    const left = await stillListed(ctx, vms);
    if (left.length === 0) return;
    const remaining = started + deadlineMs - Date.now();
    if (remaining <= 0) {
      throw new AtpError('ATP_VDI_DEADLINE', `${what}: ${left.length} of ${vms.length} VMs still listed after ${deadlineMs} ms: ${listNames(left.map((v) => v.name))}`, {
        details: { vms: left.map((v) => ({ id: v.id, name: v.name })), deadlineMs },
      });
    }
    await sleep(Math.min(POLL_MS, remaining), undefined, { signal: ctx.signal });
  }
}

/** Deletes the VMs (for good, not to the recycle bin) and waits until they are gone. */
export async function deleteVmsAndWait(ctx: StepContext, vms: readonly DomainVO[], deadlineMs: number, what: string): Promise<void> {
  if (vms.length === 0) return;
  await ctx.client.deleteDomains(
    vms.map((v) => v.id),
    { signal: ctx.signal },
  );
  await waitGone(ctx, vms, deadlineMs, what);
}
