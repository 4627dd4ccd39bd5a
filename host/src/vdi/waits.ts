/**
 * Waiting for asynchronous platform work by polling, with one deadline for
 * the whole wait. The fetchers are passed in (the client passes its calls),
 * so this file holds only the polling rules:
 * - Every round reads each VM (or event) still pending, then sleeps `pollMs`
 *   (less when the deadline is nearer). A round is never skipped, so even a
 *   deadline of 0 reads each one once.
 * - An event is finished when `isSuccess` is present: 1 is success, anything
 *   else a failure (ATP_VDI_TASK with the platform's errorReason).
 * - A VM (or event) the platform no longer knows (ATP_VDI_STATUS on its read)
 *   is that one's failure; the others go on. Transport failures that outlast
 *   the GET retries end the whole wait (nothing can be read).
 * - At the deadline every pending one gets ATP_VDI_DEADLINE naming it and its
 *   last status. Outcomes come back in the order of the ids given.
 */
import { isAtpError } from '@atp/protocol';
import { eventDeadline, eventFailure, statusDeadline, type EventOutcome, type VmOutcome } from './outcomes.js';
import { sleep } from './retry.js';
import type { DomainVO } from './schemas/domain.js';
import type { EventVO } from './schemas/event.js';

export const DEFAULT_POLL_MS = 1000;

export interface WaitOptions {
  /** The whole wait, from its start. */
  deadlineMs: number;
  pollMs?: number;
  signal?: AbortSignal;
}

type Fetch<T> = (id: string, signal: AbortSignal | undefined) => Promise<T>;

/** Polls until `settle` returns an outcome for every id or the deadline passes. */
async function poll<T, O>(ids: readonly string[], fetch: Fetch<T>, settle: (id: string, value: T) => O | undefined, fail: (id: string, error: unknown) => O | undefined, late: (id: string, last: T | undefined) => O, options: WaitOptions): Promise<O[]> {
  const started = Date.now();
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const done = new Map<string, O>();
  const last = new Map<string, T>();
  for (;;) {
    for (const id of ids) {
      if (done.has(id)) continue;
      let value: T;
      try {
        value = await fetch(id, options.signal);
      } catch (error) {
        const outcome = fail(id, error);
        if (outcome === undefined) throw error;
        done.set(id, outcome);
        continue;
      }
      last.set(id, value);
      const outcome = settle(id, value);
      if (outcome !== undefined) done.set(id, outcome);
    }
    const pending = ids.filter((id) => !done.has(id));
    const left = started + options.deadlineMs - Date.now();
    if (pending.length === 0 || left <= 0) break;
    await sleep(Math.min(pollMs, left), options.signal);
  }
  return ids.map((id) => done.get(id) ?? late(id, last.get(id)));
}

/** Waits until each event has finished; one outcome per event id. */
export function waitForEvents(getEvent: Fetch<EventVO>, eventIds: readonly string[], options: WaitOptions): Promise<EventOutcome[]> {
  const ids = [...new Set(eventIds)];
  return poll<EventVO, EventOutcome>(
    ids,
    getEvent,
    (eventId, event) => {
      if (event.isSuccess === undefined) return undefined;
      const where = { eventId, ...vmOf(event), event };
      return event.isSuccess === 1 ? { ...where, ok: true } : { ...where, ok: false, error: eventFailure(event) };
    },
    (eventId, error) => (isAtpError(error, 'ATP_VDI_STATUS') ? { eventId, ok: false, error } : undefined),
    (eventId, event) => ({ eventId, ...(event ? { ...vmOf(event), event } : {}), ok: false, error: eventDeadline(eventId, event, options.deadlineMs) }),
    options,
  );
}

/** Waits until each VM's status is one of `wanted`; one outcome per VM id. */
export function waitForDomainStatus(getDomain: Fetch<DomainVO>, domainIds: readonly string[], wanted: number | readonly number[], options: WaitOptions): Promise<VmOutcome[]> {
  const ids = [...new Set(domainIds)];
  const want = typeof wanted === 'number' ? [wanted] : [...wanted];
  return poll<DomainVO, VmOutcome>(
    ids,
    getDomain,
    (domainId, d) => (want.includes(d.status) ? { domainId, domainName: d.name, ok: true, status: d.status } : undefined),
    (domainId, error) => (isAtpError(error, 'ATP_VDI_STATUS') ? { domainId, ok: false, error } : undefined),
    (domainId, d) => ({ domainId, ...(d ? { domainName: d.name, status: d.status } : {}), ok: false, error: statusDeadline(domainId, d?.name, d?.status, want, options.deadlineMs) }),
    options,
  );
}

function vmOf(event: EventVO): { domainId?: string; domainName?: string } {
  return { ...(event.domainId === undefined ? {} : { domainId: event.domainId }), ...(event.domainName === undefined ? {} : { domainName: event.domainName }) };
}
