/**
 * Chunked file transfer through QgaClient against a real qemu-ga; the "guest"
 * is this host, so the files can also be checked directly on disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { QgaClient, qgaDownloadTo } from '../src/vm/qga/index.js';
import { startQemuGa, type QemuGa } from './support/qemu-ga.js';

let ga: QemuGa;
let c: QgaClient;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const openFds = async (): Promise<number> => (await readdir(`/proc/${ga.pid}/fd`)).length;

beforeAll(async () => {
  ga = await startQemuGa();
  c = await QgaClient.connect({ path: ga.socketPath });
});
afterAll(async () => {
  c?.close();
  await ga?.stop();
});

describe('file transfer against a real qemu-ga', () => {
  it('uploads and downloads 5 MB of random bytes byte-exact', async () => {
    const data = new Uint8Array(randomBytes(5_000_000));
    const guestPath = path.join(ga.dir, 'random.bin');
    expect(await c.upload(data, guestPath)).toEqual({ bytes: data.length });
    expect(sha256(await readFile(guestPath))).toBe(sha256(data));
    const back = await c.download(guestPath);
    expect(back.length).toBe(data.length);
    expect(sha256(back)).toBe(sha256(data));
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
  });

  it('streams from a Readable with odd chunk sizes and into a Writable', async () => {
    const data = new Uint8Array(randomBytes(300_001));
    const pieces = [data.subarray(0, 7), data.subarray(7, 100_000), data.subarray(100_000)];
    const guestPath = path.join(ga.dir, 'streamed.bin');
    await c.upload(Readable.from(pieces), guestPath, { chunkBytes: 65_536 });
    const sink = new PassThrough();
    const received: Buffer[] = [];
    sink.on('data', (b: Buffer) => received.push(b));
    expect(await qgaDownloadTo(c, guestPath, sink, { chunkBytes: 10_000 })).toBe(data.length);
    expect(sha256(Buffer.concat(received))).toBe(sha256(data));
  });

  it('transfers an empty file', async () => {
    const guestPath = path.join(ga.dir, 'empty.bin');
    await writeFile(guestPath, 'stale content to truncate');
    expect(await c.upload(new Uint8Array(0), guestPath)).toEqual({ bytes: 0 });
    expect((await readFile(guestPath)).length).toBe(0);
    expect(await c.download(guestPath)).toHaveLength(0);
  });

  it('fails ATP_QGA_FILE naming the path, and never leaks a handle', async () => {
    const fdsBefore = await openFds();
    const missing = path.join(ga.dir, 'no', 'such', 'file');
    for (const attempt of [c.download(missing), c.upload(new Uint8Array(3), missing)]) {
      const error: unknown = await attempt.catch((e: unknown) => e);
      expect(isAtpError(error, 'ATP_QGA_FILE')).toBe(true);
      if (isAtpError(error)) {
        expect(error.details.path).toBe(missing);
        expect(error.message).toContain(missing);
      }
    }
    // A directory opens but cannot be read: the error comes mid-transfer, after open.
    const dir = path.join(ga.dir, 'a-directory');
    await mkdir(dir);
    const error: unknown = await c.download(dir).catch((e: unknown) => e);
    expect(isAtpError(error, 'ATP_QGA_FILE')).toBe(true);
    if (isAtpError(error)) expect(error.details).toMatchObject({ path: dir, op: 'read' });
    expect(await openFds()).toBe(fdsBefore);
  });

  it('downloadTo rejects ATP_QGA_FILE when the sink is destroyed instead of draining, and closes the handle', async () => {
    const guestPath = path.join(ga.dir, 'to-dead-sink.bin');
    await writeFile(guestPath, randomBytes(100_000));
    const fdsBefore = await openFds();
    // Never completes a write, so it never drains; destroyed (no error) once the client waits.
    const sink = new Writable({
      highWaterMark: 1,
      write() {
        setImmediate(() => sink.destroy());
      },
    });
    const error: unknown = await qgaDownloadTo(c, guestPath, sink, { chunkBytes: 10_000 }).catch((e: unknown) => e);
    expect(isAtpError(error, 'ATP_QGA_FILE')).toBe(true);
    if (isAtpError(error)) expect(error.details.path).toBe(guestPath);
    // Already destroyed before the download: rejected too, not left waiting.
    await expect(qgaDownloadTo(c, guestPath, sink, { chunkBytes: 10_000 })).rejects.toMatchObject({ code: 'ATP_QGA_FILE' });
    expect(await openFds()).toBe(fdsBefore);
    await c.ping();
  });

  it('rejects a chunk size outside the agent limits', async () => {
    const error: unknown = await c.download(path.join(ga.dir, 'x'), { chunkBytes: 0 }).catch((e: unknown) => e);
    expect(isAtpError(error, 'ATP_QGA_INVALID_PARAMETER')).toBe(true);
  });
});
