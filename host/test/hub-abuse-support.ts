/**
 * Shared pieces of the hub-abuse tests: a legitimate agent on its own loopback
 * address (127.0.0.2, 127.0.0.3, ...: Linux routes all of 127/8 to lo, so the
 * hub sees it as another host than the attacker on 127.0.0.1) that says hello
 * and checks every event it sends is acknowledged, the hub's memory, and the
 * attack child process (hub-abuse-attack.ts) for floods that need their own fds.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AgentMessageDecoder, agentMessage, encodeAgentMessage, type AgentMessage } from '@atp/protocol';
import type { AttackReport, AttackSpec } from './hub-abuse-attack.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A well-behaved agent over TCP from `localAddress`. */
export class LegitAgent {
  readonly received: AgentMessage[] = [];
  private readonly decoder = new AgentMessageDecoder();
  private seq = 0;
  private readonly sentAt = new Map<number, number>();
  /** Event → cumulative-ack latencies, ms. */
  readonly ackLatencies: number[] = [];
  private acked = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.decoder.push(chunk)) if (item.kind === 'message') this.onMessage(item.message);
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number, localAddress: string): Promise<LegitAgent> {
    const socket = net.createConnection({ host: '127.0.0.1', port, localAddress });
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('error', reject));
    socket.setNoDelay(true);
    return new LegitAgent(socket);
  }

  /** Says hello and waits for the welcome (throws with what came instead). */
  async hello(agentId: string, token: string, timeoutMs = 20_000): Promise<void> {
    this.send(agentMessage('hello', { agentId, bootId: 'legit-boot', os: { platform: 'linux', release: 'test', arch: 'x64' }, captureBackends: ['test'], capabilities: [], version: '0.0.0-test', token, lastSeq: null, unacked: 0, overflowed: 0 }));
    await this.waitUntil(() => this.received.some((m) => m.type === 'welcome'), 'welcome', timeoutMs);
  }

  /** Sends `count` events, one every `intervalMs`, then waits until all are acknowledged. */
  async sendEvents(count: number, intervalMs: number, timeoutMs = 20_000): Promise<void> {
    for (let i = 0; i < count; i++) {
      const seq = ++this.seq;
      this.sentAt.set(seq, performance.now());
      this.send(agentMessage('events', { bootId: 'legit-boot', events: [{ seq, t: 1000 + seq, device: 'kbd0', kind: 'key', key: 'KEY_A', action: 'down' }] }));
      if (intervalMs > 0) await sleep(intervalMs);
    }
    await this.waitUntil(() => this.acked >= this.seq, `ack of seq ${this.seq} (acked ${this.acked})`, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }

  private send(message: AgentMessage): void {
    this.socket.write(encodeAgentMessage(message));
  }

  private onMessage(message: AgentMessage): void {
    this.received.push(message);
    if (message.type === 'ping') this.send(agentMessage('pong', { id: message.body.id, t1: message.body.t1, t2: Date.now(), t3: Date.now() }));
    if (message.type === 'ack') {
      const t = performance.now();
      for (let s = this.acked + 1; s <= message.body.seq; s++) {
        const at = this.sentAt.get(s);
        if (at !== undefined) this.ackLatencies.push(t - at);
        this.sentAt.delete(s);
      }
      this.acked = Math.max(this.acked, message.body.seq);
    }
  }

  private async waitUntil(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`legit agent: no ${what} within ${timeoutMs} ms; got: ${this.received.map((m) => (m.type === 'error' ? `error ${m.body.code}` : m.type)).join(', ')}`);
      await sleep(10);
    }
  }
}

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap (with buffers) and RSS of this process, MB, after a full GC: what is held, not garbage. */
export function memoryMb(): { rss: number; heap: number } {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss / 1e6, heap: (m.heapUsed + m.external + m.arrayBuffers) / 1e6 };
}

/** Runs an attack in a child process (its own fd limit) and returns its report. */
export function attackInChild(spec: AttackSpec): Promise<AttackReport> {
  const loader = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', loader, path.join(here, 'hub-abuse-attack.ts'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as AttackReport);
      } catch {
        reject(new Error(`attack child (${spec.kind}) exited ${code} without a report: ${out}${err}`));
      }
    }),
  );
}

/** Prints one abuse's figures in the test run's output (the issue wants them there too). */
export function logFigures(abuse: string, figures: Record<string, unknown>): void {
  console.log(`[hub-abuse] ${abuse}: ${JSON.stringify(figures)}`);
}

/** The q-quantile of latencies, ms, 2 decimals (NaN when none). */
export function pct(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return v === undefined ? Number.NaN : Number(v.toFixed(2));
}
