/**
 * The agent's liveness watchdog: an agent that cannot reach its host, or whose
 * capture or file I/O is stuck, says which part is stuck instead of staying
 * silent (the failure that prompted it: four input devices held every libuv
 * threadpool thread, the virtio port's open waited forever, and the agent never
 * logged another line).
 *
 * A part is either fine or waiting for something since some time. Waiting
 * longer than `boundMs` is a stall: logged once and recorded in the problem log
 * as ATP_AGENT_STALLED (details: part, what it waits for, since when); the
 * session sends it to the host once connected, and the next hello carries it.
 * When the part moves again the problem is marked resolved (also sent).
 *
 * Parts: 'link' (a welcomed session with the host), 'capture' (capture.start()
 * returning), 'threadpool' (a probe: one fs.stat through libuv's pool, which
 * every fs call, dns lookup and crypto job of the agent shares). The probe runs
 * every `probeMs`; the watchdog cannot see a blocked main thread (it runs on it).
 * Pure apart from the timer and the probe, both injected for tests.
 */
import fs from 'node:fs';
import { AtpError } from '@atp/protocol';
import type { ProblemLog } from './problems.js';

export type WatchedPart = 'link' | 'capture' | 'threadpool';

export interface WatchdogLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
}

export interface WatchdogOptions {
  problems: ProblemLog;
  log: WatchdogLogger;
  /** How long a part may wait before it counts as stalled. */
  boundMs: number;
  /** How often the threadpool probe runs and stalls are checked (default min(1000, boundMs / 4)). */
  probeMs?: number;
  clock?: () => number;
  /** One round trip through libuv's threadpool (default: fs.stat of '/'). */
  probe?: (done: () => void) => void;
}

interface Wait {
  since: number;
  what: string;
  reported: boolean;
}

export class Watchdog {
  private readonly waits = new Map<WatchedPart, Wait>();
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private readonly clock: () => number;

  constructor(private readonly options: WatchdogOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** `part` waits for `what` (the wait keeps its start if it was already waiting; `what` is updated). */
  waiting(part: WatchedPart, what: string): void {
    const wait = this.waits.get(part);
    if (wait === undefined) this.waits.set(part, { since: this.clock(), what, reported: false });
    else wait.what = what;
  }

  /** `part` made progress (or has nothing to wait for). */
  fine(part: WatchedPart): void {
    const wait = this.waits.get(part);
    if (wait === undefined) return;
    this.waits.delete(part);
    if (!wait.reported) return;
    const forMs = this.clock() - wait.since;
    this.options.log.info(`watchdog: ${part} moved again after ${Math.round(forMs)} ms`, { part, forMs });
    this.options.problems.resolve('ATP_AGENT_STALLED', { part }, `${part} was stuck for ${Math.round(forMs / 1000)} s waiting for ${wait.what}; it moved again`);
  }

  /** Reports every wait longer than the bound that was not reported yet; returns the parts now stalled. */
  check(): WatchedPart[] {
    const now = this.clock();
    const stalled: WatchedPart[] = [];
    for (const [part, wait] of this.waits) {
      const forMs = now - wait.since;
      if (forMs < this.options.boundMs) continue;
      stalled.push(part);
      if (wait.reported) continue;
      wait.reported = true;
      const message = `${part} has been stuck for ${Math.round(forMs / 1000)} s waiting for ${wait.what}`;
      this.options.log.warn(`watchdog: ${message}`, { code: 'ATP_AGENT_STALLED', part, forMs, what: wait.what });
      this.options.problems.report(new AtpError('ATP_AGENT_STALLED', message, { details: { part, what: wait.what, boundMs: this.options.boundMs } }));
    }
    return stalled;
  }

  /** Starts the periodic probe and check (the timer does not keep the process alive). */
  start(): void {
    if (this.timer !== undefined) return;
    const every = this.options.probeMs ?? Math.min(1_000, Math.max(10, Math.floor(this.options.boundMs / 4)));
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (!this.probing) {
      this.probing = true;
      this.waiting('threadpool', 'a file-system call through the libuv threadpool');
      const probe = this.options.probe ?? ((done: () => void) => fs.stat('/', () => done()));
      probe(() => {
        this.probing = false;
        this.fine('threadpool');
      });
    }
    this.check();
  }
}
