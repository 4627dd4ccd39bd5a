/**
 * How a virsh process comes to life: the seam that lets the same runners
 * (VirshProcess, PerCallVirsh, LibvirtEventStream) drive a local `virsh` child
 * process or a virsh on another machine (an SSH exec channel, see
 * host/src/vm/ssh/remote-virsh.ts). A VirshChild is three byte streams, a way
 * to stop it, and one close notification.
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { AtpError } from '@atp/protocol';

export interface VirshExit {
  code: number | null;
  signal: string | null;
  /** Set when the process could not run at all (binary missing, channel refused). */
  error?: AtpError;
}

export interface VirshChild {
  /** The local process id; undefined for a remote virsh. */
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Stops the process at once (SIGKILL locally; KILL signal and channel close remotely). */
  kill(): void;
  /** Called once, after the process exited (or failed to run) and its output ended. */
  onClose(listener: (exit: VirshExit) => void): void;
}

/**
 * Starts `virsh ARGS…` with VIRSH_ENV set. Rejects (with an AtpError) only when
 * the process cannot be started at all; a start failure found later (ENOENT
 * from spawn) arrives as `onClose` with `error`.
 */
export type VirshSpawner = (args: readonly string[]) => Promise<VirshChild>;

/** The environment every virsh runs with: English messages, no readline init file, no line wrapping. */
export const VIRSH_ENV: Readonly<Record<string, string>> = { LC_ALL: 'C', LANG: 'C', INPUTRC: '/dev/null', COLUMNS: '1000000', LINES: '1000' };

export function virshEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...VIRSH_ENV };
}

export function spawnFailure(binary: string, cause: unknown): AtpError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new AtpError('ATP_LIBVIRT_VIRSH', `cannot run ${binary}: ${message} (install it with: apt-get install -y libvirt-clients)`, { cause, details: { binary } });
}

/** Spawns `binary` on this machine (argv array, no shell). */
export function localVirshSpawner(binary = 'virsh'): VirshSpawner {
  return (args) => {
    const child = spawn(binary, [...args], { env: virshEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const listeners: ((exit: VirshExit) => void)[] = [];
    let exit: VirshExit | undefined;
    const finish = (e: VirshExit): void => {
      if (exit) return;
      exit = e;
      for (const l of listeners.splice(0)) l(e);
    };
    child.on('error', (cause) => finish({ code: null, signal: null, error: spawnFailure(binary, cause) }));
    child.on('close', (code, signal) => finish({ code, signal }));
    child.stdin.on('error', () => undefined); // EPIPE after exit: reported through close
    return Promise.resolve({
      pid: child.pid,
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      kill: () => void child.kill('SIGKILL'),
      onClose: (listener) => {
        if (exit) listener(exit);
        else listeners.push(listener);
      },
    });
  };
}
