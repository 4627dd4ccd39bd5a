/**
 * Helpers for the /api/v1/events tests: a real server with the API on (its
 * own hub and event log; of the routes only /api/v1/metrics, so other areas'
 * routes do not take part), a plain events client, a client that resumes after
 * every cut, the HTTP answer of a refused upgrade, and a TCP proxy between a
 * client and the server that can cut the link (and stay down for a while) or
 * stop reading in one direction, to make a client look dead or slow.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { EventsServerMessageSchema, type ApiEvent, type EventsServerMessage, type EventsSubscribeMessage } from '@atp/protocol';
import { startServer, type ApiServer } from '../src/api/server.js';
import { EventLog } from '../src/api/v1/event-log.js';
import type { ApiContext } from '../src/api/v1/context.js';
import type { EventsEndpointOptions } from '../src/api/v1/events/endpoint.js';
import { metricsRoutes } from '../src/api/v1/routes/metrics.js';
import { AgentHub } from '../src/hub/index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface EventsRig {
  server: ApiServer;
  hub: AgentHub;
  context: ApiContext;
  events: EventLog;
  /** The API token and the hub's (agents') token. */
  token: string;
  hubToken: string;
  /** ws://127.0.0.1:PORT/api/v1/events */
  eventsUrl: string;
  origin: string;
  /** Lines the server logged. */
  lines: string[];
  close(): Promise<void>;
}

export async function startEventsRig(options: { capacity?: number; events?: Omit<EventsEndpointOptions, 'log' | 'auth' | 'note'>; hub?: AgentHub } = {}): Promise<EventsRig> {
  const token = randomBytes(16).toString('hex');
  const hubToken = randomBytes(16).toString('hex');
  const hub = options.hub ?? (await AgentHub.create({ auth: { tokens: [hubToken] } }));
  const events = new EventLog(options.capacity);
  const lines: string[] = [];
  const context: ApiContext = { hub, location: {}, events, log: (line) => lines.push(line), services: new Map() };
  const server = await startServer({
    hub,
    pageDir: path.join(os.tmpdir(), 'atp-no-such-page'),
    api: { token, context, routes: metricsRoutes(), ...(options.events === undefined ? {} : { events: options.events }) },
  });
  return {
    server,
    hub,
    context,
    events,
    token,
    hubToken,
    eventsUrl: `ws://127.0.0.1:${server.port}/api/v1/events`,
    origin: server.origins[0] ?? '',
    lines,
    async close() {
      await server.close();
      if (options.hub === undefined) await hub.close();
    },
  };
}

