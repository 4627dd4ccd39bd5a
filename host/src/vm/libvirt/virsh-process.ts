/**
 * VirshProcess: one long-lived interactive `virsh -q -c URI` fed on stdin.
 * After each command it writes two marker commands (`echo --err M`, `echo M`)
 * and the call completes when M has arrived on both stdout and stderr, so each
 * command's output and errors are cut out exactly (see virsh-codec.ts).
 *
 * Rules:
 * - One command at a time (a FIFO queue); each call has its own timeout, which
 *   covers waiting for a (re)start as well. A call's `onSent` hears the moment
 *   just before its line is written, i.e. after its wait in the queue and for a (re)start.
 * - A timeout kills virsh (the command cannot be cancelled otherwise): the call
 *   rejects ATP_LIBVIRT_TIMEOUT. If virsh exits mid-call the call rejects
 *   ATP_LIBVIRT_CONNECTION. A connection error printed by virsh also kills it.
 *   The next call starts a fresh virsh, after a backoff delay that grows with
 *   consecutive failures and resets on a success.
 * - If the first start is alive but does not speak the marker protocol (a virsh
 *   built without readline, say), `protocolBroken` is set: the owner falls back
 *   to one process per call.
 */
import { randomBytes } from 'node:crypto';
import { AtpError, backoffDelay, type BackoffOptions } from '@atp/protocol';
import { commandError, commandStdout, isHandshake, makeMarker, splitStderr, type Marker } from './virsh-codec.js';
import { virshCommandLine } from './quote.js';
import { DEFAULT_VIRSH_TIMEOUT_MS, type VirshCommonOptions, type VirshRunner, type VirshRunOptions } from './virsh-runner.js';
import { localVirshSpawner, type VirshChild, type VirshSpawner } from './virsh-spawn.js';
import { timerDelay } from '../../util/timers.js';
import { reportSent, type SentHook } from '../qmp/executor.js';

export interface VirshProcessOptions extends VirshCommonOptions {
  /** Bound on starting virsh and its handshake (default 15000). */
  startTimeoutMs?: number;
  /** Restart delays after failures (default initial 100 ms, max 5 s). */
  backoff?: BackoffOptions;
  /** Called with connection notices virsh prints on its own ("Disconnected from …"). */
  onNotice?: (line: string) => void;
}

interface Waiting {
  marker: Marker;
  stdout?: string;
  stderr?: string;
  done: () => void;
}

interface Live {
  child: VirshChild;
  out: string;
  err: string;
  waiting: Waiting | undefined;
  exited: AtpError | undefined;
  onExit: Set<(e: AtpError) => void>;
}

const MAX_BUFFER_CHARS = 64 * 1024 * 1024;

export class VirshProcess implements VirshRunner {
  readonly mode = 'interactive' as const;
  /** Set when a started virsh did not speak the marker protocol. */
  protocolBroken = false;
  private live: Live | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private failures = 0;
  private seq = 0;
  private closed = false;
  private readonly nonce = randomBytes(8).toString('hex');
  private readonly spawner: VirshSpawner;
  /** Processes started so far (restarts = starts - 1). */
  starts = 0;

  constructor(private readonly options: VirshProcessOptions) {
    this.spawner = options.spawner ?? localVirshSpawner(options.binary ?? 'virsh');
  }

  /** The pid of the current virsh, if one runs. */
  get pid(): number | undefined {
    return this.live?.exited === undefined ? this.live?.child.pid : undefined;
  }

  run(argv: readonly string[], options: VirshRunOptions = {}): Promise<string> {
    const command = argv[0] ?? '';
    const ctx = { command, ...(options.domain === undefined ? {} : { domain: options.domain }) };
    let line: string;
    try {
      line = virshCommandLine(argv);
    } catch (error) {
      return Promise.reject(error);
    }
    const timeoutMs = timerDelay(options.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULT_VIRSH_TIMEOUT_MS);
    const deadline = Date.now() + timeoutMs;
    const result = this.queue.then(() => this.exec(line, ctx, deadline, timeoutMs, options.onSent));
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    const live = this.live;
    this.live = undefined;
    if (!live || live.exited) return;
    live.child.stdin.end('quit\n');
    await Promise.race([new Promise<void>((r) => live.onExit.add(() => r())), sleep(1000)]);
    if (!live.exited) live.child.kill();
  }

  /** Kills the current virsh (tests use this to simulate a crash). */
  kill(): void {
    this.live?.child.kill();
  }

  private async exec(line: string, ctx: { command: string; domain?: string }, deadline: number, timeoutMs: number, onSent: SentHook | undefined): Promise<string> {
    if (this.closed) throw new AtpError('ATP_LIBVIRT_CLOSED', `virsh ${ctx.command}: the libvirt client is closed`, { details: ctx });
    const timeout = (): AtpError => new AtpError('ATP_LIBVIRT_TIMEOUT', `virsh ${ctx.command}${ctx.domain === undefined ? '' : ` (domain '${ctx.domain}')`} did not finish within ${timeoutMs} ms`, { details: { ...ctx, timeoutMs } });
    let live: Live;
    try {
      live = await this.ensureLive(deadline, timeout);
    } catch (error) {
      this.failures += 1;
      throw error;
    }
    const marker = makeMarker(this.nonce, ++this.seq);
    const [stdout, stderr] = await this.roundTrip(live, `${line}\n${marker.lines[0]}\n${marker.lines[1]}\n`, marker, deadline, timeout, onSent).catch((error: unknown) => {
      this.failures += 1;
      throw error;
    });
    const parts = splitStderr(stderr);
    for (const n of parts.notices) this.options.onNotice?.(n);
    const out = commandStdout(stdout, marker);
    if (out === undefined) {
      this.failures += 1;
      this.discard(live);
      throw new AtpError('ATP_LIBVIRT_VIRSH', `virsh ${ctx.command}: unexpected interactive output ${JSON.stringify(stdout.slice(0, 200))}`, { details: { ...ctx } });
    }
    const error = commandError(parts, ctx);
    if (error) {
      if (error.code === 'ATP_LIBVIRT_CONNECTION') {
        this.failures += 1;
        this.discard(live);
      } else this.failures = 0;
      throw error;
    }
    this.failures = 0;
    return out;
  }

