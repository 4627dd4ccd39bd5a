/**
 * Hub abuse bench: 100 legitimate agents × 20 events/s over TCP (the hub
 * bench's simulator, bench/hub-children.ts, from 127.0.0.2) against a hub in
 * its own process (journal store + consumer stream), while one abuse at a time
 * runs from another child process (host/test/hub-abuse-attack.ts, from
 * 127.0.x.y addresses of its own) for ATP_BENCH_ABUSE_PHASE_SECONDS (default
 * 12): none (the baseline, same run), 10,000 idle connections, 500 slow senders
 * (one byte per 500 ms, never the newline: of a hello, or after a good hello
 * of an events frame), 2 MB lines without a
 * newline at 50/s, a bad-token hello flood (64 connections in parallel, as fast
 * as the client process can), one authenticated agent at 100× the agreed rate
 * (agreed: messagesPerSecond 200, burst 400; the legitimate agents send 20/s).
 * Per phase: the legitimate agents' send → delivered latency p50/p99, the hub's
 * RSS (max in the window) and CPU, what the hub answered the offenders (codes),
 * how long after the offence it cut them, attempts/s, and what a new legitimate
 * agent arriving halfway through got (welcome or a refusal code) and how fast. ATP_BENCH_ABUSE_BEFORE=
 * <a copy of an older host/src/hub/index.ts> runs the same phases against that
 * hub too, in the same run (env.before).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { newcomer, type AttackReport, type AttackSpec } from '../host/test/hub-abuse-attack.js';
import { TOKEN, type AgentsReport, type FromServer, type ToServer } from './hub-children.js';
import { baseEnv, printTable, quantile, round, type BenchResult } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PHASE_S = Number(process.env.ATP_BENCH_ABUSE_PHASE_SECONDS ?? 12);
const WARMUP_MS = 4000;
const AGENTS = 100;
const LIMITS = { messagesPerSecond: 200, messageBurst: 400 };
const CHILD = path.join(here, 'hub-children.ts');
const ATTACK = path.join(here, '..', 'host', 'test', 'hub-abuse-attack.ts');
const loader = pathToFileURL(path.join(here, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const addresses = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}.${i + 1}`);

type Phase = { id: string; name: string; spec?: (port: number) => AttackSpec };
const PHASES: Phase[] = [
  { id: 'none', name: 'none (baseline)' },
  { id: 'idle', name: '10,000 idle connections', spec: (port) => ({ kind: 'idle', port, count: 10_000, addresses: addresses('127.0.1', 20), holdMs: PHASE_S * 1000 }) },
  { id: 'slowHello', name: '500 slow senders, before hello', spec: (port) => ({ kind: 'slow', port, count: 500, addresses: addresses('127.0.2', 10), intervalMs: 500, holdMs: PHASE_S * 1000 }) },
  { id: 'slowFrame', name: '500 slow senders, after hello', spec: (port) => ({ kind: 'slow', port, count: 500, addresses: addresses('127.0.2', 10), intervalMs: 500, holdMs: PHASE_S * 1000, token: TOKEN }) },
  { id: 'oversized', name: '2 MB frames at 50/s', spec: (port) => ({ kind: 'oversized', port, perSecond: 50, durationMs: PHASE_S * 1000 - 2000, bytes: 2 * 1024 * 1024, address: '127.0.3.1' }) },
  { id: 'helloFlood', name: 'bad-token hello flood', spec: (port) => ({ kind: 'bad-hello', port, durationMs: PHASE_S * 1000, concurrency: 64, address: '127.0.4.1' }) },
  { id: 'rate', name: 'one agent at 100× rate', spec: (port) => ({ kind: 'rate', port, token: TOKEN, perSecond: LIMITS.messagesPerSecond * 100, durationMs: PHASE_S * 1000, address: '127.0.5.1' }) },
];

function child<T>(proc: ChildProcess, what: string): Promise<T> {
  let out = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) =>
    proc.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as T);
      } catch {
        reject(new Error(`${what} exited ${code} without a report: ${out}`));
      }
    }),
  );
}

function startServer(hubModule: string | undefined): { proc: ChildProcess; next: <K extends FromServer['kind']>(kind: K) => Promise<Extract<FromServer, { kind: K }>> } {
  const env = { ...process.env, ATP_HUB_BENCH_ROLE: 'server', MODE: 'tcp', ATP_BENCH_HUB_LIMITS: JSON.stringify(LIMITS), ATP_BENCH_HUB_LATENCY_PREFIX: 'legit', ...(hubModule === undefined ? {} : { ATP_BENCH_HUB_MODULE: hubModule }) };
  const proc = fork(CHILD, [], { execArgv: ['--import', loader], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox: FromServer[] = [];
  proc.on('message', (m: FromServer) => inbox.push(m));
  const next = async <K extends FromServer['kind']>(kind: K): Promise<Extract<FromServer, { kind: K }>> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const i = inbox.findIndex((m) => m.kind === kind);
      if (i !== -1) return inbox.splice(i, 1)[0] as Extract<FromServer, { kind: K }>;
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`server child: no '${kind}' (exit ${proc.exitCode})`);
      await sleep(20);
    }
  };
  return { proc, next };
}

type Row = Record<string, string | number>;
const num = (m: Record<string, unknown>, k: string): number => (typeof m[k] === 'number' ? m[k] : 0);

/** One phase in fresh processes (hub, agents, attacker), so its RSS and CPU are its own. */
async function runPhase(label: string, hubModule: string | undefined, phase: Phase): Promise<Row> {
  const { proc, next } = startServer(hubModule);
  const send = (m: ToServer): void => void proc.send(m);
  try {
    const { port } = await next('listening');
    const seconds = PHASE_S + 20;
    const agentsEnv = { ...process.env, ATP_HUB_BENCH_ROLE: 'agents', MODE: 'tcp', PORT: String(port), COUNT: String(AGENTS), SECONDS: String(seconds), PREFIX: 'legit', LOCAL_ADDRESS: '127.0.0.2' };
    const agentsProc = spawn(process.execPath, ['--import', loader, CHILD], { env: agentsEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    const agentsDone = child<AgentsReport>(agentsProc, 'agents').catch(() => undefined);
    await sleep(WARMUP_MS);
    send({ cmd: 'metrics' });
    const before = (await next('metrics')).metrics;
    send({ cmd: 'window' });
    const attack =
      phase.spec === undefined
        ? undefined
        : child<AttackReport>(spawn(process.execPath, ['--import', loader, ATTACK, JSON.stringify(phase.spec(port))], { stdio: ['ignore', 'pipe', 'inherit'] }), phase.name);
    // Halfway through, a new legitimate agent arrives (own address): does it get in, and how fast?
    await sleep((PHASE_S * 1000) / 2);
    const arrival = await newcomer(port, '127.0.0.3', TOKEN);
    await sleep(Math.max(0, (PHASE_S * 1000) / 2 - arrival.ms));
    send({ cmd: 'end-window' });
    const w = await next('window');
    const report = await attack;
    send({ cmd: 'metrics' });
    const after = (await next('metrics')).metrics;
    const cuts = (m: Record<string, unknown>): Record<string, number> => (typeof m.cuts === 'object' && m.cuts !== null ? (m.cuts as Record<string, number>) : {});
    const cutDelta = Object.entries(cuts(after))
      .map(([k, v]) => [k, v - (cuts(before)[k] ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k.replace(/^ATP_/, '')}×${v}`)
      .join(' ');
    const codes = report === undefined ? '' : Object.entries(report.codes).map(([k, v]) => `${k.replace(/^ATP_/, '')}×${v}`).join(' ');
    const row: Row = {
      hub: label,
      abuse: phase.id,
      what: phase.name,
      'legit p50 ms': round(quantile(w.latencies, 0.5), 2),
      'legit p99 ms': round(quantile(w.latencies, 0.99), 2),
      'legit ev/s': Math.round((w.events * 1000) / w.wallMs),
      'hub RSS MB': w.rssWindowMaxMb ?? w.rssMaxMb,
      'hub CPU %': round((w.cpuMs / w.wallMs) * 100, 1),
      'newcomer got': `${arrival.outcome.replace(/^ATP_/, '')} ${arrival.ms} ms`,
      'offenders got': codes,
      'cut p50 ms': report?.cutMs.p50 ?? '',
      'cut max ms': report?.cutMs.max ?? '',
      'attempts/s': report?.attemptsPerSec ?? '',
      'token checks': num(after, 'authFailures') - num(before, 'authFailures'),
      'hub cuts': cutDelta,
    };
    console.log(JSON.stringify(row));
    agentsProc.kill('SIGTERM');
    await agentsDone;
    send({ cmd: 'drain', sent: 0 });
    await next('drained').catch(() => undefined);
    return row;
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    if (proc.exitCode === null) await Promise.race([exited, sleep(10_000)]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
}

export async function run(): Promise<BenchResult> {
  const beforeModule = process.env.ATP_BENCH_ABUSE_BEFORE;
  const rows: Row[] = [];
  const beforeRows: Row[] = [];
  // ATP_BENCH_ABUSE_ONLY=none,oversized runs those phases only (to look at one again).
  const only = process.env.ATP_BENCH_ABUSE_ONLY?.split(',');
  // Interleaved (now, before) per phase: both hubs see the same machine state.
  for (const phase of PHASES.filter((p) => only === undefined || only.includes(p.id))) {
    rows.push(await runPhase('now', undefined, phase));
    if (beforeModule !== undefined) beforeRows.push(await runPhase('before', beforeModule, phase));
  }
  printTable([...rows, ...beforeRows]);
  const metrics: BenchResult['metrics'] = {};
  const baseline: BenchResult['baseline'] = {};
  const before: Record<string, string | number> = {};
  for (const [target, list] of [[metrics, rows], [before, beforeRows]] as const) {
    for (const r of list) {
      for (const [col, v] of Object.entries(r)) if (col !== 'hub' && col !== 'abuse' && col !== 'what') target[`${r.abuse}_${col.replace(/[^a-z0-9]+/gi, '_')}`] = v;
    }
  }
  for (const [k, v] of Object.entries(metrics)) if (k.startsWith('none_')) baseline[k] = v;
  return {
    name: 'hub-abuse',
    metrics,
    baseline,
    env: {
      ...baseEnv(),
      phaseSeconds: PHASE_S,
      legitimateAgents: `${AGENTS} × 20 events/s over TCP from 127.0.0.2 (bench/hub-children.ts agents role)`,
      agreedRate: LIMITS,
      latency: 'legitimate agents only: agent send time → the consumer stream in the hub process (journal store, durability write), per phase window',
      rss: 'hub server child: max RSS sampled inside the phase window; each phase (and each hub) runs in fresh processes',
      cut: 'offence start (connect, first slow byte, first oversized byte, hello sent, first over-rate message) → the hub error message (or close) as the attacker saw it',
      tokenChecks: 'hub authFailures in the window: hellos whose token the hub actually checked and refused',
      baselineDescription: 'the same hub and agents with no abuse, same run (phase "none")',
      note: 'machine has 2 cores, shared by the hub, the agents, the attacker and other jobs',
      ...(beforeModule === undefined ? {} : { before: { hub: 'the hub before the abuse limits (copy of host/src/hub), same phases, same run', ...before } }),
    },
  };
}
