/**
 * The host side of a virtio-serial port: QEMU's chardev unix socket
 * (`-chardev socket,id=c0,path=SOCK,server=on,wait=off` + `virtserialport,
 * chardev=c0,name=org.atp.agent.0`). The hub connects to it as a client and
 * reconnects with backoff whenever it drops (QEMU restarted, VM destroyed).
 * Each connection is persistent: agents inside the guest come and go over it,
 * each starting with a fresh hello. The target is any StreamTarget: the local
 * socket path, or a factory (an SSH forward to the socket on a remote
 * hypervisor), called again on every reconnect.
 */
import type { Duplex } from 'node:stream';
import { AtpError, backoffDelay, type BackoffOptions } from '@atp/protocol';
import { describeTarget, openStream, type StreamTarget } from '../vm/connect.js';
import { StreamConnection } from './stream-connection.js';
import type { Listener, MessageConnection } from './types.js';

export interface VirtioClientOptions {
  /** The chardev socket: its path on this machine, or a factory for a stream to it. */
  target: StreamTarget;
  /** For humans and status: the port name, e.g. org.atp.agent.0. */
  name?: string;
  maxFrameBytes: number;
  backoff?: BackoffOptions;
  connectTimeoutMs?: number;
}

export type VirtioState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

export interface VirtioStatus {
  /** The socket path, or 'custom stream' for a factory. */
  path: string;
  state: VirtioState;
  /** Successful connections so far. */
  connects: number;
  /** Failed attempts and drops so far. */
  failures: number;
  lastError: AtpError | undefined;
}

export class VirtioClient implements Listener {
  readonly kind = 'virtio' as const;
  private state: VirtioState = 'idle';
  private socket: Duplex | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private connects = 0;
  private failures = 0;
  private lastError: AtpError | undefined;
  private readonly watchers = new Set<(status: VirtioStatus) => void>();

  constructor(private readonly options: VirtioClientOptions) {}

  describe(): string {
    return `virtio-serial ${this.options.name ?? ''} at ${this.where()}`.replace('  ', ' ');
  }

  status(): VirtioStatus {
    return { path: this.where(), state: this.state, connects: this.connects, failures: this.failures, lastError: this.lastError };
  }

  /** Calls `watcher` on every state change; returns the unsubscribe function. */
  watch(watcher: (status: VirtioStatus) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  async start(onConnection: (connection: MessageConnection) => void): Promise<void> {
    if (this.state !== 'idle') return;
    void this.connectLoop(onConnection);
  }

  async close(): Promise<void> {
    this.setState('closed');
    clearTimeout(this.timer);
    this.socket?.destroy();
  }

  private async connectLoop(onConnection: (connection: MessageConnection) => void): Promise<void> {
    if (this.state === 'closed') return;
    this.setState('connecting');
    let socket: Duplex;
    try {
      socket = await openStream(this.options.target, this.options.connectTimeoutMs ?? 5000, 'ATP_HUB_CHANNEL');
    } catch (error) {
      this.failures++;
      this.lastError = error instanceof AtpError ? error : new AtpError('ATP_HUB_CHANNEL', String(error));
      this.retry(onConnection);
      return;
    }
    if (this.stopped()) {
      socket.destroy();
      return;
    }
    this.attempt = 0;
    this.connects++;
    this.socket = socket;
    // A factory's stream may emit 'error' before 'close' (an SSH channel failing).
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.socket = undefined;
      if (this.state === 'closed') return;
      this.failures++;
      this.lastError = new AtpError('ATP_HUB_CHANNEL', `the virtio-serial channel ${this.where()} closed (QEMU gone?)`);
      this.retry(onConnection);
    });
    this.setState('connected');
    onConnection(new StreamConnection(socket, 'virtio', this.where(), true, this.options.maxFrameBytes));
  }

  private retry(onConnection: (connection: MessageConnection) => void): void {
    if (this.state === 'closed') return;
    this.setState('waiting');
    const delay = backoffDelay(this.attempt++, this.options.backoff);
    this.timer = setTimeout(() => void this.connectLoop(onConnection), delay);
  }

  private where(): string {
    return describeTarget(this.options.target);
  }

  /** Read through a method: the state changes while we await. */
  private stopped(): boolean {
    return this.state === 'closed';
  }

  private setState(state: VirtioState): void {
    this.state = state;
    const status = this.status();
    for (const w of this.watchers) w(status);
  }
}
