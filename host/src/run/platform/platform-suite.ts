/**
 * The executor of scenario v2 (`runPlatformSuite`): a suite that acts on an
 * OCloudView platform and types into every VM of a desk pool.
 *
 * Steps run in order with one context (the client, the variables named by
 * `as:`, the VM filters of the target and of `select:` steps):
 *  - a run step (vdi, waitFor, exec, select) goes through RUN_STEP_HANDLERS
 *    with its `${…}` filled in; it gives one row in report.steps (label: its
 *    name, else what it does; ok/failed; duration; the error's code and
 *    message; per-VM rows). A failed run step skips every later step (rows
 *    'skipped') except `vdi:` steps marked `always: true` (cleanup), which
 *    still run;
 *  - an input block runs on every selected running VM through the run engine
 *    (input-block.ts); its suite reports go into report.suites (named
 *    `SUITE · steps A–B`, finding steps counted within the block), its VMs
 *    into the fleet summary (platform-outcome.ts merges the blocks), its run
 *    events to `onEvent` (renumbered: one run id and one seq for the whole
 *    suite). A block with defects, or one that could not start, is a failed
 *    row but does not stop the suite.
 * The signal stops the suite: the running step or block is interrupted, the
 * rest is skipped, except `always: true` steps, which run whatever happened
 * and are never interrupted by the signal (cleanup must finish).
 * `log` gets one line when each step starts and one when it ends.
 * The hub must accept `token`, the token the pool's agents present.
 * Exit code: platform-outcome.ts (0 all ok, 1 something verified and
 * something failed, 3 nothing verified or stopped).
 */
import { randomUUID } from 'node:crypto';
import { AtpError, parseReport, runStepAction, type PlatformStepResult, type ReportV1, type RunEvent, type RunStep, type RunStepAction, type SuiteReport } from '@atp/protocol';
import type { ConfigLocation } from '../../config/paths.js';
import type { EffectivePlatform } from '../../config/platforms-file.js';
import type { AgentHub } from '../../hub/index.js';
import { buildReport } from '../../report/index.js';
import type { InputBlock, LoadedSuiteV2, PacingFlags } from '../../scenario/index.js';
import { HostConnections, type InjectorChoice } from '../../targets/index.js';
import type { OCloudClient } from '../../vdi/index.js';
import { HostLoadMonitor } from '../host-load.js';
import { asAtpError, substitute, type StepContext, type StepVars, type VmFilter } from './context.js';
import { blockLabel, blockResult, runInputBlock, type BlockRun } from './input-block.js';
import { blockVerified, mergeBlockFleets, platformExitCode } from './platform-outcome.js';
import { runRunStep, runStepLabel } from './run-steps.js';

export interface PlatformSuiteOptions {
  suite: LoadedSuiteV2;
  client: OCloudClient;
  platform: EffectivePlatform;
  /** The token the pool's agents present; `hub` must accept it. */
  token: string;
  /** The suite's hub (owned by the caller): every block's targets and agentConnected use it. */
  hub: AgentHub;
  location?: ConfigLocation;
  pacing?: PacingFlags;
  /** The injector for every input block (--injector, --mouse-mode, --display); default the suite's target.injector. */
  injector?: Partial<InjectorChoice>;
  /** Overrides the suite's layout for every input block. */
  layout?: string;
  signal?: AbortSignal;
  /** ATP's version, for the report. */
  version: string;
  log?: (line: string) => void;
  onEvent?: (event: RunEvent) => void;
}

