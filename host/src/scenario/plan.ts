/**
 * Planning: a validated suite → the ordered items a run goes through. Pure.
 *
 *  - send: one action group, the unit of pacing (a character, a combo, a click,
 *    a move, one part of a drag), with the top-level step it came from and the
 *    step's own holdMs/gapMs when it sets them;
 *  - wait: a pause in ms;
 *  - expect: a checkpoint: the run waits until what was sent has been observed
 *    (or the timeout passes) and checks what the step asks for.
 *
 * What each kind of step adds is in plan-steps.ts (one planner per action).
 * Repeats are expanded; the expansion is bounded by MAX_PLAN_ITEMS so a suite
 * with nested repeats cannot eat the host's memory. A run always ends with a
 * checkpoint: the plan appends one when the suite does not end with an expect.
 */
import { AtpError, type ScenarioStep, type ScenarioV1 } from '@atp/protocol';
import type { InputAction } from '../inject/actions.js';
import type { PlanBuilder, PlanItem, StepTiming } from './plan-items.js';
import { STEP_PLANNERS } from './plan-steps.js';
import { dispatchStep } from './step-table.js';

export type { ExpectSpec, PlanItem } from './plan-items.js';

/** More items than this is not a suite anyone can read the report of. */
export const MAX_PLAN_ITEMS = 1_000_000;
/** A checkpoint's wait when neither the expect step nor the suite's defaults set timeoutMs. */
export const DEFAULT_EXPECT_TIMEOUT_MS = 10_000;

export interface SuitePlan {
  items: PlanItem[];
  /** Top-level steps in the suite. */
  steps: number;
  /** Key transitions (downs and ups) the plan sends. */
  keyTransitions: number;
  /** Pointer button transitions the plan sends. */
  buttonTransitions: number;
}

export interface PlanOptions {
  /** Layout for text steps that name none; overrides the suite's target.layout (the CLI's --layout). */
  layout?: string;
}

class Planner implements PlanBuilder {
  readonly items: PlanItem[] = [];
  constructor(
    private readonly scenario: ScenarioV1,
    readonly layout: string,
  ) {}

  push(item: PlanItem): void {
    if (this.items.length >= MAX_PLAN_ITEMS) {
      throw new AtpError('ATP_SCENARIO_INVALID', `suite ${this.scenario.name} expands to more than ${MAX_PLAN_ITEMS} actions (check the repeat counts)`, {
        details: { limit: MAX_PLAN_ITEMS },
      });
    }
    this.items.push(item);
  }

  send(step: number, label: string, actions: InputAction[], timing: StepTiming = {}): void {
    const item: PlanItem = { kind: 'send', step, group: { label, actions } };
    if (timing.holdMs !== undefined) item.holdMs = timing.holdMs;
    if (timing.gapMs !== undefined) item.gapMs = timing.gapMs;
    this.push(item);
  }

  add(s: ScenarioStep, step: number): void {
    dispatchStep(STEP_PLANNERS, s, step, this);
  }

  expectTimeout(own: number | undefined): number {
    return own ?? this.scenario.defaults?.timeoutMs ?? DEFAULT_EXPECT_TIMEOUT_MS;
  }
}

/** The suite as run items; throws the key table's or layout's AtpError for input the loader did not check. */
export function planSuite(scenario: ScenarioV1, options: PlanOptions = {}): SuitePlan {
  const planner = new Planner(scenario, options.layout ?? scenario.target.layout);
  scenario.steps.forEach((s, i) => planner.add(s, i));
  const last = planner.items[planner.items.length - 1];
  if (last?.kind !== 'expect') {
    planner.items.push({ kind: 'expect', step: Math.max(0, scenario.steps.length - 1), expect: { timeoutMs: planner.expectTimeout(undefined) }, implicit: true });
  }
  let keyTransitions = 0;
  let buttonTransitions = 0;
  for (const item of planner.items) {
    if (item.kind !== 'send') continue;
    for (const a of item.group.actions) {
      if (a.kind === 'key') keyTransitions++;
      else if (a.kind === 'button') buttonTransitions++;
    }
  }
  return { items: planner.items, steps: scenario.steps.length, keyTransitions, buttonTransitions };
}

