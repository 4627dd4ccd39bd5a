/**
 * QgaClient: one connection to a QEMU guest agent over any Duplex stream.
 * QGA replies carry no reliable correlation (newer agents echo a request `id`,
 * old ones and error replies to unparsable input do not), so commands run one
 * at a time from a FIFO queue, and the channel is resynchronised with
 * guest-sync-delimited on connect and after anything that may have left a
 * stale reply or half a line on it (timeout, garbage, unexpected delimiter).
 * If the agent echoed the sync's id, replies without our id are discarded too.
 * A command swallowed by garbage that reached the agent before it (an
 * unterminated JSON string, say) gets no reply: it fails ATP_QGA_TIMEOUT and
 * the channel is resynchronised; the 0xFF of that sync resets the agent's parser.
 */
import { randomInt } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import { AtpError } from '@atp/protocol';
import { describeTarget } from '../connect.js';
import { QGA_MAX_SYNC_ID, QgaDecoder, encodeCommand, encodeSyncDelimited, type QgaDecoded, type QgaReply } from './codec.js';
import { info, osInfo, ping, type QgaInfo } from './commands.js';
import { qgaCommandError, withTarget } from './errors.js';
import { exec, type ExecOptions, type ExecResult } from './exec.js';
import type { QgaExecuteOptions, QgaExecutor } from './executor.js';
import { download, upload, type DownloadOptions, type UploadOptions, type UploadResult } from './files.js';
import type { GuestOsInfo } from './messages.js';
import { openStream, type StreamTarget } from '../connect.js';
import { timerDelay } from '../../util/timers.js';

export type QgaTarget = StreamTarget;

export interface QgaClientOptions {
  connectTimeoutMs?: number;
  /** Default reply timeout per command. */
  timeoutMs?: number;
  /** Timeout of one guest-sync-delimited exchange. */
  syncTimeoutMs?: number;
  /** Largest reply line accepted (see QGA_MAX_REPLY_BYTES). */
  maxLineBytes?: number;
}

/** What the client threw away to stay in sync. */
export interface QgaDiscardStats {
  /** Bytes of garbage, partial lines and stale replies dropped (a lower bound for oversized lines). */
  discardedBytes: number;
  /** Lines dropped: garbage, stale replies, error replies to garbage (not the one parse error each sync's own 0xFF provokes). */
  discardedFrames: number;
  /** 0xFF bytes received. */
  delimiters: number;
  /** guest-sync-delimited exchanges completed. */
  syncs: number;
  /** onDiscard / onTerminated listeners that threw (counted, never propagated). */
  listenerFailures: number;
}

export interface QgaDiscardEvent {
  bytes: number;
  reason: string;
}

type Waiter =
  | { kind: 'sync'; syncId: number; id: string; afterDelimiter: boolean; provokedSeen: boolean; done: (echoesIds: boolean) => void; fail: (e: AtpError) => void }
  | { kind: 'reply'; command: string; id: string; done: (r: QgaReply) => void; fail: (e: AtpError) => void };

