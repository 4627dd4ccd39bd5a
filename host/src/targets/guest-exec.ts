/**
 * Runs a program in a libvirt domain's guest through the QEMU guest agent
 * (libvirt's qemu-agent-command: guest-exec, then guest-exec-status until it
 * exits or the deadline passes), with the output decoded as UTF-8. The
 * program and its arguments go to qemu-ga as an argument vector: nothing
 * passes through a shell. Shared by `atp-host command exec` and the HTTP
 * API's /api/v1/command/exec.
 */
import type { ConfigLocation } from '../config/paths.js';
import { qgaExec } from '../vm/qga/index.js';
import { withDomain } from './domains.js';

export interface GuestExecResult {
  pid: number;
  /** Exit status, or null when a signal ended the program. */
  exitCode: number | null;
  signal: number | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** `vm` is NAME[@HOST]; the domain must be running (ATP_LIBVIRT_DOMAIN_NOT_RUNNING otherwise). */
export async function execInDomain(vm: string, location: ConfigLocation, command: string, args: readonly string[], options: { deadlineMs: number }): Promise<GuestExecResult> {
  const r = await withDomain(vm, location, (d) => qgaExec(d.client.qgaExecutor(d.domain), command, args, { deadlineMs: options.deadlineMs }));
  return {
    pid: r.pid,
    exitCode: r.exitCode,
    signal: r.signal,
    stdout: Buffer.from(r.stdout).toString('utf8'),
    stderr: Buffer.from(r.stderr).toString('utf8'),
    stdoutTruncated: r.stdoutTruncated,
    stderrTruncated: r.stderrTruncated,
  };
}

/** The shell-style exit code for a result: the exit status, or 128 + the signal. */
export const exitCodeOf = (r: Pick<GuestExecResult, 'exitCode' | 'signal'>): number => r.exitCode ?? 128 + (r.signal ?? 0);
