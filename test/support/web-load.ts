/**
 * CPU load for the web tests: child processes that spin until a deadline, so a
 * page's timing is measured on a busy machine (the CI box has 2 cores and runs
 * QEMU tests beside these). Each child ends by itself at the deadline even if
 * the test process dies; stop() ends them early by their own pids.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface CpuLoad {
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/** `processes` busy loops, each ending by itself after `maxMs`. */
export function startCpuLoad(processes: number, maxMs: number): CpuLoad {
  const script = `const end = Date.now() + ${Math.max(0, Math.round(maxMs))}; let x = 0; while (Date.now() < end) x = (x + 1) % 1e9;`;
  const children: ChildProcess[] = Array.from({ length: processes }, () => spawn(process.execPath, ['-e', script], { stdio: 'ignore' }));
  const exited = children.map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))));
  return {
    pids: children.map((c) => c.pid ?? -1),
    async stop(): Promise<void> {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(exited);
    },
  };
}
