/**
 * The seam between LibvirtClient and how virsh runs: one long-lived
 * interactive process (VirshProcess) or one process per call (PerCallVirsh).
 * Both take an argv array (never a shell) and resolve with the command's
 * stdout, or reject with a typed AtpError built from virsh's `error:` lines.
 */
import { execFile } from 'node:child_process';
import { AtpError } from '@atp/protocol';
import { commandError, splitStderr, virshError } from './virsh-codec.js';
import { timerDelay } from '../../util/timers.js';

export interface VirshRunOptions {
  /** Fail with ATP_LIBVIRT_TIMEOUT after this many ms (default: the runner's). */
  timeoutMs?: number;
  /** The domain the call is about: named in errors. */
  domain?: string;
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
  /** The virsh binary (default: `virsh` on PATH). */
  binary?: string;
  /** Default per-call timeout in ms (default 30000). */
  defaultTimeoutMs?: number;
}

/** The environment every virsh runs with: English messages, no readline init file, no line wrapping. */
export function virshEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', LANG: 'C', INPUTRC: '/dev/null', COLUMNS: '1000000', LINES: '1000' };
}

export const DEFAULT_VIRSH_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export function spawnFailure(binary: string, cause: unknown): AtpError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new AtpError('ATP_LIBVIRT_VIRSH', `cannot run ${binary}: ${message} (install it with: apt-get install -y libvirt-clients)`, { cause, details: { binary } });
}

/** One `virsh -q -c URI ARGV…` process per call. */
export class PerCallVirsh implements VirshRunner {
  readonly mode = 'per-call' as const;
  private closed = false;
  private readonly binary: string;

  constructor(private readonly options: VirshCommonOptions) {
    this.binary = options.binary ?? 'virsh';
  }

  run(argv: readonly string[], options: VirshRunOptions = {}): Promise<string> {
    const command = argv[0] ?? '';
    if (this.closed) return Promise.reject(new AtpError('ATP_LIBVIRT_CLOSED', `virsh ${command}: the libvirt client is closed`, { details: { command } }));
    const timeoutMs = timerDelay(options.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULT_VIRSH_TIMEOUT_MS);
    const ctx = { command, ...(options.domain === undefined ? {} : { domain: options.domain }) };
    return new Promise((resolve, reject) => {
      execFile(
        this.binary,
        ['-q', '-c', this.options.uri, ...argv],
        { env: virshEnv(), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (!error) {
            resolve(stdout);
            return;
          }
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'EACCES') reject(spawnFailure(this.binary, error));
          else if (error.killed && error.signal === 'SIGKILL') {
            reject(new AtpError('ATP_LIBVIRT_TIMEOUT', `virsh ${command} did not finish within ${timeoutMs} ms`, { details: { ...ctx, timeoutMs } }));
          } else {
            reject(commandError(splitStderr(stderr), ctx) ?? virshError([stderr.trim() || error.message], ctx));
          }
        },
      );
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
