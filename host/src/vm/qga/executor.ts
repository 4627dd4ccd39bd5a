/**
 * The seam between QGA helpers (exec, files, info) and how commands reach the
 * agent: QgaClient over a socket today, `virsh qemu-agent-command` later.
 */
import type { z } from 'zod';
import { parseReturn } from './messages.js';

export interface QgaExecuteOptions {
  /** Reply timeout for this command; the implementation's default otherwise. */
  timeoutMs?: number;
}

export interface QgaExecutor {
  /**
   * Runs one guest agent command and resolves with its `return` value. `T` is not
   * checked here: helpers validate with zod through `executeParsed`. Failures reject
   * with AtpError (ATP_QGA_*).
   */
  execute<T = unknown>(command: string, args?: Readonly<Record<string, unknown>>, options?: QgaExecuteOptions): Promise<T>;
}

/** `execute` plus zod validation of the reply. */
export async function executeParsed<S extends z.ZodType>(
  executor: QgaExecutor,
  command: string,
  schema: S,
  args?: Readonly<Record<string, unknown>>,
  options?: QgaExecuteOptions,
): Promise<z.infer<S>> {
  const value = await executor.execute<unknown>(command, args, options);
  return parseReturn(command, schema, value);
}
