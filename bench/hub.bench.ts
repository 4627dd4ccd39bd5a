/**
 * Agent hub bench: 100 and 1,000 simulated agents at 20 events/s each, over
 * WebSocket and over TCP on 127.0.0.1, for ATP_BENCH_HUB_SECONDS (default 30)
 * per configuration. The agents live in two child processes (this file, run
 * with ATP_HUB_BENCH_ROLE=agents), so the hub's CPU (this process: hub, journal
 * store, and the consumer stream) is measured apart. Reported: delivered
 * events/s, agent-send → consumer-delivered latency p50/p99, hub RSS and CPU,
 * and lost = sent − delivered (must be 0, with no duplicates). Baseline: a bare
 * `ws` server that parses each message and answers an ack, same load.
 * Goal: 1,000 agents × 20 events/s, nothing lost, p99 < 20 ms, RSS < 500 MB.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { AgentHub, JournalEventStore } from '../host/src/hub/index.js';
import { AgentMessageDecoder } from '@atp/protocol';
import { baseEnv, printTable, quantile, round, type BenchResult } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const RATE = 20;
const TOKEN = 'bench-token';
const SECONDS = Number(process.env.ATP_BENCH_HUB_SECONDS ?? 30);
const CHILDREN = 2;
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Mode = 'ws' | 'tcp' | 'baseline';
interface AgentsReport {
  sent: number;
  acked: number;
  closed: number;
}

// ---------------- agent side (child process) ----------------

async function runAgents(): Promise<void> {
  const mode = process.env.MODE as Mode;
  const port = Number(process.env.PORT);
  const count = Number(process.env.COUNT);
  const seconds = Number(process.env.SECONDS);
  const prefix = process.env.PREFIX ?? 'a';
  const report: AgentsReport = { sent: 0, acked: 0, closed: 0 };
  const agents: { send: (text: string) => void; seq: number; acked: number }[] = [];
  for (let i = 0; i < count; i++) {
    const agentId = `${prefix}-${i}`;
    const bootId = `boot-${process.pid}`;
    const state = { send: (_: string): void => undefined, seq: 0, acked: 0 };
    const onMessage = (m: { type?: string; body?: { seq?: number; id?: number; t1?: number } }): void => {
      if (m.type === 'ack' && typeof m.body?.seq === 'number') {
        report.acked += m.body.seq - state.acked;
        state.acked = m.body.seq;
      } else if (m.type === 'ping') {
        const t = now();
        state.send(JSON.stringify({ v: 1, type: 'pong', body: { id: m.body?.id, t1: m.body?.t1, t2: t, t3: t } }));
      }
    };
    const opened = new Promise<void>((resolve, reject) => {
      if (mode === 'tcp') {
        const s = net.createConnection({ host: '127.0.0.1', port }, () => resolve());
        s.setNoDelay(true);
        const decoder = new AgentMessageDecoder();
        s.on('data', (c: Buffer) => {
          for (const item of decoder.push(c)) if (item.kind === 'message') onMessage(item.message as never);
        });
        s.on('error', reject);
        s.on('close', () => report.closed++);
        state.send = (text) => void s.write(`${text}\n`);
      } else {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
        ws.on('open', () => resolve());
        ws.on('error', reject);
        ws.on('message', (d: Buffer) => onMessage(JSON.parse(d.toString()) as never));
        ws.on('close', () => report.closed++);
        state.send = (text) => ws.send(text);
      }
    });
    await opened;
    if (mode !== 'baseline') {
      const hello = { agentId, bootId, os: { platform: 'linux', release: 'bench', arch: 'x64' }, captureBackends: [], capabilities: [], version: 'bench', token: TOKEN, lastSeq: null, unacked: 0, overflowed: 0 };
      state.send(JSON.stringify({ v: 1, type: 'hello', body: hello }));
    }
    agents.push(state);
    if (i % 50 === 49) await sleep(20);
    const send = (): void => {
      const seq = ++state.seq;
      const event = { seq, t: now(), device: 'kbd0', kind: 'key', key: 'KEY_A', action: 'down' };
      state.send(JSON.stringify({ v: 1, type: 'events', body: { bootId, events: [event] } }));
      report.sent++;
    };
    (state as { tick?: () => void }).tick = send;
  }
  await sleep(500);
  // A wheel of 5 ms slots: each agent sends once per 50 ms, spread over the slots.
  const slots = 1000 / RATE / 5;
  const end = Date.now() + seconds * 1000;
  let slot = 0;
  while (Date.now() < end) {
    const t0 = Date.now();
    for (let i = slot; i < agents.length; i += slots) (agents[i] as { tick?: () => void }).tick?.();
    slot = (slot + 1) % slots;
    await sleep(Math.max(0, 5 - (Date.now() - t0)));
  }
  const deadline = Date.now() + 15_000;
  while (report.acked < report.sent && Date.now() < deadline) await sleep(50);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

// ---------------- hub side ----------------

function startAgents(mode: Mode, port: number, count: number, prefix: string): Promise<AgentsReport> {
  const loader = pathToFileURL(path.join(here, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const env = { ...process.env, ATP_HUB_BENCH_ROLE: 'agents', MODE: mode, PORT: String(port), COUNT: String(count), SECONDS: String(SECONDS), PREFIX: prefix };
  const child = spawn(process.execPath, ['--import', loader, fileURLToPath(import.meta.url)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
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

interface Figures {
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  rssMaxMb: number;
  cpuPercent: number;
  sent: number;
  delivered: number;
  lost: number;
  duplicates: number;
}

async function measure(mode: Mode, count: number, serve: (record: (t: number, agent: string, seq: number) => void) => Promise<{ port: number; stop: () => Promise<void> }>): Promise<Figures> {
  const latencies: number[] = [];
  const lastSeq = new Map<string, number>();
  let delivered = 0;
  let duplicates = 0;
  let recording = false;
  const record = (t: number, agent: string, seq: number): void => {
    const prev = lastSeq.get(agent) ?? 0;
    if (seq <= prev) duplicates++;
    else {
      delivered++;
      lastSeq.set(agent, seq);
    }
    if (recording) latencies.push(now() - t);
  };
  const server = await serve(record);
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage.rss())), 500);
  const per = Math.ceil(count / CHILDREN);
  const reports = Promise.all(Array.from({ length: CHILDREN }, (_, i) => startAgents(mode, server.port, Math.min(per, count - i * per), `${mode}${count}c${i}`)));
  // Steady window: after the connect phase and a 2 s warm-up.
  await sleep(Math.min(3000 + count * 2, SECONDS * 500));
  recording = true;
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const delivered0 = delivered;
  await sleep(SECONDS * 1000 * 0.6);
  const wall = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rate = ((delivered - delivered0) * 1000) / wall;
  recording = false;
  const done = await reports;
  const sent = done.reduce((a, r) => a + r.sent, 0);
  const deadline = Date.now() + 15_000;
  while (delivered < sent && Date.now() < deadline) await sleep(50);
  clearInterval(sampler);
  await server.stop();
  return {
    eventsPerSec: Math.round(rate),
    p50Ms: round(quantile(latencies, 0.5), 2),
    p99Ms: round(quantile(latencies, 0.99), 2),
    rssMaxMb: Math.round(rssMax / 1e6),
    cpuPercent: round(((cpu.user + cpu.system) / 1000 / wall) * 100, 1),
    sent,
    delivered,
    lost: sent - delivered,
    duplicates,
  };
}

async function serveHub(mode: 'ws' | 'tcp', record: (t: number, agent: string, seq: number) => void): Promise<{ port: number; stop: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-hub-bench-'));
  const hub = await AgentHub.create({ auth: { tokens: [TOKEN] }, store: new JournalEventStore({ dir }) });
  const port = mode === 'ws' ? (await hub.listenWs()).port : (await hub.listenTcp()).port;
  const abort = new AbortController();
  const consuming = (async () => {
    for await (const item of hub.stream({}, { signal: abort.signal })) if (item.kind === 'event') record(item.event.t, item.agentId, item.seq);
  })();
  return {
    port,
    stop: async () => {
      abort.abort();
      await consuming;
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function serveBaseline(record: (t: number, agent: string, seq: number) => void): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => server.once('listening', () => r()));
  let n = 0;
  server.on('connection', (ws) => {
    const id = `c${n++}`;
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { body: { events: { seq: number; t: number }[] } };
      const e = m.body.events[0];
      if (e === undefined) return;
      record(e.t, id, e.seq);
      ws.send(JSON.stringify({ v: 1, type: 'ack', body: { bootId: 'x', seq: e.seq } }));
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function run(): Promise<BenchResult> {
  const metrics: BenchResult['metrics'] = {};
  const baseline: BenchResult['baseline'] = {};
  const rows: Record<string, string | number>[] = [];
  // ATP_BENCH_HUB_ONLY=ws:1000,tcp:100 runs a subset (for profiling).
  const only = process.env.ATP_BENCH_HUB_ONLY?.split(',');
  for (const count of [100, 1000]) {
    for (const mode of ['ws', 'tcp', 'baseline'] as const) {
      if (only !== undefined && !only.includes(`${mode}:${count}`)) continue;
      const f = await measure(mode, count, (rec) => (mode === 'baseline' ? serveBaseline(rec) : serveHub(mode, rec)));
      const target = mode === 'baseline' ? baseline : metrics;
      const key = `${mode === 'baseline' ? 'ws' : mode}${count}`;
      for (const [k, v] of Object.entries(f)) target[`${key}_${k}`] = v;
      rows.push({ config: `${mode} × ${count}`, 'events/s': f.eventsPerSec, 'p50 ms': f.p50Ms, 'p99 ms': f.p99Ms, 'RSS MB': f.rssMaxMb, 'CPU %': f.cpuPercent, sent: f.sent, lost: f.lost, dup: f.duplicates });
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
      agentProcesses: CHILDREN,
      store: 'journal (durability write, one NDJSON file per agent)',
      latency: 'agent send time (its performance clock) to the consumer stream in the hub process; same machine',
      hubCpu: 'this process: hub + journal store + consumer; the agents run in child processes',
      baselineDescription: 'bare ws server: JSON.parse each message, answer an ack; no auth, dedupe, store or stream',
      note: 'machine has 2 cores, shared with the agent processes and with other jobs running tests at the same time',
    },
  };
}

if (process.env.ATP_HUB_BENCH_ROLE === 'agents') await runAgents();
