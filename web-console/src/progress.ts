/**
 * Live progress of one run, folded from its run events (protocol-schemas
 * run-events.ts, carried as `run` events of /api/v1/events) plus the run
 * manager's `run-status` markers. Pure: the run view feeds it events and draws
 * the result; tests feed it recorded events. Each run event is applied once
 * (its `seq` must grow), so a resent event after a reconnect changes nothing.
 */
import { RunEventSchema, type Finding, type FleetSummary, type RunEvent, type VmOutcome } from '@atp/protocol';

export interface SuiteDone {
  suite: string;
  round: number;
  verdict: 'pass' | 'fail' | 'error';
  keys: number;
  defects: number;
  p99Ms?: number;
  durationMs: number;
  error?: { code: string; message: string };
}

export interface VmProgress {
  target: string;
  state: 'waiting' | 'running' | 'finished';
  agentId?: string;
  openMs?: number;
  round?: number;
  suite?: string;
  step?: number;
  stepLabel?: string;
  stepsDone: number;
  suites: SuiteDone[];
  findings: { round: number; suite: string; finding: Finding }[];
  outcome?: VmOutcome;
  error?: { code: string; message: string };
}

export interface RunProgress {
  status?: string;
  targets: string[];
  suites: string[];
  concurrency?: number;
  rounds?: number;
  durationMs?: number;
  onFailure?: string;
  startedAt?: string;
  finishedAt?: string;
  vms: Map<string, VmProgress>;
  /** Steps of each suite, once a VM ran it to the end (for "step 3 of 12"). */
  suiteSteps: Map<string, number>;
  exitCode?: number;
  fleet?: FleetSummary;
  /** The last run event seq applied (-1 before any). */
  lastSeq: number;
}

export function emptyProgress(): RunProgress {
  return { targets: [], suites: [], vms: new Map(), suiteSteps: new Map(), lastSeq: -1 };
}

function vm(progress: RunProgress, target: string): VmProgress {
  let entry = progress.vms.get(target);
  if (entry === undefined) {
    entry = { target, state: 'waiting', stepsDone: 0, suites: [], findings: [] };
    progress.vms.set(target, entry);
  }
  return entry;
}

/** Applies an event's `data` (a run event or a run-status marker); returns whether anything changed. */
export function applyRunData(progress: RunProgress, data: unknown): boolean {
  if (typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'run-status') {
    const status = (data as { status?: unknown }).status;
    if (typeof status !== 'string' || status === progress.status) return false;
    progress.status = status;
    return true;
  }
  const parsed = RunEventSchema.safeParse(data);
  if (!parsed.success || parsed.data.seq <= progress.lastSeq) return false;
  applyRunEvent(progress, parsed.data);
  return true;
}

export function applyRunEvent(progress: RunProgress, event: RunEvent): void {
  progress.lastSeq = event.seq;
  switch (event.type) {
    case 'run-started':
      progress.targets = event.targets;
      progress.suites = event.suites;
      progress.concurrency = event.concurrency;
      progress.rounds = event.rounds;
      progress.durationMs = event.durationMs;
      progress.onFailure = event.onFailure;
      progress.startedAt = event.at;
      progress.status ??= 'running';
      for (const target of event.targets) vm(progress, target);
      break;
    case 'target-opened': {
      const entry = vm(progress, event.target);
      entry.state = 'running';
      entry.agentId = event.agentId;
      entry.openMs = event.openMs;
      break;
    }
    case 'step-started': {
      const entry = vm(progress, event.target);
      entry.state = 'running';
      entry.round = event.round;
      entry.suite = event.suite;
      entry.step = event.step;
      entry.stepLabel = event.label;
      break;
    }
    case 'step-finished':
      vm(progress, event.target).stepsDone += 1;
      break;
    case 'finding':
      vm(progress, event.target).findings.push({ round: event.round, suite: event.suite, finding: event.finding });
      break;
    case 'suite-finished': {
      const done: SuiteDone = { suite: event.suite, round: event.round, verdict: event.verdict, keys: event.keys, defects: event.defects, durationMs: event.durationMs };
      if (event.p99Ms !== undefined) done.p99Ms = event.p99Ms;
      if (event.error !== undefined) done.error = event.error;
      const entry = vm(progress, event.target);
      entry.suites.push(done);
      if (event.verdict !== 'error' && entry.suite === event.suite && entry.step !== undefined) {
        progress.suiteSteps.set(event.suite, Math.max(progress.suiteSteps.get(event.suite) ?? 0, entry.step + 1));
      }
      break;
    }
    case 'target-finished': {
      const entry = vm(progress, event.target);
      entry.state = 'finished';
      entry.outcome = event.outcome;
      if (event.error !== undefined) entry.error = event.error;
      break;
    }
    case 'run-finished':
      progress.exitCode = event.exitCode;
      progress.fleet = event.fleet;
      progress.finishedAt = event.at;
      break;
  }
}

/** The word the run view shows for a VM: its outcome when finished, else what it is doing. */
export function vmStateWord(entry: VmProgress): string {
  if (entry.outcome !== undefined) return entry.outcome;
  if (entry.state === 'running') return entry.suite === undefined ? 'opened' : 'running';
  return 'waiting';
}

/** The verdict of a finished run from its exit code (0 passed, 1 failed verification, 3 infrastructure or stopped). */
export function verdictOf(exitCode: number | undefined): string | undefined {
  if (exitCode === undefined) return undefined;
  return exitCode === 0 ? 'passed' : exitCode === 1 ? 'failed' : 'error';
}
