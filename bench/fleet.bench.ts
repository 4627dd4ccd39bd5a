/**
 * Many lab VMs at once through the run engine (host/src/run/): N lab VMs (QEMU
 * TCG, the agent reading evdev) are booted first (a few at a time, as
 * `lab up --count N` / `verify --lab --count N` gate them; a desk pool's VMs
 * are running before anyone verifies them), then every VM runs
 * scenarios/smoke.yaml, all N concurrently through one hub, then the same N
 * one after another (concurrency 1, what `verify --vms` did before the
 * engine) on the same running VMs, in the same run.
 *
 * Figures per N: verify wall time concurrent vs one after another and the
 * speedup, aggregate verified keys/s (expected key and button transitions
 * over the concurrent wall time), defects (must be 0), per-VM p50/p99 latency
 * (median and worst), boot time median/max and the whole boot phase, machine
 * CPU (busy % of all cores, /proc/stat) during the concurrent run, this
 * process's RSS and the QEMUs' total RSS, and the host event loop's p99 delay.
 * ATP_BENCH_FLEET_SIZES=1,10,25,50 (default) picks the sizes;
 * ATP_BENCH_FLEET_MEMORY (MiB per VM) the guest RAM; ATP_BENCH_FLEET_SEQ_MAX
 * (default 50) the largest N also run one after another (above it the
 * sequential time is extrapolated from the largest measured per-VM time, and
 * the JSON says so).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunEvent } from '@atp/protocol';
import { AgentHub } from '../host/src/hub/index.js';
import { labDown, labUp, type LabState } from '../host/src/lab/index.js';
import { defaultCacheDir } from '../host/src/lab/paths.js';
import { runFleet, type RunResult } from '../host/src/run/index.js';
import { loadSuite, planSuite } from '../host/src/scenario/index.js';
import { defaultLabAgent, runningLabOpener } from '../host/src/targets/index.js';
import { Semaphore } from '../host/src/vm/ssh/semaphore.js';
import { baseEnv, printTable, quantile, round, type BenchResult } from './support.js';

const repo = fileURLToPath(new URL('../', import.meta.url));

function cpuTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Total RSS (MiB) of qemu-system processes whose command line mentions `needle`. */
function qemuRssMb(needle: string): number {
  let kb = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.startsWith('qemu-system') && !cmdline.includes('/qemu-system')) continue;
      if (!cmdline.includes(needle)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return kb / 1024;
}

interface Row {
  vms: number;
  passed: number;
  defects: number;
  wallS: number;
  seqWallS: number;
  seqMeasured: string;
  speedup: number;
  keysPerS: number;
  p50Med: number;
  p99Max: number;
  bootMedS: number;
  bootMaxS: number;
  bootAllS: number;
  cpuPct: number;
  hostRssMb: number;
  qemuRssMb: number;
  loopP99Ms: number;
}

interface Booted {
  root: string;
  states: LabState[];
  bootMs: number[];
  bootAllMs: number;
}

async function bootAll(n: number, memoryMb: number | undefined): Promise<Booted> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'atp-bench-fleet-'));
  const agent = defaultLabAgent();
  const gate = new Semaphore(Math.max(2, os.availableParallelism()));
  const width = Math.max(2, String(n).length);
  const t0 = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: n }, async (_, i) => {
      const release = await gate.acquire();
      try {
        const label = `lab-${String(i + 1).padStart(width, '0')}`;
        return await labUp({
          stateDir: path.join(root, label),
          cacheDir: defaultCacheDir(),
          agentId: label,
          killOnExit: true,
          readyTimeoutMs: 900_000,
          ...(agent === undefined ? {} : { agent: agent.agent, agentAliases: agent.aliases }),
          ...(memoryMb === undefined ? {} : { memoryMb }),
        });
      } finally {
        release();
      }
    }),
  );
  const bootAllMs = performance.now() - t0;
  const failed = results.find((r) => r.status === 'rejected');
  const vms = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed !== undefined) {
    await Promise.all(vms.map((v) => labDown({ stateDir: v.state.stateDir }).catch(() => undefined)));
    throw failed.reason;
  }
  return { root, states: vms.map((v) => v.state), bootMs: vms.map((v) => v.bootMs), bootAllMs };
}

