/**
 * The evdev reader thread keeps reading while the agent's main thread is
 * stopped (the GC and compilation pauses of a TCG guest): a writer process
 * pushes 1 MiB of input records into a FIFO standing in for a device node
 * (the pipe holds 64 KiB, so an unread FIFO stops the writer the way an unread
 * evdev buffer drops events) while the main thread is blocked in Atomics.wait
 * for 2 s. The writer must finish before the main thread wakes, and every
 * record must arrive, in order. With the reading on the main thread the writer
 * would wait for the main thread (the test fails).
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RawInputEvent } from '@atp/protocol';
import { EvdevReader, type ReaderEnd } from '../src/capture/linux-evdev/reader.js';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atp-reader-thread-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const RECORD = 24; // struct input_event on x86-64
const RECORDS = Math.floor((1024 * 1024) / RECORD); // 43,690 records, ~1 MiB

/** Writes RECORDS key records (value = index & 1, code = index % 200) and prints when it finished. */
const WRITER = `
const fs = require('node:fs');
const fd = fs.openSync(process.argv[1], 'w');
const n = Number(process.argv[2]);
const buf = Buffer.alloc(n * 24);
for (let i = 0; i < n; i++) {
  buf.writeBigInt64LE(1700000000n, i * 24);
  buf.writeBigInt64LE(BigInt(i % 1000000), i * 24 + 8);
  buf.writeUInt16LE(1, i * 24 + 16);
  buf.writeUInt16LE(i % 200, i * 24 + 18);
  buf.writeInt32LE(i & 1, i * 24 + 20);
}
for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off, Math.min(4096, buf.length - off));
process.stdout.write(String(Date.now()));
fs.closeSync(fd);
`;

describe('the evdev reader thread', () => {
  it('drains a device while the main thread is blocked for 2 s: the writer finishes first, nothing is lost', async () => {
    const fifo = path.join(dir, 'event0');
    execFileSync('mkfifo', [fifo]);
    const got: RawInputEvent[] = [];
    let ended: ReaderEnd | undefined;
    const reader = EvdevReader.open(fifo, { onEvents: (e) => got.push(...e), onEnd: (r) => (ended = r), onError: (e) => { throw e; } });
    const child = spawn(process.execPath, ['-e', WRITER, fifo, String(RECORDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    let gone = false;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    void exited.then(() => (gone = true));
    // Wait until the writer is writing, then stop this thread.
    const deadline = Date.now() + 30_000;
    while (got.length === 0 && !gone && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(got.length, 'the writer never started (or ended before anything was read)').toBeGreaterThan(0);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2_000);
    const wokeAt = Date.now();
    expect(await exited).toBe(0);
    const finishedAt = Number(out);
    expect(finishedAt, 'the writer had to wait for the blocked main thread').toBeLessThan(wokeAt);
    while (ended === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(ended).toBe('eof');
    expect(got).toHaveLength(RECORDS);
    expect(got.every((e, i) => e.code === i % 200 && e.value === (i & 1))).toBe(true);
    await reader.close();
  }, 60_000);

  it('closes the descriptor on close(): a writer then sees EPIPE', async () => {
    const fifo = path.join(dir, 'event1');
    execFileSync('mkfifo', [fifo]);
    const reader = EvdevReader.open(fifo, { onEvents: () => undefined, onEnd: () => undefined, onError: () => undefined });
    const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    await reader.close();
    expect(reader.isClosed).toBe(true);
    expect(() => fs.writeSync(fd, Buffer.alloc(RECORD))).toThrow(expect.objectContaining({ code: 'EPIPE' }));
    fs.closeSync(fd);
  });
});
