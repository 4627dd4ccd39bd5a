/**
 * Fault matrix, QEMU faults, on three real lab VMs booted once (QEMU TCG, the
 * guest agent, qemu-ga) and run together by the run engine, two rounds each;
 * one VM is faulted at the start of its round 2:
 *  - the VM paused (QMP `stop`), resumed afterwards;
 *  - its QEMU process SIGSTOPped, SIGCONTed afterwards;
 *  - its QEMU SIGKILLed (last: the VM is gone).
 * For each: what ATP reports for that VM (never "passed"), the time from the
 * fault until it is reported (bounded, printed), round 1's results kept in the
 * report, and the other two VMs passing both rounds.
 */
import { describe, expect, it } from 'vitest';
import { stop } from '../host/src/vm/qmp/index.js';
import { expectIsolated, faultRow, qemuPid, restoreAfterFault, runFaultCase, type FaultRun, useFaultLabs } from './support/fault-matrix.js';

const fault = useFaultLabs(['fm-a', 'fm-b', 'fm-c'], 'QEMU faults');
const rows = fault.rows;
const up = fault.all;

describe('QEMU faults on one VM of three', () => {
  it('VM paused (QMP stop): infra-error naming the paused VM, within 30 s', async () => {
    const faulted = 'fm-a';
    const lab = up().get(faulted);
    let r: FaultRun;
    try {
      r = await runFaultCase({ labs: up(), faulted, fault: (l) => stop(l.target.qmp) });
      rows.push(faultRow('VM paused (QMP stop)', r));
    } finally {
      if (lab !== undefined) await restoreAfterFault(lab);
    }
    expectIsolated(r, faulted);
    const r2 = r.faultedRounds.find((s) => s.round === 2);
    expect(r2?.verdict).toBe('error');
    expect(r2?.target.vm).toBe(faulted);
    expect(`${r2?.error?.message ?? ''} ${r2?.findings.map((f) => f.message).join(' ') ?? ''}`).toMatch(/not running|paused/i);
    expect(r.suiteReportMs).toBeLessThan(30_000);
  }, 300_000);

  it('QEMU SIGSTOPped: infra-error ATP_QMP_TIMEOUT for that VM, within 45 s', async () => {
    const faulted = 'fm-b';
    const lab = up().get(faulted);
    if (lab === undefined) throw new Error('no fm-b');
    const pid = qemuPid(lab);
    let r: FaultRun;
    try {
      r = await runFaultCase({ labs: up(), faulted, fault: async () => void process.kill(pid, 'SIGSTOP') });
      rows.push(faultRow('QEMU SIGSTOP', r));
    } finally {
      process.kill(pid, 'SIGCONT');
      // No release by the rig: QEMU runs the input it queued while stopped, and the suite's own release
      // after its error (queued behind it) must leave no key down; fm-b then has to pass the next case.
      await restoreAfterFault(lab, { releaseKeys: false });
    }
    expectIsolated(r, faulted);
    expect(r.outcome[faulted]).toBe('infra-error');
    expect(r.faultedRounds.find((s) => s.round === 2)?.error?.code).toBe('ATP_QMP_TIMEOUT');
    expect(r.suiteReportMs).toBeLessThan(45_000);
  }, 300_000);

  it('QEMU SIGKILLed: infra-error for that VM (QMP closed), within 30 s', async () => {
    const faulted = 'fm-c';
    const lab = up().get(faulted);
    if (lab === undefined) throw new Error('no fm-c');
    const pid = qemuPid(lab);
    const r = await runFaultCase({ labs: up(), faulted, fault: async () => void process.kill(pid, 'SIGKILL') });
    rows.push(faultRow('QEMU SIGKILL', r));
    expectIsolated(r, faulted);
    expect(r.outcome[faulted]).toBe('infra-error');
    expect(r.faultedRounds.find((s) => s.round === 2)?.error?.code).toMatch(/^ATP_QMP_/);
    expect(r.suiteReportMs).toBeLessThan(30_000);
  }, 300_000);
});
