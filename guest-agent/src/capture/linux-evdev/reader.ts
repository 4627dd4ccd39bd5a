/**
 * I/O adapter: reads one evdev node (or any pollable path, e.g. a FIFO standing
 * in for one in tests) and hands decoded records to its owner.
 *
 * Mechanism: the node is opened non-blocking here (synchronously: errors such
 * as EMFILE surface at once) and handed to the agent's evdev reader thread
 * (reader-thread.ts), which watches it with its own event loop's epoll and
 * posts what it reads. Nothing blocks a libuv threadpool thread, and no pause
 * of the main thread (GC, compilation) leaves the kernel's 64-event buffer
 * unread: chunks wait in the thread's message queue instead (reader-thread.ts
 * says what that fixed).
 *
 * Ends: EOF (a FIFO's writer closed) is 'eof'; ENODEV/ENOENT/ENXIO/EIO (the
 * device was unplugged) is 'gone'; anything else is 'error' after onError.
 */
import { InputEventDecoder, type AtpError, type InputEventLayout, type RawInputEvent } from '@atp/protocol';
import { openNonBlocking } from '../../io/pollable-stream.js';
import { captureError } from '../errors.js';
import { closeQuietly, readerThread, type ReaderThreadMessage } from './reader-thread.js';

export type ReaderEnd = 'eof' | 'gone' | 'error';

export interface EvdevReaderOptions {
  layout?: InputEventLayout;
  onEvents: (events: RawInputEvent[]) => void;
  /** The stream ended by itself: EOF, the device went away, or a read failed (after onError). */
  onEnd: (reason: ReaderEnd) => void;
  onError: (error: AtpError) => void;
}

/** errno codes meaning the device was unplugged or its node removed. */
const GONE = new Set(['ENODEV', 'ENOENT', 'ENXIO', 'EIO']);

function errnoCode(error: unknown): string | undefined {
  const code: unknown = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Opens `path` read-only, non-blocking; throws ATP_CAPTURE_DEVICE_OPEN (details.errno says why: EMFILE when the process is out of descriptors). */
function openDevice(path: string): number {
  try {
    return openNonBlocking(path);
  } catch (error) {
    throw captureError('ATP_CAPTURE_DEVICE_OPEN', `cannot open ${path}: ${(error as Error).message}`, { details: { path, errno: errnoCode(error) }, cause: error });
  }
}

export class EvdevReader {
  readonly path: string;
  private readonly decoder: InputEventDecoder;
  private readonly id: number;
  private closed = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed: () => void = () => undefined;

  private constructor(path: string, fd: number, private readonly options: EvdevReaderOptions) {
    this.path = path;
    this.decoder = new InputEventDecoder(options.layout ?? 'timeval64');
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    this.id = readerThread().watch(fd, (message) => this.onMessage(message, fd));
  }

  /** Opens the path and starts reading at once (synchronous open: never waits for a pool thread). */
  static open(path: string, options: EvdevReaderOptions): EvdevReader {
    return new EvdevReader(path, openDevice(path), options);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops reading and closes the descriptor; no callback fires afterwards. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      readerThread().close(this.id);
    }
    return this.closedPromise;
  }

  private onMessage(message: ReaderThreadMessage, fd: number): void {
    switch (message.type) {
      case 'data': {
        if (this.closed) return;
        const events = this.decoder.push(message.data);
        if (events.length > 0) this.options.onEvents(events);
        return;
      }
      case 'end':
        this.finish('eof');
        return;
      case 'error':
        this.finish(GONE.has(message.code ?? '') ? 'gone' : 'error', message);
        return;
      case 'failed':
        closeQuietly(fd);
        this.finish('error', message);
        this.resolveClosed();
        return;
      case 'closed':
        this.resolveClosed();
        return;
    }
  }

  private finish(reason: ReaderEnd, error?: { code?: string; message: string }): void {
    if (this.closed) return;
    this.closed = true;
    readerThread().close(this.id);
    if (reason === 'error') {
      this.options.onError(captureError('ATP_CAPTURE_DEVICE_READ', `reading ${this.path} failed: ${error?.message ?? 'unknown error'}`, { details: { path: this.path, errno: error?.code }, cause: error }));
    }
    this.options.onEnd(reason);
  }
}
