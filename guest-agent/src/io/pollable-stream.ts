/**
 * A readable net.Socket over an open descriptor of a character device or FIFO
 * that supports poll(2) (evdev nodes, virtio-serial ports, FIFOs standing in
 * for them in tests). Reads wake on data through the event loop's own epoll,
 * exactly like a socket: no thread, no timer and no polling per device.
 *
 * Why this mechanism (issue: an agent with four input devices never said hello):
 * - fs.read on a device node runs on the libuv threadpool and blocks one of its
 *   threads until input arrives. The pool has 4 threads by default, so the fourth
 *   idle device starved every later fs call of the agent (opening its link among
 *   them), and sizing the pool with UV_THREADPOOL_SIZE only moves the cliff: Node
 *   may already have started the pool while loading the entry module.
 * - Node's public net.Socket({ fd }) refuses such a descriptor: libuv's
 *   uv_guess_handle calls a character device "FILE". But libuv's pipe handle
 *   (uv_pipe_open) accepts any descriptor epoll can watch, and Node's pipe_wrap
 *   binding is that handle; net.Socket({ handle }) then gives the usual stream.
 *   pipe_wrap is on process.binding's allow-list (DEP0111 is documentation-only)
 *   and the agent ships pinned to one Node (packaging/pinned.json), whose tests
 *   exercise this path; if a Node ever lacks it, opening fails with a typed
 *   ATP_IO_POLLABLE error instead of hanging.
 * - Rejected: a worker thread per device (a V8 isolate, ~10 MB each); one
 *   thread blocked in poll(2) through koffi (a native addon in every Linux
 *   agent and lab image); a `cat` child per device (processes that outlive a
 *   killed agent).
 * Cost: one descriptor and one epoll registration per device; libuv reads until
 * EAGAIN into 64 KiB buffers, so a burst is drained in one wake-up.
 *
 * The socket owns the descriptor from here on: destroy() closes it.
 */
import fs from 'node:fs';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { AtpError } from '@atp/protocol';

interface PipeHandle {
  open(fd: number): number;
  close(): void;
}
interface PipeWrapBinding {
  Pipe: new (type: number) => PipeHandle;
  constants: { SOCKET: number };
}

let binding: PipeWrapBinding | Error | undefined;

function isPipeWrap(value: unknown): value is PipeWrapBinding {
  if (typeof value !== 'object' || value === null) return false;
  const { Pipe, constants } = value as { Pipe?: unknown; constants?: { SOCKET?: unknown } };
  return typeof Pipe === 'function' && typeof constants?.SOCKET === 'number';
}

function pipeWrap(): PipeWrapBinding | Error {
  if (binding !== undefined) return binding;
  try {
    const loaded: unknown = (process as unknown as { binding(name: string): unknown }).binding('pipe_wrap');
    binding = isPipeWrap(loaded) ? loaded : new Error('the pipe_wrap binding has an unexpected shape');
  } catch (error) {
    binding = error instanceof Error ? error : new Error(String(error));
  }
  return binding;
}

/** Whether this Node can watch descriptors for readiness (false: openPollableStream always throws). */
export function pollableStreamsSupported(): boolean {
  return !(pipeWrap() instanceof Error);
}

/** Opens `path` non-blocking, read-only unless `mode` says otherwise (synchronously: it never waits for a pool thread). Throws what fs throws. */
export function openNonBlocking(path: string, mode: 'r' | 'w' | 'rw' = 'r'): number {
  const access = mode === 'r' ? fs.constants.O_RDONLY : mode === 'w' ? fs.constants.O_WRONLY : fs.constants.O_RDWR;
  return fs.openSync(path, access | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
}

/**
 * Wraps `fd` (opened with O_NONBLOCK) in a socket: readable unless `readable`
 * is false (a write-only descriptor must say so), and writable when `writable`
 * is set and the descriptor was opened for writing (writes that
 * would block wait for EPOLLOUT, again without a thread or a timer). On failure
 * the descriptor is closed and ATP_IO_POLLABLE is thrown (details.errno: the
 * libuv error name, e.g. EPERM for a descriptor epoll cannot watch).
 */
export function pollableStream(fd: number, what: string, options: { readable?: boolean; writable?: boolean } = {}): net.Socket {
  const wrap = pipeWrap();
  if (wrap instanceof Error) {
    fs.closeSync(fd);
    throw new AtpError('ATP_IO_POLLABLE', `cannot watch ${what} for input: this Node has no usable pipe_wrap binding (${wrap.message})`, { details: { path: what } });
  }
  const handle = new wrap.Pipe(wrap.constants.SOCKET);
  const status = handle.open(fd);
  if (status !== 0) {
    handle.close();
    fs.closeSync(fd);
    const errno = getSystemErrorName(status);
    throw new AtpError('ATP_IO_POLLABLE', `cannot watch ${what} for input: ${errno}`, { details: { path: what, errno } });
  }
  // allowHalfOpen: an end of input must not try to shut down a write side (there may be none).
  return new net.Socket({ handle, readable: options.readable !== false, writable: options.writable === true, allowHalfOpen: true } as net.SocketConstructorOpts);
}
