/**
 * Fault matrix, faults inside the guest, on three real lab VMs booted once and
 * run together by the run engine (two rounds each; one VM faulted at the start
 * of its round 2), each fault made through the VM's own qemu-ga (guest-exec):
 *  - the guest agent SIGKILLed (busybox init respawns it: a new boot id);
 *  - the guest agent hung (SIGSTOP), SIGCONTed afterwards;
 *  - qemu-ga itself silent (SIGSTOP; the lab's clock source), SIGCONTed afterwards;
 *  - the guest clock stepped by +5 s (busybox date -s, 1 s resolution).
 * For each: what ATP reports for that VM, the time from the fault until it is
 * reported (bounded, printed), round 1 kept, and the other VMs passing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { QgaClient, qgaExecuteParsed } from '../host/src/vm/qga/index.js';
import type { E2eLab } from './support/e2e-lab.js';
import { qemuProcessesFor } from './support/e2e-lab.js';
import { expectIsolated, faultRow, guestRun, printFaultTable, restoreAfterFault, runFaultCase, startFaultLabs, warmUp, type FaultRow } from './support/fault-matrix.js';

const LABELS = ['fg-a', 'fg-b', 'fg-c'];
let labs: Map<string, E2eLab> | undefined;
const rows: FaultRow[] = [];

beforeAll(async () => {
  labs = await startFaultLabs(LABELS);
  await warmUp(labs);
}, 600_000);

afterAll(async () => {
  printFaultTable('guest faults', rows);
  for (const lab of labs?.values() ?? []) {
    await lab.stop().catch(() => undefined);
    for (const pid of qemuProcessesFor(lab.stateDir)) process.kill(pid, 'SIGKILL');
  }
}, 120_000);

function lab(label: string): E2eLab {
  const l = labs?.get(label);
  if (l === undefined) throw new Error(`the lab VM ${label} did not start (see beforeAll)`);
  return l;
}

/** Pids of the guest's agent (node running the bundle), through qemu-ga. */
async function agentPids(l: E2eLab): Promise<string[]> {
  const r = await guestRun(l, ['/bin/pgrep', '-f', '/opt/atp/agent.mjs']);
  const pids = r.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p));
  if (pids.length === 0) throw new Error('no agent process in the guest (pgrep -f /opt/atp/agent.mjs)');
  return pids;
}

/** Starts `kill -SIG pids` in the guest through qemu-ga without waiting for it (it may stop qemu-ga itself). */
async function guestKillNoWait(l: E2eLab, signal: string, pids: readonly string[]): Promise<void> {
  const qga = await QgaClient.connect({ path: l.target.vm.state.sockets.qga }, { connectTimeoutMs: 5000, timeoutMs: 5000 });
  try {
    await qgaExecuteParsed(qga, 'guest-exec', z.object({ pid: z.number() }), { path: '/bin/kill', arg: [`-${signal}`, ...pids], 'capture-output': false });
  } finally {
    qga.close();
  }
}

describe('guest faults on one VM of three', () => {
  it('agent SIGKILLed in the guest: the suite is not passed, within 30 s', async () => {
    const r = await runFaultCase({ labs: labs ?? new Map(), faulted: 'fg-a', fault: async (l) => guestKillNoWait(l, 'KILL', await agentPids(l)) });
    rows.push(faultRow('agent SIGKILL (guest)', r));
    expectIsolated(r, 'fg-a');
    expect(r.suiteReportMs).toBeLessThan(30_000);
    await restoreAfterFault(lab('fg-a'));
  }, 300_000);

  it('agent hung (SIGSTOP in the guest): the suite is not passed, within 45 s', async () => {
    const l = lab('fg-b');
    const pids = await agentPids(l);
    try {
      const r = await runFaultCase({ labs: labs ?? new Map(), faulted: 'fg-b', fault: (x) => guestKillNoWait(x, 'STOP', pids) });
      rows.push(faultRow('agent SIGSTOP (guest)', r));
      expectIsolated(r, 'fg-b');
      expect(r.suiteReportMs).toBeLessThan(45_000);
    } finally {
      await guestKillNoWait(l, 'CONT', pids);
      await restoreAfterFault(l);
    }
  }, 300_000);

  it('qemu-ga silent (SIGSTOP in the guest): input is still verified; the clock falls back, within 45 s', async () => {
    const l = lab('fg-c');
    const qgaPid = (await guestRun(l, ['/bin/cat', '/run/qga.pid'])).stdout.trim();
    expect(qgaPid).toMatch(/^\d+$/);
    // No way back: qemu-ga was the only remote door into this guest, so fg-c keeps it stopped (its clock reads then fail).
    const r = await runFaultCase({ labs: labs ?? new Map(), faulted: 'fg-c', fault: (x) => guestKillNoWait(x, 'STOP', [qgaPid]) });
    rows.push(faultRow('qemu-ga SIGSTOP (guest)', r));
    expectIsolated(r, 'fg-c', { mayPass: true });
    expect(r.suiteReportMs).toBeLessThan(45_000);
  }, 300_000);

  it('guest clock stepped +5 s mid-suite: latencies stay honest (not inflated by 5 s) or are flagged', async () => {
    const r = await runFaultCase({
      labs: labs ?? new Map(),
      faulted: 'fg-a',
      fault: async (l) => {
        const before = Date.now();
        const g = Number((await guestRun(l, ['/bin/date', '+%s'])).stdout.trim());
        await guestRun(l, ['/bin/date', '-s', `@${g + 5 + Math.round((Date.now() - before) / 1000)}`]);
      },
    });
    rows.push(faultRow('guest clock +5 s (date -s)', r));
    expectIsolated(r, 'fg-a', { mayPass: true });
    const r2 = r.faultedRounds.find((s) => s.round === 2);
    const honest = (r2?.latency?.p99Ms ?? 0) < 4000 && (r2?.latency?.p50Ms ?? 0) >= -1000;
    const flagged = (r2?.latency?.clockUncertaintyMs ?? 0) >= 4000 || (r2?.findings ?? []).some((f) => /clock/i.test(f.message));
    expect(honest || flagged, JSON.stringify(r2?.latency)).toBe(true);
    expect(r.suiteReportMs).toBeLessThan(45_000);
  }, 300_000);
});
