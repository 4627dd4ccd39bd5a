/**
 * The lab VM with the single-file agent (the linux-x64 Node SEA from
 * guest-agent/packaging, built once per input hash, see agent-sea-build.ts)
 * instead of node + bundle: one boot; inside the guest, through qemu-ga, the
 * agent process is /opt/atp/atp-agent and the image holds no node; then
 * scenarios/smoke.yaml passes through it. afterAll always stops the VM.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLabTarget, type LabTarget } from '../host/src/targets/lab-target.js';
import { QmpInjector } from '../host/src/inject/index.js';
import { defaultCacheDir } from '../host/src/lab/paths.js';
import { loadSuite, runSuite } from '../host/src/scenario/index.js';
import { QgaClient } from '../host/src/vm/qga/index.js';
import { requireBinary } from '../host/test/support/binaries.js';
import { agentExecutable } from './agent-sea-build.js';
import { qemuProcessesFor } from './support/e2e-lab.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
let stateDir: string | undefined;
let target: LabTarget | undefined;

beforeAll(async () => {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  requireBinary('qemu-ga', 'qemu-guest-agent');
  const agentBinary = await agentExecutable('linux-x64');
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'atp-e2e-sea-'));
  target = await startLabTarget({ stateDir, cacheDir: defaultCacheDir(), agentBinary, killOnExit: true, readyTimeoutMs: 300_000 });
}, 900_000);

afterAll(async () => {
  // startLabTarget takes its own VM down when it fails; this covers a failed test.
  await target?.close();
  if (stateDir !== undefined) {
    expect(qemuProcessesFor(stateDir)).toEqual([]);
    await rm(stateDir, { recursive: true, force: true });
  }
}, 120_000);

function up(): LabTarget {
  if (target === undefined) throw new Error('the lab VM did not start (see beforeAll)');
  return target;
}

async function guestShell(script: string): Promise<string> {
  const qga = await QgaClient.connect({ path: up().vm.state.sockets.qga }, { timeoutMs: 30_000 });
  try {
    const r = await qga.exec('/bin/sh', ['-c', script]);
    return Buffer.from(r.stdout).toString('utf8');
  } finally {
    qga.close();
  }
}

describe('the lab VM with the single-file agent', () => {
  it('runs the agent as /opt/atp/atp-agent, with no node anywhere in the image', async () => {
    expect(up().vm.image).toMatchObject({ hasAgent: true, agentKind: 'single-file' });
    // Every process's executable; the agent's is the SEA, no process runs node.
    const out = await guestShell(
      'for p in /proc/[0-9]*; do readlink "$p/exe"; done | sort -u; echo ---; ls /usr/bin/node /usr/local/bin/node /opt/atp/agent.mjs 2>&1; find / -xdev -name node -type f 2>/dev/null; echo ---; ls /opt/atp',
    );
    const [exes = '', missing = '', opt = ''] = out.split('---\n');
    expect(exes.split('\n')).toContain('/opt/atp/atp-agent');
    expect(exes).not.toMatch(/node/);
    expect(missing).toMatch(/\/usr\/bin\/node: No such file or directory/);
    expect(missing).toMatch(/\/opt\/atp\/agent\.mjs: No such file or directory/);
    expect(missing.split('\n').filter((l) => l.startsWith('/'))).toEqual([]);
    expect(opt.trim()).toBe('atp-agent');
    // The agent the hub admitted is the one the lab was asked for.
    expect(up().agentId).toBe(up().vm.state.agentId);
  }, 120_000);

  it('passes scenarios/smoke.yaml through it (closed-loop pacing)', async () => {
    const t = up();
    const loaded = await loadSuite(path.join(repo, 'scenarios/smoke.yaml'));
    const injector = new QmpInjector({ executor: t.qmp, screen: loaded.scenario.target.screen });
    try {
      const run = await runSuite(loaded, { injector, hub: t.hub, agentId: t.agentId, qmp: t.qmp, clock: t.clock }, { pacing: { closedLoop: 8 } });
      const { report } = run;
      expect(report.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
      expect(report.verdict).toBe('pass');
      expect(report.counts.expected).toBeGreaterThan(300);
      expect(report.counts.matched).toBe(report.counts.expected);
      expect(report.pointer?.maxErrorPx).toBe(0);
    } finally {
      await injector.close();
    }
  }, 300_000);
});
