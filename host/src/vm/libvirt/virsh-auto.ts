/**
 * Picks how virsh runs. 'auto' (the default) uses the long-lived interactive
 * process and falls back to one process per call when that process starts but
 * does not speak the marker protocol; a call whose arguments the interactive
 * line reader cannot carry (a newline, a control character) goes per call too.
 * With `pool: K` the runner is a VirshPool of up to K such runners (virsh-pool.ts),
 * so up to K calls run at once.
 */
import { AtpError } from '@atp/protocol';
import { checkPoolSize, VirshPool } from './virsh-pool.js';
import { VirshProcess, type VirshProcessOptions } from './virsh-process.js';
import { PerCallVirsh, type VirshRunner, type VirshRunOptions } from './virsh-runner.js';

export type VirshMode = 'auto' | 'interactive' | 'per-call';

export interface VirshRunnerOptions extends VirshProcessOptions {
  mode?: VirshMode;
  /**
   * Up to this many virsh (each of `mode`) carry calls side by side, made as
   * needed (VirshPool; DEFAULT_VIRSH_POOL_SIZE is 4). Default: one runner, one
   * call at a time.
   */
  pool?: number;
}

export function createVirshRunner(options: VirshRunnerOptions): VirshRunner {
  if (options.pool !== undefined) {
    const size = checkPoolSize(options.pool);
    return new VirshPool({ size, create: () => singleRunner(options), ...(options.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: options.defaultTimeoutMs }) });
  }
  return singleRunner(options);
}

function singleRunner(options: VirshRunnerOptions): VirshRunner {
  const mode = options.mode ?? 'auto';
  if (mode === 'per-call') return new PerCallVirsh(options);
  if (mode === 'interactive') return new VirshProcess(options);
  return new AutoVirsh(options);
}

export class AutoVirsh implements VirshRunner {
  private readonly interactive: VirshProcess;
  private readonly perCall: PerCallVirsh;
  private fellBack = false;

  constructor(options: VirshProcessOptions) {
    this.interactive = new VirshProcess(options);
    this.perCall = new PerCallVirsh(options);
  }

  get mode(): 'interactive' | 'per-call' {
    return this.fellBack ? 'per-call' : 'interactive';
  }

  /** The interactive process (for its pid and restart count). */
  get process(): VirshProcess {
    return this.interactive;
  }

  async run(argv: readonly string[], options?: VirshRunOptions): Promise<string> {
    if (this.fellBack) return this.perCall.run(argv, options);
    try {
      return await this.interactive.run(argv, options);
    } catch (error) {
      if (this.interactive.protocolBroken) {
        this.fellBack = true;
        await this.interactive.close();
        return this.perCall.run(argv, options);
      }
      if (error instanceof AtpError && error.code === 'ATP_LIBVIRT_ARGUMENT' && error.details.reason === 'line-reader') return this.perCall.run(argv, options);
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.interactive.close(), this.perCall.close()]);
  }
}
