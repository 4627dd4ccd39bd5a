/**
 * The thread that reads every evdev node of the agent: one worker (eval'd
 * source, so the single-file executable needs no extra file) that watches the
 * descriptors the main thread opened, each through libuv's pipe handle on the
 * worker's own event loop (io/pollable-stream.ts says why that handle), and
 * posts each chunk read to the main thread, which decodes and translates it.
 *
 * Why a thread: the guest kernel's evdev client buffer holds 64 events, and a
 * reader that does not read for as long as 64 events take to arrive loses them
 * (SYN_DROPPED). On the main thread every pause of the agent counts: garbage
 * collection, compilation, a synchronous console write, a burst of link work.
 * In a TCG guest those pauses reach hundreds of milliseconds; on the lab VM a
 * freshly booted guest dropped events at 32 keystrokes/s (≈ 290 events/s, so a
 * 220 ms pause is enough), and `atp-host calibrate` found rates that failed on
 * the next boot. The worker's isolate does nothing but read and post, its heap
 * stays tiny, and its pauses are too: the kernel buffer is drained whatever the
 * main thread does, and chunks wait in the message queue (unbounded, in order)
 * instead of in the kernel's 64 slots. Cost: one thread and one V8 isolate
 * for all devices (one per device was rejected in pollable-stream.ts): about
 * 10-12 MB of RSS, measured by opening a reader in a fresh process (+10.2 to
 * +11.8 MB over three runs; worker resourceLimits made no difference). That
 * takes the agent's idle RSS past issue 16's 60 MB goal; a lost keystroke
 * costs more than those megabytes.
 *
 * readerThreadMain must stay self-contained: it is serialized with toString().
 * Main → thread: { op: 'watch', id, fd } | { op: 'close', id }.
 * Thread → main: { id, type: 'data', data } (transferred) | { id, type: 'end' }
 * | { id, type: 'error', code?, message } | { id, type: 'failed', message }
 * (the descriptor could not be watched; the main thread still owns it)
 * | { id, type: 'closed' } (the descriptor is closed).
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import type * as Net from 'node:net';

export type ReaderThreadMessage =
  | { id: number; type: 'data'; data: Uint8Array }
  | { id: number; type: 'end' | 'closed' }
  | { id: number; type: 'error' | 'failed'; code?: string; message: string };

interface PipeWrap {
  Pipe: new (type: number) => { open(fd: number): number; close(): void };
  constants: { SOCKET: number };
}

export function readerThreadMain(wt: typeof WorkerThreads, net: typeof Net): void {
  const port = wt.parentPort;
  if (port === null) return;
  const binding = (process as unknown as { binding(name: string): PipeWrap }).binding('pipe_wrap');
  const sockets = new Map<number, Net.Socket>();
  port.on('message', (m: { op: 'watch' | 'close'; id: number; fd?: number }) => {
    const id = m.id;
    if (m.op === 'close') {
      const socket = sockets.get(id);
      if (socket === undefined) port.postMessage({ id, type: 'closed' });
      else socket.destroy();
      return;
    }
    let socket: Net.Socket;
    try {
      const handle = new binding.Pipe(binding.constants.SOCKET);
      const status = handle.open(m.fd ?? -1);
      if (status !== 0) {
        handle.close();
        port.postMessage({ id, type: 'failed', message: `cannot watch the descriptor (libuv status ${status})` });
        return;
      }
      socket = new net.Socket({ handle, readable: true, writable: false, allowHalfOpen: true } as Net.SocketConstructorOpts);
    } catch (error) {
      port.postMessage({ id, type: 'failed', message: String(error) });
      return;
    }
    sockets.set(id, socket);
    socket.on('data', (chunk: Buffer) => {
      const copy = new Uint8Array(chunk); // exact size: a view into libuv's 64 KiB read buffer would clone all of it
      port.postMessage({ id, type: 'data', data: copy }, [copy.buffer]);
    });
    socket.once('end', () => port.postMessage({ id, type: 'end' }));
    socket.on('error', (error: NodeJS.ErrnoException) => port.postMessage({ id, type: 'error', code: error.code, message: error.message }));
    socket.once('close', () => {
      sockets.delete(id);
      port.postMessage({ id, type: 'closed' });
    });
  });
}

export function readerThreadSource(): string {
  return `(${readerThreadMain.toString()})(require('node:worker_threads'), require('node:net'));`;
}

type Listener = (message: ReaderThreadMessage) => void;

/** The main thread's side: starts the worker on first use, routes its messages to the watchers. */
export class ReaderThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly listeners = new Map<number, Listener>();

  /** Hands `fd` to the thread; `listener` gets every message for it until 'closed', or 'failed' (then the caller still owns fd). */
  watch(fd: number, listener: Listener): number {
    const id = this.nextId++;
    this.listeners.set(id, listener);
    this.ensure().postMessage({ op: 'watch', id, fd });
    return id;
  }

  /** Asks the thread to stop reading `id` and close its descriptor ('closed' follows). */
  close(id: number): void {
    if (this.listeners.has(id)) this.worker?.postMessage({ op: 'close', id });
  }

  private ensure(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(readerThreadSource(), { eval: true, name: 'atp-evdev-reader' });
    worker.unref(); // the readers' owners keep the agent alive, not this thread
    worker.on('message', (message: ReaderThreadMessage) => {
      const listener = this.listeners.get(message.id);
      if (message.type === 'closed' || message.type === 'failed') this.listeners.delete(message.id);
      listener?.(message);
    });
    const lost = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const listeners = [...this.listeners];
      this.listeners.clear();
      for (const [id, listener] of listeners) {
        listener({ id, type: 'error', message: `the evdev reader thread stopped: ${why}` });
        listener({ id, type: 'closed' });
      }
    };
    worker.on('error', (error) => lost(error.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }
}

let shared: ReaderThread | undefined;

/** The process's one reader thread. */
export function readerThread(): ReaderThread {
  shared ??= new ReaderThread();
  return shared;
}

/** Closes a descriptor the thread refused (best effort: it may already be gone). */
export function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
