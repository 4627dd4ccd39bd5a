/**
 * Agent hub bench: 100 and 1,000 simulated agents at 20 events/s each, over
 * WebSocket and over TCP on 127.0.0.1, for ATP_BENCH_HUB_SECONDS (default 30)
 * per configuration. Each configuration runs its server in a fresh child
 * process (bench/hub-children.ts, role server: hub, journal store and the
 * consumer stream, or the baseline), so RSS and CPU are that server's alone;
 * the agents run in AGENT_PROCESSES other children and report their own CPU.
 * Reported: delivered events/s, agent-send → consumer-delivered latency
 * p50/p99, server RSS (max over the run) and CPU, agents' CPU, and lost =
 * sent − delivered (must be 0, with no duplicates), the server's event-loop
 * utilisation, and what it costs in syscalls: frames written to agents and
 * journal file writes per event, group-commit flushes per second. Baseline: a
 * bare `ws` server that parses each message and answers an ack, same load;
 * ATP_BENCH_HUB_BEFORE=<a copy of an older host/src/hub/index.ts> also measures
 * that hub, interleaved, in the same run (rows "(before)", env.before).
 * Goal: 1,000 agents × 20 events/s, nothing lost, p99 < 20 ms, RSS < 500 MB.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RATE, type AgentsReport, type FromServer, type Mode, type ToServer } from './hub-children.js';
import { baseEnv, printTable, quantile, round, type BenchResult } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.ATP_BENCH_HUB_SECONDS ?? 30);
const AGENT_PROCESSES = Number(process.env.ATP_BENCH_HUB_AGENT_PROCESSES ?? 2);
const CHILD = path.join(here, 'hub-children.ts');
const loader = pathToFileURL(path.join(here, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function startAgents(mode: Mode, port: number, count: number, prefix: string): Promise<AgentsReport> {
  const env = { ...process.env, ATP_HUB_BENCH_ROLE: 'agents', MODE: mode, PORT: String(port), COUNT: String(count), SECONDS: String(SECONDS), PREFIX: prefix };
  const child = spawn(process.execPath, ['--import', loader, CHILD], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as AgentsReport);
      } catch {
        reject(new Error(`agents child exited ${code} without a report: ${out}`));
      }
    }),
  );
}

/** The server child and a way to wait for its next message of a kind. */
function startServer(mode: Mode, hubModule?: string): { child: ChildProcess; next: <K extends FromServer['kind']>(kind: K) => Promise<Extract<FromServer, { kind: K }>> } {
  // ATP_BENCH_HUB_PROFILE=<dir> writes a V8 CPU profile of each server child there.
  const profile = process.env.ATP_BENCH_HUB_PROFILE;
  const execArgv = ['--import', loader, ...(profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`])];
  const child = fork(CHILD, [], { execArgv, env: { ...process.env, ATP_HUB_BENCH_ROLE: 'server', MODE: mode, ...(hubModule === undefined ? {} : { ATP_BENCH_HUB_MODULE: hubModule }) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox: FromServer[] = [];
  let waiter: (() => void) | undefined;
  child.on('message', (m: FromServer) => {
    inbox.push(m);
    waiter?.();
  });
  const next = async <K extends FromServer['kind']>(kind: K): Promise<Extract<FromServer, { kind: K }>> => {
    for (;;) {
      const i = inbox.findIndex((m) => m.kind === kind);
      if (i !== -1) return inbox.splice(i, 1)[0] as Extract<FromServer, { kind: K }>;
      if (child.exitCode !== null) throw new Error(`server child exited (${child.exitCode}) before '${kind}'`);
      await new Promise<void>((r) => {
        waiter = r;
        setTimeout(r, 1000);
      });
    }
  };
  return { child, next };
}

interface Figures {
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  rssMaxMb: number;
  cpuPercent: number;
  /** Server CPU per delivered event in the window, µs: less sensitive to a shared machine than latency. */
  cpuUsPerEvent: number;
  agentsCpuPercent: number;
  /** The server's main thread: share of the window it was busy (event-loop utilisation), %. */
  loopBusyPercent: number;
  /** Frames written to agents per delivered event (acks, pings); -1: not counted (baseline). */
  framesOutPerEvent: number;
  /** Journal file writes per delivered event and group-commit flushes per second; -1: the hub has no group commit. */
  journalWritesPerEvent: number;
  flushesPerSec: number;
  sent: number;
  delivered: number;
  lost: number;
  duplicates: number;
}

async function measure(mode: Mode, count: number, hubModule?: string): Promise<Figures> {
  const { child, next } = startServer(mode, hubModule);
  try {
    const { port } = await next('listening');
    const per = Math.ceil(count / AGENT_PROCESSES);
    const started = Date.now();
    const reports = Promise.all(Array.from({ length: AGENT_PROCESSES }, (_, i) => startAgents(mode, port, Math.min(per, count - i * per), `${mode}${count}c${i}`)));
    // Steady window: after the connect phase and a warm-up.
    await sleep(Math.min(3000 + count * 2, SECONDS * 500));
    const send = (m: ToServer): void => void child.send(m);
    send({ cmd: 'window' });
    await sleep(SECONDS * 1000 * 0.6);
    send({ cmd: 'end-window' });
    const w = await next('window');
    const done = await reports;
    const agentsWall = Date.now() - started;
    const sent = done.reduce((a, r) => a + r.sent, 0);
    send({ cmd: 'drain', sent });
    const d = await next('drained');
    return {
      eventsPerSec: Math.round((w.events * 1000) / w.wallMs),
      p50Ms: round(quantile(w.latencies, 0.5), 2),
      p99Ms: round(quantile(w.latencies, 0.99), 2),
      rssMaxMb: Math.max(w.rssMaxMb, d.rssMaxMb),
      cpuPercent: round((w.cpuMs / w.wallMs) * 100, 1),
      cpuUsPerEvent: round((w.cpuMs * 1000) / Math.max(1, w.events), 1),
      agentsCpuPercent: round((done.reduce((a, r) => a + r.cpuMs, 0) / agentsWall) * 100, 1),
      loopBusyPercent: round(w.loopBusy * 100, 1),
      framesOutPerEvent: w.framesOut < 0 ? -1 : round(w.framesOut / Math.max(1, w.events), 3),
      journalWritesPerEvent: w.journalWrites < 0 ? -1 : round(w.journalWrites / Math.max(1, w.events), 3),
      flushesPerSec: w.journalFlushes < 0 ? -1 : Math.round((w.journalFlushes * 1000) / w.wallMs),
      sent,
      delivered: d.delivered,
      lost: sent - d.delivered,
      duplicates: d.duplicates,
    };
  } finally {
    // The child exits by itself after 'drained' (and writes its profile then); SIGKILL only a stuck one.
    const exited = new Promise((r) => child.once('exit', r));
    if (child.exitCode === null) await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export async function run(): Promise<BenchResult> {
  const metrics: BenchResult['metrics'] = {};
  const baseline: BenchResult['baseline'] = {};
  const rows: Record<string, string | number>[] = [];
  // ATP_BENCH_HUB_ONLY=ws:1000,tcp:100 runs a subset (for profiling).
  const only = process.env.ATP_BENCH_HUB_ONLY?.split(',');
  // ATP_BENCH_HUB_BEFORE=<another copy of host/src/hub/index.ts> also measures that hub, interleaved, same machine state.
  const beforeModule = process.env.ATP_BENCH_HUB_BEFORE;
  const before: Record<string, number> = {};
  const runs: { mode: Mode; before: boolean }[] = [
    { mode: 'ws', before: false },
    ...(beforeModule === undefined ? [] : [{ mode: 'ws' as const, before: true }]),
    { mode: 'tcp', before: false },
    ...(beforeModule === undefined ? [] : [{ mode: 'tcp' as const, before: true }]),
    { mode: 'baseline', before: false },
  ];
  for (const count of [100, 1000]) {
    for (const { mode, before: isBefore } of runs) {
      if (only !== undefined && !only.includes(`${mode}:${count}`)) continue;
      const f = await measure(mode, count, isBefore ? beforeModule : undefined);
      const target = isBefore ? before : mode === 'baseline' ? baseline : metrics;
      const key = `${mode === 'baseline' ? 'ws' : mode}${count}`;
      for (const [k, v] of Object.entries(f)) target[`${key}_${k}`] = v;
      rows.push({ config: `${mode}${isBefore ? ' (before)' : ''} × ${count}`, 'events/s': f.eventsPerSec, 'p50 ms': f.p50Ms, 'p99 ms': f.p99Ms, 'RSS MB': f.rssMaxMb, 'CPU %': f.cpuPercent, 'CPU µs/event': f.cpuUsPerEvent, 'loop busy %': f.loopBusyPercent, 'agents CPU %': f.agentsCpuPercent, 'frames out/event': f.framesOutPerEvent, 'journal writes/event': f.journalWritesPerEvent, 'flushes/s': f.flushesPerSec, sent: f.sent, lost: f.lost, dup: f.duplicates });
      console.log(JSON.stringify(rows[rows.length - 1]));
    }
  }
  printTable(rows);
  const goal = (p: 'ws' | 'tcp'): boolean => metrics[`${p}1000_lost`] === 0 && Number(metrics[`${p}1000_p99Ms`]) < 20 && Number(metrics[`${p}1000_rssMaxMb`]) < 500;
  metrics.goalMetWs = goal('ws');
  metrics.goalMetTcp = goal('tcp');
  console.log(`goal (1,000 agents × ${RATE}/s, lost 0, p99 < 20 ms, RSS < 500 MB): ws ${goal('ws') ? 'met' : 'NOT met'}, tcp ${goal('tcp') ? 'met' : 'NOT met'}`);
  return {
    name: 'hub',
    metrics,
    baseline,
    env: {
      ...baseEnv(),
      secondsPerConfig: SECONDS,
      eventsPerSecondPerAgent: RATE,
      agentProcesses: AGENT_PROCESSES,
      store: 'journal (durability write, one NDJSON file per agent)',
      latency: 'agent send time (its performance clock) to the consumer stream in the hub process; same machine',
      hubCpu: 'the server child alone (hub + journal store + consumer stream, or the baseline server); agents CPU is the sum over the agent children (100 % = one core)',
      rss: 'max RSS of the server child over its whole run (each configuration in a fresh process)',
      baselineDescription: 'bare ws server: JSON.parse each message, answer an ack; no auth, dedupe, store or stream',
      note: 'machine has 2 cores, shared with the agent processes and with other jobs running tests at the same time',
      ...(beforeModule === undefined ? {} : { before: { hub: 'the hub before the performance work, measured in the same run', ...before } }),
    },
  };
}
