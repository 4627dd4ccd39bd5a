/**
 * Runs one suite against a target and returns its SuiteReport:
 *
 *  1. the VM must run (query-status, `cont` if paused: QEMU drops input while paused);
 *  2. the hub stream for the agent starts from now (nothing from earlier counts);
 *  3. the plan's action groups go through a Pacer (open or closed loop), step by
 *     step; an expect checkpoint (and the end) waits until the observed key and
 *     button transitions caught up with what was sent, then for quiet, bounded by
 *     its timeout; pointer expectations are checked right there;
 *  4. the verify engine matches everything sent against everything observed,
 *     with the target's clock read before and after the suite (the offset at
 *     each send's time), else the hub's estimate, for latency.
 * Pointer groups (a move, a click, one part of a drag, a wheel) go one at a time,
 * each waiting until its effect was observed (button transitions, wheel event,
 * position): QEMU's USB tablet merges queued reports that have the same button
 * state until the guest polls, so a drag's second move sent too soon would
 * overwrite its press position, and the guest would see a different drag.
 * Stuck modifiers are not released before the run: a key held from before shows
 * up in the findings. An infrastructure failure (QMP gone, the hub closed) ends
 * the suite with verdict 'error' and the AtpError's code; what was sent until
 * then is still verified, for the record, and the keys its steps pressed are
 * released (releaseKeys). A closed loop that stalls (keys never
 * observed) is a 'timeout' finding, not an error: the missing keys are defects.
 * A QMP executor that rides out a libvirt connection loss (reconnectingQmpExecutor)
 * adds an 'error' finding per loss; the run carries on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError, isAtpError, type Finding, type KeyId, type ObservedEvent, type SuiteReport } from '@atp/protocol';
import type { AgentHub } from '../hub/index.js';
import type { InjectedAction, Injector, InputAction } from '../inject/actions.js';
import { Pacer, type ActionGroup } from '../inject/pacing.js';
import type { ProgressState } from '../report/progress.js';
import { hostNow } from '../util/clock.js';
import { timerDelay } from '../util/timers.js';
import { absToPixels, clockAround, DEFAULT_TOLERANCES, verifySuite, type ClockInput, type Tolerances } from '../verify/index.js';
import { interruptionReporter } from '../vm/libvirt/executors.js';
import type { QmpExecutor } from '../vm/qmp/index.js';
import { stepLabels } from './describe-step.js';
import { latencyBudgetFindings, noticeFindings, pointerCheckpoint } from './checkpoints.js';
import { agentProblems, deviceUsage } from './observer-devices.js';
import type { LoadedSuite } from './load.js';
import { HubObservation } from './observer-feedback.js';
import { ObserverStatus } from './observer-status.js';
import { evdevCost, policyFor, resolvePacing, transitionFeedback, type PacingFlags, type ResolvedPacing } from './pacing-policy.js';
import { calibratedPacing } from './calibration-store.js';
import { planSuite, type PlanItem, type SuitePlan } from './plan.js';
import { stoppedGuestFinding } from './guest-state.js';
import { ensureGuestRunning } from './targets.js';

export interface SuiteTarget {
  injector: Injector;
  hub: AgentHub;
  agentId: string;
  /** QMP of the VM, to make sure it runs before input is sent. */
  qmp?: QmpExecutor;
  /**
   * A better clock-offset estimate than the hub's (e.g. qgaClockEstimate through
   * the lab's qemu-ga), taken before and after the suite; the hub's when absent or failing.
   */
  clock?: () => Promise<ClockInput>;
  /** Report target fields; default the suite's target.vm and host. */
  vm?: string;
  host?: string;
  /** The guest input device the injector is routed to, when the target chose one (the lab's keyboard). */
  inputDevice?: string;
}

