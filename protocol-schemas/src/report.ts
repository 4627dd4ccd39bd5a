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
  /** Why the suite could not run to the end (verdict 'error'). */
  error: z.strictObject({ code: z.string().min(1), message: z.string() }).optional(),
  /** Which observer devices delivered input, and hotplug during the suite. */
  devices: z.array(ReportDeviceSchema).optional(),
  agentProblems: z.array(ReportAgentProblemSchema).optional(),
});
export type SuiteReport = z.output<typeof SuiteReportSchema>;

export const ReportV1Schema = z.strictObject({
  version: z.literal(1),
  tool: z.strictObject({ name: z.literal('atp'), version: z.string().min(1) }),
  startedAt: isoTime,
  finishedAt: isoTime,
  suites: z.array(SuiteReportSchema),
});
export type ReportV1 = z.output<typeof ReportV1Schema>;

/** Validates a report (e.g. a JSON file read back); throws ATP_SCHEMA_INVALID naming the path. */
export function parseReport(value: unknown, source?: string): ReportV1 {
  return parseWith(ReportV1Schema, value, { source, what: 'report' });
}
