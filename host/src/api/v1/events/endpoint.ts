/**
 * The /api/v1/events WebSocket endpoint (the message protocol is in
 * protocol-schemas/src/api/events.ts). Before the handshake an upgrade is
 * refused with a plain HTTP status and the API's JSON error body: a token in
 * the URL (401), a foreign Origin (403), a wrong bearer header (401), too
 * many clients (503). An upgrade with neither a session cookie nor a bearer
 * header is accepted and must authenticate with its first message.
 *
 * Publishing into the event log only schedules a flush (setImmediate): the
 * publisher never waits for the fan-out, a burst goes out in one pass, and
 * each event's frame is serialised once for all clients. Clients that do not
 * answer keep-alive pings are dropped.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { AtpError, EVENTS_CLOSE_CODES, type ApiEvent } from '@atp/protocol';
import { refuseUpgrade } from '../../ws-upgrade.js';
import type { ApiAuth } from '../auth.js';
import type { EventLog } from '../event-log.js';
import { errorBody, statusOf } from '../http-errors.js';
import { EventsConnection, type EventsConnectionSettings } from './connection.js';

export const EVENTS_PATH = '/api/v1/events';

export interface EventsEndpointOptions {
  log: EventLog;
  auth: ApiAuth;
  /** Unread bytes at which the pump waits for the client (default 256 KiB). */
  highWaterBytes?: number;
  /** How long a client may leave highWaterBytes unread before it is closed (default 10 s). */
  stallMs?: number;
  /** Time to send the auth message (default 5 s). */
  authTimeoutMs?: number;
  /** Keep-alive ping period (default 30 s). */
  pingIntervalMs?: number;
  /** Open connections allowed (default 256). */
  maxClients?: number;
  /** After a close frame, how long the peer has to answer (default 5 s). */
  closeGraceMs?: number;
  /** Where the endpoint's own log lines go (the server log). */
  note?: (line: string) => void;
}

/** What a test or the metrics see of one client. */
export interface EventsClientStats {
  subscribed: boolean;
  eventsSent: number;
  buffered: number;
  maxBuffered: number;
}

const FRAME_CACHE_BYTES = 4 * 1024 * 1024;
const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;

export class EventsEndpoint {
  /** New each server start: indexes restart from 1. */
  readonly epoch = randomUUID();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES, perMessageDeflate: false });
  private readonly connections = new Set<EventsConnection>();
  private readonly frames = new Map<number, Buffer>();
  private frameBytes = 0;
  private readonly settings: EventsConnectionSettings;
  private readonly unfollow: () => void;
  private readonly pinger: NodeJS.Timeout;
  private flushScheduled = false;
  private closed = false;

  constructor(private readonly options: EventsEndpointOptions) {
    const note = options.note ?? ((): void => undefined);
    this.settings = {
      log: options.log,
      auth: options.auth,
      epoch: this.epoch,
      highWaterBytes: options.highWaterBytes ?? 256 * 1024,
      stallMs: options.stallMs ?? 10_000,
      authTimeoutMs: options.authTimeoutMs ?? 5_000,
      closeGraceMs: options.closeGraceMs ?? 5_000,
      frame: (event) => this.frame(event),
      note,
    };
    this.unfollow = options.log.follow(options.log.lastIndex, () => this.schedule());
    this.pinger = setInterval(() => {
      for (const c of this.connections) c.ping();
    }, options.pingIntervalMs ?? 30_000);
    this.pinger.unref();
  }

  get clientCount(): number {
    return this.connections.size;
  }

  stats(): EventsClientStats[] {
    return [...this.connections].map((c) => ({ subscribed: c.subscribed, eventsSent: c.eventsSent, buffered: c.buffered, maxBuffered: c.maxBuffered }));
  }

  /** The router's handler for upgrades of EVENTS_PATH. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed) {
      refuseUpgrade(socket, 503);
      return;
    }
    let authenticated = false;
    try {
      this.options.auth.check({ method: 'GET', url: request.url ?? '/', headers: request.headers });
      authenticated = true;
    } catch (error) {
      // Neither cookie nor bearer header: the first message must authenticate. A token in the URL, a wrong
      // bearer header or a foreign Origin is refused before the handshake.
      const later = error instanceof AtpError && error.code === 'ATP_API_AUTH' && error.details['where'] !== 'query' && request.headers.authorization === undefined;
      if (!later) {
        this.refuse(socket, error);
        return;
      }
    }
    if (this.connections.size >= (this.options.maxClients ?? 256)) {
      this.refuse(socket, new AtpError('ATP_API_EVENTS_LIMIT', `${this.connections.size} event clients already connected`), 503);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const raw = request.socket;
      raw.setNoDelay(true);
      if (this.closed) {
        ws.close(EVENTS_CLOSE_CODES.shutdown, 'server stopping');
        return;
      }
      this.connections.add(new EventsConnection(ws, raw, this.settings, authenticated, (c) => this.connections.delete(c)));
    });
  }

  /** Drops every connection at once (the clients see the link cut and resume); the endpoint stays open. */
  dropConnections(): number {
    const open = [...this.connections];
    for (const c of open) c.terminate();
    return open.length;
  }

  /** Closes every client (1001) and stops following the log. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pinger);
    this.unfollow();
    const open = [...this.connections];
    for (const c of open) c.close(EVENTS_CLOSE_CODES.shutdown, 'server stopping');
    const deadline = Date.now() + 1000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.connections) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private refuse(socket: Duplex, error: unknown, status?: number): void {
    if (!(error instanceof AtpError)) {
      refuseUpgrade(socket, 500);
      return;
    }
    this.settings.note(`events: refused an upgrade: ${error.code}: ${error.message}`);
    refuseUpgrade(socket, status ?? statusOf(error), errorBody(error));
  }

  private schedule(): void {
    if (this.flushScheduled || this.closed || this.connections.size === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const c of this.connections) c.catchUp();
    });
  }

  /** Frames are kept FIFO, up to FRAME_CACHE_BYTES, so a flush serialises each event once for all its clients. */
  private frame(event: ApiEvent): Buffer {
    let frame = this.frames.get(event.index);
    if (frame === undefined) {
      frame = Buffer.from(JSON.stringify({ type: 'event', event }));
      this.frames.set(event.index, frame);
      this.frameBytes += frame.length;
      for (const [index, old] of this.frames) {
        if (this.frameBytes <= FRAME_CACHE_BYTES || this.frames.size === 1) break;
        this.frames.delete(index);
        this.frameBytes -= old.length;
      }
    }
    return frame;
  }
}
