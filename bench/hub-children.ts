/**
 * The two child roles of the hub bench (bench/hub.bench.ts forks them):
 * - server: one hub (journal store + an in-process consumer stream) or the bare
 *   `ws` baseline, alone in its process so its RSS and CPU are its own. It
 *   records agent-send → consumer latencies inside a window the parent opens
 *   and closes over IPC.
 * - agents: N simulated agents on raw sockets, each sending one event every
 *   50 ms; messages are prebuilt strings and replies are parsed with
 *   JSON.parse only, so the agents stay cheap next to the hub.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import * as currentHub from '../host/src/hub/index.js';

export const RATE = 20;
export const TOKEN = 'bench-token';
export type Mode = 'ws' | 'tcp' | 'baseline';
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WindowFigures {
  events: number;
  wallMs: number;
  cpuMs: number;
  latencies: number[];
  rssMaxMb: number;
  /** Frames the hub wrote to agents in the window (acks, pings, pongs); -1 for the baseline. */
  framesOut: number;
  /** Journal file writes and group-commit flushes in the window; -1 when the hub has no group commit (before). */
  journalWrites: number;
  journalFlushes: number;
  /** Event-loop utilisation of the server's main thread in the window (0..1). */
  loopBusy: number;
  /** Max RSS sampled inside this window only (the abuse bench compares windows of one run). */
  rssWindowMaxMb?: number;
}
export interface DrainFigures {
  delivered: number;
  duplicates: number;
  rssMaxMb: number;
}
export interface AgentsReport {
  sent: number;
  acked: number;
  closed: number;
  cpuMs: number;
}
export type ToServer = { cmd: 'window' } | { cmd: 'end-window' } | { cmd: 'drain'; sent: number } | { cmd: 'metrics' };
export type FromServer =
  | { kind: 'listening'; port: number }
  | ({ kind: 'window' } & WindowFigures)
  | ({ kind: 'drained' } & DrainFigures)
  /** The hub's metrics() (JSON), on request; empty for the baseline. */
  | { kind: 'metrics'; metrics: { [key: string]: unknown } };

const send = (m: FromServer): void => void process.send?.(m);

async function runServer(mode: Mode): Promise<void> {
  const lastSeq = new Map<string, number>();
  let delivered = 0;
  let duplicates = 0;
  let latencies: number[] | undefined;
  const record = (t: number, agent: string, seq: number): void => {
    if (seq <= (lastSeq.get(agent) ?? 0)) duplicates++;
    else {
      delivered++;
      lastSeq.set(agent, seq);
    }
    latencies?.push(now() - t);
  };
  let rssMax = 0;
  let rssWindowMax = 0;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    rssMax = Math.max(rssMax, rss);
    rssWindowMax = Math.max(rssWindowMax, rss);
  }, 250);
  const server = mode === 'baseline' ? await serveBaseline(record) : await serveHub(mode, record);
  let cpu0 = process.cpuUsage();
  let t0 = now();
  let delivered0 = 0;
  let counts0 = server.counts();
  let elu0 = performance.eventLoopUtilization();
  process.on('message', (m: ToServer) => {
    if (m.cmd === 'window') {
      cpu0 = process.cpuUsage();
      t0 = now();
      delivered0 = delivered;
      counts0 = server.counts();
      elu0 = performance.eventLoopUtilization();
      latencies = [];
      rssWindowMax = process.memoryUsage.rss();
    } else if (m.cmd === 'metrics') {
      send({ kind: 'metrics', metrics: server.metrics?.() ?? {} });
    } else if (m.cmd === 'end-window') {
      const cpu = process.cpuUsage(cpu0);
      const c = server.counts();
      const delta = (k: keyof Counts): number => (c[k] < 0 ? -1 : c[k] - counts0[k]);
      const loopBusy = performance.eventLoopUtilization(elu0).utilization;
      send({ kind: 'window', events: delivered - delivered0, wallMs: now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, latencies: latencies ?? [], rssMaxMb: Math.round(rssMax / 1e6), framesOut: delta('framesOut'), journalWrites: delta('journalWrites'), journalFlushes: delta('journalFlushes'), loopBusy, rssWindowMaxMb: Math.round(Math.max(rssWindowMax, process.memoryUsage.rss()) / 1e6) });
      latencies = undefined;
    } else if (m.cmd === 'drain') {
      void (async () => {
        const deadline = Date.now() + 15_000;
        while (delivered < m.sent && Date.now() < deadline) await sleep(50);
        clearInterval(sampler);
        send({ kind: 'drained', delivered, duplicates, rssMaxMb: Math.round(rssMax / 1e6) });
        await server.stop();
        process.exit(0);
      })();
    }
  });
  send({ kind: 'listening', port: server.port });
}

