/**
 * VirshPool: up to `size` virsh runners for one libvirt URI behind the
 * VirshRunner interface. One interactive virsh carries one command at a time,
 * so suites on many VMs through one connection would queue behind each other
 * (and count the wait as input latency); the pool runs their calls side by side.
 *
 * Rules:
 * - Runners come from the `create` factory, made lazily: the first one at
 *   construction (a runner starts no process until its first call), more only
 *   when a call finds every runner busy. At most `size` exist.
 * - A runner carries one call at a time. A call takes an idle runner (one whose
 *   last call did not fail on the connection first, then the oldest), else a
 *   new one while fewer than `size` exist, else waits in a FIFO for the first
 *   runner to come free. So a call's onSent fires when it really leaves.
 * - The call's timeout covers its wait in the pool: a call that times out
 *   while waiting rejects ATP_LIBVIRT_TIMEOUT and never reaches virsh.
 * - Runners are independent: one whose virsh dies or hangs fails its own call
 *   and restarts by its own rules (virsh-process.ts); the others carry on.
 * - No order between calls in flight at the same time: two virsh may finish
 *   them in any order. A caller that needs order awaits each call (QmpInjector
 *   does). Each runner is its own libvirt connection, so per-connection state
 *   (the test:///default driver's) is not shared between them.
 * - close() closes every runner; waiting and later calls reject ATP_LIBVIRT_CLOSED.
 */
import { AtpError } from '@atp/protocol';
import { DEFAULT_VIRSH_TIMEOUT_MS, type VirshRunner, type VirshRunOptions } from './virsh-runner.js';
import { timerDelay } from '../../util/timers.js';

export const DEFAULT_VIRSH_POOL_SIZE = 4;
/**
 * A bound on virsh processes per pool: more buys nothing for one host's monitor
 * traffic. Over SSH each runner is an exec channel (a session): keep the size
 * below OpenSSH's MaxSessions (10) minus the other channels (events, forwards).
 */
export const MAX_VIRSH_POOL_SIZE = 16;

export interface VirshPoolOptions {
  /** Most runners at once (default DEFAULT_VIRSH_POOL_SIZE; an integer in 1..MAX_VIRSH_POOL_SIZE). */
  size?: number;
  /** Makes one runner (e.g. createVirshRunner without `pool`). */
  create: () => VirshRunner;
  /** A call's timeout when it gives none, counted from entering the pool (default 30000, as the runners'). */
  defaultTimeoutMs?: number;
}

export interface VirshPoolStats {
  size: number;
  /** Runners made so far. */
  runners: number;
  /** Runners carrying a call now, and the most ever at once. */
  busy: number;
  peakBusy: number;
  /** Calls waiting for a runner now. */
  waiting: number;
}

interface Member {
  readonly runner: VirshRunner;
  busy: boolean;
  /** Its last call failed on the connection (virsh died, hung or would not start). */
  suspect: boolean;
}

interface Waiter {
  command: string;
  take: (member: Member) => void;
  fail: (error: AtpError) => void;
}

/** Codes after which a runner's virsh was killed or never came up. */
const CONNECTION_CODES = new Set(['ATP_LIBVIRT_CONNECTION', 'ATP_LIBVIRT_TIMEOUT', 'ATP_LIBVIRT_VIRSH']);

export function checkPoolSize(size: number): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_VIRSH_POOL_SIZE) {
    throw new AtpError('ATP_LIBVIRT_ARGUMENT', `pool (virsh pool size) must be an integer in 1..${MAX_VIRSH_POOL_SIZE}, got ${String(size)}`, { details: { field: 'pool', value: size } });
  }
  return size;
}

export class VirshPool implements VirshRunner {
  readonly size: number;
  private readonly members: Member[] = [];
  private readonly waiters: Waiter[] = [];
  private closed = false;
  private peak = 0;

  constructor(private readonly options: VirshPoolOptions) {
    this.size = checkPoolSize(options.size ?? DEFAULT_VIRSH_POOL_SIZE);
    this.members.push({ runner: options.create(), busy: false, suspect: false });
  }

  /** The first runner's mode (every runner is made alike). */
  get mode(): 'interactive' | 'per-call' {
    return this.members[0]?.runner.mode ?? 'interactive';
  }

  /** The runners made so far, oldest first (tests read their virsh pids). */
  get runners(): readonly VirshRunner[] {
    return this.members.map((m) => m.runner);
  }

  get stats(): VirshPoolStats {
    return { size: this.size, runners: this.members.length, busy: this.busyCount(), peakBusy: this.peak, waiting: this.waiters.length };
  }

  run(argv: readonly string[], options: VirshRunOptions = {}): Promise<string> {
    const command = argv[0] ?? '';
    if (this.closed) return Promise.reject(closedError(command));
    let member: Member | undefined;
    try {
      member = this.idleOrNew();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (member) return this.runOn(member, argv, options);
    const timeoutMs = timerDelay(options.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULT_VIRSH_TIMEOUT_MS);
    const entered = Date.now();
    return this.waitForRunner(command, options.domain, timeoutMs).then((free) => {
      const left = Math.max(1, timeoutMs - (Date.now() - entered));
      return this.runOn(free, argv, { ...options, timeoutMs: left });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.fail(closedError(w.command));
    await Promise.all(this.members.map((m) => m.runner.close()));
  }

  private busyCount(): number {
    return this.members.filter((m) => m.busy).length;
  }

  private idleOrNew(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members) {
      if (!m.busy && (best === undefined || (best.suspect && !m.suspect))) best = m;
    }
    if (best) return best;
    if (this.members.length >= this.size) return undefined;
    const made: Member = { runner: this.options.create(), busy: false, suspect: false };
    this.members.push(made);
    return made;
  }

  /**
   * Runs on `member` and returns the runner's own promise. The pool frees the
   * member in a reaction registered before the caller can add one, so a caller
   * hears of the result before the next waiting call is handed the runner.
   */
  private runOn(member: Member, argv: readonly string[], options: VirshRunOptions): Promise<string> {
    member.busy = true;
    this.peak = Math.max(this.peak, this.busyCount());
    let result: Promise<string>;
    try {
      result = member.runner.run(argv, options);
    } catch (error) {
      result = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    result.then(
      () => this.free(member, false),
      (error: unknown) => this.free(member, error instanceof AtpError && CONNECTION_CODES.has(error.code)),
    );
    return result;
  }

  private free(member: Member, suspect: boolean): void {
    member.suspect = suspect;
    const next = this.closed ? undefined : this.waiters.shift();
    if (next) next.take(member); // stays busy: handed straight on, FIFO
    else member.busy = false;
  }

  private waitForRunner(command: string, domain: string | undefined, timeoutMs: number): Promise<Member> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        command,
        take: (member) => {
          clearTimeout(timer);
          resolve(member);
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        const ctx = { command, ...(domain === undefined ? {} : { domain }) };
        reject(
          new AtpError('ATP_LIBVIRT_TIMEOUT', `virsh ${command}${domain === undefined ? '' : ` (domain '${domain}')`} did not finish within ${timeoutMs} ms (all ${this.size} virsh of the pool stayed busy)`, {
            details: { ...ctx, timeoutMs, pool: this.size },
          }),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

function closedError(command: string): AtpError {
  return new AtpError('ATP_LIBVIRT_CLOSED', `virsh ${command}: the libvirt client is closed`, { details: { command } });
}
