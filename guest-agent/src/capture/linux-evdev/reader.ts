/**
 * I/O adapter: reads one evdev node (or any pollable path, e.g. a FIFO standing
 * in for one in tests) and hands decoded records to its owner.
 *
 * Mechanism: the node is opened non-blocking and watched by the event loop's
 * epoll (io/pollable-stream.ts explains why and what else was tried). Nothing
 * blocks a libuv threadpool thread, so any number of devices can be open and
 * the rest of the agent (link, exec, config) never waits behind them.
 *
 * Promptness: the guest's evdev client buffer holds only 64 events; a slow reader
 * makes the kernel drop them (SYN_DROPPED). The stream is read the moment epoll
 * says the node is readable, until EAGAIN, so a burst is drained in one wake-up.
 *
 * Ends: EOF (a FIFO's writer closed) is 'eof'; ENODEV/ENOENT/ENXIO/EIO (the
 * device was unplugged) is 'gone'; anything else is 'error' after onError.
 */
import type net from 'node:net';
import { InputEventDecoder, isAtpError, type AtpError, type InputEventLayout, type RawInputEvent } from '@atp/protocol';
import { openNonBlocking, pollableStream } from '../../io/pollable-stream.js';
import { captureError } from '../errors.js';

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

/**
 * Opens `path` read-only, non-blocking, as a pollable stream. Throws
 * ATP_CAPTURE_DEVICE_OPEN (details.errno says why: EMFILE when the process is
 * out of descriptors, EPERM when the node cannot be polled).
 */
export function openDeviceStream(path: string): net.Socket {
  let fd: number;
  try {
    fd = openNonBlocking(path);
  } catch (error) {
    throw captureError('ATP_CAPTURE_DEVICE_OPEN', `cannot open ${path}: ${(error as Error).message}`, { details: { path, errno: errnoCode(error) }, cause: error });
  }
  try {
    return pollableStream(fd, path);
  } catch (error) {
    const errno = isAtpError(error) ? error.details.errno : undefined;
    throw captureError('ATP_CAPTURE_DEVICE_OPEN', `cannot open ${path}: ${(error as Error).message}`, { details: { path, errno }, cause: error });
  }
}

export class EvdevReader {
  readonly path: string;
  private readonly decoder: InputEventDecoder;
  private closed = false;
  private readonly closedPromise: Promise<void>;

  private constructor(
    path: string,
    private readonly socket: net.Socket,
    private readonly options: EvdevReaderOptions,
  ) {
    this.path = path;
    this.decoder = new InputEventDecoder(options.layout ?? 'timeval64');
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      const events = this.decoder.push(chunk);
      if (events.length > 0) this.options.onEvents(events);
    });
    socket.once('end', () => this.finish('eof'));
    socket.on('error', (error) => this.finish(GONE.has(errnoCode(error) ?? '') ? 'gone' : 'error', error));
  }

  /** Opens the path and starts reading at once (synchronous open: never waits for a pool thread). */
  static open(path: string, options: EvdevReaderOptions): EvdevReader {
    return new EvdevReader(path, openDeviceStream(path), options);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops reading and closes the descriptor; no callback fires afterwards. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
    }
    return this.closedPromise;
  }

  private finish(reason: ReaderEnd, error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    if (reason === 'error') {
      this.options.onError(captureError('ATP_CAPTURE_DEVICE_READ', `reading ${this.path} failed: ${error?.message ?? 'unknown error'}`, { details: { path: this.path, errno: errnoCode(error) }, cause: error }));
    }
    this.options.onEnd(reason);
  }
}
