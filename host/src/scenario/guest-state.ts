/**
 * Was the guest running when the suite's input ended? QEMU drops input while
 * a VM is stopped: QMP's input-send-event refuses it ("VM not running"), but
 * SPICE and VNC input vanishes without a word. A suite that ends with the VM
 * paused gets an 'error' finding naming the VM and its run state beside the
 * missing input, so a report never reads as a plain input defect (or passes)
 * when the VM stopped under it.
 */
import type { Finding } from '@atp/protocol';
import { queryStatus, type QmpExecutor } from '../vm/qmp/index.js';

export async function stoppedGuestFinding(qmp: QmpExecutor | undefined, vm: string, step: number, injector: string): Promise<Finding | undefined> {
  if (qmp === undefined) return undefined;
  const status = await queryStatus(qmp, { timeoutMs: 10_000 }).catch(() => undefined);
  if (status === undefined || status.running) return undefined;
  const how = injector === 'qmp' ? 'QEMU refuses input while a VM is stopped' : `QEMU drops ${injector.toUpperCase()} input silently while a VM is stopped`;
  return {
    kind: 'error',
    step,
    message: `VM ${vm} was not running (status ${status.status}) when the input ended: ${how}; input sent while it was stopped never reached the guest`,
    observed: { vm, status: status.status },
  };
}