/** Signs in like the console does and returns the Cookie header value. */
export async function signIn(rig: EventsRig): Promise<string> {
  const response = await fetch(`${rig.server.httpUrl}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: rig.origin }, body: JSON.stringify({ token: rig.token }) });
  if (response.status !== 200) throw new Error(`sign-in answered ${response.status}: ${await response.text()}`);
  const cookie = response.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0] ?? '';
}

/** What a refused upgrade answered before any handshake. */
export function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error(`the upgrade of ${url} was accepted`));
    });
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (d: string) => (body += d));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.on('error', () => undefined);
  });
}

/** A plain client: every server message, in order, and how the connection closed. */
export class EventsTestClient {
  readonly messages: EventsServerMessage[] = [];
  closeInfo: { code: number; reason: string } | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.messages.push(EventsServerMessageSchema.parse(JSON.parse(data.toString('utf8')))));
    ws.on('close', (code, reason) => (this.closeInfo = { code, reason: reason.toString('utf8') }));
    ws.on('error', () => undefined);
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<EventsTestClient> {
    const ws = new WebSocket(url, { headers });
    const client = new EventsTestClient(ws);
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    return client;
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  get events(): ApiEvent[] {
    return this.messages.flatMap((m) => (m.type === 'event' ? [m.event] : []));
  }

  async next<T extends EventsServerMessage['type']>(type: T, timeoutMs = 10_000): Promise<Extract<EventsServerMessage, { type: T }>> {
    await until(() => this.messages.some((m) => m.type === type) || this.closeInfo !== undefined, `a '${type}' message`, timeoutMs);
    const found = this.messages.find((m): m is Extract<EventsServerMessage, { type: T }> => m.type === type);
    if (found === undefined) throw new Error(`closed (${this.closeInfo?.code} ${this.closeInfo?.reason}) before a '${type}' message`);
    return found;
  }

  async closed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    await until(() => this.closeInfo !== undefined, 'the connection to close', timeoutMs);
    return this.closeInfo ?? { code: 0, reason: '' };
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Polls `check` until it holds; the failure names what was waited for. */
export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A client as a script would write it: token in its first message, and after
 * every cut it reconnects and subscribes after the last index it saw.
 */
export class ResumingClient {
  readonly events: ApiEvent[] = [];
  readonly gaps: number[] = [];
  connections = 0;
  private ws: WebSocket | undefined;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly url: () => string,
    private readonly token: string,
    private readonly filter: Omit<EventsSubscribeMessage, 'type' | 'after'> = {},
  ) {
    this.loop = this.run();
  }

  get lastIndex(): number {
    return this.events.at(-1)?.index ?? 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.ws?.terminate();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.once().catch(() => undefined);
      if (!this.stopped) await sleep(30);
    }
  }

  private once(): Promise<void> {
    return new Promise<void>((resolve) => {
      const ws = new WebSocket(this.url());
      this.ws = ws;
      ws.on('open', () => {
        this.connections++;
        ws.send(JSON.stringify({ type: 'auth', token: this.token }));
      });
      ws.on('message', (data: Buffer) => {
        const message = EventsServerMessageSchema.parse(JSON.parse(data.toString('utf8')));
        if (message.type === 'ready') ws.send(JSON.stringify({ type: 'subscribe', after: this.lastIndex, ...this.filter }));
        else if (message.type === 'event') this.events.push(message.event);
        else if (message.type === 'gap') this.gaps.push(message.oldest);
      });
      ws.on('error', () => undefined);
      ws.on('close', () => resolve());
    });
  }
}

/**
 * A TCP proxy on 127.0.0.1: `cut()` destroys every link and refuses new ones
 * for `downMs`; `hold(direction)` stops reading one side (the other side's
 * writes pile up in its buffers, as with a peer that stopped reading).
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly links = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private held = { fromServer: false, fromClient: false };
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => this.link(client));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
    this.server = server;
    const address = server.address();
    if (typeof address === 'object' && address !== null) this.port = address.port;
  }

  /** Drops every link; new connections are refused until `downMs` has passed. */
  async cut(downMs = 0): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const { client, upstream } of this.links) {
      client.destroy();
      upstream.destroy();
    }
    this.links.clear();
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
    if (downMs > 0) await sleep(downMs);
    await this.start();
  }

  /** Stops (true) or resumes (false) reading what one side sends. */
  hold(direction: 'fromServer' | 'fromClient', on: boolean): void {
    this.held[direction] = on;
    for (const { client, upstream } of this.links) {
      const source = direction === 'fromServer' ? upstream : client;
      if (on) source.pause();
      else source.resume();
    }
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.links) {
      client.destroy();
      upstream.destroy();
    }
    this.links.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }

  private link(client: net.Socket): void {
    const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
    const pair = { client, upstream };
    this.links.add(pair);
    const forward = (from: net.Socket, to: net.Socket, direction: 'fromServer' | 'fromClient'): void => {
      from.on('data', (chunk: Buffer) => {
        if (!to.write(chunk)) from.pause();
      });
      to.on('drain', () => {
        if (!this.held[direction]) from.resume();
      });
      if (this.held[direction]) from.pause();
    };
    forward(upstream, client, 'fromServer');
    forward(client, upstream, 'fromClient');
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.links.delete(pair);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
