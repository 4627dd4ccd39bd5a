/**
 * /api/v1/runs: start a run of suites on VMs (the fleet options of
 * `atp-host verify`), list the run history, a run's detail with per-VM
 * progress, cancel, delete, its report (JSON, JUnit, HTML) and its stored run
 * events. The same shapes are what the run store (host/src/history) keeps and
 * what `atp-host runs … --json` prints.
 *
 * A run's `status` is its life cycle and outcome in one word:
 *   queued → running [→ cancelling] → passed | failed | error | cancelled,
 * or `interrupted` when the server stopped (crash, kill) while it ran.
 * passed / failed / error follow the run's exit code (0, 1, 3: see
 * host/src/run/outcome.ts); `error` is also a run that could not start.
 */
import { z } from 'zod';
import { InjectorKindSchema, MouseModeSchema } from '../scenario.js';
import { FleetSummarySchema, ReportErrorSchema, RUN_FAILURE_POLICIES, VM_OUTCOMES } from '../report.js';
import { RunEventSchema } from '../run-events.js';
import { ApiPageQuerySchema } from './common.js';

export const RUN_STATUSES = ['queued', 'running', 'cancelling', 'passed', 'failed', 'error', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** Statuses of a run that has not ended: it may not be deleted, and a server restart finds it interrupted. */
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'cancelling'];
export const isActiveRunStatus = (status: RunStatus): boolean => ACTIVE_RUN_STATUSES.includes(status);

/** Inline suite YAML is capped well below the API's body limit; a suite file on the server may be larger. */
export const MAX_INLINE_SUITE_BYTES = 512 * 1024;
const name = z.string().min(1).max(256);
const selector = z.string().min(1).max(1024);

