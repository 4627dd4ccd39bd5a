/**
 * The run engine on real lab VMs (QEMU TCG, the guest agent reading evdev, one
 * hub for the run): four VMs verified at once for three rounds, one of them
 * given a real fault mid-suite (its QEMU stopped with SIGSTOP). Only that VM
 * is reported (infra-error, with the QMP timeout's code), the other three pass
 * every round, the run's exit code is 1, and every QEMU is gone afterwards.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '@atp/protocol';
import { AgentHub } from '../host/src/hub/index.js';
import { defaultCacheDir } from '../host/src/lab/paths.js';
import { runFleet, type RunResult } from '../host/src/run/index.js';
import { parseSuiteText, planSuite } from '../host/src/scenario/index.js';
import { labOpener } from '../host/src/targets/index.js';
import { requireBinary } from '../host/test/support/binaries.js';
import { qemuProcessesFor } from './support/e2e-lab.js';

const SUITE = `
version: 1
name: fleet-short
target: { vm: lab, layout: us, screen: { width: 1024, height: 768 } }
observer: agent
defaults: { timeoutMs: 10000 }
steps:
  - name: words
    type: 'hello fleet '
  - name: more words
    type: 'Quick Brown Fox 123'
  - expect: {}
  - name: a combo
    press: ctrl+a
  - name: arrows
    press: [left, right, home, end]
  - expect: {}
`;

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) {
    for (const pid of qemuProcessesFor(root)) process.kill(pid, 'SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
}, 60_000);

function qemuPid(stateDir: string): number {
  const state = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as { pid: number };
  return state.pid;
}

describe('four lab VMs at once, one faulted', () => {
  it('reports only the faulted VM, passes the other three in every round, exits 1 and leaves no QEMU behind', async () => {
    requireBinary('qemu-system-x86_64', 'qemu-system-x86');
    requireBinary('qemu-ga', 'qemu-guest-agent');
    const root = await mkdtemp(path.join(os.tmpdir(), 'atp-fleet-'));
    roots.push(root);
    const labels = ['lab-01', 'lab-02', 'lab-03', 'lab-04'];
    const stateDirs = new Map(labels.map((l) => [l, path.join(root, l)]));
    const loaded = parseSuiteText(SUITE, 'fleet-short.yaml');
    const hub = await AgentHub.create({ auth: { tokens: ['unused-run-token'] } });
    const events: RunEvent[] = [];
    let stoppedAt: number | undefined;
    let result: RunResult;
    try {
      const run = runFleet({
        suites: [{ loaded, plan: planSuite(loaded.scenario) }],
        targets: labels.map((l) => labOpener(l, { stateDir: stateDirs.get(l) ?? '', cacheDir: defaultCacheDir(), killOnExit: true, readyTimeoutMs: 300_000 })),
        hub,
        concurrency: 4,
        rounds: 3,
        onFailure: 'continue',
        // Four TCG guests on a small host starve each other's agents for moments: closed-loop pacing keeps the
        // keys in flight within the guest's evdev buffer (64 events), as a user verifying a busy farm would.
        pacing: { closedLoop: true },
        version: '0.0.0-test',
      });
      for (;;) {
        const next = await run.next();
        if (next.done === true) {
          result = next.value;
          break;
        }
        const e = next.value;
        events.push(e);
        // The fault: lab-02's QEMU stops dead in the middle of its second round.
        if (e.type === 'step-started' && e.target === 'lab-02' && e.round === 2 && e.step === 1 && stoppedAt === undefined) {
          process.kill(qemuPid(stateDirs.get('lab-02') ?? ''), 'SIGSTOP');
          stoppedAt = Date.now();
        }
      }
    } finally {
      await hub.close();
    }
    expect(stoppedAt).toBeDefined();
    const finished = events.filter((e): e is Extract<RunEvent, { type: 'target-finished' }> => e.type === 'target-finished');
    const outcome = Object.fromEntries(finished.map((e) => [e.target, e.outcome]));
    const problems = result.report.suites.filter((s) => s.verdict !== 'pass').map((s) => `${s.target.vm} r${s.round}: ${s.verdict} ${s.error?.code ?? ''} ${s.findings.map((f) => `${f.kind}@${f.step}: ${f.message}`).join(' | ')}`);
    expect(outcome, problems.join('\n')).toEqual({ 'lab-01': 'passed', 'lab-02': 'infra-error', 'lab-03': 'passed', 'lab-04': 'passed' });
    expect(finished.find((e) => e.target === 'lab-02')?.error?.code).toBe('ATP_QMP_TIMEOUT');
    // Bounded: the faulted VM was reported within the input call timeout plus its suite's checkpoint and the teardown.
    const faultedAt = Date.parse(finished.find((e) => e.target === 'lab-02')?.at ?? '');
    expect(faultedAt - (stoppedAt ?? 0)).toBeLessThan(45_000);
    expect(result.exitCode).toBe(1);

    // Events are numbered in order, one run, started and finished once.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0]?.type).toBe('run-started');
    expect(events.at(-1)?.type).toBe('run-finished');

    // Per-round results: the three healthy VMs have rounds 1..3, each passing; lab-02 round 1 passed, round 2 is its error.
    const { report } = result;
    for (const vm of ['lab-01', 'lab-03', 'lab-04']) {
      const mine = report.suites.filter((s) => s.target.vm === vm);
      expect(mine.map((s) => s.round).sort()).toEqual([1, 2, 3]);
      expect(mine.map((s) => s.verdict)).toEqual(['pass', 'pass', 'pass']);
      for (const s of mine) expect(s.counts.matched).toBe(s.counts.expected);
    }
    const faulted = report.suites.filter((s) => s.target.vm === 'lab-02');
    expect(faulted.map((s) => [s.round, s.verdict])).toEqual([
      [1, 'pass'],
      [2, 'error'],
    ]);
    const fleet = report.fleet;
    expect(fleet?.passed).toBe(3);
    expect(fleet?.infraError).toBe(1);
    expect(fleet?.vms.find((v) => v.vm === 'lab-02')?.rounds).toBe(1);
    expect(fleet?.vms.find((v) => v.vm === 'lab-01')?.rounds).toBe(3);
    expect(fleet?.totalKeys).toBeGreaterThan(0);
    expect(report.host?.eventLoopDelay.p99Ms).toBeGreaterThanOrEqual(0);

    // Every QEMU of the run is gone, the SIGSTOPped one included.
    expect(qemuProcessesFor(root)).toEqual([]);
  }, 600_000);
});