export interface PlatformSuiteResult {
  report: ReportV1;
  exitCode: 0 | 1 | 3;
  /** Step labels per suite report, in report order (JUnit's per-step testcases). */
  stepLabels: string[][];
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export async function runPlatformSuite(options: PlatformSuiteOptions): Promise<PlatformSuiteResult> {
  const { suite } = options;
  const startedAt = new Date();
  const load = new HostLoadMonitor();
  const runId = randomUUID();
  const log = options.log ?? (() => undefined);
  const location = options.location ?? {};
  const connections = new HostConnections(location);
  const vars: StepVars = {};
  const filters: VmFilter[] = [];
  // `always:` steps run on a signal nobody aborts.
  const unstoppable = new AbortController().signal;
  const runSignal = options.signal ?? unstoppable;
  const context = (signal: AbortSignal): StepContext => ({
    client: options.client,
    platform: options.platform,
    token: options.token,
    hub: options.hub,
    connections,
    location,
    target: suite.scenario.target,
    source: suite.source,
    vars,
    filters,
    signal,
    log,
  });
  let seq = 0;
  const forward = (event: RunEvent): void => options.onEvent?.({ ...event, seq: seq++, runId });

  const steps: PlatformStepResult[] = [];
  const blocks: BlockRun[] = [];
  let failedStep = false;
  let verified = false;
  const aborted = (): boolean => options.signal?.aborted === true;

  const runStep = async (index: number, action: RunStepAction, step: RunStep, always: boolean): Promise<void> => {
    const ctx = context(always ? unstoppable : runSignal);
    const started = performance.now();
    let resolved: RunStep | AtpError;
    try {
      resolved = substitute(step, ctx, ['steps', index]);
    } catch (error) {
      resolved = asAtpError(error, `step ${index}`);
    }
    const label = runStepLabel(action, resolved instanceof AtpError ? step : resolved);
    // A failure while the run is being stopped is the stop's doing.
    const stoppedOr = (error: unknown): AtpError =>
      !always && runSignal.aborted ? new AtpError('ATP_RUN_ABORTED', `stopped during step ${index} (${label}): ${asAtpError(error, label).message}`, { cause: error }) : asAtpError(error, `step ${index} (${label})`);
    log(`step ${index} ${action}: ${label}: started`);
    let row: PlatformStepResult;
    try {
      if (resolved instanceof AtpError) throw resolved;
      const done = await runRunStep(action, resolved, ctx);
      if (done.vars !== undefined && 'as' in step && typeof step.as === 'string') vars[step.as] = done.vars;
      if (done.verified === true) verified = true;
      row = rowOf(index, action, label, started, done.error === undefined ? undefined : stoppedOr(done.error), done.vms);
    } catch (error) {
      row = rowOf(index, action, label, started, stoppedOr(error), undefined);
    }
    if (row.outcome === 'failed') failedStep = true;
    log(`step ${index} ${action}: ${label}: ${row.outcome} in ${seconds(row.durationMs)}${row.error === undefined ? '' : `: ${row.error.code}: ${row.error.message}`}`);
    steps.push(row);
  };

  const runBlock = async (block: InputBlock): Promise<void> => {
    const label = blockLabel(block);
    const started = performance.now();
    const where = block.first === block.last ? `step ${block.first}` : `steps ${block.first}–${block.last}`;
    log(`${where} input: ${label}: started`);
    let row: PlatformStepResult;
    try {
      const run = await runInputBlock(context(runSignal), suite, block, {
        runId,
        version: options.version,
        onEvent: forward,
        ...(options.pacing === undefined ? {} : { pacing: options.pacing }),
        ...(options.injector === undefined ? {} : { injector: options.injector }),
        ...(options.layout === undefined ? {} : { layout: options.layout }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      blocks.push(run);
      if (blockVerified(run.fleet)) verified = true;
      row = blockResult(block, label, run, Math.round(performance.now() - started));
    } catch (error) {
      const e = asAtpError(error, `${where} (input)`);
      row = { step: block.first, action: 'input', label, outcome: 'failed', durationMs: Math.round(performance.now() - started), error: { code: e.code, message: e.message } };
    }
    log(`${where} input: ${label}: ${row.outcome} in ${seconds(row.durationMs)}${row.error === undefined ? '' : `: ${row.error.code}: ${row.error.message}`}`);
    steps.push(row);
  };

  try {
    const all = suite.scenario.steps;
    for (let i = 0; i < all.length; ) {
      const block = suite.blocks.find((b) => b.first === i);
      const stopping = failedStep || aborted();
      if (block !== undefined) {
        if (stopping) steps.push(skippedRow(block.first, 'input', blockLabel(block)));
        else await runBlock(block);
        i = block.last + 1;
        continue;
      }
      const step = all[i] as RunStep;
      const action = runStepAction(step);
      if (action === undefined) throw new AtpError('ATP_SCENARIO_INVALID', `${suite.source}: steps[${i}] is neither an input step of a block nor a run step`, { details: { source: suite.source, step: i } });
      const always = 'always' in step && step.always === true;
      if (stopping && !always) {
        steps.push(skippedRow(i, action, runStepLabel(action, step)));
        log(`step ${i} ${action}: ${runStepLabel(action, step)}: skipped`);
      } else await runStep(i, action, step, always);
      i++;
    }
  } finally {
    await connections.close();
  }

  const finishedAt = new Date();
  const host = load.stop();
  const fleet = mergeBlockFleets(blocks);
  const suites: SuiteReport[] = blocks.flatMap((b) => [...b.suites]);
  const base = buildReport(suites, { startedAt, finishedAt, version: options.version, host, ...(fleet === undefined ? {} : { fleet }) });
  const report = parseReport({ ...base, steps }, 'platform suite report');
  const exitCode = platformExitCode({ steps, fleet, verified, aborted: aborted() });
  return { report, exitCode, stepLabels: blocks.flatMap((b) => b.stepLabels) };
}

function rowOf(index: number, action: RunStepAction, label: string, started: number, error: AtpError | undefined, vms: PlatformStepResult['vms']): PlatformStepResult {
  return {
    step: index,
    action,
    label,
    outcome: error === undefined ? 'ok' : 'failed',
    durationMs: Math.round(performance.now() - started),
    ...(error === undefined ? {} : { error: { code: error.code, message: error.message } }),
    ...(vms === undefined ? {} : { vms }),
  };
}

function skippedRow(index: number, action: PlatformStepResult['action'], label: string): PlatformStepResult {
  return { step: index, action, label, outcome: 'skipped', durationMs: 0 };
}
