/**
 * Live progress of a fleet run, from the run engine's events (RunEvent in
 * @atp/protocol): a reducer that keeps per-VM state, and two pure formatters:
 *
 *  - formatFleetLine: one compact line the CLI rewrites in place on a TTY,
 *    "fleet 50 VMs: 12 running · 30 passed · 1 failed · 0 infra · 7 waiting ·
 *    211 keys/s · 1:02.3 · lab-03 r2 smoke 4/9, lab-07 r1 typing 2, …";
 *  - formatFleetEvent: a plain line per event worth one, for CI logs (stdout
 *    not a TTY); none for steps and findings, which come by the thousand.
 *
 * What the events do not say, and how the reducer copes:
 *  - no event marks a VM as being opened, only as opened; a VM not yet opened
 *    is "waiting", and the line estimates how many of those are opening as the
 *    free slots (concurrency − running) while the run goes on;
 *  - step-started carries no step count; "4/9" shows once some VM finished
 *    that suite (the highest step seen + 1), "step 4" before.
 * Keys per second: keys are reported when a suite finishes; each finished
 * suite's keys are spread evenly over its duration, and the rate is the keys
 * falling in the last `windowMs` over that window (or the time since the run
 * started, when shorter). Time comes only from the events' `at` and the `now`
 * the caller passes, so the reducer is deterministic.
 * Events are applied in `seq` order; one at or below the last seq applied (a
 * replay after a reconnect) or of another run is ignored; run-started resets.
 * The reducer trusts its input's types: parse a stream with parseRunEvent first.
 */
import type { RunEvent, VmOutcome } from '@atp/protocol';
import { formatDuration, formatKeysPerSecond, formatMs, printable } from './format.js';
import { formatElapsed } from './progress.js';
import { fleetTotalsText } from './fleet-text.js';

export type FleetTargetPhase = 'waiting' | 'running' | VmOutcome;

export interface RunError {
  code: string;
  message: string;
}

/** Where a running VM is: the round and suite, and the step (0-based) last started. */
export interface FleetTargetWhere {
  round: number;
  suite: string;
  step: number;
  stepLabel: string;
}

export interface FleetTargetState {
  readonly target: string;
  phase: FleetTargetPhase;
  openMs?: number;
  /** Set while a suite runs; cleared when it finishes. */
  where?: FleetTargetWhere;
  /** Suites finished, and how many of them did not pass. */
  suitesDone: number;
  suitesNotPassed: number;
  keys: number;
  defects: number;
  /** Findings reported while its suites ran. */
  findings: number;
  /** Rounds finished, once the VM finished. */
  rounds?: number;
  error?: RunError;
}

export interface FleetProgressOptions {
  /** The keys-per-second window (default 30 s). */
  windowMs?: number;
}

interface KeySpan {
  startMs: number;
  endMs: number;
  keys: number;
}

/** The reducer. Its fields and target states are for reading; only apply() changes them. */
export class FleetProgress {
  readonly windowMs: number;
  runId: string | undefined;
  concurrency: number | undefined;
  rounds: number | undefined;
  startedAtMs: number | undefined;
  lastAtMs: number | undefined;
  /** Keys of finished suites over the whole run. */
  keys = 0;
  finished: { exitCode: number } | undefined;
  private lastSeq = -1;
  private readonly byName = new Map<string, FleetTargetState>();
  private readonly stepCounts = new Map<string, number>();
  private readonly maxStep = new Map<string, number>();
  private spans: KeySpan[] = [];

  constructor(options: FleetProgressOptions = {}) {
    this.windowMs = Math.max(1, options.windowMs ?? 30_000);
  }

  /** Every VM, in the order the run listed them (then in order of first appearance). */
  get targets(): readonly FleetTargetState[] {
    return [...this.byName.values()];
  }

  /** Steps of a suite, once a VM finished it. */
  stepCount(suite: string): number | undefined {
    return this.stepCounts.get(suite);
  }

