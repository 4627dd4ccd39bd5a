/**
 * Power operations and pool creation carried through to the end: send the
 * batch, then wait, and say per VM what happened. What the CLI calls.
 *
 * powerAndWait(client, op, ids, {deadlineMs}):
 * 1. One batch call. Every errorList entry is that VM's failure (ATP_VDI_TASK);
 *    an entry naming a VM that was not asked for (or none) is still reported,
 *    as an extra outcome.
 * 2. The batch's events are polled (same deadline): an event that failed is
 *    its VM's failure, with the platform's errorReason. An event still running
 *    at the deadline is not a failure by itself: step 3 decides.
 * 3. The remaining VMs are polled until their status is the operation's
 *    (WANTED_STATUS: start/reboot/resume → 1 running, close → 0, suspend → 2)
 *    within what is left of the deadline; the late ones get ATP_VDI_DEADLINE
 *    with their last status.
 * One outcome per requested VM, in the order given, then the extras.
 */
import { AtpError } from '@atp/protocol';
import { requireEvent, type OCloudClient, type PowerOptions } from './client.js';
import { statusDeadline, WANTED_STATUS, type PowerOperation, type VmOutcome } from './outcomes.js';
import type { DomainVO } from './schemas/domain.js';
import type { DesktopPoolVO, PoolCreate } from './schemas/pool.js';
import type { WaitOptions } from './waits.js';

export interface PowerWaitOptions extends PowerOptions, WaitOptions {}

export async function powerAndWait(client: OCloudClient, operation: PowerOperation, ids: readonly string[], options: PowerWaitOptions): Promise<VmOutcome[]> {
  const started = Date.now();
  const left = (): number => Math.max(0, options.deadlineMs - (Date.now() - started));
  const wait = (): WaitOptions => ({ deadlineMs: left(), ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }), ...(options.signal ? { signal: options.signal } : {}) });
  const requested = [...new Set(ids)];
  const outcomes = new Map<string, VmOutcome>();
  const extras: VmOutcome[] = [];
  const fail = (o: VmOutcome): void => {
    if (o.domainId !== undefined && requested.includes(o.domainId)) {
      if (!outcomes.has(o.domainId)) outcomes.set(o.domainId, o);
    } else extras.push(o);
  };

  const batch = await client.power(operation, requested, options);
  for (const f of batch.errors) fail({ ...f, ok: false });

  if (batch.eventIds.length > 0) {
    for (const e of await client.waitForEvents(batch.eventIds, wait())) {
      if (!e.ok && e.error?.code !== 'ATP_VDI_DEADLINE') fail({ ...(e.domainId === undefined ? {} : { domainId: e.domainId }), ...(e.domainName === undefined ? {} : { domainName: e.domainName }), ok: false, ...(e.error ? { error: e.error } : {}) });
    }
  }

  const remaining = requested.filter((id) => !outcomes.has(id));
  if (remaining.length > 0) {
    for (const o of await client.waitForDomainStatus(remaining, WANTED_STATUS[operation], wait())) {
      if (o.domainId === undefined) continue;
      // The status wait had only what the batch and its events left of the deadline: say the whole deadline.
      const late = o.error?.code === 'ATP_VDI_DEADLINE' ? statusDeadline(o.domainId, o.domainName, o.status, [WANTED_STATUS[operation]], options.deadlineMs) : undefined;
      outcomes.set(o.domainId, late === undefined ? o : { ...o, error: late });
    }
  }
  return [...requested.map((id) => outcomes.get(id) as VmOutcome), ...extras];
}

export interface CreatedPool {
  pool: DesktopPoolVO;
  domains: DomainVO[];
}

/** Creates a desk pool, waits for its event, and answers the pool and its VMs. */
export async function createPoolAndWait(client: OCloudClient, pool: PoolCreate, options: WaitOptions): Promise<CreatedPool> {
  const { eventId } = await client.createPool(pool, options.signal ? { signal: options.signal } : {});
  const [outcome] = await client.waitForEvents([eventId], options);
  requireEvent(outcome);
  const created = await client.poolByName(pool.name);
  if (created === undefined) throw new AtpError('ATP_VDI_REPLY', `desk pool ${JSON.stringify(pool.name)}: its creation event ${eventId} succeeded but the pool list does not show it`, { details: { pool: pool.name, eventId } });
  return { pool: created, domains: await client.poolDomains(created.id) };
}
