/**
 * virtio-serial link: NDJSON over the guest's port device, opened read/write
 * and non-blocking, and watched by the event loop's epoll like a socket
 * (io/pollable-stream.ts): a frame from the host wakes the agent the moment it
 * arrives (a ping is answered at once, so the clock offset is not skewed by a
 * polling interval), and a write that would block waits for EPOLLOUT. No
 * thread, no timer.
 * - At connect, one non-blocking read: EOF means no host client is connected to
 *   the port (connect() fails and the session reopens it with backoff); EAGAIN
 *   means connected and quiet; data is the first bytes.
 * - Afterwards EOF (the port reports EPOLLHUP when the host goes away) takes the
 *   link down; a write the port does not take within writeTimeoutMs fails it.
 *
 * Test stand-in: `{ readPath, writePath }`, a FIFO pair, has the same semantics:
 * a FIFO read with no writer returns EOF, with a writer and no data EAGAIN, and
 * a non-blocking open for writing with no reader fails (ENXIO) → not connected.
 */
import fs from 'node:fs';
import type net from 'node:net';
import { AtpError } from '@atp/protocol';
import { openNonBlocking, pollableStream } from '../io/pollable-stream.js';
import { streamConnection } from './byte-connection.js';
import type { ConnectOptions, Link, LinkConnection } from './types.js';
import { DEFAULT_VIRTIO_PORT, resolveVirtioPort } from './virtio-port.js';
import type { VirtioRoots } from './virtio-port.js';

export interface VirtioLinkOptions extends VirtioRoots {
  /** Port name (default org.atp.agent.0) or absolute device path. */
  endpoint?: string;
  /** A FIFO pair standing in for the port (tests): the agent reads readPath and writes writePath. */
  standIn?: { readPath: string; writePath: string };
  /** A write the port does not take within this long takes the link down (default 5000 ms). */
  writeTimeoutMs?: number;
  maxFrameBytes?: number;
}

const READ_CHUNK = 64 * 1024;
const errno = (e: unknown): string | undefined => (e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined);

export class VirtioLink implements Link {
  readonly kind = 'virtio';
  readonly description: string;

  constructor(private readonly options: VirtioLinkOptions = {}) {
    const standIn = options.standIn;
    this.description = standIn ? `virtio stand-in ${standIn.readPath} / ${standIn.writePath}` : `virtio-serial ${options.endpoint ?? DEFAULT_VIRTIO_PORT}`;
  }

  async connect(connectOptions: ConnectOptions = {}): Promise<LinkConnection> {
    const { readFd, writeFd, description } = await this.openPort();
    let first: Buffer;
    try {
      first = probe(readFd, description);
    } catch (error) {
      closeFds(readFd, writeFd);
      throw error;
    }
    let reader: net.Socket;
    let writer: net.Socket;
    try {
      reader = pollableStream(readFd, description, { writable: readFd === writeFd });
    } catch (error) {
      if (writeFd !== readFd) fs.closeSync(writeFd);
      throw new AtpError('ATP_AGENT_CONNECT', `cannot watch ${description}: ${(error as Error).message}`, { cause: error });
    }
    try {
      writer = writeFd === readFd ? reader : pollableStream(writeFd, description, { readable: false, writable: true });
    } catch (error) {
      reader.destroy();
      throw new AtpError('ATP_AGENT_CONNECT', `cannot watch ${description}: ${(error as Error).message}`, { cause: error });
    }
    const conn = streamConnection({
      description,
      reader,
      writer,
      writeTimeoutMs: this.options.writeTimeoutMs ?? 5_000,
      ...(connectOptions.clock === undefined ? {} : { clock: connectOptions.clock }),
      ...(this.options.maxFrameBytes === undefined ? {} : { maxFrameBytes: this.options.maxFrameBytes }),
    });
    if (first.length > 0) conn.feed(first);
    return conn;
  }

  private async openPort(): Promise<{ readFd: number; writeFd: number; description: string }> {
    const standIn = this.options.standIn;
    if (standIn !== undefined) {
      const readFd = openOrFail(standIn.readPath, 'r');
      try {
        return { readFd, writeFd: openOrFail(standIn.writePath, 'w'), description: this.description };
      } catch (error) {
        fs.closeSync(readFd);
        throw error;
      }
    }
    const port = await resolveVirtioPort(this.options.endpoint ?? DEFAULT_VIRTIO_PORT, this.options);
    const fd = openOrFail(port.path, 'rw');
    return { readFd: fd, writeFd: fd, description: `virtio-serial ${port.path}` };
  }
}

/** One non-blocking read at connect: the bytes already there; throws ATP_AGENT_CONNECT on EOF (no host) or a read error. */
function probe(fd: number, description: string): Buffer {
  const buffer = Buffer.alloc(READ_CHUNK);
  let n: number;
  try {
    n = fs.readSync(fd, buffer, 0, buffer.length, null);
  } catch (error) {
    // EAGAIN: a host is connected and has nothing to say yet, which is the normal case.
    if (errno(error) === 'EAGAIN') return Buffer.alloc(0);
    throw new AtpError('ATP_AGENT_CONNECT', `cannot read ${description}: ${String(error)}`, { cause: error });
  }
  if (n === 0) throw new AtpError('ATP_AGENT_CONNECT', `no host is connected to ${description} (read returned EOF)`, { details: { port: description } });
  return buffer.subarray(0, n);
}

function openOrFail(file: string, mode: 'r' | 'w' | 'rw'): number {
  try {
    return openNonBlocking(file, mode);
  } catch (cause) {
    const code = errno(cause);
    const why = code === 'ENXIO' ? 'no host is reading it' : code === 'EBUSY' ? 'another process holds the port' : String(cause);
    throw new AtpError('ATP_AGENT_CONNECT', `cannot open ${file}: ${why}`, { cause, details: { path: file, errno: code } });
  }
}

function closeFds(readFd: number, writeFd: number): void {
  fs.closeSync(readFd);
  if (writeFd !== readFd) fs.closeSync(writeFd);
}
