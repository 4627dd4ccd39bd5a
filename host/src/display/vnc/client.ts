/**
 * An RFB 3.8 client for QEMU's VNC server, as far as a thin client needs to
 * put keyboard and mouse input in: connect (TCP or unix socket), handshake
 * with security None or VNC authentication, shared ClientInit, SetEncodings
 * (QEMU extended key event, DesktopSize, LED state), one 1x1 framebuffer
 * update request, then a reader that keeps decoding what the server sends
 * (pseudo-encoding rectangles move `surface` and `extendedKeyEvents`; pixels
 * are skipped) while `write` sends input. Hand-written on the pure codecs in
 * this folder: an input-only RFB client is small, and it needs QEMU's
 * extended key event, measured handshake times and ATP's typed errors, which
 * a general viewer library would have to be wrapped to give.
 *
 * Why LED state (-261): QEMU's "lock key sync" otherwise injects CapsLock and
 * NumLock presses of its own when a key's keysym disagrees with the lock
 * state it tracks; a client announcing LED state turns that off, so the guest
 * sees exactly the keys sent.
 *
 * Errors: ATP_VNC_CONNECT (socket or no handshake in time; names the endpoint
 * via describeEndpoint, never the password), ATP_VNC_AUTH, ATP_VNC_PROTOCOL,
 * ATP_VNC_CLOSED (connection gone: every pending and later write rejects at
 * once; a write the server does not take within writeTimeoutMs drops the
 * connection the same way, so nothing hangs).
 */
import net from 'node:net';
import { AtpError } from '@atp/protocol';
import { hostNow } from '../../util/clock.js';
import { timerDelay } from '../../util/timers.js';
import { describeEndpoint, type DisplayEndpoint } from '../endpoint.js';
import { handshake, type HandshakeResult } from './handshake.js';
import { Inbox } from './inbox.js';
import { encodeClientMessages, ENCODING, ServerMessageDecoder, type ClientMessage, type ServerMessage } from './messages-codec.js';

export interface VncConnectOptions {
  /** Deadline for connect, handshake and the server's first answer (default 10 000 ms). */
  timeoutMs?: number;
  /** A write not taken by the server within this drops the connection (default 10 000 ms). */
  writeTimeoutMs?: number;
  /** Announce the QEMU extended key event pseudo-encoding (default true). */
  extendedKeys?: boolean;
  /** Called for each server message after the handshake (tests, diagnostics). */
  onMessage?: (message: ServerMessage) => void;
}

export interface VncTimings {
  /** Socket open. */
  connectMs: number;
  /** Through ServerInit (version, security, auth, init). */
  handshakeMs: number;
  /** Through the server's answer to SetEncodings and the first update request: extended-key support known. */
  readyMs: number;
}

export interface VncSurface {
  readonly width: number;
  readonly height: number;
}

function openSocket(endpoint: DisplayEndpoint, deadline: Promise<never>): Promise<net.Socket> {
  const a = endpoint.address;
  const socket = a.kind === 'unix' ? net.createConnection({ path: a.path }) : net.createConnection({ host: a.host, port: a.port });
  const opened = new Promise<net.Socket>((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('error', reject);
      if (a.kind === 'tcp') socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (cause: Error) =>
      reject(new AtpError('ATP_VNC_CONNECT', `cannot connect to the VNC server ${describeEndpoint(endpoint)}: ${cause.message}`, { cause, details: { endpoint: describeEndpoint(endpoint) } })),
    );
  });
  return Promise.race([opened, deadline]).catch((error: unknown) => {
    socket.destroy();
    throw error;
  });
}

export class VncClient {
  private surfaceNow: VncSurface;
  private extKeys = false;
  private failure: AtpError | undefined;
  private readonly pending = new Set<(error: AtpError) => void>();
  private readonly firstAnswer: Promise<void>;
  private answered: { resolve: () => void; reject: (error: AtpError) => void } | undefined;
  private leds: number | undefined;
  /** Set by close(): the connection's end is then the owner's doing, not the server's. */
  private closing = false;

