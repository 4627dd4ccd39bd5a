/**
 * Runs an exec request from the host: argv through child_process.spawn (never a
 * shell), optional cwd, env (merged over the agent's own), stdin, a timeout
 * (SIGKILL, reported as ATP_EXEC_TIMEOUT) and a cap on each output stream. Past
 * the cap the output is still drained (so the child never blocks on a full
 * pipe) but dropped, and the result says it was truncated.
 */
import { spawn } from 'node:child_process';
import type { ExecRequestBody, ExecResultBody } from '@atp/protocol';

export interface ExecOptions {
  /** When the request sets none. Default 30 s. */
  defaultTimeoutMs?: number;
  /** Per stream, when the request sets none. Default 64 KiB. */
  defaultMaxOutputBytes?: number;
  /** Upper bound for any request, so the exec-result fits in one frame. Default 256 KiB. */
  hardMaxOutputBytes?: number;
}

class CappedBuffer {
  private readonly parts: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  add(chunk: Buffer): void {
    const room = this.cap - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.parts.push(kept);
    this.size += kept.length;
  }

  base64(): string {
    return Buffer.concat(this.parts).toString('base64');
  }
}

export function runExec(request: ExecRequestBody, options: ExecOptions = {}): Promise<ExecResultBody> {
  const started = performance.now();
  const hardCap = options.hardMaxOutputBytes ?? 256 * 1024;
  const cap = Math.min(request.maxOutputBytes ?? options.defaultMaxOutputBytes ?? 64 * 1024, hardCap);
  const timeoutMs = request.timeoutMs ?? options.defaultTimeoutMs ?? 30_000;
  const stdout = new CappedBuffer(cap);
  const stderr = new CappedBuffer(cap);
  const [file, ...args] = request.argv as [string, ...string[]];

  return new Promise((resolve) => {
    let timedOut = false;
    let spawnError: Error | undefined;
    const child = spawn(file, args, {
      shell: false,
      cwd: request.cwd,
      env: { ...process.env, ...request.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.add(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));
    // A child that exits without reading its stdin makes our write fail with EPIPE: not an error of the run.
    child.stdin.on('error', () => undefined);
    child.stdin.end(request.stdinB64 === undefined ? undefined : Buffer.from(request.stdinB64, 'base64'));
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: ExecResultBody = {
        id: request.id,
        // After a failed spawn Node reports the errno as the code (-2): the command never ran.
        exitCode: spawnError === undefined ? code : null,
        signal,
        stdoutB64: stdout.base64(),
        stderrB64: stderr.base64(),
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        durationMs: Math.max(0, performance.now() - started),
      };
      if (spawnError !== undefined) {
        result.error = { code: 'ATP_EXEC_SPAWN', message: `cannot run ${JSON.stringify(file)}: ${spawnError.message}` };
      } else if (timedOut) {
        result.error = { code: 'ATP_EXEC_TIMEOUT', message: `killed after its timeout of ${timeoutMs} ms` };
      }
      resolve(result);
    });
  });
}
