/**
 * Many lab VMs at once through the run engine (host/src/run/): N lab VMs (QEMU
 * TCG, the agent reading evdev, one hub for the run) each run
 * scenarios/smoke.yaml, all N verified concurrently (boots gated to a few at a
 * time, as `verify --lab --count N` does).
 *
 * Figures per N: wall time, aggregate verified keys/s (expected key and button
 * transitions over the wall time), defects (must be 0), per-VM p50/p99 latency
 * (median and worst), boot (open) time median and max, machine CPU (busy % of
 * all cores from /proc/stat), this process's RSS and the QEMUs' total RSS at
 * their peak, and the host event loop's p99 delay.
 * Baseline in the same run: the same N VMs one after another, as `--vms` ran
 * them before the engine: N × the wall time of the N = 1 run measured here
 * (extrapolated, not re-run: 50 sequential TCG boots alone would take longer
 * than the bench's budget).
 * ATP_BENCH_FLEET_SIZES=1,10,25,50 (default) picks the sizes;
 * ATP_BENCH_FLEET_MEMORY (MiB per VM) the guest RAM.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunEvent } from '@atp/protocol';
import { AgentHub } from '../host/src/hub/index.js';
import { defaultCacheDir } from '../host/src/lab/paths.js';
import { runFleet, type RunResult } from '../host/src/run/index.js';
import { loadSuite, planSuite } from '../host/src/scenario/index.js';
import { labOpener } from '../host/src/targets/index.js';
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
  speedup: number;
  keysPerS: number;
  p50Med: number;
  p99Max: number;
  bootMedS: number;
  bootMaxS: number;
  cpuPct: number;
  hostRssMb: number;
  qemuRssMb: number;
  loopP99Ms: number;
}

async function fleetRun(n: number, memoryMb: number | undefined): Promise<{ result: RunResult; wallMs: number; cpuPct: number; qemuPeakMb: number }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'atp-bench-fleet-'));
  const loaded = await loadSuite(path.join(repo, 'scenarios/smoke.yaml'));
  const hub = await AgentHub.create({ auth: { tokens: ['bench-unused'] } });
  const gate = new Semaphore(Math.max(2, os.availableParallelism()));
  const width = Math.max(2, String(n).length);
  const targets = Array.from({ length: n }, (_, i) => {
    const label = `lab-${String(i + 1).padStart(width, '0')}`;
    return labOpener(label, { stateDir: path.join(root, label), cacheDir: defaultCacheDir(), killOnExit: true, readyTimeoutMs: 900_000, bootGate: gate, ...(memoryMb === undefined ? {} : { memoryMb }) });
  });
  let qemuPeakMb = 0;
  const sampler = setInterval(() => (qemuPeakMb = Math.max(qemuPeakMb, qemuRssMb(root))), 2000);
  const cpu0 = cpuTicks();
  const t0 = performance.now();
  try {
    const run = runFleet({ suites: [{ loaded, plan: planSuite(loaded.scenario) }], targets, hub, concurrency: n, pacing: { closedLoop: 4 }, version: 'bench', log: () => undefined });
    for (;;) {
      const next = await run.next();
      if (next.done === true) {
        const cpu1 = cpuTicks();
        return { result: next.value, wallMs: performance.now() - t0, cpuPct: (100 * (cpu1.busy - cpu0.busy)) / Math.max(1, cpu1.total - cpu0.total), qemuPeakMb };
      }
      const e: RunEvent = next.value;
      if (e.type === 'target-finished' && e.error !== undefined) console.error(`fleet bench: ${e.target}: ${e.error.code}: ${e.error.message.split('\n')[0] ?? ''}`);
    }
  } finally {
    clearInterval(sampler);
    await hub.close();
    await rm(root, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult> {
  const sizes = (process.env.ATP_BENCH_FLEET_SIZES ?? '1,10,25,50').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  const memoryMb = process.env.ATP_BENCH_FLEET_MEMORY === undefined ? undefined : Number(process.env.ATP_BENCH_FLEET_MEMORY);
  const rows: Row[] = [];
  let singleWallMs: number | undefined;
  for (const n of sizes) {
    const { result, wallMs, cpuPct, qemuPeakMb } = await fleetRun(n, memoryMb);
    const fleet = result.report.fleet;
    const vms = fleet?.vms ?? [];
    if (n === 1 || singleWallMs === undefined) singleWallMs = n === 1 ? wallMs : (singleWallMs ?? wallMs / n);
    const seq = (singleWallMs ?? wallMs) * n;
    const opens = vms.map((v) => v.openMs ?? 0).filter((ms) => ms > 0);
    rows.push({
      vms: n,
      passed: fleet?.passed ?? 0,
      defects: vms.reduce((a, v) => a + v.defects, 0),
      wallS: round(wallMs / 1000, 1),
      seqWallS: round(seq / 1000, 1),
      speedup: round(seq / wallMs, 1),
      keysPerS: round((fleet?.totalKeys ?? 0) / (wallMs / 1000), 1),
      p50Med: round(quantile(vms.map((v) => v.p50Ms ?? Number.NaN).filter(Number.isFinite), 0.5), 1),
      p99Max: round(Math.max(...vms.map((v) => v.p99Ms ?? 0)), 1),
      bootMedS: round(quantile(opens, 0.5) / 1000, 1),
      bootMaxS: round(Math.max(0, ...opens) / 1000, 1),
      cpuPct: round(cpuPct, 1),
      hostRssMb: result.report.host?.maxRssMb ?? 0,
      qemuRssMb: Math.round(qemuPeakMb),
      loopP99Ms: result.report.host?.eventLoopDelay.p99Ms ?? 0,
    });
    printTable([rows[rows.length - 1] as unknown as Record<string, number>]);
  }
  console.log('\nfleet: N lab VMs running smoke.yaml concurrently; seqWallS = N × the 1-VM wall time of this run (one after another, extrapolated)');
  printTable(rows as unknown as Record<string, number>[]);
  const metrics: Record<string, number> = {};
  const baseline: Record<string, number> = {};
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) if (k !== 'vms' && k !== 'seqWallS') metrics[`n${r.vms}.${k}`] = v;
    baseline[`n${r.vms}.sequentialWallS`] = r.seqWallS;
  }
  return { name: 'fleet', metrics, baseline, env: { ...baseEnv(), memoryMbPerVm: memoryMb ?? 'lab default', bootGate: Math.max(2, os.availableParallelism()), pacing: 'closed loop, 4 in flight' } };
}