type Record = (t: number, agent: string, seq: number) => void;
interface Counts {
  framesOut: number;
  journalWrites: number;
  journalFlushes: number;
}
interface Served {
  port: number;
  stop: () => Promise<void>;
  counts: () => Counts;
  metrics?: () => { [key: string]: unknown };
}

/** ATP_BENCH_HUB_MODULE=<path to another copy of host/src/hub/index.ts> runs that hub instead (before/after comparisons in one machine state). */
async function hubModule(): Promise<typeof currentHub> {
  const other = process.env.ATP_BENCH_HUB_MODULE;
  return other === undefined ? currentHub : ((await import(other)) as typeof currentHub);
}

async function serveHub(mode: 'ws' | 'tcp', record: Record): Promise<Served> {
  const { AgentHub, JournalEventStore } = await hubModule();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-hub-bench-'));
  // ATP_BENCH_HUB_WRITER=inline|thread picks where the journal writes run (the store's default otherwise).
  const writer = process.env.ATP_BENCH_HUB_WRITER;
  const store = new JournalEventStore({ dir, ...(writer === 'inline' || writer === 'thread' ? { writer } : {}) });
  // ATP_BENCH_HUB_LIMITS=<JSON of Partial<HubLimits>> (the abuse bench's agreed rate).
  const limitsJson = process.env.ATP_BENCH_HUB_LIMITS;
  const limits = limitsJson === undefined ? {} : { limits: JSON.parse(limitsJson) as Partial<currentHub.HubLimits> };
  const hub = await AgentHub.create({ auth: { tokens: [TOKEN] }, store, ...limits });
  // The hub before the group commit has no `commit` on its store.
  const commit = (store as { commit?: { writes: number; flushes: number } }).commit;
  const port = mode === 'ws' ? (await hub.listenWs()).port : (await hub.listenTcp()).port;
  const abort = new AbortController();
  const consuming = (async () => {
    // ATP_BENCH_HUB_LATENCY_PREFIX=<agentId prefix>: only those agents' events are recorded (the abuse bench leaves offenders out).
    const only = process.env.ATP_BENCH_HUB_LATENCY_PREFIX;
    for await (const item of hub.stream({}, { signal: abort.signal })) {
      if (item.kind === 'event' && (only === undefined || item.agentId.startsWith(only))) record(item.event.t, item.agentId, item.seq);
    }
  })();
  return {
    port,
    counts: () => ({ framesOut: hub.metrics().framesOut, journalWrites: commit?.writes ?? -1, journalFlushes: commit?.flushes ?? -1 }),
    metrics: () => JSON.parse(JSON.stringify(hub.metrics())) as { [key: string]: unknown },
    stop: async () => {
      abort.abort();
      await consuming;
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function serveBaseline(record: Record): Promise<Served> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => server.once('listening', () => r()));
  let n = 0;
  server.on('connection', (ws) => {
    const id = `c${n++}`;
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { body: { events?: { seq: number; t: number }[] } };
      const e = m.body.events?.[0];
      if (e === undefined) return;
      record(e.t, id, e.seq);
      ws.send(JSON.stringify({ v: 1, type: 'ack', body: { bootId: 'x', seq: e.seq } }));
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    counts: () => ({ framesOut: -1, journalWrites: -1, journalFlushes: -1 }),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface Agent {
  write: (text: string) => void;
  seq: number;
  acked: number;
  bootId: string;
}

async function runAgents(mode: Mode, port: number, count: number, seconds: number, prefix: string): Promise<void> {
  const cpu0 = process.cpuUsage();
  const report: AgentsReport = { sent: 0, acked: 0, closed: 0, cpuMs: 0 };
  const agents: Agent[] = [];
  for (let i = 0; i < count; i++) {
    const agent: Agent = { write: () => undefined, seq: 0, acked: 0, bootId: `boot-${process.pid}` };
    const onMessage = (text: string): void => {
      const m = JSON.parse(text) as { type?: string; body?: { seq?: number; id?: number; t1?: number } };
      if (m.type === 'ack' && typeof m.body?.seq === 'number') {
        report.acked += m.body.seq - agent.acked;
        agent.acked = m.body.seq;
      } else if (m.type === 'ping') {
        const t = now();
        agent.write(`{"v":1,"type":"pong","body":{"id":${m.body?.id ?? 0},"t1":${m.body?.t1 ?? 0},"t2":${t},"t3":${t}}}`);
      }
    };
    await new Promise<void>((resolve, reject) => {
      // LOCAL_ADDRESS=127.0.0.x: connect from that loopback address (the abuse bench keeps agents apart from attackers).
      const localAddress = process.env.LOCAL_ADDRESS;
      if (mode === 'tcp') {
        const s = net.createConnection({ host: '127.0.0.1', port, ...(localAddress === undefined ? {} : { localAddress }) }, () => resolve());
        s.setNoDelay(true);
        let rest = '';
        s.setEncoding('utf8').on('data', (c: string) => {
          const lines = (rest + c).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) if (line !== '') onMessage(line);
        });
        s.on('error', reject);
        s.on('close', () => report.closed++);
        agent.write = (text) => void s.write(`${text}\n`);
      } else {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, ...(localAddress === undefined ? {} : { localAddress }) });
        ws.on('open', () => resolve());
        ws.on('error', reject);
        ws.on('message', (d: Buffer) => onMessage(d.toString()));
        ws.on('close', () => report.closed++);
        agent.write = (text) => ws.send(text);
      }
    });
    if (mode !== 'baseline') {
      const hello = { agentId: `${prefix}-${i}`, bootId: agent.bootId, os: { platform: 'linux', release: 'bench', arch: 'x64' }, captureBackends: [], capabilities: [], version: 'bench', token: TOKEN, lastSeq: null, unacked: 0, overflowed: 0 };
      agent.write(JSON.stringify({ v: 1, type: 'hello', body: hello }));
    }
    agents.push(agent);
    if (i % 50 === 49) await sleep(20);
  }
  await sleep(500);
  // A wheel of 5 ms slots: each agent sends once per 50 ms, spread over the slots.
  const slots = 1000 / RATE / 5;
  const start = Date.now();
  const end = start + seconds * 1000;
  // Drift-free: each slot has its due time; a late timer catches up instead of slowing the rate.
  for (let tick = 0; Date.now() < end; tick++) {
    const slot = tick % slots;
    for (let i = slot; i < agents.length; i += slots) {
      const a = agents[i] as Agent;
      const seq = ++a.seq;
      a.write(`{"v":1,"type":"events","body":{"bootId":"${a.bootId}","events":[{"seq":${seq},"t":${now()},"device":"kbd0","kind":"key","key":"KEY_A","action":"down"}]}}`);
      report.sent++;
    }
    const due = start + (tick + 1) * 5;
    if (due > Date.now()) await sleep(due - Date.now());
  }
  const deadline = Date.now() + 15_000;
  while (report.acked < report.sent && Date.now() < deadline) await sleep(50);
  const cpu = process.cpuUsage(cpu0);
  report.cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

const env = process.env;
if (env.ATP_HUB_BENCH_ROLE === 'server') await runServer(env.MODE as Mode);
else if (env.ATP_HUB_BENCH_ROLE === 'agents') await runAgents(env.MODE as Mode, Number(env.PORT), Number(env.COUNT), Number(env.SECONDS), env.PREFIX ?? 'a');
