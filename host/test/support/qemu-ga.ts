/**
 * A real qemu-ga running on the host as a stand-in guest: foreground child
 * process (no --daemonize, so the test owns it), unix socket and state in a
 * fresh temp dir, optional --block-rpcs. stop() kills it (SIGTERM, then
 * SIGKILL) and removes the dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireBinary } from './binaries.js';
import { listening } from './qemu.js';

export interface QemuGaOptions {
  /** Commands to disable (qemu-ga -b / --block-rpcs). */
  blockRpcs?: string[];
}

export interface QemuGa {
  readonly socketPath: string;
  readonly dir: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** What qemu-ga wrote to stderr so far. */
  log(): string;
  /** Has the process exited? */
  readonly exited: boolean;
  signal(sig: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export async function startQemuGa(options: QemuGaOptions = {}): Promise<QemuGa> {
  const bin = requireBinary('qemu-ga', 'qemu-guest-agent');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-qga-'));
  const socketPath = path.join(dir, 'qga.sock');
  const args = ['--method=unix-listen', `--path=${socketPath}`, `--statedir=${dir}`, `--pidfile=${path.join(dir, 'qga.pid')}`];
  if (options.blockRpcs && options.blockRpcs.length > 0) args.push(`--block-rpcs=${options.blockRpcs.join(',')}`);
  // stdin must not be inherited: guest-exec children without input-data inherit qemu-ga's stdin.
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  child.once('error', () => undefined);

  const handle: QemuGa = {
    socketPath,
    dir,
    get pid() {
      return child.pid ?? -1;
    },
    process: child,
    log: () => stderr,
    get exited() {
      return exited;
    },
    signal(sig) {
      if (!exited) child.kill(sig);
    },
    async stop() {
      if (!exited) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const killed = await Promise.race([exitPromise.then(() => true), sleep(3000).then(() => false)]);
        if (!killed) {
          child.kill('SIGKILL');
          await exitPromise;
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      await handle.stop();
      throw new Error(`qemu-ga exited before creating its socket: ${stderr}`);
    }
    // The socket file exists from bind(); connecting before listen() is refused, so wait for listen().
    if ((await listening([socketPath])).has(socketPath)) return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`qemu-ga did not create ${socketPath} within 15 s: ${stderr}`);
    }
    await sleep(20);
  }
}
