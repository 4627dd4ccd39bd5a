/**
 * virtio-serial link: NDJSON over the guest's port device, opened read/write
 * with O_NONBLOCK. The device is a character device, which Node cannot watch
 * with its event loop (libuv treats it as a file), so reads are polled:
 * - read returns 0 (EOF): no host client is connected to the port → the link is
 *   down (or connect() fails), and the session reopens it with backoff;
 * - EAGAIN: connected, nothing to read → poll again after pollMs, which grows
 *   from minPollMs to maxPollMs while idle and drops back after any traffic;
 * - a write gets EAGAIN while the host is away or the port's buffers are full,
 *   and is retried until writeTimeoutMs.
 * Non-blocking I/O keeps libuv's thread pool free (a blocking write would park a
 * pool thread until a host connects, and then deliver a stale frame).
 *
 * Test stand-in: `{ readPath, writePath }`, a FIFO pair, has the same semantics:
 * a FIFO read with no writer returns EOF, with a writer and no data EAGAIN, and
 * a non-blocking open for writing with no reader fails (ENXIO) → not connected.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@atp/protocol';
import { ByteStreamConnection, toDisconnected } from './byte-connection.js';
import type { Link, LinkConnection } from './types.js';
import { DEFAULT_VIRTIO_PORT, resolveVirtioPort } from './virtio-port.js';
import type { VirtioRoots } from './virtio-port.js';

export interface VirtioLinkOptions extends VirtioRoots {
  /** Port name (default org.atp.agent.0) or absolute device path. */
  endpoint?: string;
  /** A FIFO pair standing in for the port (tests): the agent reads readPath and writes writePath. */
  standIn?: { readPath: string; writePath: string };
  minPollMs?: number;
  maxPollMs?: number;
  writeTimeoutMs?: number;
  maxFrameBytes?: number;
}

const READ_CHUNK = 64 * 1024;

/** Per-connection state: until when to poll fast, and the write chain. */
interface PortIo {
  busyUntil: number;
  chain: Promise<void>;
}
const errno = (e: unknown): string | undefined => (e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined);

export class VirtioLink implements Link {
  readonly kind = 'virtio';
  readonly description: string;

  constructor(private readonly options: VirtioLinkOptions = {}) {
    const standIn = options.standIn;
    this.description = standIn ? `virtio stand-in ${standIn.readPath} / ${standIn.writePath}` : `virtio-serial ${options.endpoint ?? DEFAULT_VIRTIO_PORT}`;
  }

  async connect(): Promise<LinkConnection> {
    const { reader, writer, description } = await this.openPort();
    const probe = Buffer.alloc(READ_CHUNK);
    let first = 0;
    try {
      first = (await reader.read(probe, 0, probe.length, null)).bytesRead;
      if (first === 0) throw new AtpError('ATP_AGENT_CONNECT', `no host is connected to ${description} (read returned EOF)`, { details: { port: description } });
    } catch (error) {
      // EAGAIN: a host is connected and has nothing to say yet, which is the normal case.
      if (errno(error) !== 'EAGAIN') {
        await closeAll(reader, writer);
        throw error instanceof AtpError ? error : new AtpError('ATP_AGENT_CONNECT', `cannot read ${description}: ${String(error)}`, { cause: error });
      }
    }
    const io: PortIo = { busyUntil: 0, chain: Promise.resolve() };
    const transport = { write: (bytes: Uint8Array): Promise<void> => this.writeAll(io, writer, bytes, conn), destroy: () => void closeAll(reader, writer) };
    const conn: ByteStreamConnection = new ByteStreamConnection(description, transport, this.options.maxFrameBytes);
    if (first > 0) conn.feed(probe.subarray(0, first));
    void this.readLoop(io, reader, conn);
    return conn;
  }

  private async openPort(): Promise<{ reader: FileHandle; writer: FileHandle; description: string }> {
    const standIn = this.options.standIn;
    if (standIn !== undefined) {
      const reader = await openOrFail(standIn.readPath, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const writer = await openOrFail(standIn.writePath, constants.O_WRONLY | constants.O_NONBLOCK);
        return { reader, writer, description: this.description };
      } catch (error) {
        await reader.close();
        throw error;
      }
    }
    const port = await resolveVirtioPort(this.options.endpoint ?? DEFAULT_VIRTIO_PORT, this.options);
    const handle = await openOrFail(port.path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY);
    return { reader: handle, writer: handle, description: `virtio-serial ${port.path}` };
  }

  private async readLoop(io: PortIo, reader: FileHandle, conn: ByteStreamConnection): Promise<void> {
    const minPoll = this.options.minPollMs ?? 1;
    const maxPoll = this.options.maxPollMs ?? 5;
    const buffer = Buffer.alloc(READ_CHUNK);
    let pollMs = minPoll;
    while (conn.isUp) {
      let n: number;
      try {
        n = (await reader.read(buffer, 0, buffer.length, null)).bytesRead;
      } catch (error) {
        if (!conn.isUp) return;
        if (errno(error) !== 'EAGAIN') {
          conn.goDown(toDisconnected(error, `reading ${conn.description} failed`));
          return;
        }
        // Right after we wrote something a reply is likely: poll fast.
        pollMs = Date.now() < io.busyUntil ? minPoll : Math.min(maxPoll, pollMs * 2);
        await sleep(pollMs);
        continue;
      }
      if (n === 0) {
        conn.goDown(new AtpError('ATP_AGENT_DISCONNECTED', `the host disconnected from ${conn.description} (read returned EOF)`));
        return;
      }
      pollMs = minPoll;
      conn.feed(Buffer.from(buffer.subarray(0, n)));
    }
  }

  /** Writes every byte of a frame, retrying EAGAIN; frames are chained so they never interleave. */
  private writeAll(io: PortIo, writer: FileHandle, bytes: Uint8Array, conn: ByteStreamConnection): Promise<void> {
    const run = async (): Promise<void> => {
      const deadline = Date.now() + (this.options.writeTimeoutMs ?? 5_000);
      let offset = 0;
      while (offset < bytes.length) {
        if (!conn.isUp) throw new AtpError('ATP_AGENT_DISCONNECTED', `the link to ${conn.description} is down`);
        try {
          offset += (await writer.write(bytes, offset, bytes.length - offset, null)).bytesWritten;
        } catch (error) {
          if (errno(error) !== 'EAGAIN') throw error;
          if (Date.now() > deadline) throw new AtpError('ATP_AGENT_TIMEOUT', `${conn.description} accepted no data for ${this.options.writeTimeoutMs ?? 5_000} ms (no host reading?)`);
          await sleep(this.options.minPollMs ?? 1);
        }
      }
      io.busyUntil = Date.now() + 50;
    };
    const next = io.chain.then(run, run);
    io.chain = next.catch(() => undefined);
    return next;
  }
}

async function openOrFail(file: string, flags: number): Promise<FileHandle> {
  try {
    return await open(file, flags);
  } catch (cause) {
    const code = errno(cause);
    const why = code === 'ENXIO' ? 'no host is reading it' : code === 'EBUSY' ? 'another process holds the port' : String(cause);
    throw new AtpError('ATP_AGENT_CONNECT', `cannot open ${file}: ${why}`, { cause, details: { path: file, errno: code } });
  }
}

async function closeAll(reader: FileHandle, writer: FileHandle): Promise<void> {
  await reader.close().catch(() => undefined);
  if (writer !== reader) await writer.close().catch(() => undefined);
}
