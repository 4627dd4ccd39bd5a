/**
 * Per-VM results of platform batch tasks and waits, and the errors that name
 * the VMs. Pure.
 *
 * A batch answer (`DomainBatchTaskVO`) is taken apart here: every errorList
 * entry becomes that VM's failure (ATP_VDI_TASK) even though the envelope's
 * status was 0, and no entry is dropped, also one without a domainId. A wait
 * gives one VmOutcome per VM; `outcomesError` folds the failures into one
 * error for callers that want all-or-nothing: ATP_VDI_DEADLINE when some VM
 * ran out of time (naming each such VM and its last status), else
 * ATP_VDI_TASK (or the code of the single failure).
 */
import { AtpError } from '@atp/protocol';
import { describeDomainStatus, type BatchTaskVO, type ErrorInfo } from './schemas/domain.js';
import type { EventVO } from './schemas/event.js';

export type PowerOperation = 'start' | 'close' | 'reboot' | 'suspend' | 'resume';

/** The domain status each power operation ends in. */
export const WANTED_STATUS: Readonly<Record<PowerOperation, number>> = { start: 1, close: 0, reboot: 1, suspend: 2, resume: 1 };

export interface VmFailure {
  /** Absent only when the platform's errorList entry named no domain. */
  domainId?: string;
  domainName?: string;
  error: AtpError;
}

export interface BatchResult {
  operation: PowerOperation;
  eventIds: string[];
  /** One entry per errorList entry, in the platform's order. */
  errors: VmFailure[];
}

export interface VmOutcome {
  domainId?: string;
  domainName?: string;
  ok: boolean;
  /** The last domain status seen, when it was read. */
  status?: number;
  /** Why not ok: ATP_VDI_TASK, ATP_VDI_DEADLINE, ATP_VDI_STATUS (e.g. the VM is gone). */
  error?: AtpError;
}

export interface EventOutcome {
  eventId: string;
  domainId?: string;
  domainName?: string;
  ok: boolean;
  /** The event as last read. */
  event?: EventVO;
  error?: AtpError;
}

/** `vm-01 (3f2a…)`, or whatever part is known. */
export function vmName(domainId: string | undefined, domainName: string | undefined): string {
  if (domainName !== undefined && domainId !== undefined) return `${domainName} (${domainId})`;
  return domainName ?? domainId ?? 'a VM the platform did not name';
}

export function batchResult(operation: PowerOperation, vo: BatchTaskVO): BatchResult {
  return { operation, eventIds: vo.eventIdList, errors: vo.errorList.map((info) => batchFailure(operation, info)) };
}

function batchFailure(operation: PowerOperation, info: ErrorInfo): VmFailure {
  const reason = info.errorMsg === undefined || info.errorMsg === '' ? 'no reason given' : info.errorMsg;
  const error = new AtpError('ATP_VDI_TASK', `${operation} of VM ${vmName(info.domainId, info.domainName)} refused by the platform: ${reason}`, {
    details: { operation, domainId: info.domainId, domainName: info.domainName, errorMsg: info.errorMsg },
  });
  return { ...(info.domainId === undefined ? {} : { domainId: info.domainId }), ...(info.domainName === undefined ? {} : { domainName: info.domainName }), error };
}

/** The failure of a finished event whose isSuccess is not 1. */
export function eventFailure(event: EventVO): AtpError {
  const reason = event.errorReason === undefined || event.errorReason === '' ? 'no reason given' : event.errorReason;
  const what = event.description ?? `event ${event.id}`;
  return new AtpError('ATP_VDI_TASK', `${what} failed for VM ${vmName(event.domainId, event.domainName)}: ${reason}`, {
    details: { eventId: event.id, domainId: event.domainId, domainName: event.domainName, isSuccess: event.isSuccess, errorReason: event.errorReason },
  });
}

export function eventDeadline(eventId: string, event: EventVO | undefined, deadlineMs: number): AtpError {
  const vm = event === undefined ? '' : ` (VM ${vmName(event.domainId, event.domainName)})`;
  return new AtpError('ATP_VDI_DEADLINE', `event ${eventId}${vm} had not finished after ${deadlineMs} ms`, {
    details: { eventId, domainId: event?.domainId, domainName: event?.domainName, deadlineMs },
  });
}

export function statusDeadline(domainId: string, domainName: string | undefined, last: number | undefined, wanted: readonly number[], deadlineMs: number): AtpError {
  return new AtpError('ATP_VDI_DEADLINE', `VM ${vmName(domainId, domainName)} is still ${describeDomainStatus(last)} after ${deadlineMs} ms; wanted ${wanted.map(describeDomainStatus).join(' or ')}`, {
    details: { domainId, domainName, lastStatus: last, wanted, deadlineMs },
  });
}

/** One error for every VM that is not ok (undefined when all are), naming each. */
export function outcomesError(outcomes: readonly VmOutcome[], what: string): AtpError | undefined {
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length === 0) return undefined;
  const late = failed.filter((o) => o.error?.code === 'ATP_VDI_DEADLINE');
  const code = late.length > 0 ? 'ATP_VDI_DEADLINE' : failed.length === 1 && failed[0]?.error ? failed[0].error.code : 'ATP_VDI_TASK';
  const lines = failed.map((o) => {
    const name = vmName(o.domainId, o.domainName);
    if (o.error?.code === 'ATP_VDI_DEADLINE') return `${name}: still ${describeDomainStatus(o.status)}`;
    return `${name}: ${o.error?.message ?? 'failed'}`;
  });
  const head = late.length > 0 ? `${what}: ${late.length} of ${outcomes.length} VMs not in the wanted state in time` : `${what}: ${failed.length} of ${outcomes.length} VMs failed`;
  return new AtpError(code, `${head}: ${lines.join('; ')}`, {
    details: { failed: failed.map((o) => ({ domainId: o.domainId, domainName: o.domainName, status: o.status, code: o.error?.code, message: o.error?.message })) },
  });
}
