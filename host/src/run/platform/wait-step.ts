/**
 * `waitFor:` until a condition holds or its timeout (default 300 s) passes:
 *  - poolStatus: every VM of the pool has the status (the client polls the VMs
 *    every pollMs); late ones fail the step naming them and their last status;
 *  - vmStatus: one VM (name or id) has the status;
 *  - agentConnected: every selected VM's agent opens a session with the run's
 *    hub (the target is opened, bound to its domain, then closed again); the
 *    VMs whose agent did not connect, and selected VMs that do not run, are
 *    named. Status names map to the platform's 0 shut off, 1 running, 2 suspended.
 */
import { AtpError, type VmStatusName, type WaitForStep } from '@atp/protocol';
import { outcomesError, type VmOutcome } from '../../vdi/index.js';
import { asAtpError, DEFAULT_TASK_MS, type StepContext, type StepDone, type VmResult } from './context.js';
import { findVms } from '../../vdi/index.js';
import { findPool } from './names.js';
import { outcomeResults } from './outcome-results.js';
import { currentSelection, openerOf } from './selection.js';
import type { RunStepHandler } from './step-types.js';

export const VM_STATUS: Readonly<Record<VmStatusName, number>> = { 'shut-off': 0, running: 1, suspended: 2 };

type Condition = WaitForStep['waitFor'];

function statusResult(outcomes: VmOutcome[], what: string): StepDone {
  const error = outcomesError(outcomes, what);
  return { vms: outcomeResults(outcomes), ...(error === undefined ? {} : { error }) };
}

async function agentsConnected(ctx: StepContext, deadlineMs: number): Promise<StepDone> {
  const started = Date.now();
  const selection = await currentSelection(ctx);
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.max(1, deadlineMs))]);
  const left = (): number => Math.max(1, deadlineMs - (Date.now() - started));
  const opened: VmResult[] = await Promise.all(
    selection.running.map(async (vm): Promise<VmResult> => {
      try {
        const target = await openerOf(ctx, vm, left()).open({ hub: ctx.hub, signal, connections: ctx.connections, log: () => undefined });
        await target.close();
        return { vm: vm.spec, ok: true, detail: `agent connected after ${((Date.now() - started) / 1000).toFixed(1)} s` };
      } catch (error) {
        return { vm: vm.spec, ok: false, detail: asAtpError(error, vm.spec).message };
      }
    }),
  );
  const vms = [...opened, ...selection.notRunning.map((s) => ({ vm: s.name, ok: false, detail: `not running (platform status ${s.status})` }))];
  const failed = vms.filter((v) => !v.ok);
  if (failed.length === 0) return { vms };
  const error = new AtpError(
    'ATP_RUN_TARGET',
    `agentConnected (pool ${selection.pool}): ${failed.length} of ${vms.length} VMs had no agent session within ${deadlineMs} ms: ${failed.map((f) => `${f.vm}: ${f.detail ?? 'failed'}`).join('; ')}`,
    { details: { pool: selection.pool, vms: failed.map((f) => f.vm), deadlineMs } },
  );
  return { vms, error };
}

async function run(step: WaitForStep, ctx: StepContext): Promise<StepDone> {
  const cond: Condition = step.waitFor;
  const deadlineMs = cond.timeoutMs ?? DEFAULT_TASK_MS;
  const wait = { deadlineMs, signal: ctx.signal, ...(cond.pollMs === undefined ? {} : { pollMs: cond.pollMs }) };
  if ('poolStatus' in cond) {
    const pool = await findPool(ctx.client, cond.poolStatus.pool, ctx.signal);
    const vms = await ctx.client.poolDomains(pool.id, { signal: ctx.signal });
    if (vms.length === 0) throw new AtpError('ATP_RUN_NO_TARGETS', `waitFor poolStatus: desk pool ${pool.name} has no VM`, { details: { pool: pool.name } });
    const outcomes = await ctx.client.waitForDomainStatus(
      vms.map((v) => v.id),
      VM_STATUS[cond.poolStatus.status],
      wait,
    );
    return statusResult(outcomes, `waitFor pool ${pool.name} ${cond.poolStatus.status}`);
  }
  if ('vmStatus' in cond) {
    const [vm] = findVms(await ctx.client.domains({}, { signal: ctx.signal }), [cond.vmStatus.vm]);
    if (vm === undefined) throw new AtpError('ATP_VDI_VM_UNKNOWN', `waitFor vmStatus: no VM ${JSON.stringify(cond.vmStatus.vm)}`, { details: { vm: cond.vmStatus.vm } });
    return statusResult(await ctx.client.waitForDomainStatus([vm.id], VM_STATUS[cond.vmStatus.status], wait), `waitFor VM ${vm.name} ${cond.vmStatus.status}`);
  }
  return agentsConnected(ctx, deadlineMs);
}

function describe(step: WaitForStep): string {
  const c = step.waitFor;
  const limit = c.timeoutMs === undefined ? '' : ` (≤ ${Math.round(c.timeoutMs / 1000)} s)`;
  if ('poolStatus' in c) return `waitFor pool ${c.poolStatus.pool} ${c.poolStatus.status}${limit}`;
  if ('vmStatus' in c) return `waitFor VM ${c.vmStatus.vm} ${c.vmStatus.status}${limit}`;
  return `waitFor agentConnected${limit}`;
}

export const WAIT_STEP: RunStepHandler<'waitFor'> = { describe, run };
