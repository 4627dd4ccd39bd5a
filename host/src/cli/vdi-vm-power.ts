/**
 * Start, stop or reboot platform VMs and say per VM what happened, with
 * progress as it happens: the work is `powerAndWait` (host/src/vdi/power.ts:
 * one batch call, the events, then the VMs' statuses until the wanted one or
 * the deadline), seen through a client whose `power`, `event` and `domain`
 * calls report what they read. powerAndWait has no progress hook; watching its
 * own reads costs no extra calls and shows each VM the moment a poll finds it
 * in the wanted status, refused by the batch, or failed in its event.
 *
 * A VM already in the wanted status (start: running, stop: shut off) is not
 * sent (the platform would fail the task) and counts as done. Progress goes
 * to `line` (one line per VM); on a TTY `live` also redraws a one-line count.
 */
import { powerAndWait, WANTED_STATUS, type BatchResult, type DomainVO, type EventVO, type OCloudClient, type PowerOperation, type VmOutcome } from '../vdi/index.js';
import { statusName } from './vdi-lists-actions.js';
import { seconds } from './vdi-platform-flag.js';

export type PowerVerb = 'start' | 'stop' | 'reboot';

export const POWER_OPERATION: Readonly<Record<PowerVerb, PowerOperation>> = { start: 'start', stop: 'close', reboot: 'reboot' };

export interface VmResult {
  id: string;
  name: string;
  ok: boolean;
  /** The last status read. */
  status?: number;
  statusText: string;
  /** From the batch call until the VM was seen in the wanted status. */
  ms?: number;
  note?: string;
  error?: { code: string; message: string };
}

export interface PowerProgress {
  line: (text: string) => void;
  /** A one-line count redrawn in place (TTY only). */
  live?: (text: string) => void;
}

export interface PowerRequest {
  verb: PowerVerb;
  vms: readonly DomainVO[];
  force: boolean;
  deadlineMs: number;
  pollMs?: number;
}

/** `client` with its power/event/domain calls reported to the callbacks; every other call is the client's own. */
function watched(client: OCloudClient, seen: { batch: (r: BatchResult) => void; event: (e: EventVO) => void; domain: (d: DomainVO) => void }): OCloudClient {
  const view = Object.create(client) as OCloudClient;
  view.power = async (operation, ids, options) => {
    const result = await client.power(operation, ids, options);
    seen.batch(result);
    return result;
  };
  view.event = async (id, options) => {
    const event = await client.event(id, options);
    seen.event(event);
    return event;
  };
  view.domain = async (id, options) => {
    const domain = await client.domain(id, options);
    seen.domain(domain);
    return domain;
  };
  return view;
}

export async function powerWithProgress(client: OCloudClient, request: PowerRequest, progress: PowerProgress): Promise<VmResult[]> {
  const operation = POWER_OPERATION[request.verb];
  const wanted = WANTED_STATUS[operation];
  const wantedText = statusName(wanted);
  const label = `vdi vm ${request.verb}`;
  const nameOf = (id: string | undefined, fallback?: string): string => request.vms.find((v) => v.id === id)?.name ?? fallback ?? id ?? 'a VM the platform did not name';
  const already = request.verb === 'reboot' ? [] : request.vms.filter((v) => v.status === wanted);
  const send = request.vms.filter((v) => !already.includes(v));
  for (const v of already) progress.line(`${label}: ${v.name}: already ${wantedText}`);
  if (send.length === 0) return request.vms.map((v) => ({ id: v.id, name: v.name, ok: true, status: v.status, statusText: statusName(v.status), note: `already ${wantedText}` }));

  const started = Date.now();
  const reached = new Map<string, number>();
  const failed = new Set<string>();
  const count = (): string => `${label}: ${reached.size} of ${send.length} ${wantedText}${failed.size > 0 ? `, ${failed.size} failed` : ''}, ${seconds(Date.now() - started)}`;
  const ticker = progress.live === undefined ? undefined : setInterval(() => progress.live?.(count()), 500);
  const fail = (id: string | undefined, name: string, why: string): void => {
    if (id !== undefined && (failed.has(id) || reached.has(id))) return;
    if (id !== undefined) failed.add(id);
    progress.line(`${label}: ${name}: ${why}`);
  };
  const view = watched(client, {
    batch: (r) => r.errors.forEach((f) => fail(f.domainId, nameOf(f.domainId, f.domainName), f.error.message)),
    event: (e) => {
      if (e.isSuccess !== undefined && e.isSuccess !== 1) fail(e.domainId, nameOf(e.domainId, e.domainName), `failed: ${e.errorReason ?? 'no reason given'}`);
    },
    domain: (d) => {
      if (d.status !== wanted || reached.has(d.id) || failed.has(d.id) || !send.some((v) => v.id === d.id)) return;
      reached.set(d.id, Date.now() - started);
      progress.line(`${label}: ${d.name}: ${wantedText} after ${seconds(Date.now() - started)} (${reached.size} of ${send.length})`);
    },
  });
  let outcomes: VmOutcome[];
  try {
    outcomes = await powerAndWait(view, operation, send.map((v) => v.id), { deadlineMs: request.deadlineMs, force: request.force, ...(request.pollMs === undefined ? {} : { pollMs: request.pollMs }) });
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
  }
  for (const o of outcomes) {
    if (!o.ok && o.error?.code === 'ATP_VDI_DEADLINE') fail(o.domainId, nameOf(o.domainId, o.domainName), `still ${statusName(o.status)} after ${seconds(request.deadlineMs)} (wanted ${wantedText})`);
  }
  const results = outcomes.map((o): VmResult => {
    const id = o.domainId ?? '';
    const name = nameOf(o.domainId, o.domainName);
    const ms = reached.get(id);
    // The CLI's own wording: --timeout in seconds and the status names the table uses.
    const message = o.error?.code === 'ATP_VDI_DEADLINE' ? `VM ${name} (${id}) is still ${statusName(o.status)} after ${seconds(request.deadlineMs)}; wanted ${wantedText}` : o.error?.message;
    return {
      id,
      name,
      ok: o.ok,
      ...(o.status === undefined ? {} : { status: o.status }),
      statusText: statusName(o.status),
      ...(ms === undefined ? {} : { ms }),
      ...(o.error === undefined ? {} : { error: { code: o.error.code, message: message ?? o.error.message } }),
    };
  });
  const skipped = already.map((v): VmResult => ({ id: v.id, name: v.name, ok: true, status: v.status, statusText: statusName(v.status), note: `already ${wantedText}` }));
  // The order asked for, then anything the platform reported on its own.
  const byId = new Map([...skipped, ...results].map((r) => [r.id, r]));
  const ordered = request.vms.map((v) => byId.get(v.id)).filter((r): r is VmResult => r !== undefined);
  return [...ordered, ...results.filter((r) => !request.vms.some((v) => v.id === r.id))];
}
