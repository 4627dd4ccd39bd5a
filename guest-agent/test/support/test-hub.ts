/**
 * A minimal host hub for the agent's tests, built on the protocol schemas only:
 * accepts agents over TCP and WebSocket on 127.0.0.1, checks the token, sends
 * welcome (ackedSeq = what it already holds for that boot), acks every batch,
 * answers pings, and can be told to drop every connection, to cut the next
 * batch (drop it unread and disconnect), to restart its listeners on the same
 * ports, or to refuse tokens. It records everything for assertions.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { AgentMessageDecoder, encodeAgentMessage, parseAgentMessage, PROTOCOL_VERSION } from '@atp/protocol';
import type { AgentMessage, HelloBody, ObservedEvent, WelcomeBody } from '@atp/protocol';

export interface HubConnection {
  index: number;
  transport: 'tcp' | 'ws' | 'virtio';
  hello?: HelloBody;
  welcome?: WelcomeBody;
  /** Seqs received on this connection, in arrival order. */
  seqs: number[];
  send(message: AgentMessage): void;
  close(): void;
}

export interface TestHubOptions {
  token?: string;
  heartbeatMs?: number;
  /** Fixed ports, for restart(). Default: any free port. */
  tcpPort?: number;
  wsPort?: number;
}

export class TestHub {
  token: string;
  heartbeatMs: number;
  /** When false, batches are recorded but not acknowledged. */
  acking = true;
  /** After the welcome, ignore everything (no acks, no pongs): a hung host. */
  mute = false;
  /** Drop the next events batch unread and disconnect. */
  cutNextBatch = false;
  readonly connections: HubConnection[] = [];
  /** Every message from agents, in arrival order. */
  readonly messages: AgentMessage[] = [];
  /** First arrival of each seq per boot id, in arrival order. */
  readonly events = new Map<string, ObservedEvent[]>();
  private readonly highest = new Map<string, number>();
  private tcp: net.Server | undefined;
  private httpServer: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly live = new Set<HubConnection>();
  tcpPort = 0;
  wsPort = 0;

  private constructor(options: TestHubOptions) {
    this.token = options.token ?? 'secret';
    this.heartbeatMs = options.heartbeatMs ?? 1_000;
    this.tcpPort = options.tcpPort ?? 0;
    this.wsPort = options.wsPort ?? 0;
  }

  static async start(options: TestHubOptions = {}): Promise<TestHub> {
    const hub = new TestHub(options);
    await hub.listen();
    return hub;
  }

  get tcpEndpoint(): string {
    return `127.0.0.1:${this.tcpPort}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.wsPort}/agent`;
  }

  uniqueSeqs(bootId: string): number[] {
    return (this.events.get(bootId) ?? []).map((e) => e.seq);
  }

  /** Destroys every open connection (the listeners stay). */
  dropAll(): void {
    for (const c of [...this.live]) c.close();
  }