  apply(event: RunEvent): void {
    if (event.runId === this.runId && event.seq <= this.lastSeq) return;
    if (event.type === 'run-started') this.reset();
    else if (this.runId !== undefined && event.runId !== this.runId) return;
    this.runId = event.runId;
    this.lastSeq = event.seq;
    const at = Date.parse(event.at);
    this.lastAtMs = at;
    this.startedAtMs ??= at;
    switch (event.type) {
      case 'run-started':
        this.concurrency = event.concurrency;
        this.rounds = event.rounds;
        for (const t of event.targets) this.target(t);
        break;
      case 'target-opened': {
        const t = this.target(event.target);
        t.openMs = event.openMs;
        if (t.phase === 'waiting') t.phase = 'running';
        break;
      }
      case 'step-started': {
        const t = this.target(event.target);
        if (t.phase === 'waiting') t.phase = 'running';
        t.where = { round: event.round, suite: event.suite, step: event.step, stepLabel: event.label };
        const key = runKey(event.target, event.round, event.suite);
        this.maxStep.set(key, Math.max(this.maxStep.get(key) ?? -1, event.step));
        break;
      }
      case 'step-finished':
        break;
      case 'finding':
        this.target(event.target).findings += 1;
        break;
      case 'suite-finished':
        this.suiteFinished(event, at);
        break;
      case 'target-finished': {
        const t = this.target(event.target);
        this.targetFinished(t, event.outcome, event.rounds, event.error);
        break;
      }
      case 'run-finished':
        this.finished = { exitCode: event.exitCode };
        for (const v of event.fleet.vms) {
          const t = this.target(v.vm);
          if (t.phase === 'waiting' || t.phase === 'running') this.targetFinished(t, v.outcome, v.rounds, v.error);
        }
        break;
    }
  }

  /** Keys per second over the window ending at `nowMs` (default: the last event's time). */
  keysPerSecond(nowMs: number | undefined = this.lastAtMs): number {
    if (nowMs === undefined || this.startedAtMs === undefined) return 0;
    const from = Math.max(nowMs - this.windowMs, this.startedAtMs);
    if (nowMs <= from) return 0;
    let keys = 0;
    for (const s of this.spans) {
      if (s.endMs <= s.startMs) keys += s.endMs > from && s.endMs <= nowMs ? s.keys : 0;
      else keys += (s.keys * Math.max(0, Math.min(s.endMs, nowMs) - Math.max(s.startMs, from))) / (s.endMs - s.startMs);
    }
    return keys / ((nowMs - from) / 1000);
  }

  private suiteFinished(event: Extract<RunEvent, { type: 'suite-finished' }>, at: number): void {
    const t = this.target(event.target);
    t.suitesDone += 1;
    if (event.verdict !== 'pass') t.suitesNotPassed += 1;
    t.keys += event.keys;
    t.defects += event.defects;
    t.where = undefined;
    this.keys += event.keys;
    const key = runKey(event.target, event.round, event.suite);
    const seen = this.maxStep.get(key);
    this.maxStep.delete(key);
    if (seen !== undefined && event.verdict !== 'error') this.stepCounts.set(event.suite, Math.max(this.stepCounts.get(event.suite) ?? 0, seen + 1));
    this.spans.push({ startMs: at - event.durationMs, endMs: at, keys: event.keys });
    this.spans = this.spans.filter((s) => s.endMs > at - this.windowMs);
  }

  private targetFinished(t: FleetTargetState, outcome: VmOutcome, rounds: number, error: RunError | undefined): void {
    t.phase = outcome;
    t.rounds = rounds;
    t.where = undefined;
    if (error !== undefined) t.error = { code: error.code, message: error.message };
  }

  private target(name: string): FleetTargetState {
    let t = this.byName.get(name);
    if (t === undefined) {
      t = { target: name, phase: 'waiting', suitesDone: 0, suitesNotPassed: 0, keys: 0, defects: 0, findings: 0 };
      this.byName.set(name, t);
    }
    return t;
  }

  private reset(): void {
    this.concurrency = undefined;
    this.rounds = undefined;
    this.startedAtMs = undefined;
    this.lastAtMs = undefined;
    this.keys = 0;
    this.finished = undefined;
    this.spans = [];
    this.byName.clear();
    this.stepCounts.clear();
    this.maxStep.clear();
  }
}

const runKey = (target: string, round: number, suite: string): string => JSON.stringify([target, round, suite]);

export interface FleetLineOptions {
  /** Cut the line to this many columns (no cut when absent). */
  width?: number;
  /** Now, in epoch ms, for keys/s and the elapsed time (default: the last event's time). */
  now?: number;
}

