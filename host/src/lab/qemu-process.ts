/**
 * Starting the lab's QEMU: spawned detached with its output appended to the
 * QEMU log, its pid and start time taken at once (so a recycled pid is never
 * mistaken for it), optionally SIGKILLed when this Node process exits; and
 * `waitQemuStarted`, which tells "QEMU finished initialising" (QMP greets:
 * QEMU sends the greeting from its main loop, after every device and display
 * server is set up) from "QEMU exited during start-up" (e.g. a display port
 * it could not bind), for vm.ts to retry or report.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@atp/protocol';
import { QmpClient } from '../vm/qmp/index.js';
import { requireExecutable } from './prereqs.js';
import { isSameProcessAlive, processStartTicks } from './state.js';

export interface QemuProcess {
  pid: number;
  startTicks: string;
  /** True once the child has exited (or its pid is no longer this QEMU). */
  exited(): boolean;
}

/** QEMUs to SIGKILL when this process exits (killOnExit): one 'exit' listener for all of them, however many VMs a run boots. */
const exitHooks = new Map<number, () => void>();
let exitListener: (() => void) | undefined;
function killAllOnExit(pid: number, kill: () => void): void {
  exitHooks.set(pid, kill);
  if (exitListener === undefined) {
    exitListener = () => {
      for (const k of exitHooks.values()) k();
    };
    process.once('exit', exitListener);
  }
}

/** Drops a stopped QEMU's exit hook. */
export function forgetQemuExitHook(pid: number): void {
  exitHooks.delete(pid);
}

/** The last `lines` lines of a file ('' when unreadable). */
export async function tailFile(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** What a file holds beyond its first `from` bytes ('' when unreadable). */
export async function readFrom(file: string, from: number): Promise<string> {
  try {
    return (await readFile(file)).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

export async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** Spawns qemu-system-x86_64 detached; ATP_LAB_BOOT when it does not start. */
export async function spawnQemu(args: readonly string[], logFile: string, options: { killOnExit?: boolean } = {}): Promise<QemuProcess> {
  const logFd = openSync(logFile, 'a');
  let exited = false;
  const child = spawn(requireExecutable('qemu-system-x86_64'), args, { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  child.once('exit', () => {
    exited = true;
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  child.unref();
  const pid = child.pid;
  const startTicks = pid === undefined ? undefined : processStartTicks(pid);
  if (pid === undefined || startTicks === undefined) {
    const error = await Promise.race([spawnError, sleep(1000).then(() => new Error('no pid'))]);
    throw new AtpError('ATP_LAB_BOOT', `cannot start qemu-system-x86_64: ${error.message}\n${await tailFile(logFile)}`, { cause: error });
  }
  if (options.killOnExit) killAllOnExit(pid, () => void child.kill('SIGKILL'));
  return { pid, startTicks, exited: () => exited || !isSameProcessAlive(pid, startTicks) };
}

/** 'up' once QMP greets, 'exited' if QEMU dies first; ATP_LAB_BOOT when neither happens by `deadline`. */
export async function waitQemuStarted(qmpPath: string, qemu: QemuProcess, deadline: number): Promise<'up' | 'exited'> {
  for (;;) {
    if (qemu.exited()) return 'exited';
    try {
      const qmp = await QmpClient.connect({ path: qmpPath }, { connectTimeoutMs: Math.max(1000, Math.min(10_000, deadline - Date.now())) });
      await qmp.close();
      return 'up';
    } catch {
      // not listening yet, or QEMU is exiting: look again
    }
    if (Date.now() > deadline) {
      throw new AtpError('ATP_LAB_BOOT', `QEMU (pid ${qemu.pid}) did not answer on its QMP socket ${qmpPath} in time`, { details: { pid: qemu.pid } });
    }
    await sleep(100);
  }
}
