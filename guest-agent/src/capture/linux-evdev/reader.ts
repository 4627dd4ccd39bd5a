/**
 * I/O adapter: reads one evdev node (or any readable path, e.g. a FIFO standing
 * in for one in tests) and hands decoded records to its owner.
 *
 * Promptness: the guest's evdev client buffer holds only 64 events; a slow reader
 * makes the kernel drop them (SYN_DROPPED). So the reader keeps a read in flight
 * at all times, asks for many records per read (evdev returns every complete
 * record that fits), and double-buffers: the next read is issued *before* the
 * records of the last one are decoded and handed on.
 *
 * Threads: Node has no readiness polling for character devices (net.Socket
 * refuses them), so reads go through the libuv threadpool, and a read on an idle
 * device blocks one pool thread until input arrives. Every open device therefore
 * holds one pool thread; see threadpool.ts for sizing UV_THREADPOOL_SIZE. close()
 * closes the descriptor at once, but a read already blocked in the kernel keeps
 * its thread until the next event, EOF or device removal releases it; its data is
 * then discarded.
 */
import fs from 'node:fs';
import { InputEventDecoder, type AtpError, type InputEventLayout, type RawInputEvent } from '@atp/protocol';
import { captureError } from '../errors.js';

export type ReaderEnd = 'eof' | 'gone' | 'error';

export interface EvdevReaderOptions {
  layout?: InputEventLayout;
  /** Records asked for per read (default 512: eight times the kernel's client buffer). */
  chunkRecords?: number;
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

/** Opens `path` read-only; rejects with ATP_CAPTURE_DEVICE_OPEN (details.errno says why). */
export function openDevice(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(path, fs.constants.O_RDONLY, (error, fd) => {
      if (error === null) resolve(fd);
      else reject(captureError('ATP_CAPTURE_DEVICE_OPEN', `cannot open ${path}: ${error.message}`, { details: { path, errno: errnoCode(error) }, cause: error }));
    });
  });
}

export class EvdevReader {
  readonly path: string;
  private readonly decoder: InputEventDecoder;
  private readonly buffers: [Buffer, Buffer];
  private next: 0 | 1 = 0;
  private closed = false;
  private fd: number | undefined;

  private constructor(path: string, fd: number, private readonly options: EvdevReaderOptions) {
    this.path = path;
    this.fd = fd;
    this.decoder = new InputEventDecoder(options.layout ?? 'timeval64');
    const size = this.decoder.recordSize * Math.max(1, options.chunkRecords ?? 512);
    this.buffers = [Buffer.alloc(size), Buffer.alloc(size)];
  }

  /** Opens the path and starts reading at once. */
  static async open(path: string, options: EvdevReaderOptions): Promise<EvdevReader> {
    const fd = await openDevice(path);
    const reader = new EvdevReader(path, fd, options);
    reader.read();
    return reader;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops reading and closes the descriptor; no callback fires afterwards. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.release();
  }

  private release(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      fs.close(fd, () => resolve());
    });
  }

  private read(): void {
    if (this.closed || this.fd === undefined) return;
    const buffer = this.buffers[this.next];
    this.next = this.next === 0 ? 1 : 0;
    fs.read(this.fd, buffer, 0, buffer.length, null, (error, bytes) => {
      if (this.closed) return;
      if (error !== null) {
        this.finish(GONE.has(errnoCode(error) ?? '') ? 'gone' : 'error', error);
        return;
      }
      if (bytes === 0) {
        this.finish('eof');
        return;
      }
      this.read();
      const events = this.decoder.push(buffer.subarray(0, bytes));
      if (events.length > 0) this.options.onEvents(events);
    });
  }

  private finish(reason: ReaderEnd, error?: Error): void {
    this.closed = true;
    void this.release();
    if (reason === 'error') {
      this.options.onError(captureError('ATP_CAPTURE_DEVICE_READ', `reading ${this.path} failed: ${error?.message ?? 'unknown error'}`, { details: { path: this.path, errno: errnoCode(error) }, cause: error }));
    }
    this.options.onEnd(reason);
  }
}
