/**
 * A scriptable SPICE server for the client's fault tests: the real link
 * handshake (RSA-1024 ticket key, OAEP-SHA1 ticket, mini headers) on a unix
 * socket, the main / inputs / display channels' usual first messages, a log of
 * every client message it decoded, and knobs for faults a real QEMU cannot be
 * made to produce (malformed messages, silence, withheld motion acks, dropping
 * clients while still listening). Built on the codecs under test, used only
 * where a real QEMU cannot produce the fault.
 */
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DisplayEndpoint } from '../src/display/endpoint.js';
import { encodeFrame, FrameDecoder, type SpiceFrame } from '../src/display/spice/codec.js';
import { ChannelType } from '../src/display/spice/constants.js';
import { decodeDisplayClientMessage, encodeDisplayServerMessage } from '../src/display/spice/display-codec.js';
import { decodeInputsClientMessage, encodeInputsServerMessage } from '../src/display/spice/inputs-codec.js';
import { capsWords, decodeLinkMess, encodeLinkReply, encodeLinkResult } from '../src/display/spice/link-codec.js';
import { decodeMainClientMessage, encodeMainServerMessage } from '../src/display/spice/main-codec.js';

export interface FakeSpiceOptions {
  password?: string;
  /** Mouse mode flags offered and current (default both offered, server current). */
  supportedModes?: number;
  currentMode?: number;
  /** Replace the main INIT body (malformed-message tests); null = never send INIT. */
  initBody?: Uint8Array | null;
  /** Ack every 4th motion (default true). */
  ackMotions?: boolean;
  surface?: { width: number; height: number };
}

export interface Received {
  channel: number;
  message: { kind: string } & Record<string, unknown>;
}

export class FakeSpiceServer {
  readonly received: Received[] = [];
  readonly sockets = new Map<number, net.Socket>();
  private readonly all = new Set<net.Socket>();
  private readonly key = generateKeyPairSync('rsa', { modulusLength: 1024 });
  private mode: number;
  private motions = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly dir: string,
    readonly endpoint: DisplayEndpoint,
    private readonly options: FakeSpiceOptions,
  ) {
    this.mode = options.currentMode ?? 1;
    server.on('connection', (socket) => void this.serve(socket));
  }

  static async start(options: FakeSpiceOptions = {}): Promise<FakeSpiceServer> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-fakespice-'));
    const sock = path.join(dir, 'spice.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    const endpoint: DisplayEndpoint = { protocol: 'spice', address: { kind: 'unix', path: sock }, ...(options.password === undefined ? {} : { password: options.password }) };
    return new FakeSpiceServer(server, dir, endpoint, options);
  }

  /** Sends a frame on the channel's latest connection. */
  send(channel: number, frame: SpiceFrame): void {
    this.sockets.get(channel)?.write(encodeFrame('mini', frame.type, frame.body));
  }

  /** Closes every client connection but keeps listening (what QEMU does when another client links). */
  dropClients(): void {
    for (const s of this.all) s.destroy();
  }

  /** Stops listening and drops every client (the server is gone). */
  async stop(): Promise<void> {
    await new Promise((resolve) => {
      this.server.close(resolve);
      this.dropClients();
    });
    await rm(this.dir, { recursive: true, force: true });
  }

  async waitFor(done: (received: Received[]) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.received)) {
      if (Date.now() > deadline) throw new Error(`fake SPICE server did not receive ${what}; got ${JSON.stringify(this.received.map((r) => r.message.kind))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async serve(socket: net.Socket): Promise<void> {
    this.all.add(socket);
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let wake: (() => void) | undefined;
    socket.on('data', (d: Buffer) => {
      buffer = Buffer.concat([buffer, d]);
      wake?.();
    });
    const read = async (n: number): Promise<Buffer> => {
      while (buffer.byteLength < n) await new Promise<void>((r) => (wake = r));
      const out = buffer.subarray(0, n);
      buffer = buffer.subarray(n);
      return out;
    };
    const header = await read(16);
    const mess = decodeLinkMess(new Uint8Array(await read(header.readUInt32LE(12))));
    if (!mess.ok) return void socket.destroy();
    const der = new Uint8Array(this.key.publicKey.export({ type: 'spki', format: 'der' }));
    socket.write(encodeLinkReply({ error: 0, publicKey: der, commonCaps: capsWords([0, 1, 3]), channelCaps: [] }));
    await read(4);
    const ticket = privateDecrypt({ key: this.key.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, await read(128));
    const ok = ticket.toString('utf8') === `${this.options.password ?? ''}\0`;
    socket.write(encodeLinkResult(ok ? 0 : 7));
    if (!ok) return void socket.end();
    const channel = mess.value.channelType;
    this.sockets.set(channel, socket);
    this.greet(channel);
    const frames = new FrameDecoder('mini');
    const onBytes = (d: Uint8Array): void => {
      for (const item of frames.push(d)) if (item.kind === 'frame') this.onClientFrame(channel, item.frame);
    };
    socket.removeAllListeners('data');
    socket.on('data', onBytes);
    if (buffer.byteLength > 0) onBytes(new Uint8Array(buffer));
  }

  private greet(channel: number): void {
    const o = this.options;
    if (channel === ChannelType.main && o.initBody !== null) {
      const init = encodeMainServerMessage({ kind: 'init', sessionId: 42, displayChannelsHint: 1, supportedMouseModes: o.supportedModes ?? 3, currentMouseMode: this.mode, agentConnected: 0, agentTokens: 0, multiMediaTime: 0, ramHint: 0 });
      this.send(channel, o.initBody === undefined ? init : { type: init.type, body: o.initBody });
    }
    if (channel === ChannelType.inputs) this.send(channel, encodeInputsServerMessage({ kind: 'init', modifiers: 2 }));
  }

  private onClientFrame(channel: number, frame: SpiceFrame): void {
    const decode = channel === ChannelType.main ? decodeMainClientMessage : channel === ChannelType.inputs ? decodeInputsClientMessage : decodeDisplayClientMessage;
    const decoded = decode(frame.type, frame.body);
    if (!decoded.ok) throw decoded.error;
    const message = decoded.value as Received['message'];
    this.received.push({ channel, message });
    if (message.kind === 'attachChannels') {
      this.send(channel, encodeMainServerMessage({ kind: 'channelsList', channels: [{ type: 1, id: 0 }, { type: 2, id: 0 }, { type: 3, id: 0 }] }));
    } else if (message.kind === 'mouseModeRequest') {
      this.mode = Number(message.mode);
      this.send(channel, encodeMainServerMessage({ kind: 'mouseMode', supported: this.options.supportedModes ?? 3, current: this.mode }));
    } else if (message.kind === 'mouseMotion' || message.kind === 'mousePosition') {
      if (++this.motions % 4 === 0 && this.options.ackMotions !== false) this.send(channel, encodeInputsServerMessage({ kind: 'motionAck' }));
    } else if (message.kind === 'init' && channel === ChannelType.display) {
      const s = this.options.surface ?? { width: 1024, height: 768 };
      this.send(channel, encodeDisplayServerMessage({ kind: 'surfaceCreate', surfaceId: 0, width: s.width, height: s.height, format: 32, flags: 1 }));
    }
  }

  /** Motion acks the server owes but withheld (ackMotions: false): send them now. */
  ackOwedMotions(): void {
    for (let i = 0; i < Math.floor(this.motions / 4); i++) this.send(ChannelType.inputs, encodeInputsServerMessage({ kind: 'motionAck' }));
  }
}