  constructor(
    readonly endpoint: DisplayEndpoint,
    private readonly socket: net.Socket,
    readonly session: HandshakeResult,
    leftover: Uint8Array,
    private readonly options: VncConnectOptions,
  ) {
    this.surfaceNow = { width: session.serverInit.width, height: session.serverInit.height };
    this.firstAnswer = new Promise((resolve, reject) => (this.answered = { resolve, reject }));
    this.firstAnswer.catch(() => undefined);
    const decoder = new ServerMessageDecoder({ bytesPerPixel: session.serverInit.pixelFormat.bitsPerPixel / 8 });
    const feed = (chunk: Uint8Array): void => {
      for (const item of decoder.push(chunk)) {
        if (item.kind === 'error') return this.fail(item.error, true);
        this.onMessage(item.message);
      }
    };
    socket.on('data', feed);
    const where = describeEndpoint(endpoint);
    socket.on('error', (cause: Error) => this.fail(new AtpError('ATP_VNC_CLOSED', `the VNC connection to ${where} failed: ${cause.message}`, { cause, details: { endpoint: where } })));
    socket.on('end', () => this.fail(new AtpError('ATP_VNC_CLOSED', `the VNC server ${where} closed the connection`, { details: { endpoint: where } })));
    socket.on('close', () => this.fail(new AtpError('ATP_VNC_CLOSED', `the VNC connection to ${where} closed`, { details: { endpoint: where } })));
    if (leftover.byteLength > 0) feed(leftover);
  }

  /** The framebuffer size the server's pointer coordinates refer to (ServerInit, then DesktopSize). */
  get surface(): VncSurface {
    return this.surfaceNow;
  }

  /** Did the server announce the QEMU extended key event (-258)? */
  get extendedKeyEvents(): boolean {
    return this.extKeys;
  }

  /** The last LED state the server sent (bit 0 scroll, 1 num, 2 caps lock), if any. */
  get ledState(): number | undefined {
    return this.leds;
  }

  /** Why the connection is down, once it is. */
  get closedError(): AtpError | undefined {
    return this.failure;
  }

  private onMessage(message: ServerMessage): void {
    if (message.type === 'framebufferUpdate') {
      for (const rect of message.rects) {
        if (rect.encoding === ENCODING.qemuExtendedKeyEvent) this.extKeys = true;
        else if (rect.encoding === ENCODING.desktopSize || rect.encoding === ENCODING.extendedDesktopSize) this.surfaceNow = { width: rect.width, height: rect.height };
        else if (rect.encoding === ENCODING.ledState) this.leds = rect.leds;
      }
      // The answer to the update request: an update that is not only pseudo-encoding rectangles (QEMU sends those unasked).
      const pseudoOnly = message.rects.length > 0 && message.rects.every((rect) => rect.encoding < 0);
      if (this.extKeys || !pseudoOnly) this.answered?.resolve();
    }
    this.options.onMessage?.(message);
  }

  /** Resolves once the server answered SetEncodings / the update request, or rejects when the connection fails first. */
  ready(): Promise<void> {
    return this.failure !== undefined ? Promise.reject(this.failure) : this.firstAnswer;
  }

  private ownerClosed(): AtpError {
    const where = describeEndpoint(this.endpoint);
    return new AtpError('ATP_VNC_CLOSED', `the VNC client for ${where} was closed by its owner`, { details: { endpoint: where } });
  }

  private fail(error: AtpError, destroy = false): void {
    if (this.failure !== undefined) return;
    this.failure = this.closing ? this.ownerClosed() : error;
    this.answered?.reject(error);
    for (const reject of this.pending) reject(error);
    this.pending.clear();
    if (destroy) this.socket.destroy();
  }

  /** Sends client messages in one write; `beforeWrite` runs right before the bytes go to the socket. */
  send(messages: readonly ClientMessage[], beforeWrite?: () => void): Promise<void> {
    return this.write(encodeClientMessages(messages), beforeWrite);
  }

