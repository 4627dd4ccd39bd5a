/**
 * Domain events as an async stream, from a long-lived
 * `virsh event --all --loop --timestamp` process (separate from the command
 * process: it never returns). When it exits (libvirtd restarted, virsh killed)
 * the stream yields a `stream`/'stopped' item, restarts virsh after a backoff
 * delay and yields `stream`/'started'; events in between are lost, which is
 * what those two items say. virsh registers for events a moment after it
 * starts, so a consumer that must not miss one polls (repeat, then wait).
 *
 * Each stream has a bounded buffer; when the consumer falls behind, the oldest
 * item is dropped and counted in `dropped`. `return()` (or `break`) stops virsh.
 */
import { backoffDelay, LineFramer, type BackoffOptions } from '@atp/protocol';
import { parseEventLine, type DomainEvent } from './event-codec.js';
import { localVirshSpawner, type VirshChild, type VirshSpawner } from './virsh-spawn.js';
import { timerDelay } from '../../util/timers.js';

export interface StreamNotice {
  kind: 'stream';
  state: 'started' | 'stopped';
  /** Why it stopped (virsh's last error lines or exit status). */
  message: string;
}

export type LibvirtEvent = DomainEvent | StreamNotice;

export interface EventStreamOptions {
  uri: string;
  binary?: string;
  /** How virsh starts (default: a local child process of `binary`); e.g. an SSH exec channel. */
  spawner?: VirshSpawner;
  /** Only events of this domain (default: all). */
  domain?: string;
  /** Items held for a slow consumer (default 1024). */
  bufferSize?: number;
  backoff?: BackoffOptions;
}

/** A process that lived this long counts as a success: the backoff resets. */
const HEALTHY_MS = 2000;

export class LibvirtEventStream implements AsyncIterableIterator<LibvirtEvent> {
  /** Items dropped because the buffer was full (oldest first). */
  dropped = 0;
  /** virsh event processes started so far. */
  starts = 0;
  private child: VirshChild | undefined;
  private readonly spawner: VirshSpawner;
  private readonly queue: LibvirtEvent[] = [];
  private readonly takers: ((r: IteratorResult<LibvirtEvent>) => void)[] = [];
  private closed = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly bufferSize: number;

  constructor(private readonly options: EventStreamOptions) {
    this.bufferSize = Math.max(1, options.bufferSize ?? 1024);
    this.spawner = options.spawner ?? localVirshSpawner(options.binary ?? 'virsh');
    this.spawnVirsh();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<LibvirtEvent> {
    return this;
  }

  next(): Promise<IteratorResult<LibvirtEvent>> {
    const item = this.queue.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.takers.push(resolve));
  }

  return(): Promise<IteratorResult<LibvirtEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The next item that satisfies `predicate`, or undefined after `timeoutMs` (items before it are consumed). */
  async waitFor(predicate: (e: LibvirtEvent) => boolean, timeoutMs: number): Promise<LibvirtEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = this.queue.shift() ?? (await this.take(deadline - Date.now()));
      if (item === undefined) return undefined;
      if (predicate(item)) return item;
    }
  }

  private take(ms: number): Promise<LibvirtEvent | undefined> {
    if (this.closed || ms <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const taker = (r: IteratorResult<LibvirtEvent>): void => {
        clearTimeout(timer);
        resolve(r.done === true ? undefined : r.value);
      };
      const timer = setTimeout(() => {
        const i = this.takers.indexOf(taker);
        if (i !== -1) this.takers.splice(i, 1);
        resolve(undefined);
      }, timerDelay(ms));
      this.takers.push(taker);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.child?.kill();
    for (const t of this.takers.splice(0)) t({ value: undefined, done: true });
  }

  /** The pid of the current virsh event process. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private push(item: LibvirtEvent): void {
    if (this.closed) return;
    const taker = this.takers.shift();
    if (taker) {
      taker({ value: item, done: false });
      return;
    }
    if (this.queue.length >= this.bufferSize) {
      this.queue.shift();
      this.dropped += 1;
    }
    this.queue.push(item);
  }

  private spawnVirsh(): void {
    this.starts += 1;
    const startedAt = Date.now();
    const args = ['-q', '-c', this.options.uri, 'event', '--all', '--loop', '--timestamp'];
    this.spawner(args).then(
      (child) => {
        if (this.closed) child.kill();
        else this.attach(child, startedAt);
      },
      (error: unknown) => this.ended(startedAt, '', `cannot run virsh: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  private attach(child: VirshChild, startedAt: number): void {
    this.child = child;
    const framer = new LineFramer({ maxLineBytes: 64 * 1024 });
    const utf8 = new TextDecoder();
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (const item of framer.push(chunk)) {
        if (item.kind !== 'line') continue;
        const event = parseEventLine(utf8.decode(item.bytes));
        if (event && (this.options.domain === undefined || event.domain === this.options.domain)) this.push(event);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-2000);
    });
    child.stdin.on('error', () => undefined);
    child.onClose(({ code, signal, error }) => this.ended(startedAt, stderr, error ? error.message : `virsh event exited (${signal ?? `code ${code}`})`));
  }

  private ended(startedAt: number, stderr: string, why: string): void {
    if (this.closed) return;
    this.failures = Date.now() - startedAt >= HEALTHY_MS ? 0 : this.failures + 1;
    const said = stderr.split('\n').filter((l) => l.startsWith('error: ')).join('; ');
    this.push({ kind: 'stream', state: 'stopped', message: said || why });
    const delay = this.failures === 0 ? 0 : backoffDelay(this.failures - 1, { initialMs: 200, maxMs: 5000, ...this.options.backoff });
    this.restartTimer = setTimeout(() => {
      if (this.closed) return;
      this.spawnVirsh();
      this.push({ kind: 'stream', state: 'started', message: `virsh event restarted (start ${this.starts})` });
    }, delay);
  }
}
