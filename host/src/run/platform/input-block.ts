/**
 * One input block of a v2 suite (consecutive input steps) on every selected
 * running VM at once: the block as a v1 suite (`blockSuite`, variables known
 * by now filled in, named `SUITE · steps A–B`), paced and planned as `verify`
 * does, then one run of the engine (runToEnd) over libvirt targets bound to
 * the pool's domains, at most target.concurrency VMs at once (default all),
 * on the suite's hub and host connections. Its events go to `onEvent` (the
 * engine's log lines are not passed on: the suite logs its steps); its
 * suite reports, fleet summary and wall time come back for the suite's
 * report. A block that cannot start (a variable missing, no selected VM
 * running) throws; defects found are the engine's report, not an error.
 */
import { AtpError, type PlatformStepResult, type RunEvent, type SuiteReport } from '@atp/protocol';
import { blockSuite, describeStep, planSuite, resolvePacing, type InputBlock, type LoadedSuiteV2, type PacingFlags } from '../../scenario/index.js';
import { runToEnd } from '../engine.js';
import type { StepContext, VmResult } from './context.js';
import type { BlockFleet } from './platform-outcome.js';
import type { InjectorChoice } from '../../targets/index.js';
import { currentSelection, openerOf } from './selection.js';

export interface BlockOptions {
  pacing?: PacingFlags;
  injector?: Partial<InjectorChoice>;
  layout?: string;
  signal?: AbortSignal;
  runId: string;
  version: string;
  onEvent: (event: RunEvent) => void;
}

export interface BlockRun extends BlockFleet {
  stepLabels: string[][];
  exitCode: 0 | 1 | 3;
}

const MAX_LABEL = 80;

/** `input: type "hello", expect keys exact` (the block's own step labels, shortened). */
export function blockLabel(block: InputBlock): string {
  const text = `input: ${block.steps.map((s) => describeStep(s)).join(', ')}`;
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}

export async function runInputBlock(ctx: StepContext, suite: LoadedSuiteV2, block: InputBlock, options: BlockOptions): Promise<BlockRun> {
  const loaded = blockSuite(suite, block, ctx.vars);
  if (options.layout !== undefined) loaded.scenario.target.layout = options.layout;
  resolvePacing(loaded.scenario.defaults, options.pacing ?? {});
  const plan = planSuite(loaded.scenario);
  const selection = await currentSelection(ctx);
  if (selection.running.length === 0) {
    throw new AtpError('ATP_RUN_NO_TARGETS', `steps ${block.first}–${block.last}: no selected VM of pool ${selection.pool} runs (${selection.notRunning.map((s) => `${s.name} ${s.status}`).join(', ')})`, {
      details: { pool: selection.pool, notRunning: selection.notRunning.map((s) => s.name) },
    });
  }
  const targets = selection.running.map((vm) => openerOf(ctx, vm));
  const started = performance.now();
  const result = await runToEnd(
    {
      suites: [{ loaded, plan }],
      targets,
      hub: ctx.hub,
      connections: ctx.connections,
      concurrency: ctx.target.concurrency ?? targets.length,
      runId: options.runId,
      version: options.version,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.pacing === undefined ? {} : { pacing: options.pacing }),
      ...(options.injector === undefined ? {} : { injector: options.injector }),
      ...(options.layout === undefined ? {} : { layout: options.layout }),
    },
    options.onEvent,
  );
  const fleet = result.report.fleet;
  if (fleet === undefined) throw new AtpError('ATP_RUN_TARGET', `steps ${block.first}–${block.last}: the run engine gave no fleet summary`);
  return {
    fleet,
    suites: result.report.suites as SuiteReport[],
    wallMs: performance.now() - started,
    stepLabels: result.stepLabels,
    exitCode: result.exitCode,
    notRunning: selection.notRunning.map((s) => ({ vm: s.name, error: { code: 'ATP_RUN_TARGET', message: `${s.name} is not running (platform status ${s.status})` } })),
  };
}

/** The block's row in the report's steps: ok when every selected VM passed. */
export function blockResult(block: InputBlock, label: string, run: BlockRun, durationMs: number): PlatformStepResult {
  const vms: VmResult[] = [
    ...run.fleet.vms.map((v) => ({
      vm: v.vm,
      ok: v.outcome === 'passed',
      detail: `${v.outcome}: ${v.keys} keys, ${v.defects} defects${v.error === undefined ? '' : `; ${v.error.code}: ${v.error.message}`}`,
    })),
    ...(run.notRunning ?? []).map((n) => ({ vm: n.vm, ok: false, detail: `not-run: ${n.error.message}` })),
  ];
  const bad = vms.filter((v) => !v.ok);
  const firstError = run.fleet.vms.find((v) => v.outcome !== 'passed' && v.error !== undefined)?.error ?? run.notRunning?.[0]?.error;
  return {
    step: block.first,
    action: 'input',
    label,
    outcome: bad.length === 0 ? 'ok' : 'failed',
    durationMs,
    ...(firstError === undefined ? {} : { error: { code: firstError.code, message: firstError.message } }),
    vms,
  };
}
