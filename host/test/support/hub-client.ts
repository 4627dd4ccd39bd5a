/**
 * A raw agent for hub tests, built from the protocol schemas only (not the
 * guest agent package): TCP (NDJSON), WebSocket (one message per frame) or a
 * unix socket. It records every message the hub sends, answers pings when
 * asked, and can send arbitrary bytes to test bad frames.
 */
import net from 'node:net';
import WebSocket from 'ws';
import {
  AgentMessageDecoder,
  agentMessage,
  encodeAgentMessage,
  type AgentMessage,
  type AgentMessageOf,
  type AgentMessageType,
  type HelloBody,
  type ObservedEventInput,
} from '@atp/protocol';

export type RawTarget = { tcp: { host?: string; port: number } } | { ws: string } | { path: string };

export interface RawClientOptions {
  /** Answer the hub's pings with pongs (default true). */
  answerPings?: boolean;
  /** This client's clock, for pongs (default Date.now()). */
  now?: () => number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class RawHubClient {
  readonly received: AgentMessage[] = [];
  closed = false;
  wsCloseCode: number | undefined;
  private readonly decoder = new AgentMessageDecoder();
  private readonly closedPromise: Promise<void>;
  private answerPings: boolean;

  private constructor(
    private readonly socket: net.Socket | WebSocket,
    private readonly options: RawClientOptions,
  ) {
    this.answerPings = options.answerPings ?? true;
    this.closedPromise = new Promise((resolve) => {
      if (socket instanceof WebSocket) {
        socket.on('message', (data: Buffer) => this.onMessage(JSON.parse(data.toString('utf8')) as AgentMessage));
        socket.on('close', (code) => {
          this.wsCloseCode = code;
          this.closed = true;
          resolve();
        });
        socket.on('error', () => undefined);
      } else {
        socket.on('data', (chunk: Buffer) => {
          for (const item of this.decoder.push(chunk)) if (item.kind === 'message') this.onMessage(item.message);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.closed = true;
          resolve();
        });
      }
    });
  }

  static async connect(target: RawTarget, options: RawClientOptions = {}): Promise<RawHubClient> {
    if ('ws' in target) {
      const ws = new WebSocket(target.ws);
      await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
      return new RawHubClient(ws, options);
    }
    const socket = 'tcp' in target ? net.createConnection({ host: target.tcp.host ?? '127.0.0.1', port: target.tcp.port }) : net.createConnection({ path: target.path });
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('error', reject));
    return new RawHubClient(socket, options);
  }

  setAnswerPings(on: boolean): void {
    this.answerPings = on;
  }

  send(message: AgentMessage): void {
    if (this.socket instanceof WebSocket) this.socket.send(JSON.stringify(message));
    else this.socket.write(encodeAgentMessage(message));
  }

  /** Bytes as they are: a raw line on TCP (add the newline yourself), one text frame on WebSocket. */
  sendRaw(data: string | Buffer, binary = false): void {
    if (this.socket instanceof WebSocket) this.socket.send(data, { binary });
    else this.socket.write(data);
  }

  hello(body: Partial<HelloBody> & Pick<HelloBody, 'agentId' | 'bootId' | 'token'>): void {
    this.send(
      agentMessage('hello', {
        os: { platform: 'linux', release: 'test', arch: 'x64' },
        captureBackends: ['test'],
        capabilities: [],
        version: '0.0.0-test',
        lastSeq: null,
        unacked: 0,
        overflowed: 0,
        ...body,
      }),
    );
  }

  events(bootId: string, events: ObservedEventInput[]): void {
    this.send(agentMessage('events', { bootId, events }));
  }

  /** Waits for the next message of `type` that `pred` accepts, searching from the start of what was received after `after`. */
  async waitFor<T extends AgentMessageType>(type: T, pred: (m: AgentMessageOf<T>) => boolean = () => true, timeoutMs = 20_000): Promise<AgentMessageOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((m): m is AgentMessageOf<T> => m.type === type && pred(m as AgentMessageOf<T>));
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} within ${timeoutMs} ms; got: ${this.received.map((m) => m.type).join(', ')}`);
      if (this.closed && !this.received.some((m) => m.type === type)) {
        await sleep(20);
        const late = this.received.find((m): m is AgentMessageOf<T> => m.type === type && pred(m as AgentMessageOf<T>));
        if (late !== undefined) return late;
        throw new Error(`connection closed before ${type}; got: ${this.received.map((m) => m.type).join(', ')}`);
      }
      await sleep(10);
    }
  }

  /** The highest cumulative ack received so far. */
  highestAck(): number | null {
    let high: number | null = null;
    for (const m of this.received) if (m.type === 'ack') high = Math.max(high ?? 0, m.body.seq);
    return high;
  }

  async waitForAck(seq: number, timeoutMs = 20_000): Promise<void> {
    await this.waitFor('ack', (m) => m.body.seq >= seq, timeoutMs);
  }

  async waitClosed(timeoutMs = 20_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closedPromise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  close(): void {
    if (this.socket instanceof WebSocket) this.socket.terminate();
    else this.socket.destroy();
  }

  private onMessage(message: AgentMessage): void {
    this.received.push(message);
    if (message.type === 'ping' && this.answerPings) {
      const now = this.options.now ?? Date.now;
      const t2 = now();
      this.send(agentMessage('pong', { id: message.body.id, t1: message.body.t1, t2, t3: now() }));
    }
  }
}

/** A key event of seq `seq` for tests. */
export function keyEvent(seq: number, key = 'KEY_A', action: 'down' | 'up' = 'down'): ObservedEventInput {
  return { seq, t: 1000 + seq, device: 'kbd0', kind: 'key', key, action };
}

export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Polls `check` until it returns true. */
export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
