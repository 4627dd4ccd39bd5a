/**
 * The seam between LibvirtClient and how virsh runs: one long-lived
 * interactive process (VirshProcess) or one process per call (PerCallVirsh).
 * Both take an argv array (never a shell) and resolve with the command's
 * stdout, or reject with a typed AtpError built from virsh's `error:` lines.
 */
import { AtpError } from '@atp/protocol';
import { commandError, splitStderr, virshError } from './virsh-codec.js';
import { localVirshSpawner, type VirshSpawner } from './virsh-spawn.js';
import { timerDelay } from '../../util/timers.js';
import { reportSent, type SentHook } from '../qmp/executor.js';

export { spawnFailure, virshEnv } from './virsh-spawn.js';

export interface VirshRunOptions {
  /** Fail with ATP_LIBVIRT_TIMEOUT after this many ms (default: the runner's). */
  timeoutMs?: number;
  /** The domain the call is about: named in errors. */
  domain?: string;
  /**
   * Told hostNow() when the command leaves for virsh, after any queueing: as
   * its line is written to the interactive virsh's stdin, or once the per-call
   * virsh is spawned (its argv is the command). See QmpExecuteOptions.onSent.
   */
  onSent?: SentHook;
}

export interface VirshRunner {
  readonly mode: 'interactive' | 'per-call';
  /** Runs one virsh command (argv[0] is the verb) and resolves with its stdout. */
  run(argv: readonly string[], options?: VirshRunOptions): Promise<string>;
  /** Stops any process it keeps; later calls reject ATP_LIBVIRT_CLOSED. */
  close(): Promise<void>;
}

export interface VirshCommonOptions {
  /** libvirt connection URI, e.g. qemu:///system. */
  uri: string;
  /** The virsh binary (default: `virsh` on PATH); ignored when `spawner` is given. */
  binary?: string;
  /** How virsh processes start (default: a local child process of `binary`). */
  spawner?: VirshSpawner;
  /** Default per-call timeout in ms (default 30000). */
  defaultTimeoutMs?: number;
}

export const DEFAULT_VIRSH_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_CHARS = 64 * 1024 * 1024;

/** One `virsh -q -c URI ARGV…` process per call (stdin closed at once). */
export class PerCallVirsh implements VirshRunner {
  readonly mode = 'per-call' as const;
  private closed = false;
  private readonly spawner: VirshSpawner;

  constructor(private readonly options: VirshCommonOptions) {
    this.spawner = options.spawner ?? localVirshSpawner(options.binary ?? 'virsh');
  }

  async run(argv: readonly string[], options: VirshRunOptions = {}): Promise<string> {
    const command = argv[0] ?? '';
    if (this.closed) throw new AtpError('ATP_LIBVIRT_CLOSED', `virsh ${command}: the libvirt client is closed`, { details: { command } });
    const timeoutMs = timerDelay(options.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULT_VIRSH_TIMEOUT_MS);
    const ctx = { command, ...(options.domain === undefined ? {} : { domain: options.domain }) };
    const timeout = (): AtpError => new AtpError('ATP_LIBVIRT_TIMEOUT', `virsh ${command} did not finish within ${timeoutMs} ms`, { details: { ...ctx, timeoutMs } });
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const spawned = this.spawner(['-q', '-c', this.options.uri, ...argv]);
    const child = await Promise.race([
      spawned,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeout()), timerDelay(deadline - Date.now()));
      }),
    ]).catch((error: unknown) => {
      clearTimeout(timer);
      void spawned.then((late) => late.kill(), () => undefined);
      throw error;
    });
    clearTimeout(timer);
    reportSent(options.onSent);
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      const grow = (): void => {
        if (stdout.length + stderr.length > MAX_OUTPUT_CHARS) child.kill();
      };
      child.stdout.on('data', (d: string) => {
        stdout += d;
        grow();
      });
      child.stderr.on('data', (d: string) => {
        stderr += d;
        grow();
      });
      const killer = setTimeout(() => {
        timedOut = true;
        child.kill();
      }, timerDelay(deadline - Date.now()));
      child.onClose((exit) => {
        clearTimeout(killer);
        if (exit.error) reject(exit.error);
        else if (timedOut) reject(timeout());
        else if (exit.code === 0) resolve(stdout);
        else reject(commandError(splitStderr(stderr), ctx) ?? virshError([stderr.trim() || `virsh exited (${exit.signal ?? `code ${exit.code}`})`], ctx));
      });
      child.stdin.end();
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
