/**
 * SshConnectionManager: one shared SSH connection per host for all its users.
 *
 * - Connects on first use. While connected, ssh2 keepalives run and a
 *   heartbeat (`true` over exec) every `heartbeatIntervalMs`; a heartbeat that
 *   times out drops the connection.
 * - A lost connection (or a failed attempt) reconnects in the background after
 *   backoffDelay(attempt) (exponential, jittered). Meanwhile calls fail fast
 *   with ATP_SSH_UNREACHABLE (cause: the last error, details.retryInMs), and a
 *   call during an attempt waits for it. Host-key, auth and key-file failures
 *   are not retried in the background (a retry cannot fix them); the next
 *   call tries again.
 * - `call()` runs under a per-host semaphore (maxConcurrency, default 8:
 *   OpenSSH's MaxSessions is 10 per connection) and records latency.
 *   Long-lived channels (a virsh, a QMP forward) hold a permit only while
 *   opening; their calls go through the same semaphore when wrapped
 *   (`wrapRunner`).
 */
import type { Duplex } from 'node:stream';
import { AtpError, backoffDelay, type AtpErrorCode, type BackoffOptions } from '@atp/protocol';
import { SshConnection, type SshConnectOptions, type SshEndpoint } from './connection.js';
import { runRemote, type RunOptions, type RunResult } from './exec.js';
import { LatencyWindow } from './latency.js';
import { Semaphore } from './semaphore.js';
import type { StreamTarget } from '../connect.js';
import type { VirshRunner, VirshRunOptions } from '../libvirt/virsh-runner.js';
import { timerDelay } from '../../util/timers.js';

export interface ManagedHost extends SshEndpoint {
  name: string;
  maxConcurrency?: number | undefined;
}

export interface SshManagerOptions {
  keepaliveIntervalMs?: number;
  /** Cheap exec heartbeat (default 15000 ms; 0 disables) and its timeout (default 10000 ms). */
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** Reconnect delays (default initial 200 ms, max 10 s, factor 2, jitter 0.5). */
  backoff?: BackoffOptions;
  defaultConcurrency?: number;
  /** Told about connects, losses and retries. */
  onEvent?: (host: string, event: string) => void;
}

export type HostState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'failed' | 'closed';

export interface HostMetrics {
  host: string;
  state: HostState;
  connected: boolean;
  /** Successful connects, and those after a loss. */
  connects: number;
  reconnects: number;
  failedAttempts: number;
  inFlight: number;
  maxInFlight: number;
  queued: number;
  limit: number;
  calls: number;
  failures: number;
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
  heartbeats: number;
  heartbeatFailures: number;
  lastError: { code: AtpErrorCode; message: string } | undefined;
}

const PERMANENT: ReadonlySet<AtpErrorCode> = new Set<AtpErrorCode>(['ATP_SSH_HOST_KEY_UNKNOWN', 'ATP_SSH_HOST_KEY_CHANGED', 'ATP_SSH_AUTH', 'ATP_SSH_KEY_FILE']);

class HostSlot {
  state: HostState = 'idle';
  connection: SshConnection | undefined;
  connecting: Promise<SshConnection> | undefined;
  attempt = 0;
  everConnected = false;
  lastError: AtpError | undefined;
  retryAt = 0;
  retryTimer: NodeJS.Timeout | undefined;
  heartbeatTimer: NodeJS.Timeout | undefined;
  readonly semaphore: Semaphore;
  readonly latency = new LatencyWindow();
  m = { connects: 0, reconnects: 0, failedAttempts: 0, maxInFlight: 0, calls: 0, failures: 0, heartbeats: 0, heartbeatFailures: 0 };

  constructor(readonly host: ManagedHost, limit: number) {
    this.semaphore = new Semaphore(limit);
  }
}

const toAtp = (e: unknown, host: string): AtpError =>
  e instanceof AtpError ? e : new AtpError('ATP_SSH_CONNECT', `${host}: ${e instanceof Error ? e.message : String(e)}`, { cause: e, details: { host } });