  private async ensureLive(deadline: number, timeout: () => AtpError): Promise<Live> {
    if (this.live && !this.live.exited) return this.live;
    if (this.failures > 0) {
      const delay = backoffDelay(this.failures - 1, { initialMs: 100, maxMs: 5000, ...this.options.backoff });
      if (Date.now() + delay >= deadline) throw timeout();
      await sleep(delay);
    }
    if (this.closed) throw new AtpError('ATP_LIBVIRT_CLOSED', 'the libvirt client is closed');
    const startDeadline = Math.min(deadline, Date.now() + (this.options.startTimeoutMs ?? 15_000));
    const live = await this.spawnLive(startDeadline, timeout);
    this.live = live;
    const marker = makeMarker(this.nonce, ++this.seq);
    try {
      const [stdout, stderr] = await this.roundTrip(live, `${marker.lines[0]}\n${marker.lines[1]}\n`, marker, startDeadline, timeout);
      if (!isHandshake(stdout, marker)) {
        this.protocolBroken = this.starts === 1;
        throw new AtpError('ATP_LIBVIRT_VIRSH', `interactive virsh did not answer the handshake as expected: ${JSON.stringify(stdout.slice(0, 200))} ${stderr.slice(0, 200)}`, { details: { protocol: true } });
      }
    } catch (error) {
      this.discard(live);
      throw error;
    }
    return live;
  }

  /** Starts a virsh within the deadline; a spawner's own AtpError (an SSH failure, say) passes through. */
  private async spawnLive(deadline: number, timeout: () => AtpError): Promise<Live> {
    this.starts += 1;
    let timer: NodeJS.Timeout | undefined;
    const spawned = this.spawner(['-q', '-c', this.options.uri]);
    const child = await Promise.race([
      spawned,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeout()), timerDelay(deadline - Date.now()));
      }),
    ]).catch((error: unknown) => {
      void spawned.then((late) => late.kill(), () => undefined);
      throw error instanceof AtpError ? error : new AtpError('ATP_LIBVIRT_VIRSH', `cannot start virsh: ${String(error)}`, { cause: error });
    }).finally(() => clearTimeout(timer));
    if (this.closed) {
      child.kill();
      throw new AtpError('ATP_LIBVIRT_CLOSED', 'the libvirt client is closed');
    }
    const live: Live = { child, out: '', err: '', waiting: undefined, exited: undefined, onExit: new Set() };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      live.out += d;
      this.scan(live);
    });
    child.stderr.on('data', (d: string) => {
      live.err += d;
      this.scan(live);
    });
    child.onClose(({ code, signal, error }) => {
      if (live.exited) return;
      const said = splitStderr(live.err).errors.join('; ');
      live.exited = error ?? new AtpError('ATP_LIBVIRT_CONNECTION', `virsh exited (${signal ?? `code ${code}`})${said ? `: ${said}` : ''}`, { details: { code, signal, uri: this.options.uri } });
      for (const f of [...live.onExit]) f(live.exited);
    });
    return live;
  }

  private scan(live: Live): void {
    const w = live.waiting;
    if (w) {
      if (w.stdout === undefined) {
        const i = live.out.indexOf(w.marker.token);
        if (i !== -1) {
          w.stdout = live.out.slice(0, i);
          live.out = live.out.slice(i + w.marker.token.length);
        }
      }
      if (w.stderr === undefined) {
        const i = live.err.indexOf(w.marker.token);
        if (i !== -1) {
          w.stderr = live.err.slice(0, i);
          live.err = live.err.slice(i + w.marker.token.length);
        }
      }
      if (w.stdout !== undefined && w.stderr !== undefined) w.done();
    }
    if (live.out.length + live.err.length > MAX_BUFFER_CHARS) live.child.kill();
  }

  private roundTrip(live: Live, text: string, marker: Marker, deadline: number, timeout: () => AtpError, onSent?: SentHook): Promise<[string, string]> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        live.onExit.delete(onExit);
        live.waiting = undefined;
      };
      const onExit = (error: AtpError): void => {
        cleanup();
        reject(error);
      };
      const timer = setTimeout(() => {
        cleanup();
        this.discard(live);
        reject(timeout());
      }, timerDelay(deadline - Date.now()));
      if (live.exited) {
        onExit(live.exited);
        return;
      }
      live.onExit.add(onExit);
      live.waiting = {
        marker,
        done: () => {
          const w = live.waiting;
          cleanup();
          resolve([w?.stdout ?? '', w?.stderr ?? '']);
        },
      };
      // Stamped before the write, as QmpClient does: the write wakes virsh, which may run before this thread does again.
      reportSent(onSent);
      live.child.stdin.write(text);
      this.scan(live);
    });
  }

  private discard(live: Live): void {
    if (this.live === live) this.live = undefined;
    if (!live.exited) live.child.kill();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, timerDelay(ms)));