function cut(line: string, width: number | undefined): string {
  if (width === undefined || width <= 0) return line;
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join('')}…`;
}

/** "lab-03 r2 smoke 4/9", with "!" after the VM when one of its suites did not pass. */
function whereText(t: FleetTargetState, progress: FleetProgress): string {
  const name = `${printable(t.target)}${t.suitesNotPassed > 0 || t.findings > 0 ? '!' : ''}`;
  const w = t.where;
  if (w === undefined) return `${name} ${t.suitesDone === 0 ? 'opened' : 'between suites'}`;
  const steps = progress.stepCount(w.suite);
  return `${name} r${w.round} ${printable(w.suite)} ${steps === undefined ? `step ${w.step + 1}` : `${w.step + 1}/${steps}`}`;
}

/** One line, no newline, no escape codes. */
export function formatFleetLine(progress: FleetProgress, options: FleetLineOptions = {}): string {
  const targets = progress.targets;
  const n = (phase: FleetTargetPhase): number => targets.filter((t) => t.phase === phase).length;
  const running = n('running');
  const waiting = n('waiting');
  const opening = progress.finished === undefined && progress.concurrency !== undefined ? Math.min(waiting, Math.max(0, progress.concurrency - running)) : 0;
  const parts = [`${running} running`, `${n('passed')} passed`, `${n('failed')} failed`, `${n('infra-error')} infra`];
  if (n('aborted') > 0) parts.push(`${n('aborted')} aborted`);
  if (n('not-run') > 0) parts.push(`${n('not-run')} not run`);
  if (opening > 0) parts.push(`${opening} opening`);
  parts.push(`${waiting - opening} waiting`, formatKeysPerSecond(progress.keysPerSecond(options.now)));
  const now = options.now ?? progress.lastAtMs;
  if (now !== undefined && progress.startedAtMs !== undefined) parts.push(formatElapsed(now - progress.startedAtMs));
  const active = targets.filter((t) => t.phase === 'running').sort((a, b) => a.target.localeCompare(b.target, 'en', { numeric: true }));
  if (active.length > 0) parts.push(active.map((t) => whereText(t, progress)).join(', '));
  const head = `fleet ${targets.length} VM${targets.length === 1 ? '' : 's'}${progress.finished === undefined ? '' : ' done'}`;
  return cut(`${head}: ${parts.join(' · ')}`, options.width);
}

const errorText = (e: RunError | undefined): string => (e === undefined ? '' : `: ${printable(e.code)}: ${printable(e.message)}`);

/** A plain line for a CI log, or undefined for events not worth one (steps, findings). */
export function formatFleetEvent(event: RunEvent): string | undefined {
  switch (event.type) {
    case 'run-started': {
      const span = event.rounds !== undefined ? `, ${event.rounds} round${event.rounds === 1 ? '' : 's'}` : event.durationMs !== undefined ? `, for ${formatDuration(event.durationMs)}` : '';
      return `run ${printable(event.runId)} started: ${event.targets.length} VM${event.targets.length === 1 ? '' : 's'} × ${event.suites.length} suite${event.suites.length === 1 ? '' : 's'}, concurrency ${event.concurrency}${span}, on failure ${event.onFailure}`;
    }
    case 'target-opened':
      return `${printable(event.target)} opened in ${formatDuration(event.openMs)} (agent ${printable(event.agentId)})`;
    case 'suite-finished': {
      const p99 = event.p99Ms === undefined ? '' : `, p99 ${formatMs(event.p99Ms)}`;
      return `${printable(event.target)} r${event.round} ${printable(event.suite)} ${event.verdict.toUpperCase()} ${event.keys} keys, ${event.defects} defect${event.defects === 1 ? '' : 's'}${p99} (${formatDuration(event.durationMs)})${errorText(event.error)}`;
    }
    case 'target-finished':
      return `${printable(event.target)} ${event.outcome} after ${event.rounds} round${event.rounds === 1 ? '' : 's'}${errorText(event.error)}`;
    case 'run-finished':
      return `run ${printable(event.runId)} finished (exit ${event.exitCode}): ${fleetTotalsText(event.fleet)}`;
    default:
      return undefined;
  }
}
