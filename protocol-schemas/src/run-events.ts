/**
 * Run events: what the run engine (host/src/run/) yields while it verifies
 * suites on many VMs, in order, each numbered (`seq`, from 0 within a run) so
 * a stream consumer (the CLI's fleet progress, an HTTP API, a web console) can
 * resume after a reconnect from the last index it saw and sees every event once.
 * The engine builds the report from the same facts; `run-finished` carries the
 * fleet summary and the exit code the CLI uses (0 passed, 1 failed
 * verification, 3 infrastructure error or stopped).
 */
import { z } from 'zod';
import { FindingSchema, FleetSummarySchema, ReportErrorSchema, RUN_FAILURE_POLICIES, VM_OUTCOMES } from './report.js';
import { parseWith } from './validate.js';

const count = z.number().int().min(0);
const round = z.number().int().min(1);
const label = z.string().min(1).max(512);

const base = {
  seq: count,
  /** Host wall-clock time, ISO 8601. */
  at: z.iso.datetime({ offset: true }),
  runId: label,
};

export const RunEventSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...base,
    type: z.literal('run-started'),
    targets: z.array(label),
    suites: z.array(label),
    concurrency: z.number().int().min(1),
    rounds: round.optional(),
    durationMs: count.optional(),
    onFailure: z.enum(RUN_FAILURE_POLICIES),
  }),
  z.strictObject({ ...base, type: z.literal('target-opened'), target: label, agentId: label, openMs: count }),
  z.strictObject({ ...base, type: z.literal('step-started'), target: label, round, suite: label, step: count, label: z.string() }),
  z.strictObject({ ...base, type: z.literal('step-finished'), target: label, round, suite: label, step: count }),
  z.strictObject({ ...base, type: z.literal('finding'), target: label, round, suite: label, finding: FindingSchema }),
  z.strictObject({
    ...base,
    type: z.literal('suite-finished'),
    target: label,
    round,
    suite: label,
    verdict: z.enum(['pass', 'fail', 'error']),
    keys: count,
    defects: count,
    p99Ms: z.number().optional(),
    durationMs: count,
    error: ReportErrorSchema.optional(),
  }),
  z.strictObject({ ...base, type: z.literal('target-finished'), target: label, outcome: z.enum(VM_OUTCOMES), rounds: count, error: ReportErrorSchema.optional() }),
  z.strictObject({ ...base, type: z.literal('run-finished'), exitCode: z.number().int().min(0).max(3), fleet: FleetSummarySchema }),
]);
export type RunEvent = z.output<typeof RunEventSchema>;
export type RunEventType = RunEvent['type'];
/** A run event before the engine numbers and stamps it. */
export type RunEventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'seq' | 'at' | 'runId'> : never) : never;

/** Validates one run event (e.g. read back from a stream); ATP_SCHEMA_INVALID naming the field. */
export function parseRunEvent(value: unknown, source?: string): RunEvent {
  return parseWith(RunEventSchema, value, { source, what: 'run event' });
}