export class SshConnectionManager {
  private readonly slots = new Map<string, HostSlot>();
  private closed = false;

  constructor(hosts: Iterable<ManagedHost> = [], private readonly options: SshManagerOptions = {}) {
    for (const h of hosts) this.add(h);
  }

  add(host: ManagedHost): void {
    if (this.slots.has(host.name)) throw new AtpError('ATP_CONFIG_HOST_EXISTS', `host '${host.name}' is already managed`, { details: { host: host.name } });
    this.slots.set(host.name, new HostSlot(host, host.maxConcurrency ?? this.options.defaultConcurrency ?? 8));
  }

  hosts(): string[] {
    return [...this.slots.keys()];
  }

  private slot(name: string): HostSlot {
    const s = this.slots.get(name);
    if (!s) throw new AtpError('ATP_CONFIG_HOST_UNKNOWN', `host '${name}' is not managed (known: ${this.hosts().join(', ') || 'none'})`, { details: { host: name } });
    return s;
  }

  /** The host's shared connection: the live one, the attempt under way, or a new attempt; ATP_SSH_UNREACHABLE during backoff. */
  async connection(name: string): Promise<SshConnection> {
    if (this.closed) throw new AtpError('ATP_SSH_CLOSED', 'the SSH connection manager is closed', { details: { host: name } });
    const slot = this.slot(name);
    if (slot.connection && !slot.connection.closed) return slot.connection;
    if (slot.connecting) return slot.connecting;
    if (slot.state === 'backoff') {
      const retryInMs = Math.max(0, slot.retryAt - Date.now());
      throw new AtpError('ATP_SSH_UNREACHABLE', `host '${name}' is unreachable (${slot.lastError?.message ?? 'connection lost'}); next attempt in ${retryInMs} ms`, { cause: slot.lastError, details: { host: name, retryInMs, lastCode: slot.lastError?.code } });
    }
    return this.attempt(slot);
  }

  private attempt(slot: HostSlot): Promise<SshConnection> {
    const name = slot.host.name;
    slot.state = 'connecting';
    const connectOptions: SshConnectOptions = {};
    if (this.options.keepaliveIntervalMs !== undefined) connectOptions.keepaliveIntervalMs = this.options.keepaliveIntervalMs;
    const attempt = SshConnection.connect(slot.host, connectOptions).then(
      (connection) => {
        slot.connecting = undefined;
        if (this.closed) {
          connection.close();
          throw new AtpError('ATP_SSH_CLOSED', 'the SSH connection manager is closed', { details: { host: name } });
        }
        slot.connection = connection;
        slot.state = 'connected';
        slot.attempt = 0;
        slot.m.connects += 1;
        if (slot.everConnected) slot.m.reconnects += 1;
        slot.everConnected = true;
        this.options.onEvent?.(name, slot.m.connects > 1 ? 'reconnected' : 'connected');
        connection.onClose((error) => this.lost(slot, connection, error));
        this.scheduleHeartbeat(slot, connection);
        return connection;
      },
      (error: unknown) => {
        slot.connecting = undefined;
        const e = toAtp(error, name);
        slot.lastError = e;
        slot.m.failedAttempts += 1;
        if (this.closed) slot.state = 'closed';
        else if (PERMANENT.has(e.code)) slot.state = 'failed';
        else this.scheduleRetry(slot);
        this.options.onEvent?.(name, `connect failed: ${e.code}`);
        throw e;
      },
    );
    slot.connecting = attempt;
    return attempt;
  }

  private lost(slot: HostSlot, connection: SshConnection, error: AtpError): void {
    if (slot.connection !== connection) return;
    slot.connection = undefined;
    clearTimeout(slot.heartbeatTimer);
    if (this.closed || error.code === 'ATP_SSH_CLOSED') return;
    slot.lastError = error;
    this.options.onEvent?.(slot.host.name, `lost: ${error.message}`);
    this.scheduleRetry(slot);
  }

