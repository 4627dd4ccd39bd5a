/**
 * Report format v1: what a run of suites produced, written as JSON by the host
 * and read back by the HTML/JUnit renderers and by tools comparing runs.
 * Hand-written schemas because the format is ours. Objects are strict: a report
 * is produced from these very types, so an unknown field is a bug.
 */
import { z } from 'zod';
import { ObserverSchema } from './scenario.js';
import { parseWith } from './validate.js';

const count = z.number().int().min(0);
const ms = z.number().min(0);
const isoTime = z.iso.datetime({ offset: true });

/** Tallies of the matcher: how every expected and observed event was classified. */
export const REPORT_COUNT_KEYS = [
  'expected',
  'matched',
  'missing',
  'extra',
  'duplicate',
  'reordered',
  'stuck',
  'wrongKey',
  'wrongModifier',
  'wrongText',
  'unexpectedRepeat',
  'syncDropped',
] as const;
export type ReportCountKey = (typeof REPORT_COUNT_KEYS)[number];

export const ReportCountsSchema = z.strictObject(
  Object.fromEntries(REPORT_COUNT_KEYS.map((k) => [k, count])) as Record<ReportCountKey, typeof count>,
);
export type ReportCounts = z.output<typeof ReportCountsSchema>;

/**
 * Finding kinds: each problem count spelled exactly as its key in `counts` (so
 * `counts[finding.kind]` is its tally), plus problems that have no count.
 */
export const FINDING_KINDS = [
  'missing',
  'extra',
  'duplicate',
  'reordered',
  'stuck',
  'wrongKey',
  'wrongModifier',
  'wrongText',
  'unexpectedRepeat',
  'syncDropped',
  'pointer-error',
  'timeout',
  'error',
] as const satisfies ReadonlyArray<Exclude<ReportCountKey, 'expected' | 'matched'> | 'pointer-error' | 'timeout' | 'error'>;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** A small JSON object describing one side of a finding (key, modifiers, text, position, time). */
const smallObject = z.record(z.string(), z.unknown()).refine((o) => Object.keys(o).length <= 32, 'at most 32 fields');

export const FindingSchema = z.strictObject({
  kind: z.enum(FINDING_KINDS),
  /** Index of the scenario step the finding belongs to (top-level, 0-based). */
  step: count.optional(),
  expected: smallObject.optional(),
  observed: smallObject.optional(),
  message: z.string(),
});
export type Finding = z.output<typeof FindingSchema>;

export const ReportTargetSchema = z.strictObject({
  vm: z.string().min(1),
  host: z.string().min(1).optional(),
  injector: z.string().min(1).optional(),
  /** The guest input device the injector was routed to, when the target chose one (e.g. the lab's virtio keyboard). */
  inputDevice: z.string().min(1).optional(),
  layout: z.string().min(1).optional(),
});

export const PointerStatsSchema = z.strictObject({
  samples: count,
  maxErrorPx: ms,
  meanErrorPx: ms,
  tolerancePx: ms,
});

export const LatencyStatsSchema = z.strictObject({
  n: count,
  p50Ms: z.number(),
  p95Ms: z.number(),
  p99Ms: z.number(),
  maxMs: z.number(),
  /** Guest clock minus host clock, and how far off it may be: read latencies with it. */
  clockOffsetMs: z.number(),
  clockUncertaintyMs: ms,
});

/** Latency samples kept per suite report; a suite that measured more keeps an even spread of them. */
export const LATENCY_SAMPLES_MAX = 1000;

/**
 * The latencies behind a suite's latency figures, for plots (a histogram,
 * latency over time): each point is [ms since the suite's first measured send,
 * latency ms], in send order. `total` is how many latencies were measured
 * (latency.n); with more than LATENCY_SAMPLES_MAX, `points` is an even spread
 * over them, the first and the last included. Beside `latency` rather than in
 * it, so readers that list every latency figure (JUnit properties) stay as
 * they were.
 */
export const LatencySamplesSchema = z.strictObject({
  total: count,
  points: z.array(z.tuple([ms, z.number()])).max(LATENCY_SAMPLES_MAX),
});
export type LatencySamples = z.output<typeof LatencySamplesSchema>;

/** An observer device that delivered input during the suite: the keyboard the injector drove is the one with the key events. */
export const ReportDeviceSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().optional(),
  kind: z.string().optional(),
  /** Key, button, pointer and wheel events it delivered during the suite. */
  events: count,
  /** It was added or removed during the suite (hotplug). */
  added: z.boolean().optional(),
  removed: z.boolean().optional(),
});
export type ReportDevice = z.output<typeof ReportDeviceSchema>;

/** A problem the observing agent reported about itself (a device it could not capture, a stalled part). Not a finding by itself. */
export const ReportAgentProblemSchema = z.strictObject({
  code: z.string().min(1),
  message: z.string(),
  resolved: z.boolean(),
});

