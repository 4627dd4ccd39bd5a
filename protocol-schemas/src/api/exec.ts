/**
 * /api/v1/command/exec: runs a program in a libvirt domain's guest through
 * the QEMU guest agent (libvirt's qemu-agent-command: guest-exec, then
 * guest-exec-status until it exits), as `atp-host command exec --json`.
 * `command` is the program (a path in the guest or a name on its PATH) and
 * `args` its arguments, passed as they are: nothing goes through a shell.
 */
import { z } from 'zod';
import { ApiVmRefSchema } from './input.js';

export const ApiExecBodySchema = z.strictObject({
  vm: ApiVmRefSchema,
  command: z.string().min(1).max(4096),
  args: z.array(z.string().max(65_536)).max(1000).default([]),
  /** Give up waiting for the program after this long (default 60 s): ATP_QGA_EXEC_DEADLINE. */
  timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
});

export const ApiExecResultSchema = z.strictObject({
  vm: z.string(),
  pid: z.number().int(),
  /** The exit status; null when a signal ended the program. */
  exitCode: z.number().int().nullable(),
  signal: z.number().int().nullable(),
  /** UTF-8 decoded output (invalid bytes replaced). */
  stdout: z.string(),
  stderr: z.string(),
  /** The guest agent capped the stream (16 MiB in qemu-ga 7.2). */
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
});
