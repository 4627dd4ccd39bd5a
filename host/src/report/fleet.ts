/**
 * The fleet summary of a run over several VMs or rounds: per VM its suites,
 * keys, defects and latency, then totals over the fleet (outcome counts, keys,
 * keys per second, the worst p99). The run engine decides each VM's outcome
 * and passes it in; nothing here recomputes it.
 *
 * Per VM the latency figures are approximations built from per-suite stats,
 * because a SuiteReport keeps percentiles, not samples:
 *  - p50Ms is the mean of the suites' p50s weighted by their sample counts n
 *    (the true median of the pooled samples can differ);
 *  - p99Ms is the largest of the suites' p99s, which is never below the pooled
 *    p99 (conservative: it may overstate, never understate).
 * Suites without latency samples (n = 0) count for neither.
 *
 * A suite belongs to the target whose name equals `target.vm`, or
 * `target.vm@target.host` when such a target exists (two hosts may each have a
 * VM of the same name). Bad input (duplicate target names, a suite of an
 * unknown VM, a negative wall time, figures the schema refuses) → ATP_SCHEMA_INVALID
 * naming the field.
 */
import {
  formatPath,
  parseWith,
  REPORT_COUNT_KEYS,
  schemaError,
  FleetSummarySchema,
  type FleetSummary,
  type FleetVm,
  type IssuePath,
  type RunFailurePolicy,
  type SuiteReport,
  type ValidationIssue,
  type VmOutcome,
} from '@atp/protocol';

export interface FleetTargetInput {
  vm: string;
  outcome: VmOutcome;
  /** Rounds it finished. */
  rounds: number;
  openMs?: number;
  error?: { code: string; message: string };
}

export interface FleetInput {
  targets: readonly FleetTargetInput[];
  /** Every suite report of the run, of any VM and round. */
  suites: readonly SuiteReport[];
  concurrency: number;
  rounds?: number;
  durationMs?: number;
  onFailure: RunFailurePolicy;
  stopped?: FleetSummary['stopped'];
  /** The run's wall time, for keys per second. */
  wallMs: number;
}

const PROBLEM_KEYS = REPORT_COUNT_KEYS.filter((k) => k !== 'expected' && k !== 'matched');

/** Keys (expected transitions) and defects (problem tallies plus pointer errors) of one suite report. */
export function suiteKeysAndDefects(report: SuiteReport): { keys: number; defects: number } {
  const problems = PROBLEM_KEYS.reduce((n, k) => n + report.counts[k], 0);
  const pointerErrors = report.findings.filter((f) => f.kind === 'pointer-error').length;
  return { keys: report.counts.expected, defects: problems + pointerErrors };
}

/**
 * The name of the fleet VM a suite report belongs to, among `names`:
 * "vm@host" when that is a name, else "vm" when that is; undefined otherwise.
 */
export function fleetVmOf(suite: SuiteReport, names: ReadonlySet<string>): string | undefined {
  const { vm, host } = suite.target;
  if (host !== undefined && names.has(`${vm}@${host}`)) return `${vm}@${host}`;
  return names.has(vm) ? vm : undefined;
}

const issue = (path: IssuePath, message: string): ValidationIssue => ({ path, pathText: formatPath(path), message, code: 'custom' });

/** n-weighted mean of p50s and the largest p99, over suites with samples. */
function latencyOf(suites: readonly SuiteReport[]): Pick<FleetVm, 'p50Ms' | 'p99Ms'> {
  let n = 0;
  let weighted = 0;
  let p99: number | undefined;
  for (const s of suites) {
    const l = s.latency;
    if (l === undefined || l.n === 0) continue;
    n += l.n;
    weighted += l.p50Ms * l.n;
    p99 = p99 === undefined ? l.p99Ms : Math.max(p99, l.p99Ms);
  }
  return n === 0 ? {} : { p50Ms: weighted / n, p99Ms: p99 };
}

function vmSummary(target: FleetTargetInput, suites: readonly SuiteReport[]): FleetVm {
  let keys = 0;
  let defects = 0;
  for (const s of suites) {
    const kd = suiteKeysAndDefects(s);
    keys += kd.keys;
    defects += kd.defects;
  }
  return {
    vm: target.vm,
    outcome: target.outcome,
    rounds: target.rounds,
    suites: suites.length,
    keys,
    defects,
    ...latencyOf(suites),
    ...(target.openMs === undefined ? {} : { openMs: target.openMs }),
    ...(target.error === undefined ? {} : { error: { code: target.error.code, message: target.error.message } }),
  };
}

function checkInput(input: FleetInput): Map<string, SuiteReport[]> {
  const issues: ValidationIssue[] = [];
  const byVm = new Map<string, SuiteReport[]>();
  input.targets.forEach((t, i) => {
    if (byVm.has(t.vm)) issues.push(issue(['targets', i, 'vm'], `duplicate VM name "${t.vm}"`));
    else byVm.set(t.vm, []);
  });
  const names = new Set(byVm.keys());
  input.suites.forEach((s, i) => {
    const vm = fleetVmOf(s, names);
    if (vm === undefined) issues.push(issue(['suites', i, 'target', 'vm'], `suite "${s.name}" ran on "${s.target.vm}", which is not one of the targets`));
    else byVm.get(vm)?.push(s);
  });
  if (!Number.isFinite(input.wallMs) || input.wallMs < 0) issues.push(issue(['wallMs'], `must be a finite number ≥ 0, got ${input.wallMs}`));
  if (issues.length > 0) throw schemaError(issues, { source: 'fleet summary', what: 'fleet input' });
  return byVm;
}

/** The validated fleet summary; ATP_SCHEMA_INVALID naming the field on bad input. */
export function buildFleetSummary(input: FleetInput): FleetSummary {
  const byVm = checkInput(input);
  const vms = input.targets.map((t) => vmSummary(t, byVm.get(t.vm) ?? []));
  const count = (outcome: VmOutcome): number => vms.filter((v) => v.outcome === outcome).length;
  const totalKeys = vms.reduce((n, v) => n + v.keys, 0);
  let worst: FleetVm | undefined;
  for (const v of vms) if (v.p99Ms !== undefined && (worst?.p99Ms === undefined || v.p99Ms > worst.p99Ms)) worst = v;
  const summary: FleetSummary = {
    vms,
    passed: count('passed'),
    failed: count('failed'),
    infraError: count('infra-error'),
    aborted: count('aborted'),
    notRun: count('not-run'),
    totalKeys,
    keysPerSecond: input.wallMs > 0 ? totalKeys / (input.wallMs / 1000) : 0,
    ...(worst?.p99Ms === undefined ? {} : { worstP99: { vm: worst.vm, p99Ms: worst.p99Ms } }),
    concurrency: input.concurrency,
    ...(input.rounds === undefined ? {} : { rounds: input.rounds }),
    ...(input.durationMs === undefined ? {} : { durationMs: input.durationMs }),
    onFailure: input.onFailure,
    ...(input.stopped === undefined ? {} : { stopped: input.stopped }),
  };
  return parseWith(FleetSummarySchema, summary, { source: 'fleet summary', what: 'fleet summary' });
}
