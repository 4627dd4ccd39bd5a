/** guest-exec through QgaClient against a real qemu-ga running on the host as the "guest". */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { QgaClient } from '../src/vm/qga/index.js';
import { startQemuGa, type QemuGa } from './support/qemu-ga.js';

let ga: QemuGa;
let c: QgaClient;
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

beforeAll(async () => {
  ga = await startQemuGa();
  c = await QgaClient.connect({ path: ga.socketPath });
});
afterAll(async () => {
  c?.close();
  await ga?.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('exec against a real qemu-ga', () => {
  it('captures and decodes stdout and stderr, exit code 0', async () => {
    const r = await c.exec('/bin/sh', ['-c', 'printf "out\\n"; printf "err\\n" >&2'], { pollIntervalMs: 10 });
    expect(r).toMatchObject({ exitCode: 0, signal: null, stdoutTruncated: false, stderrTruncated: false });
    expect(text(r.stdout)).toBe('out\n');
    expect(text(r.stderr)).toBe('err\n');
  });

  it('passes argv as an array, untouched by any host shell', async () => {
    const r = await c.exec('/usr/bin/printf', ['%s|', 'a b', '$HOME', "'q'", '; rm -rf /']);
    expect(text(r.stdout)).toBe("a b|$HOME|'q'|; rm -rf /|");
  });

  it('reports a non-zero exit code', async () => {
    const r = await c.exec('/bin/sh', ['-c', 'exit 3']);
    expect(r.exitCode).toBe(3);
    expect(r.signal).toBeNull();
  });

  it('feeds stdin and returns binary output byte-exact', async () => {
    const input = Uint8Array.from([0, 1, 2, 0xff, 0xfe, 10, 0x80]);
    const r = await c.exec('/bin/cat', [], { input });
    expect(r.exitCode).toBe(0);
    expect([...r.stdout]).toEqual([...input]);
  });

  it('sets the environment', async () => {
    const r = await c.exec('/usr/bin/env', [], { env: { ATP_PROBE: 'yes', PATH: '/usr/bin:/bin' } });
    expect(text(r.stdout).split('\n')).toContain('ATP_PROBE=yes');
  });

  it('reports the signal of a process that kills itself', async () => {
    const r = await c.exec('/bin/sh', ['-c', 'kill -KILL $$']);
    expect(r.signal).toBe(9);
    expect(r.exitCode).toBeNull();
  });

  it('runs without capturing output', async () => {
    const r = await c.exec('/bin/sh', ['-c', 'echo discarded; exit 4'], { captureOutput: false });
    expect(r.exitCode).toBe(4);
    expect(r.stdout).toHaveLength(0);
  });

  it('fails ATP_QGA_EXEC_DEADLINE with the pid, and can kill the process', async () => {
    const error: unknown = await c.exec('/bin/sleep', ['30'], { deadlineMs: 500, killOnDeadline: true }).catch((e: unknown) => e);
    expect(isAtpError(error, 'ATP_QGA_EXEC_DEADLINE')).toBe(true);
    if (!isAtpError(error)) return;
    const pid = error.details.pid;
    expect(typeof pid).toBe('number');
    expect(error.details.killed).toBe(true);
    // The guest is this host: the sleep must be gone.
    const deadline = Date.now() + 10_000;
    while (alive(pid as number) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid as number)).toBe(false);
    await c.ping();
  });

  it('fails ATP_QGA_COMMAND for a program that does not exist', async () => {
    const error: unknown = await c.exec('/nonexistent/program').catch((e: unknown) => e);
    expect(isAtpError(error, 'ATP_QGA_COMMAND')).toBe(true);
  });
});
