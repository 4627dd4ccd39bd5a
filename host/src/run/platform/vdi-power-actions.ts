/**
 * `vdi:` actions on VMs (a pool's or named ones): start, shutdown (the
 * platform's close; `force` powers off instead of ACPI), reboot — each one
 * batch carried through with powerAndWait, one row per VM, and any VM that did
 * not get there fails the step naming it (outcomesError); a VM already
 * running (start) or shut off (shutdown) is left alone and ok — and delete (for
 * good, waiting until the platform no longer lists them). `as:` gets
 * {vms, value: the VM names}.
 */
import { AtpError } from '@atp/protocol';
import { describeDomainStatus, outcomesError, powerAndWait, WANTED_STATUS, type PowerOperation } from '../../vdi/index.js';
import { DEFAULT_TASK_MS, type StepContext, type StepDone } from './context.js';
import { vmsOf } from './names.js';
import { outcomeResults } from './outcome-results.js';
import { describeVmSet, type VdiActionHandler, type VdiActionHandlers } from './vdi-types.js';
import { deleteVmsAndWait } from './vm-removal.js';

type PowerAction = 'start' | 'shutdown' | 'reboot';

const OPERATION: Readonly<Record<PowerAction, PowerOperation>> = { start: 'start', shutdown: 'close', reboot: 'reboot' };

/** Start and shutdown leave a VM already in their end state alone (cleanup may shut down a VM that never started); reboot acts on every VM. */
const IDEMPOTENT: ReadonlySet<PowerAction> = new Set(['start', 'shutdown']);

function powerAction(action: PowerAction): VdiActionHandler<PowerAction> {
  return {
    describe: (a) => `${action} ${describeVmSet(a.on)}${a.force === true ? ' (force)' : ''}`,
    async run(a, ctx: StepContext): Promise<StepDone> {
      const { vms, what } = await vmsOf(ctx.client, a.on, ctx.signal);
      if (vms.length === 0) throw new AtpError('ATP_RUN_NO_TARGETS', `${action} ${what}: it has no VM`, { details: { action } });
      const operation = OPERATION[action];
      const already = IDEMPOTENT.has(action) ? vms.filter((v) => v.status === WANTED_STATUS[operation]) : [];
      const todo = vms.filter((v) => !already.includes(v));
      const outcomes =
        todo.length === 0
          ? []
          : await powerAndWait(
              ctx.client,
              operation,
              todo.map((v) => v.id),
              { deadlineMs: a.timeoutMs ?? DEFAULT_TASK_MS, signal: ctx.signal, ...(a.force === undefined ? {} : { force: a.force }) },
            );
      const names = vms.map((v) => v.name);
      const error = outcomesError(outcomes, `${action} ${what}`);
      const rows = [...already.map((v) => ({ vm: v.name, ok: true, detail: `already ${describeDomainStatus(v.status)}` })), ...outcomeResults(outcomes)];
      return { vms: rows, vars: { vms: names, value: names }, ...(error === undefined ? {} : { error }) };
    },
  };
}

export const POWER_ACTIONS: VdiActionHandlers<PowerAction | 'delete'> = {
  start: powerAction('start'),
  shutdown: powerAction('shutdown'),
  reboot: powerAction('reboot'),
  delete: {
    describe: (a) => `delete ${describeVmSet(a.on)}`,
    async run(a, ctx) {
      const { vms, what } = await vmsOf(ctx.client, a.on, ctx.signal);
      await deleteVmsAndWait(ctx, vms, DEFAULT_TASK_MS, `delete ${what}`);
      const names = vms.map((v) => v.name);
      return { vms: vms.map((v) => ({ vm: v.name, ok: true, detail: 'deleted' })), vars: { vms: names, value: names } };
    },
  },
};
