/**
 * Run a program in the guest: guest-exec, then guest-exec-status polling until
 * it exits or a deadline passes. Output comes back base64-encoded and capped by
 * the agent (16 MiB per stream in qemu-ga 7.2; the *Truncated flags say so).
 *
 * qemu-ga has no command to kill a process it started. On deadline the pid is
 * reported; with `killOnDeadline` we run the guest's own `kill -KILL <pid>`
 * through guest-exec, which only works on POSIX guests with kill(1) in PATH.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@atp/protocol';
import { executeParsed, type QgaExecutor } from './executor.js';
import { guestExecSchema, guestExecStatusSchema, type GuestExecStatus } from './messages.js';

export interface ExecOptions {
  /** The process environment; qemu-ga replaces the whole environment with it. */
  env?: Readonly<Record<string, string>> | readonly string[];
  /** Written to the process's stdin, which is then closed. */
  input?: Uint8Array;
  /** Capture stdout and stderr (default true). */
  captureOutput?: boolean;
  /** First delay between guest-exec-status polls (default 50 ms); grows by `pollGrowth` up to `maxPollIntervalMs`. */
  pollIntervalMs?: number;
  pollGrowth?: number;
  maxPollIntervalMs?: number;
  /** Give up waiting after this long (default 60 s): ATP_QGA_EXEC_DEADLINE. */
  deadlineMs?: number;
  /** On deadline, try `kill -KILL <pid>` in the guest (POSIX guests only). */
  killOnDeadline?: boolean;
  /** Reply timeout of each guest agent command. */
  commandTimeoutMs?: number;
}

export interface ExecResult {
  pid: number;
  /** Exit status, or null if the process was killed by a signal. */
  exitCode: number | null;
  /** Terminating signal number, or null. */
  signal: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

export const DEFAULT_EXEC_DEADLINE_MS = 60_000;

export async function exec(executor: QgaExecutor, path: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
  const deadlineMs = options.deadlineMs ?? DEFAULT_EXEC_DEADLINE_MS;
  const cmdOpts = options.commandTimeoutMs === undefined ? {} : { timeoutMs: options.commandTimeoutMs };
  const request: Record<string, unknown> = { path, arg: [...args], 'capture-output': options.captureOutput ?? true };
  if (options.env !== undefined) request.env = envList(options.env);
  if (options.input !== undefined) request['input-data'] = Buffer.from(options.input).toString('base64');

  const startedAt = Date.now();
  const { pid } = await executeParsed(executor, 'guest-exec', guestExecSchema, request, cmdOpts);
  const deadlineAt = startedAt + deadlineMs;
  let interval = Math.max(1, options.pollIntervalMs ?? 50);
  const growth = Math.max(1, options.pollGrowth ?? 1.5);
  const maxInterval = Math.max(interval, options.maxPollIntervalMs ?? 500);
  for (;;) {
    const status = await executeParsed(executor, 'guest-exec-status', guestExecStatusSchema, { pid }, cmdOpts);
    if (status.exited) return toResult(pid, status);
    const left = deadlineAt - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(interval, left));
    interval = Math.min(maxInterval, interval * growth);
  }
  const killed = options.killOnDeadline ? await tryKill(executor, pid, cmdOpts) : false;
  throw new AtpError('ATP_QGA_EXEC_DEADLINE', `guest process ${pid} (${path}) still running after ${deadlineMs} ms${killed ? '; sent SIGKILL' : ''}`, {
    details: { pid, path, deadlineMs, killed },
  });
}

function envList(env: Readonly<Record<string, string>> | readonly string[]): string[] {
  if (Array.isArray(env)) return [...(env as readonly string[])];
  return Object.entries(env as Readonly<Record<string, string>>).map(([k, v]) => `${k}=${v}`);
}

function toResult(pid: number, s: GuestExecStatus): ExecResult {
  return {
    pid,
    exitCode: s.exitcode ?? null,
    signal: s.signal ?? null,
    stdout: decodeBase64(s['out-data']),
    stderr: decodeBase64(s['err-data']),
    stdoutTruncated: s['out-truncated'] ?? false,
    stderrTruncated: s['err-truncated'] ?? false,
  };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 → bytes; anything else from the agent is ATP_SCHEMA_INVALID. */
export function decodeBase64(text: string | undefined): Uint8Array {
  if (text === undefined || text === '') return new Uint8Array(0);
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new AtpError('ATP_SCHEMA_INVALID', 'guest agent sent invalid base64 data', { details: { length: text.length } });
  }
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Best effort: the guest's kill(1), then reap both status records so qemu-ga forgets them. */
async function tryKill(executor: QgaExecutor, pid: number, cmdOpts: { timeoutMs?: number }): Promise<boolean> {
  try {
    const killer = await executeParsed(executor, 'guest-exec', guestExecSchema, { path: 'kill', arg: ['-KILL', String(pid)], 'capture-output': true }, cmdOpts);
    for (let i = 0; i < 50; i++) {
      const s = await executeParsed(executor, 'guest-exec-status', guestExecStatusSchema, { pid: killer.pid }, cmdOpts);
      if (s.exited) {
        if (s.exitcode !== 0) return false;
        break;
      }
      await sleep(20);
    }
    for (let i = 0; i < 50; i++) {
      const s = await executeParsed(executor, 'guest-exec-status', guestExecStatusSchema, { pid }, cmdOpts);
      if (s.exited) return true;
      await sleep(20);
    }
    return true;
  } catch {
    return false;
  }
}