interface Job {
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class QgaClient implements QgaExecutor {
  readonly stats: QgaDiscardStats = { discardedBytes: 0, discardedFrames: 0, delimiters: 0, syncs: 0, listenerFailures: 0 };
  private readonly decoder: QgaDecoder;
  private readonly timeoutMs: number;
  private readonly syncTimeoutMs: number;
  private readonly queue: Job[] = [];
  private readonly discardListeners = new Set<(e: QgaDiscardEvent) => void>();
  private readonly terminatedListeners = new Set<(e: AtpError) => void>();
  private waiter: Waiter | undefined;
  private pumping = false;
  private needsSync = true;
  private failure: AtpError | undefined;
  private nextId = 1;
  /** Learned on sync: qemu-ga ≥ 2.x echoes request ids, so an id-less reply is not ours. */
  private echoesIds = false;
  private readonly session = randomInt(0, 2 ** 32).toString(16);

  private constructor(
    private readonly stream: Duplex,
    options: QgaClientOptions,
  ) {
    this.decoder = new QgaDecoder({ maxLineBytes: options.maxLineBytes });
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.syncTimeoutMs = options.syncTimeoutMs ?? 5_000;
    // A stream in string mode (setEncoding) has already mangled 0xFF; bytes are all we accept.
    stream.on('data', (chunk: unknown) => this.onData(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk));
    const lost = (cause?: Error): void =>
      this.terminate(new AtpError('ATP_QGA_DISCONNECTED', `guest agent channel closed${cause ? `: ${cause.message}` : ''}`, { cause }));
    stream.on('error', lost);
    stream.on('end', () => lost());
    stream.on('close', () => lost());
  }

  /** Opens the channel and synchronises it; rejects ATP_QGA_CONNECT or ATP_QGA_SYNC. */
  static async connect(target: QgaTarget, options: QgaClientOptions = {}): Promise<QgaClient> {
    const stream = await openStream(target, options.connectTimeoutMs ?? 5_000, 'ATP_QGA_CONNECT');
    const client = new QgaClient(stream, options);
    try {
      await client.sync();
    } catch (error) {
      client.close();
      throw withTarget(error, describeTarget(target));
    }
    return client;
  }

  /** Is the channel still usable? */
  get open(): boolean {
    return this.failure === undefined;
  }

  onDiscard(listener: (e: QgaDiscardEvent) => void): () => void {
    this.discardListeners.add(listener);
    return () => this.discardListeners.delete(listener);
  }

  /** Called once when the channel closes or the client is closed. */
  onTerminated(listener: (e: AtpError) => void): () => void {
    this.terminatedListeners.add(listener);
    return () => this.terminatedListeners.delete(listener);
  }

  execute<T = unknown>(command: string, args?: Readonly<Record<string, unknown>>, options: QgaExecuteOptions = {}): Promise<T> {
    return this.enqueue(async () => {
      // A partial line left while idle is garbage that would swallow our reply.
      if (this.needsSync || this.decoder.buffered > 0) await this.syncNow();
      const reply = await this.roundTrip(command, args, options.timeoutMs ?? this.timeoutMs);
      if (reply.kind === 'error') throw qgaCommandError(command, reply.errorClass, reply.desc);
      return reply.value;
    }) as Promise<T>;
  }

  /** Forces a guest-sync-delimited exchange (queued like a command). */
  sync(): Promise<void> {
    return this.enqueue(() => this.syncNow()) as Promise<void>;
  }

  ping(options?: QgaExecuteOptions): Promise<void> {
    return ping(this, options);
  }
  info(options?: QgaExecuteOptions): Promise<QgaInfo> {
    return info(this, options);
  }
  osInfo(options?: QgaExecuteOptions): Promise<GuestOsInfo> {
    return osInfo(this, options);
  }
  exec(path: string, args: readonly string[] = [], options?: ExecOptions): Promise<ExecResult> {
    return exec(this, path, args, options);
  }
  upload(source: Uint8Array | Readable | AsyncIterable<Uint8Array>, guestPath: string, options?: UploadOptions): Promise<UploadResult> {
    return upload(this, source, guestPath, options);
  }
  download(guestPath: string, options?: DownloadOptions): Promise<Uint8Array> {
    return download(this, guestPath, options);
  }

  /** Rejects in-flight and queued commands with ATP_QGA_CLOSED and closes the stream. */
  close(): void {
    this.terminate(new AtpError('ATP_QGA_CLOSED', 'the guest agent client was closed'));
  }

  private enqueue(run: () => Promise<unknown>): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
      if (this.failure) {
        job.reject(this.failure);
        continue;
      }
      try {
        job.resolve(await job.run());
      } catch (error) {
        job.reject(error);
      }
    }
    this.pumping = false;
  }

  private syncNow(): Promise<void> {
    const syncId = randomInt(1, QGA_MAX_SYNC_ID);
    const id = `${this.session}-${this.nextId++}`;
    return this.wait<boolean>(
      (done, fail) => ({ kind: 'sync', syncId, id, afterDelimiter: false, provokedSeen: false, done, fail }),
      encodeSyncDelimited(syncId, id),
      this.syncTimeoutMs,
      () => new AtpError('ATP_QGA_SYNC', `guest-sync-delimited got no matching reply within ${this.syncTimeoutMs} ms`, { details: { syncId, timeoutMs: this.syncTimeoutMs } }),
    ).then((echoesIds) => {
      this.echoesIds = echoesIds;
      this.needsSync = false;
      this.stats.syncs += 1;
    });
  }

  private roundTrip(command: string, args: Readonly<Record<string, unknown>> | undefined, timeoutMs: number): Promise<QgaReply> {
    const id = `${this.session}-${this.nextId++}`;
    return this.wait<QgaReply>(
      (done, fail) => ({ kind: 'reply', command, id, done, fail }),
      encodeCommand(command, args, id),
      timeoutMs,
      () => {
        this.needsSync = true;
        return new AtpError('ATP_QGA_TIMEOUT', `guest agent command ${command} got no reply within ${timeoutMs} ms`, { details: { command, timeoutMs } });
      },
    );
  }

  /** Installs the waiter, writes the request, and settles on reply, timeout or termination. */
  private wait<T>(make: (done: (v: T) => void, fail: (e: AtpError) => void) => Waiter, request: Uint8Array, timeoutMs: number, onTimeout: () => AtpError): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiter = undefined;
      };
      const timer = setTimeout(() => {
        finish();
        reject(onTimeout());
      }, timerDelay(timeoutMs));
      this.waiter = make(
        (v) => {
          finish();
          resolve(v);
        },
        (e) => {
          finish();
          reject(e);
        },
      );
      this.stream.write(request);
    });
  }

  private onData(chunk: unknown): void {
    if (!(chunk instanceof Uint8Array)) return this.discard(0, 'non-byte chunk from the stream');
    for (const event of this.decoder.push(chunk)) this.onDecoded(event);
  }

  private onDecoded(event: QgaDecoded): void {
    const w = this.waiter;
    if (event.kind === 'delimiter') {
      this.stats.delimiters += 1;
      if (w?.kind === 'sync') w.afterDelimiter = true;
      else this.needsSync = true;
      return;
    }
    if (event.kind === 'discarded') {
      if (w?.kind === 'sync') w.afterDelimiter = false;
      this.needsSync = true;
      this.discard(event.bytes, event.reason.message);
      return;
    }
    const reply = event.reply;
    if (w?.kind === 'sync') {
      const matches = w.afterDelimiter && reply.kind === 'return' && reply.value === w.syncId;
      w.afterDelimiter = false;
      if (matches) w.done(reply.id === w.id);
      else if (reply.kind === 'error' && reply.id === undefined && !w.provokedSeen) w.provokedSeen = true; // our own 0xFF's parse error
      else this.discard(event.bytes, reply.kind === 'error' ? `reply while syncing: ${reply.desc}` : 'stale reply while syncing');
    } else if (w?.kind === 'reply' && (reply.id === w.id || (reply.id === undefined && !this.echoesIds))) {
      w.done(reply);
    } else {
      this.needsSync = true;
      this.discard(event.bytes, w ? `reply with a foreign id while waiting for ${w.command}` : 'reply with no command in flight');
    }
  }

  private discard(bytes: number, reason: string): void {
    this.stats.discardedBytes += bytes;
    this.stats.discardedFrames += 1;
    for (const listener of [...this.discardListeners]) this.callListener(() => listener({ bytes, reason }));
  }

  /** Listeners run inside stream events: one that throws must not crash the process. */
  private callListener(call: () => void): void {
    try {
      call();
    } catch {
      this.stats.listenerFailures += 1;
    }
  }

  private terminate(error: AtpError): void {
    if (this.failure) return;
    this.failure = error;
    this.waiter?.fail(error);
    for (const job of this.queue.splice(0)) job.reject(error);
    this.stream.destroy();
    for (const listener of [...this.terminatedListeners]) this.callListener(() => listener(error));
  }
}