export interface RunSuiteOptions {
  pacing?: PacingFlags;
  /** Layout override for text (the CLI's --layout). */
  layout?: string;
  /** A plan made beforehand (e.g. to reject every bad suite before booting a VM). */
  plan?: SuitePlan;
  tolerances?: Partial<Tolerances>;
  /** Quiet period after catching up at a checkpoint (default 200 ms). */
  settleMs?: number;
  onProgress?: (state: ProgressState) => void;
  /** How often onProgress fires while waiting (default 250 ms). */
  progressIntervalMs?: number;
  suiteIndex?: number;
  suiteCount?: number;
  signal?: AbortSignal;
  /** A top-level step (0-based) starts sending, or the suite moved past it (run events). */
  onStep?: (step: number, phase: 'started' | 'finished') => void;
}

export interface SuiteRun {
  report: SuiteReport;
  pacing: ResolvedPacing;
  injected: InjectedAction[];
  observed: ObservedEvent[];
  /** Hub receive time (host clock) of each observed event. */
  receivedAt: number[];
}

/** Records every action the injector stamped, also those of a send that failed midway. */
class RecordingInjector implements Injector {
  readonly name: string;
  readonly screen;
  readonly injected: InjectedAction[] = [];
  keyTransitions = 0;
  buttonTransitions = 0;
  wheelActions = 0;
  /** The last absolute move sent. */
  lastMove: { x: number; y: number } | undefined;
  /** Net relative motion sent (moveBy; SPICE's server mouse mode sends moves so). */
  relX = 0;
  relY = 0;
  constructor(private readonly inner: Injector) {
    this.name = inner.name;
    this.screen = inner.screen;
  }
  async send(actions: readonly InputAction[], context?: { step?: number }): Promise<InjectedAction[]> {
    try {
      const done = await this.inner.send(actions, context);
      this.record(done);
      return done;
    } catch (error) {
      const sent = isAtpError(error) ? error.details['sent'] : undefined;
      if (Array.isArray(sent)) this.record(sent as InjectedAction[]);
      throw error;
    }
  }
  private record(actions: readonly InjectedAction[]): void {
    for (const a of actions) {
      this.injected.push(a);
      if (a.action.kind === 'key') this.keyTransitions++;
      else if (a.action.kind === 'button') this.buttonTransitions++;
      else if (a.action.kind === 'wheel') this.wheelActions++;
      else if (a.action.kind === 'move') this.lastMove = { x: a.action.x, y: a.action.y };
      else {
        this.relX += a.action.dx;
        this.relY += a.action.dy;
      }
    }
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Longest wait for one pointer group's effect before going on (the verifier reports what never came). */
const POINTER_WAIT_MS = 2000;

type Batch = { step: number; holdMs: number | undefined; gapMs: number | undefined; groups: ActionGroup[] };

export async function runSuite(loaded: LoadedSuite, target: SuiteTarget, options: RunSuiteOptions = {}): Promise<SuiteRun> {
  const { scenario } = loaded;
  const startedAt = hostNow();
  const plan = options.plan ?? planSuite(scenario, options.layout === undefined ? {} : { layout: options.layout });
  let pacing = resolvePacing(scenario.defaults, options.pacing);
  const tolerances = { ...DEFAULT_TOLERANCES, ...options.tolerances };
  const injector = new RecordingInjector(target.injector);
  const extra: Finding[] = [];
  const budgets: { step: number; p95Ms: number }[] = [];
  let failure: AtpError | undefined;
  let currentStep = 0;
  let observation: HubObservation | undefined;
  let openStep: number | undefined;
  const enterStep = (step: number | undefined): void => {
    if (step === openStep) return;
    if (openStep !== undefined) options.onStep?.(openStep, 'finished');
    openStep = step;
    if (step !== undefined) options.onStep?.(step, 'started');
  };
  // A web observer shows the tester the step being sent and the verdict.
  const status = scenario.observer.kind === 'web' ? new ObserverStatus(target.hub, target.agentId, scenario.name, stepLabels(scenario)) : undefined;

  const progress = (): void => {
    options.onProgress?.({
      suite: scenario.name,
      ...(options.suiteIndex === undefined ? {} : { suiteIndex: options.suiteIndex }),
      ...(options.suiteCount === undefined ? {} : { suiteCount: options.suiteCount }),
      step: currentStep,
      steps: plan.steps,
      keysSent: injector.keyTransitions,
      keysObserved: observation?.keyTransitions ?? 0,
      elapsedMs: hostNow() - startedAt,
    });
  };
  const ticker = options.onProgress === undefined ? undefined : setInterval(progress, options.progressIntervalMs ?? 250);

  const pacers = new Map<string, Pacer>();
  const pacerFor = (b: Batch): Pacer => {
    // The event window counts what the guest's evdev queue holds for this injector and keyboard.
    const policy = policyFor(pacing, b, evdevCost(injector.name, target.inputDevice));
    const key = JSON.stringify(policy);
    let pacer = pacers.get(key);
    if (pacer === undefined) {
      pacer = new Pacer({ injector, policy, ...(observation === undefined ? {} : { feedback: transitionFeedback(observation) }) });
      pacers.set(key, pacer);
    }
    return pacer;
  };

  let sentBefore = false;
  const flush = async (batch: Batch | undefined): Promise<void> => {
    if (batch === undefined || batch.groups.length === 0) return;
    if (pacing.mode === 'open' && sentBefore) await sleep(timerDelay(batch.gapMs ?? pacing.gapMs));
    sentBefore = true;
    await pacerFor(batch).send(batch.groups, { step: batch.step });
  };

  const checkpoint = async (item: Extract<PlanItem, { kind: 'expect' }>, obs: HubObservation): Promise<void> => {
    const pointerAt = (): Finding | undefined => pointerCheckpoint(item.expect, item.step, obs.lastAbs(), injector.screen, tolerances.tolerancePx);
    await obs.waitQuiet({
      keyTransitions: injector.keyTransitions,
      buttonTransitions: injector.buttonTransitions,
      timeoutMs: item.expect.timeoutMs,
      until: () => pointerAt() === undefined,
      ...(options.settleMs === undefined ? {} : { settleMs: options.settleMs }),
    });
    const pointer = pointerAt();
    if (pointer !== undefined) extra.push(pointer);
    if (item.expect.latencyP95Ms !== undefined) budgets.push({ step: item.step, p95Ms: item.expect.latencyP95Ms });
  };

  const pointerGroup = async (item: Extract<PlanItem, { kind: 'send' }>, obs: HubObservation): Promise<void> => {
    const relBase = { sentX: injector.relX, sentY: injector.relY, seenX: obs.relX, seenY: obs.relY };
    await flush({ step: item.step, holdMs: item.holdMs, gapMs: item.gapMs, groups: [item.group] });
    const move = injector.lastMove;
    const reached = (): boolean => {
      if (move === undefined) return true;
      const at = obs.lastAbs();
      const seen = at === undefined ? { x: 0, y: 0 } : absToPixels(at.x, at.y, injector.screen, at.range);
      return Math.hypot(seen.x - move.x, seen.y - move.y) <= tolerances.tolerancePx;
    };
    // Relative motion: this group's displacement has arrived (raw device units, before any acceleration).
    const moved = (): boolean =>
      Math.hypot(obs.relX - relBase.seenX - (injector.relX - relBase.sentX), obs.relY - relBase.seenY - (injector.relY - relBase.sentY)) <= tolerances.tolerancePx;
    const observed = (): boolean => obs.buttonTransitions >= injector.buttonTransitions && obs.wheelEvents >= injector.wheelActions && reached() && moved();
    await obs.waitFor(observed, Math.min(pacing.timeoutMs, POINTER_WAIT_MS));
  };

  const stopReporting = interruptionReporter(target.qmp)?.onInterruption((i) => {
    const step = Math.max(0, currentStep - 1);
    extra.push({ kind: 'error', step, message: `libvirt connection interrupted at step ${step} (${i.error.code}); reconnected after ${Math.round(i.reconnectedAfterMs)} ms`, observed: { command: i.command } });
  });
  // A target's own clock is read before and after the suite: the offset moves during a run (verify/latency.ts).
  // A failed read (qemu-ga silent) is said in an 'error' finding: latency then rests on the other read or the hub's pings.
  const readClock = async (when: 'before' | 'after'): Promise<ClockInput | undefined> =>
    target.clock?.().catch((error: unknown) => {
      const code = isAtpError(error) ? error.code : 'unknown';
      extra.push({ kind: 'error', message: `the target's clock could not be read ${when} the suite (${code}: ${error instanceof Error ? error.message : String(error)}); latency uses the other estimates`, observed: { when, code } });
      return undefined;
    });
  let clockBefore: ClockInput | undefined;
  try {
    const host = target.host ?? scenario.target.host;
    pacing = await calibratedPacing(pacing, options.pacing?.calibration, {
      vm: target.vm ?? scenario.target.vm,
      ...(host === undefined ? {} : { host }),
      injector: injector.name,
      ...(target.inputDevice === undefined ? {} : { inputDevice: target.inputDevice }),
    });
    if (target.qmp !== undefined) await ensureGuestRunning(target.qmp);
    clockBefore = await readClock('before');
    const obs = HubObservation.start(target.hub, target.agentId);
    observation = obs;
    status?.start();
    let batch: Batch | undefined;
    for (const item of plan.items) {
      if (options.signal?.aborted) throw new AtpError('ATP_INJECT_CLOSED', 'the run was interrupted');
      const streamError = obs.error();
      if (streamError !== undefined) throw streamError;
      status?.step(item.step);
      if (item.kind === 'send' && item.group.actions.every((a) => a.kind !== 'key')) {
        await flush(batch);
        batch = undefined;
        currentStep = item.step + 1;
        enterStep(item.step);
        await pointerGroup(item, obs);
        continue;
      }
      if (item.kind === 'send') {
        const same = batch !== undefined && batch.step === item.step && batch.holdMs === item.holdMs && batch.gapMs === item.gapMs;
        if (!same) {
          await flush(batch);
          batch = { step: item.step, holdMs: item.holdMs, gapMs: item.gapMs, groups: [] };
          currentStep = item.step + 1;
          enterStep(item.step);
          progress();
        }
        batch?.groups.push(item.group);
        continue;
      }
      await flush(batch);
      batch = undefined;
      currentStep = item.step + 1;
      enterStep(item.step);
      if (item.kind === 'wait') await sleep(timerDelay(item.ms));
      else await checkpoint(item, obs);
    }
  } catch (error) {
    if (isAtpError(error, 'ATP_INJECT_FEEDBACK_TIMEOUT')) {
      extra.push({ kind: 'timeout', step: Math.max(0, currentStep - 1), message: `closed-loop pacing stalled, the suite stopped sending: ${error.message}`, observed: { ...error.details } });
      await observation?.waitQuiet({ keyTransitions: injector.keyTransitions, buttonTransitions: injector.buttonTransitions, timeoutMs: 2000 });
    } else if (isAtpError(error)) failure = error;
    else failure = new AtpError('ATP_INJECT_CLOSED', `the suite stopped: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    stopReporting?.();
    enterStep(undefined);
    if (ticker !== undefined) clearInterval(ticker);
    await observation?.close();
  }
  progress();
  failure ??= observation?.error();
  // Started now, awaited at the end: on a SIGSTOPped VM it waits out its QMP timeout beside the status and clock reads.
  const releasing = failure === undefined ? undefined : releaseKeys(target.injector, plan, currentStep);
  const stopped = await stoppedGuestFinding(target.qmp, target.vm ?? scenario.target.vm, Math.max(0, currentStep - 1), injector.name);
  if (stopped !== undefined) {
    extra.push(stopped);
    // A VM that stopped under the suite is the environment failing, not the input path: an infrastructure error,
    // even when the closed loop only saw its input stall (what it sent before the stop was accepted by QEMU).
    failure ??= new AtpError('ATP_VM_NOT_RUNNING', stopped.message, { details: { ...stopped.observed } });
  }

  const clock = clockAround([clockBefore, await readClock('after')]) ?? target.hub.clock(target.agentId);
  const observed = observation?.events ?? [];
  const expectText = scenario.observer.kind === 'web' ? textExpectation(plan) : undefined;
  const result = verifySuite({
    injected: injector.injected,
    observed,
    screen: injector.screen,
    tolerances,
    ...(clock === undefined ? {} : { clock }),
    ...(expectText === undefined ? {} : { expectText }),
  });
  const findings = [...result.findings, ...extra, ...latencyBudgetFindings(budgets, result.latency), ...noticeFindings(observation?.notices ?? [])];
  const defects = findings.some((f) => f.kind !== 'error');
  const verdict = failure !== undefined ? 'error' : result.verdict === 'pass' && !defects ? 'pass' : 'fail';
  const host = target.host ?? scenario.target.host;
  const hello = target.hub.agentHello(target.agentId);
  const devices = deviceUsage(observed, hello?.devices);
  const problems = agentProblems(hello?.problems, observation?.notices ?? []);
  const report: SuiteReport = {
    name: scenario.name,
    source: loaded.source,
    target: {
      vm: target.vm ?? scenario.target.vm,
      ...(host === undefined ? {} : { host }),
      injector: injector.name,
      ...(target.inputDevice === undefined ? {} : { inputDevice: target.inputDevice }),
      layout: options.layout ?? scenario.target.layout,
    },
    observer: scenario.observer,
    verdict,
    durationMs: Math.max(0, hostNow() - startedAt),
    counts: result.counts,
    findings,
    ...(result.pointer === undefined ? {} : { pointer: result.pointer }),
    ...(result.latency === undefined ? {} : { latency: result.latency }),
    ...(result.latencySamples === undefined ? {} : { latencySamples: result.latencySamples }),
    ...(failure === undefined ? {} : { error: { code: failure.code, message: failure.message } }),
    ...(devices.length === 0 ? {} : { devices }),
    ...(problems.length === 0 ? {} : { agentProblems: problems }),
  };
  status?.finish(report);
  await releasing;
  return { report, pacing, injected: injector.injected, observed, receivedAt: observation?.receivedAt ?? [] };
}

/**
 * After a suite ended in error: releases every key its steps before `untilStep`
 * press, through the target's own injector (not recorded, not verified). A suite
 * cut short while typing can leave a key down in the guest, and QEMU replays the
 * input it queued while SIGSTOPped once it runs again, the release queued behind
 * it. A release of a key that is up changes nothing in the guest (its input core
 * drops it). A failed call ends it: the suite's error is already the report's.
 */
async function releaseKeys(injector: Injector, plan: SuitePlan, untilStep: number): Promise<void> {
  const keys = new Set<KeyId>();
  for (const item of plan.items) {
    if (item.kind !== 'send' || item.step >= untilStep) continue;
    for (const a of item.group.actions) if (a.kind === 'key' && a.down) keys.add(a.key);
  }
  // A few per call with a pause between: QEMU's AT keyboard holds 16 bytes, and a call lands whole before the guest reads.
  const all = [...keys];
  for (let i = 0; i < all.length; i += RELEASES_PER_CALL) {
    if (i > 0) await sleep(RELEASE_PAUSE_MS);
    const sent = await injector.send(all.slice(i, i + RELEASES_PER_CALL).map((key) => ({ kind: 'key' as const, key, down: false }))).then(() => true, () => false);
    if (!sent) return; // the VM does not take input: the rest would only wait out the same timeout
  }
}

const RELEASES_PER_CALL = 4;
const RELEASE_PAUSE_MS = 20;

/**
 * For a web observer: the text the page must have produced over the whole run,
 * the expect steps' `text` values in order (each one the text typed since the
 * previous), reported at the last such step.
 */
function textExpectation(plan: SuitePlan): { text: string; step: number } | undefined {
  const expects = plan.items.filter((i): i is Extract<PlanItem, { kind: 'expect' }> => i.kind === 'expect' && i.expect.text !== undefined);
  const last = expects[expects.length - 1];
  return last === undefined ? undefined : { text: expects.map((e) => e.expect.text ?? '').join(''), step: last.step };
}