  /** Stops listening and drops everything; state (events, acks) survives, as a hub's journal would. */
  async stop(): Promise<void> {
    this.dropAll();
    await Promise.all([
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => {
        this.wss?.close();
        if (this.httpServer) this.httpServer.close(() => resolve());
        else resolve();
      }),
    ]);
    this.tcp = undefined;
    this.httpServer = undefined;
    this.wss = undefined;
  }

  /** New listeners on the same ports. */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen();
  }

  private async listen(): Promise<void> {
    this.tcp = net.createServer((socket) => this.acceptTcp(socket));
    await new Promise<void>((resolve, reject) => {
      this.tcp?.once('error', reject);
      this.tcp?.listen(this.tcpPort, '127.0.0.1', () => resolve());
    });
    this.tcpPort = (this.tcp.address() as AddressInfo).port;
    this.httpServer = http.createServer((_req, res) => res.writeHead(404).end());
    this.wss = new WebSocketServer({ server: this.httpServer });
    this.wss.on('connection', (ws) => this.acceptWs(ws));
    await new Promise<void>((resolve, reject) => {
      this.httpServer?.once('error', reject);
      this.httpServer?.listen(this.wsPort, '127.0.0.1', () => resolve());
    });
    this.wsPort = (this.httpServer.address() as AddressInfo).port;
  }

  private acceptTcp(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.attachStream('tcp', socket, socket, () => socket.destroy());
  }

  /** Serves one agent over any byte stream pair (TCP socket, or the FIFO pair standing in for virtio-serial). */
  attachStream(transport: 'tcp' | 'virtio', input: Readable, output: Writable, destroy: () => void): HubConnection {
    const decoder = new AgentMessageDecoder({ source: 'test agent' });
    const conn = this.register(transport, (m) => output.write(encodeAgentMessage(m)), destroy);
    input.on('data', (chunk: Buffer) => {
      for (const item of decoder.push(chunk)) if (item.kind === 'message' && this.live.has(conn)) this.onMessage(conn, item.message);
    });
    input.on('close', () => this.live.delete(conn));
    input.on('error', () => undefined);
    output.on('error', () => undefined);
    return conn;
  }

  private acceptWs(ws: WebSocket): void {
    const conn = this.register('ws', (m) => ws.send(JSON.stringify(m)), () => ws.terminate());
    ws.on('message', (data: Buffer) => {
      if (this.live.has(conn)) this.onMessage(conn, parseAgentMessage(JSON.parse(data.toString('utf8')) as unknown, 'test agent'));
    });
    ws.on('close', () => this.live.delete(conn));
    ws.on('error', () => undefined);
  }

  private register(transport: HubConnection['transport'], write: (m: AgentMessage) => void, destroy: () => void): HubConnection {
    const conn: HubConnection = {
      index: this.connections.length,
      transport,
      seqs: [],
      send: (m) => {
        if (this.live.has(conn)) write(m);
      },
      close: () => {
        this.live.delete(conn);
        destroy();
      },
    };
    this.connections.push(conn);
    this.live.add(conn);
    return conn;
  }

  private onMessage(conn: HubConnection, msg: AgentMessage): void {
    this.messages.push(msg);
    if (this.mute && msg.type !== 'hello') return;
    const send = (type: string, body: unknown): void => conn.send({ v: PROTOCOL_VERSION, type, body } as AgentMessage);
    if (msg.type === 'hello') {
      conn.hello = msg.body;
      if (msg.body.token !== this.token) {
        send('error', { code: 'ATP_HUB_AUTH', message: `token refused for agent ${msg.body.agentId}`, fatal: true });
        setTimeout(() => conn.close(), 20);
        return;
      }
      const acked = this.highest.get(msg.body.bootId);
      conn.welcome = { sessionId: `s${conn.index}`, ackedSeq: acked ?? null, hostTime: Date.now(), heartbeatMs: this.heartbeatMs };
      send('welcome', conn.welcome);
    } else if (msg.type === 'events') {
      if (this.cutNextBatch) {
        this.cutNextBatch = false;
        this.messages.pop();
        conn.close();
        return;
      }
      const list = this.events.get(msg.body.bootId) ?? [];
      this.events.set(msg.body.bootId, list);
      let top = this.highest.get(msg.body.bootId) ?? 0;
      for (const e of msg.body.events) {
        conn.seqs.push(e.seq);
        if (e.seq > top) {
          list.push(e);
          top = e.seq;
        }
      }
      this.highest.set(msg.body.bootId, top);
      if (this.acking) send('ack', { bootId: msg.body.bootId, seq: top });
    } else if (msg.type === 'ping') {
      send('pong', { id: msg.body.id, t1: msg.body.t1, t2: Date.now(), t3: Date.now() });
    }
  }

  /** Acknowledges everything held for `bootId` on every live connection (after acking was off). */
  ackAll(bootId: string): void {
    const seq = this.highest.get(bootId);
    if (seq === undefined) return;
    for (const c of this.live) c.send({ v: PROTOCOL_VERSION, type: 'ack', body: { bootId, seq } });
  }

  liveConnections(): HubConnection[] {
    return [...this.live];
  }

  async close(): Promise<void> {
    await this.stop();
  }
}

/** Polls `condition` until true or throws after timeoutMs (tests wait for states, never sleep-and-hope). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