  /** Writes bytes; resolves once the kernel has them, rejects ATP_VNC_CLOSED when the connection is or goes down. */
  write(bytes: Uint8Array, beforeWrite?: () => void): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = this.options.writeTimeoutMs ?? 10_000;
      const done = (error?: AtpError): void => {
        clearTimeout(timer);
        this.pending.delete(done);
        if (error === undefined) resolve();
        else reject(error);
      };
      const timer = setTimeout(() => {
        const where = describeEndpoint(this.endpoint);
        this.fail(new AtpError('ATP_VNC_CLOSED', `the VNC server ${where} did not take ${bytes.byteLength} bytes within ${timeoutMs} ms; connection dropped`, { details: { endpoint: where, timeoutMs } }), true);
      }, timerDelay(timeoutMs));
      this.pending.add(done);
      beforeWrite?.();
      this.socket.write(bytes, (error) => {
        if (error) this.fail(new AtpError('ATP_VNC_CLOSED', `writing to the VNC server ${describeEndpoint(this.endpoint)} failed: ${error.message}`, { cause: error }), true);
        else done();
      });
    });
  }

  /** Ends the connection (pending writes flush first, for up to a second). Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.socket.destroyed) return this.fail(this.ownerClosed());
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    await closed;
    clearTimeout(timer);
  }
}

/**
 * Connects, authenticates (endpoint.password, if any), initialises and waits
 * for the server's first answer, so `extendedKeyEvents` and `surface` hold.
 */
export async function connectVnc(endpoint: DisplayEndpoint, options: VncConnectOptions = {}): Promise<{ client: VncClient; timings: VncTimings }> {
  const where = describeEndpoint(endpoint);
  if (endpoint.protocol !== 'vnc') throw new AtpError('ATP_VNC_CONNECT', `${where} is not a VNC endpoint`, { details: { endpoint: where } });
  if (endpoint.tls !== undefined) throw new AtpError('ATP_VNC_CONNECT', `${where}: VNC over TLS (VeNCrypt) is not supported by this client`, { details: { endpoint: where } });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = hostNow();
  let phase = 'connecting';
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AtpError('ATP_VNC_CONNECT', `no complete VNC handshake with ${where} within ${timeoutMs} ms (waiting for: ${phase})`, { details: { endpoint: where, timeoutMs, phase } })), timerDelay(timeoutMs));
  });
  let socket: net.Socket | undefined;
  try {
    socket = await openSocket(endpoint, deadline);
    const connectMs = hostNow() - started;
    const inbox = new Inbox();
    const opened = socket;
    const onData = (chunk: Buffer): void => inbox.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const onGone = (): void => inbox.end(new AtpError('ATP_VNC_CONNECT', `the VNC server ${where} closed the connection during the handshake (while waiting for: ${phase})`, { details: { endpoint: where, phase } }));
    opened.on('data', onData);
    opened.once('end', onGone);
    opened.once('close', onGone);
    opened.on('error', () => undefined);
    const session = await Promise.race([
      handshake(endpoint, inbox, (bytes) => void opened.write(bytes), (p) => (phase = p)),
      deadline,
    ]);
    const handshakeMs = hostNow() - started;
    opened.off('data', onData);
    opened.off('end', onGone);
    opened.off('close', onGone);
    const client = new VncClient(endpoint, opened, session, inbox.drain(), options);
    const encodings = [ENCODING.zrle, ENCODING.raw, ENCODING.desktopSize, ENCODING.ledState, ...(options.extendedKeys === false ? [] : [ENCODING.qemuExtendedKeyEvent])];
    phase = 'the answer to SetEncodings and a 1x1 framebuffer update request';
    await Promise.race([
      client.send([{ type: 'setEncodings', encodings }, { type: 'framebufferUpdateRequest', incremental: false, x: 0, y: 0, width: 1, height: 1 }]).then(() => client.ready()),
      deadline,
    ]);
    return { client, timings: { connectMs, handshakeMs, readyMs: hostNow() - started } };
  } catch (error) {
    socket?.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