async function verifyAll(states: LabState[], concurrency: number): Promise<{ result: RunResult; wallMs: number; cpuPct: number }> {
  const loaded = await loadSuite(path.join(repo, 'scenarios/smoke.yaml'));
  const hub = await AgentHub.create({ auth: { tokens: [randomBytes(16).toString('hex')] } });
  const cpu0 = cpuTicks();
  const t0 = performance.now();
  const findingKinds = new Map<string, number>();
  try {
    const targets = states.map((s) => runningLabOpener(s.agentId, s, { timeoutMs: 300_000 }));
    const run = runFleet({ suites: [{ loaded, plan: planSuite(loaded.scenario) }], targets, hub, concurrency, pacing: { closedLoop: 4 }, version: 'bench', log: () => undefined });
    for (;;) {
      const next = await run.next();
      if (next.done === true) {
        const cpu1 = cpuTicks();
        if (findingKinds.size > 0) console.error(`fleet bench: ${states.length} VMs at ${concurrency} at once, findings by kind: ${[...findingKinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
        return { result: next.value, wallMs: performance.now() - t0, cpuPct: (100 * (cpu1.busy - cpu0.busy)) / Math.max(1, cpu1.total - cpu0.total) };
      }
      const e: RunEvent = next.value;
      if (e.type === 'finding') findingKinds.set(e.finding.kind, (findingKinds.get(e.finding.kind) ?? 0) + 1);
      if (e.type === 'target-finished' && e.error !== undefined) console.error(`fleet bench: ${e.target}: ${e.error.code}: ${e.error.message.split('\n')[0] ?? ''}`);
      if (e.type === 'suite-finished' && e.verdict !== 'pass') console.error(`fleet bench: ${e.target}: ${e.verdict}, ${e.defects} defects`);
    }
  } finally {
    await hub.close();
  }
}

export async function run(): Promise<BenchResult> {
  const sizes = (process.env.ATP_BENCH_FLEET_SIZES ?? '1,10,25,50').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  const memoryMb = process.env.ATP_BENCH_FLEET_MEMORY === undefined ? undefined : Number(process.env.ATP_BENCH_FLEET_MEMORY);
  const seqMax = Number(process.env.ATP_BENCH_FLEET_SEQ_MAX ?? 50);
  const rows: Row[] = [];
  let perVmSeqMs: number | undefined;
  for (const n of sizes) {
    const booted = await bootAll(n, memoryMb);
    try {
      let qemuPeakMb = qemuRssMb(booted.root);
      const sampler = setInterval(() => (qemuPeakMb = Math.max(qemuPeakMb, qemuRssMb(booted.root))), 2000);
      const conc = await verifyAll(booted.states, n).finally(() => clearInterval(sampler));
      let seqWallMs: number;
      let seqMeasured = 'measured';
      if (n === 1) seqWallMs = conc.wallMs;
      else if (n <= seqMax) seqWallMs = (await verifyAll(booted.states, 1)).wallMs;
      else {
        seqWallMs = (perVmSeqMs ?? conc.wallMs) * n;
        seqMeasured = 'extrapolated';
      }
      if (seqMeasured === 'measured') perVmSeqMs = seqWallMs / n;
      const fleet = conc.result.report.fleet;
      const vms = fleet?.vms ?? [];
      rows.push({
        vms: n,
        passed: fleet?.passed ?? 0,
        defects: vms.reduce((a, v) => a + v.defects, 0),
        wallS: round(conc.wallMs / 1000, 1),
        seqWallS: round(seqWallMs / 1000, 1),
        seqMeasured,
        speedup: round(seqWallMs / conc.wallMs, 1),
        keysPerS: round((fleet?.totalKeys ?? 0) / (conc.wallMs / 1000), 1),
        p50Med: round(quantile(vms.map((v) => v.p50Ms ?? Number.NaN).filter(Number.isFinite), 0.5), 1),
        p99Max: round(Math.max(...vms.map((v) => v.p99Ms ?? 0)), 1),
        bootMedS: round(quantile(booted.bootMs, 0.5) / 1000, 1),
        bootMaxS: round(Math.max(...booted.bootMs) / 1000, 1),
        bootAllS: round(booted.bootAllMs / 1000, 1),
        cpuPct: round(conc.cpuPct, 1),
        hostRssMb: conc.result.report.host?.maxRssMb ?? 0,
        qemuRssMb: Math.round(qemuPeakMb),
        loopP99Ms: conc.result.report.host?.eventLoopDelay.p99Ms ?? 0,
      });
      printTable([rows[rows.length - 1] as unknown as Record<string, number>]);
    } finally {
      await Promise.all(booted.states.map((s) => labDown({ stateDir: s.stateDir }).catch(() => undefined)));
      await rm(booted.root, { recursive: true, force: true });
    }
  }
  console.log('\nfleet: N running lab VMs verifying smoke.yaml concurrently (wallS) vs one after another (seqWallS), same VMs, same run');
  printTable(rows as unknown as Record<string, number>[]);
  const metrics: Record<string, number | string> = {};
  const baseline: Record<string, number | string> = {};
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) if (k !== 'vms' && k !== 'seqWallS' && k !== 'seqMeasured') metrics[`n${r.vms}.${k}`] = v;
    baseline[`n${r.vms}.sequentialWallS`] = r.seqWallS;
    baseline[`n${r.vms}.sequential`] = r.seqMeasured;
  }
  return { name: 'fleet', metrics, baseline, env: { ...baseEnv(), memoryMbPerVm: memoryMb ?? 'lab default', bootGate: Math.max(2, os.availableParallelism()), pacing: 'closed loop, 4 in flight' } };
}
