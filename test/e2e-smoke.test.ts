/**
 * The product's main job end to end: scenarios/smoke.yaml on the real lab VM
 * (Debian kernel, busybox, the guest agent reading evdev), injected over QMP,
 * observed through the hub, verified, once with open-loop and once with
 * closed-loop pacing. The same boot serves the QGA check and the check that
 * stopping the lab leaves no QEMU process behind.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpInjector } from '../host/src/inject/index.js';
import { loadSuite, runSuite, type SuiteRun } from '../host/src/scenario/index.js';
import type { PacingFlags } from '../host/src/scenario/index.js';
import { QgaClient } from '../host/src/vm/qga/index.js';
import { qemuProcessesFor, startE2eLab, type E2eLab } from './support/e2e-lab.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
let lab: E2eLab | undefined;

beforeAll(async () => {
  lab = await startE2eLab();
}, 600_000);

afterAll(async () => {
  await lab?.stop();
}, 120_000);

function up(): E2eLab {
  if (lab === undefined) throw new Error('the lab VM did not start (see beforeAll)');
  return lab;
}

async function smoke(pacing: PacingFlags): Promise<SuiteRun> {
  const { target } = up();
  const loaded = await loadSuite(path.join(repo, 'scenarios/smoke.yaml'));
  const injector = new QmpInjector({ executor: target.qmp, screen: loaded.scenario.target.screen });
  try {
    return await runSuite(loaded, { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp, clock: target.clock }, { pacing });
  } finally {
    await injector.close();
  }
}

function expectPassed(run: SuiteRun): void {
  const { report } = run;
  expect(report.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
  expect(report.verdict).toBe('pass');
  // Every printable ASCII character, the combos and function keys: all transitions matched.
  expect(report.counts.expected).toBeGreaterThan(300);
  expect(report.counts.matched).toBe(report.counts.expected);
  expect(report.pointer?.maxErrorPx).toBe(0);
  const latency = report.latency;
  expect(latency?.n).toBe(report.counts.matched);
  for (const p of [latency?.p50Ms, latency?.p95Ms, latency?.p99Ms]) expect(Number.isFinite(p)).toBe(true);
}

describe('smoke suite on the lab VM', () => {
  it('passes with open-loop pacing', async () => {
    // 20 keystrokes/s: slow enough that a guest stalled by a loaded host still reads evdev in time.
    const run = await smoke({ rate: 20 });
    expect(run.pacing.mode).toBe('open');
    expectPassed(run);
  }, 300_000);

  it('passes with closed-loop pacing', async () => {
    const run = await smoke({ closedLoop: 8 });
    expect(run.pacing).toMatchObject({ mode: 'closed', maxInFlight: 8 });
    expectPassed(run);
  }, 300_000);

  it('runs a command in the guest through qemu-ga (guest-exec) and returns its output', async () => {
    const qga = await QgaClient.connect({ path: up().target.vm.state.sockets.qga }, { timeoutMs: 30_000 });
    try {
      const r = await qga.exec('/bin/sh', ['-c', 'echo atp-e2e; cat /proc/sys/kernel/ctrl-alt-del']);
      expect(r.exitCode).toBe(0);
      expect(Buffer.from(r.stdout).toString('utf8')).toBe('atp-e2e\n0\n');
    } finally {
      qga.close();
    }
  }, 120_000);

  it('keeps the agent token off every command line, on the host (QEMU) and in the guest', async () => {
    const { state } = up().target.vm;
    expect(readFileSync(`/proc/${state.pid}/cmdline`, 'utf8')).not.toContain(state.token);
    const qga = await QgaClient.connect({ path: state.sockets.qga }, { timeoutMs: 30_000 });
    try {
      // Every guest process's argv (the agent's among them) and the kernel's.
      const r = await qga.exec('/bin/sh', ['-c', "for f in /proc/[0-9]*/cmdline /proc/cmdline; do tr '\\0' ' ' < $f; echo; done; stat -c '%a %U' /run/atp/token"]);
      const out = Buffer.from(r.stdout).toString('utf8');
      expect(out).toContain('--token-file /run/atp/token');
      expect(out).not.toContain(state.token);
      expect(out.trim().split('\n').at(-1)).toBe('600 root');
    } finally {
      qga.close();
    }
  }, 120_000);

  it('stopping the lab leaves no QEMU process behind', async () => {
    const { stateDir, target } = up();
    expect(qemuProcessesFor(stateDir)).toEqual([target.vm.state.pid]);
    await up().stop();
    expect(qemuProcessesFor(stateDir)).toEqual([]);
  }, 120_000);
});