/** A suite file under one of the server's suite dirs (relative to it), or a suite sent inline. */
export const ApiRunSuiteSchema = z.union([
  z.string().min(1).max(4096),
  z.strictObject({
    /** Names the suite in errors (NAME:line:column) and as the report's source. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a file-like name: letters, digits, . _ - (at most 128)'),
    yaml: z.string().min(1).max(MAX_INLINE_SUITE_BYTES),
  }),
]);
export type ApiRunSuite = z.output<typeof ApiRunSuiteSchema>;

/** Exactly one kind of target: lab VMs booted for the run, a libvirt domain, the domains a selector matches, or a platform's VMs. */
export const ApiRunTargetsSchema = z
  .strictObject({
    lab: z.strictObject({ count: z.number().int().min(1).max(64).optional() }).optional(),
    /** NAME[@HOST]: one running libvirt domain. */
    vm: selector.optional(),
    /** SELECTOR[@HOST]: a glob, re:REGEX or comma list of running domains. */
    vms: selector.optional(),
    platform: z.strictObject({ name, pool: name.optional(), vms: selector.optional() }).optional(),
    /** With vms or platform: leave out the VMs this selector matches, and take at most `limit`. */
    exclude: selector.optional(),
    limit: z.number().int().min(1).max(100_000).optional(),
    /** The token the guest agents present (vm, vms, platform). Never stored, never echoed. */
    token: z.string().min(1).max(4096).optional(),
    /** How long to wait for each VM's agent, in ms (vm, vms, platform; default 120 s). */
    agentTimeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
  })
  .superRefine((t, ctx) => {
    const kinds = (['lab', 'vm', 'vms', 'platform'] as const).filter((k) => t[k] !== undefined);
    if (kinds.length === 0) ctx.addIssue({ code: 'custom', message: 'name the targets: lab, vm, vms or platform', path: [] });
    else if (kinds.length > 1) {
      ctx.addIssue({ code: 'custom', message: `give one kind of target, not ${kinds.join(' and ')} (a platform's VMs are narrowed with platform.vms)`, path: [kinds[1] ?? ''] });
    }
    if (t.lab === undefined && kinds.length > 0 && t.token === undefined) ctx.addIssue({ code: 'custom', message: 'vm, vms and platform need the token their guest agents present', path: ['token'] });
    if (t.lab !== undefined && t.token !== undefined) ctx.addIssue({ code: 'custom', message: 'lab VMs get their own agent tokens: drop token', path: ['token'] });
    if ((t.exclude !== undefined || t.limit !== undefined) && t.vms === undefined && t.platform === undefined) {
      ctx.addIssue({ code: 'custom', message: 'exclude and limit narrow vms or platform', path: [t.exclude !== undefined ? 'exclude' : 'limit'] });
    }
  });
export type ApiRunTargets = z.output<typeof ApiRunTargetsSchema>;

export const ApiRunPacingSchema = z.strictObject({
  /** Open loop at this many keystrokes per second. */
  rate: z.number().positive().max(10_000).optional(),
  /** Closed loop: wait for the agent to see keys; a number is the keys in flight (default 8). */
  closedLoop: z.union([z.boolean(), z.number().int().min(1).max(1024)]).optional(),
});

export const ApiRunRequestSchema = z
  .strictObject({
    suites: z.array(ApiRunSuiteSchema).min(1).max(100),
    targets: ApiRunTargetsSchema,
    /** VMs verified at once (default: all, at most 4). */
    concurrency: z.number().int().min(1).max(1000).optional(),
    /** Rounds per VM (--loop). */
    rounds: z.number().int().min(1).max(1_000_000).optional(),
    /** Keep starting rounds until this long has passed (--duration). */
    durationMs: z.number().int().min(1).max(30 * 24 * 3600_000).optional(),
    onFailure: z.enum(RUN_FAILURE_POLICIES).optional(),
    injector: z.strictObject({ kind: InjectorKindSchema.optional(), mouseMode: MouseModeSchema.optional() }).optional(),
    pacing: ApiRunPacingSchema.optional(),
    /** The guest's keyboard layout for text (overrides the suites'). */
    layout: z.string().min(1).max(64).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.rounds !== undefined && r.durationMs !== undefined) ctx.addIssue({ code: 'custom', message: 'give either rounds or durationMs, not both', path: ['durationMs'] });
    if (r.pacing?.rate !== undefined && r.pacing.closedLoop !== undefined && r.pacing.closedLoop !== false) {
      ctx.addIssue({ code: 'custom', message: 'rate (open loop) and closedLoop exclude each other', path: ['pacing', 'closedLoop'] });
    }
    if (r.injector?.mouseMode !== undefined && r.injector.kind !== undefined && r.injector.kind !== 'spice') {
      ctx.addIssue({ code: 'custom', message: 'mouseMode is a SPICE setting: it needs injector.kind spice', path: ['injector', 'mouseMode'] });
    }
  });
export type ApiRunRequest = z.output<typeof ApiRunRequestSchema>;

/** The request as the history keeps it: the agents' token is dropped (only whether one was given is kept). */
export const ApiRunOptionsSchema = z.strictObject({
  suites: z.array(ApiRunSuiteSchema),
  targets: z.strictObject({
    lab: z.strictObject({ count: z.number().int().min(1).optional() }).optional(),
    vm: z.string().optional(),
    vms: z.string().optional(),
    platform: z.strictObject({ name: z.string(), pool: z.string().optional(), vms: z.string().optional() }).optional(),
    exclude: z.string().optional(),
    limit: z.number().int().optional(),
    tokenGiven: z.boolean().optional(),
    agentTimeoutMs: z.number().int().optional(),
  }),
  concurrency: z.number().int().optional(),
  rounds: z.number().int().optional(),
  durationMs: z.number().int().optional(),
  onFailure: z.enum(RUN_FAILURE_POLICIES).optional(),
  injector: z.strictObject({ kind: InjectorKindSchema.optional(), mouseMode: MouseModeSchema.optional() }).optional(),
  pacing: z.strictObject({ rate: z.number().optional(), closedLoop: z.union([z.boolean(), z.number().int()]).optional() }).optional(),
  layout: z.string().optional(),
});
export type ApiRunOptions = z.output<typeof ApiRunOptionsSchema>;

/** The request without its secret, as stored and shown. */
export function runOptionsOf(request: ApiRunRequest): ApiRunOptions {
  const { token, ...targets } = request.targets;
  return { ...request, targets: { ...targets, ...(token === undefined ? {} : { tokenGiven: true }) } };
}

/** "lab", "lab ×3", "vm web1@hv2", "vms web*", "platform p1 pool desk-a" for tables and titles. */
export function describeRunTargets(targets: ApiRunOptions['targets']): string {
  if (targets.lab !== undefined) return (targets.lab.count ?? 1) === 1 ? 'lab' : `lab ×${targets.lab.count ?? 1}`;
  if (targets.platform !== undefined) {
    const p = targets.platform;
    return [`platform ${p.name}`, p.pool === undefined ? '' : `pool ${p.pool}`, p.vms ?? ''].filter((s) => s !== '').join(' ');
  }
  if (targets.vm !== undefined) return `vm ${targets.vm}`;
  return `vms ${targets.vms ?? '?'}`;
}

/** A suite's name in lists: the inline name, or the file path as given. */
export const runSuiteName = (suite: ApiRunSuite): string => (typeof suite === 'string' ? suite : suite.name);

/** Where one VM of a run is, from the run events (host/src/report FleetProgress). */
export const ApiVmProgressSchema = z.strictObject({
  vm: z.string(),
  phase: z.enum(['waiting', 'running', ...VM_OUTCOMES]),
  openMs: z.number().optional(),
  /** While a suite runs: its round, name and the step (0-based) last started. */
  round: z.number().int().optional(),
  suite: z.string().optional(),
  step: z.number().int().optional(),
  stepLabel: z.string().optional(),
  /** Steps of that suite, once some VM finished it. */
  steps: z.number().int().optional(),
  suitesDone: z.number().int().min(0),
  suitesNotPassed: z.number().int().min(0),
  keys: z.number().int().min(0),
  defects: z.number().int().min(0),
  findings: z.number().int().min(0),
  rounds: z.number().int().optional(),
  error: ReportErrorSchema.optional(),
});
export type ApiVmProgress = z.output<typeof ApiVmProgressSchema>;

export const ApiRunSummarySchema = z.strictObject({
  id: z.string(),
  status: z.enum(RUN_STATUSES),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** Suite names (inline) or paths, in request order. */
  suites: z.array(z.string()),
  /** The targets in a few words (describeRunTargets). */
  targets: z.string(),
  /** 0 every VM passed, 1 a VM failed verification, 3 infrastructure error or stopped. */
  exitCode: z.number().int().optional(),
  /** VM outcome totals, once the run finished. */
  vms: z.strictObject({ total: z.number().int(), passed: z.number().int(), failed: z.number().int(), infraError: z.number().int(), aborted: z.number().int(), notRun: z.number().int() }).optional(),
  /** Why the run could not start or ended in error outside the engine's report. */
  error: ReportErrorSchema.optional(),
  hasReport: z.boolean(),
});
export type ApiRunSummary = z.output<typeof ApiRunSummarySchema>;

export const ApiRunDetailSchema = ApiRunSummarySchema.extend({
  options: ApiRunOptionsSchema,
  /** Per VM, in the run's order (empty before the run started). */
  progress: z.array(ApiVmProgressSchema),
  /** The fleet summary of a finished run. */
  fleet: FleetSummarySchema.optional(),
  /** Run events stored so far (GET /runs/:id/events). */
  events: z.number().int().min(0),
});
export type ApiRunDetail = z.output<typeof ApiRunDetailSchema>;

export const ApiRunIdParamsSchema = z.strictObject({ id: z.string().min(1).max(128).regex(/^[A-Za-z0-9-]+$/, 'a run id') });

export const ApiRunListQuerySchema = ApiPageQuerySchema.extend({ status: z.enum(RUN_STATUSES).optional() });

export const ApiRunListSchema = z.strictObject({
  runs: z.array(ApiRunSummarySchema),
  /** Runs matching the query in all (for paging). */
  total: z.number().int().min(0),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const ApiRunCreatedSchema = z.strictObject({ id: z.string(), status: z.enum(RUN_STATUSES) });
export type ApiRunCreated = z.output<typeof ApiRunCreatedSchema>;

export const ApiRunEventsQuerySchema = z.strictObject({
  /** Events with a seq above this (default: from the first). */
  after: z.coerce.number().int().min(-1).default(-1),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
});

/** A run's stored run events in seq order; `next` is the `after` of the following page when there is more. */
export const ApiRunEventsSchema = z.strictObject({
  runId: z.string(),
  status: z.enum(RUN_STATUSES),
  events: z.array(RunEventSchema),
  next: z.number().int().optional(),
});

/** The live `data` of a `run` event announcing a status change (beside the run events themselves). */
export const ApiRunStatusEventSchema = z.strictObject({ type: z.literal('run-status'), status: z.enum(RUN_STATUSES), error: ReportErrorSchema.optional() });
export type ApiRunStatusEvent = z.output<typeof ApiRunStatusEventSchema>;
