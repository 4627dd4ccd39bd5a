/** The exec handler on real child processes: output, exit code, stdin, env, timeout, output cap, spawn failure. */
import { describe, expect, it } from 'vitest';
import { runExec } from '../src/exec/index.js';

const node = process.execPath;
const text = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');

describe('runExec', () => {
  it('returns stdout, stderr and the exit code, without a shell', async () => {
    const result = await runExec({ id: 'a', argv: [node, '-e', 'process.stdout.write("out $HOME"); process.stderr.write("err"); process.exit(3)'] });
    expect(result).toMatchObject({ id: 'a', exitCode: 3, signal: null, stdoutTruncated: false, stderrTruncated: false });
    // "$HOME" stays literal: no shell expanded it.
    expect(text(result.stdoutB64)).toBe('out $HOME');
    expect(text(result.stderrB64)).toBe('err');
    expect(result.error).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('feeds stdin and merges env and cwd', async () => {
    const result = await runExec({
      id: 'b',
      argv: [node, '-e', 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(s.toUpperCase(), process.env.ATP_X, process.cwd()))'],
      stdinB64: Buffer.from('hello').toString('base64'),
      env: { ATP_X: 'y' },
      cwd: '/',
    });
    expect(text(result.stdoutB64)).toBe('HELLO y /\n');
    expect(result.exitCode).toBe(0);
  });

  it('kills a command that outlives its timeout and says so', async () => {
    const result = await runExec({ id: 'c', argv: [node, '-e', 'setTimeout(() => {}, 60000)'], timeoutMs: 300 });
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGKILL');
    expect(result.error?.code).toBe('ATP_EXEC_TIMEOUT');
  });

  it('caps each output stream, drains the rest and marks it truncated', async () => {
    const result = await runExec({ id: 'd', argv: [node, '-e', 'process.stdout.write("x".repeat(200000)); process.stderr.write("e".repeat(10))'], maxOutputBytes: 1000 });
    expect(result.exitCode).toBe(0);
    expect(text(result.stdoutB64)).toBe('x'.repeat(1000));
    expect(result.stdoutTruncated).toBe(true);
    expect(text(result.stderrB64)).toBe('e'.repeat(10));
    expect(result.stderrTruncated).toBe(false);
  });

  it('reports a command that cannot start as ATP_EXEC_SPAWN', async () => {
    const result = await runExec({ id: 'e', argv: ['/nonexistent/atp-no-such-binary'] });
    expect(result.exitCode).toBeNull();
    expect(result.error?.code).toBe('ATP_EXEC_SPAWN');
    expect(result.error?.message).toMatch(/ENOENT/);
  });
});