export const SuiteReportSchema = z.strictObject({
  name: z.string().min(1),
  /** The suite file, when it came from one. */
  source: z.string().optional(),
  target: ReportTargetSchema,
  observer: ObserverSchema,
  verdict: z.enum(['pass', 'fail', 'error']),
  durationMs: ms,
  counts: ReportCountsSchema,
  findings: z.array(FindingSchema),
  pointer: PointerStatsSchema.optional(),
  latency: LatencyStatsSchema.optional(),
  /** The latencies the figures were computed from, for plots (at most LATENCY_SAMPLES_MAX points). */
  latencySamples: LatencySamplesSchema.optional(),
  /** Why the suite could not run to the end (verdict 'error'). */
  error: z.strictObject({ code: z.string().min(1), message: z.string() }).optional(),
  /** Which observer devices delivered input, and hotplug during the suite. */
  devices: z.array(ReportDeviceSchema).optional(),
  agentProblems: z.array(ReportAgentProblemSchema).optional(),
  /** The loop round (1-based) of a run with --loop/--duration; absent in a single-round run. */
  round: z.number().int().min(1).optional(),
});
export type SuiteReport = z.output<typeof SuiteReportSchema>;

/** What a VM's part of a run came to: passed, failed verification, could not be verified (infrastructure), or never ran / was stopped. */
export const VM_OUTCOMES = ['passed', 'failed', 'infra-error', 'aborted', 'not-run'] as const;
export type VmOutcome = (typeof VM_OUTCOMES)[number];

/** What happens to the other VMs when one fails: carry on, stop starting new rounds and VMs (stop-all), or stop everything now (fail-fast). */
export const RUN_FAILURE_POLICIES = ['continue', 'stop-all', 'fail-fast'] as const;
export type RunFailurePolicy = (typeof RUN_FAILURE_POLICIES)[number];

export const ReportErrorSchema = z.strictObject({ code: z.string().min(1), message: z.string() });

/** One VM of a fleet run: its outcome over all rounds and suites, and its latency. */
export const FleetVmSchema = z.strictObject({
  vm: z.string().min(1),
  outcome: z.enum(VM_OUTCOMES),
  /** Rounds it finished (every suite ran). */
  rounds: count,
  /** Suite reports it produced (rounds × suites when nothing stopped it). */
  suites: count,
  /** Expected key and button transitions over its suites. */
  keys: count,
  /** Problem tallies (missing, extra, reordered, stuck, wrong ...) plus pointer errors over its suites. */
  defects: count,
  p50Ms: z.number().optional(),
  p99Ms: z.number().optional(),
  /** Time to open the target (boot and agent session for the lab), when it was measured. */
  openMs: ms.optional(),
  error: ReportErrorSchema.optional(),
});
export type FleetVm = z.output<typeof FleetVmSchema>;

export const FleetSummarySchema = z.strictObject({
  vms: z.array(FleetVmSchema),
  passed: count,
  failed: count,
  infraError: count,
  aborted: count,
  notRun: count,
  totalKeys: count,
  /** totalKeys over the run's wall time. */
  keysPerSecond: z.number().min(0),
  worstP99: z.strictObject({ vm: z.string().min(1), p99Ms: z.number() }).optional(),
  concurrency: z.number().int().min(1),
  /** --loop N; absent with --duration or a single round. */
  rounds: z.number().int().min(1).optional(),
  durationMs: ms.optional(),
  onFailure: z.enum(RUN_FAILURE_POLICIES),
  /** Why the run stopped before every VM finished every round. */
  stopped: z.strictObject({ reason: z.enum(['signal', 'stop-all', 'fail-fast', 'duration']), message: z.string() }).optional(),
});
export type FleetSummary = z.output<typeof FleetSummarySchema>;

/** The host's own load during the run: a saturated host shows here instead of as guest latency. */
export const HostLoadSchema = z.strictObject({
  /** The host event loop's delay (perf_hooks.monitorEventLoopDelay). */
  eventLoopDelay: z.strictObject({ p50Ms: ms, p99Ms: ms, maxMs: ms }),
  /** Host process CPU over the run's wall time (100 = one core). */
  cpuPercent: z.number().min(0).optional(),
  maxRssMb: ms.optional(),
});
export type HostLoad = z.output<typeof HostLoadSchema>;

/** What one run step of a v2 suite (vdi, waitFor, exec, select) did, or an input block's run. */
export const PlatformStepResultSchema = z.strictObject({
  /** The suite's top-level step index (0-based); an input block gives its first step. */
  step: z.number().int().min(0),
  action: z.enum(['vdi', 'waitFor', 'exec', 'select', 'input']),
  label: z.string(),
  outcome: z.enum(['ok', 'failed', 'skipped']),
  durationMs: z.number().min(0),
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
  /** Per-VM results of a step that acts on several VMs. */
  vms: z.array(z.strictObject({ vm: z.string(), ok: z.boolean(), detail: z.string().optional() })).optional(),
});
export type PlatformStepResult = z.output<typeof PlatformStepResultSchema>;

export const ReportV1Schema = z.strictObject({
  version: z.literal(1),
  tool: z.strictObject({ name: z.literal('atp'), version: z.string().min(1) }),
  startedAt: isoTime,
  finishedAt: isoTime,
  suites: z.array(SuiteReportSchema),
  /** Per-VM outcomes of a run over several VMs or rounds (also written for one VM by the run engine). */
  fleet: FleetSummarySchema.optional(),
  host: HostLoadSchema.optional(),
  /** A v2 suite's steps in order: platform actions, waits, guest commands, input blocks. */
  steps: z.array(PlatformStepResultSchema).optional(),
});
export type ReportV1 = z.output<typeof ReportV1Schema>;

/** Validates a report (e.g. a JSON file read back); throws ATP_SCHEMA_INVALID naming the path. */
export function parseReport(value: unknown, source?: string): ReportV1 {
  return parseWith(ReportV1Schema, value, { source, what: 'report' });
}