  private scheduleRetry(slot: HostSlot): void {
    const delay = backoffDelay(slot.attempt, { initialMs: 200, maxMs: 10_000, ...this.options.backoff });
    slot.attempt += 1;
    slot.state = 'backoff';
    slot.retryAt = Date.now() + delay;
    clearTimeout(slot.retryTimer);
    slot.retryTimer = setTimeout(() => {
      if (this.closed || slot.state !== 'backoff') return;
      this.attempt(slot).catch(() => undefined); // recorded in the slot; the next retry is scheduled
    }, timerDelay(delay));
  }

  private scheduleHeartbeat(slot: HostSlot, connection: SshConnection): void {
    const every = this.options.heartbeatIntervalMs ?? 15_000;
    if (every <= 0) return;
    slot.heartbeatTimer = setTimeout(() => {
      if (connection.closed || slot.connection !== connection) return;
      runRemote(connection, ['true'], { timeoutMs: this.options.heartbeatTimeoutMs ?? 10_000 }).then(
        () => {
          slot.m.heartbeats += 1;
          this.scheduleHeartbeat(slot, connection);
        },
        (error: unknown) => {
          slot.m.heartbeatFailures += 1;
          const e = toAtp(error, slot.host.name);
          if (e.code === 'ATP_SSH_TIMEOUT') connection.destroy(new AtpError('ATP_SSH_DISCONNECTED', `heartbeat to '${slot.host.name}' failed: ${e.message}`, { cause: e, details: { host: slot.host.name } }));
          else this.scheduleHeartbeat(slot, connection);
        },
      );
    }, timerDelay(every));
  }

  /** Runs `fn` on the host's connection under its concurrency limit, timed. */
  async call<T>(name: string, fn: (connection: SshConnection) => Promise<T>): Promise<T> {
    const slot = this.slot(name);
    const release = await slot.semaphore.acquire();
    slot.m.maxInFlight = Math.max(slot.m.maxInFlight, slot.semaphore.inUse);
    const t0 = performance.now();
    try {
      const result = await fn(await this.connection(name));
      slot.latency.add(performance.now() - t0);
      return result;
    } catch (error) {
      slot.m.failures += 1;
      throw error;
    } finally {
      slot.m.calls += 1;
      release();
    }
  }

  exec(name: string, argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return this.call(name, (c) => runRemote(c, argv, options));
  }

  forwardUnix(name: string, socketPath: string): Promise<Duplex> {
    return this.call(name, (c) => c.forwardUnix(socketPath));
  }

  /** A StreamTarget for QmpClient / QgaClient / the hub: the remote unix socket through the host's connection. */
  unixTarget(name: string, socketPath: string): StreamTarget {
    return { stream: () => this.forwardUnix(name, socketPath) };
  }

  /** The runner with every call counted against the host's limit and latency. */
  wrapRunner(name: string, runner: VirshRunner): VirshRunner {
    return {
      get mode() {
        return runner.mode;
      },
      run: (argv: readonly string[], options?: VirshRunOptions) => this.call(name, () => runner.run(argv, options)),
      close: () => runner.close(),
    };
  }

  metrics(name: string): HostMetrics {
    const s = this.slot(name);
    const e = s.lastError;
    return {
      host: name,
      state: this.closed ? 'closed' : s.state,
      connected: s.connection !== undefined && !s.connection.closed,
      ...s.m,
      inFlight: s.semaphore.inUse,
      queued: s.semaphore.waiting,
      limit: s.semaphore.limit,
      latencyP50Ms: s.latency.quantile(0.5),
      latencyP99Ms: s.latency.quantile(0.99),
      lastError: e === undefined ? undefined : { code: e.code, message: e.message },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots.values()) {
      clearTimeout(s.retryTimer);
      clearTimeout(s.heartbeatTimer);
      s.state = 'closed';
      s.connection?.close();
      s.connection = undefined;
      await s.connecting?.catch(() => undefined);
    }
  }
}
