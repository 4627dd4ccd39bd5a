/**
 * What a plan is made of (plan.ts builds it, plan-steps.ts says what each kind
 * of step adds, run-suite.ts and checkpoints.ts read it). Types only, in their
 * own file so the planners and the planner do not import each other.
 */
import type { ExpectStep, ScenarioStep } from '@atp/protocol';
import type { InputAction } from '../inject/actions.js';
import type { ActionGroup } from '../inject/pacing.js';

export type ExpectSpec = ExpectStep['expect'] & { timeoutMs: number };

export type PlanItem =
  | { kind: 'send'; step: number; group: ActionGroup; holdMs?: number; gapMs?: number }
  | { kind: 'wait'; step: number; ms: number }
  | { kind: 'expect'; step: number; expect: ExpectSpec; implicit?: boolean };

/** A step's own timing, copied onto its send items when set. */
export interface StepTiming {
  holdMs?: number | undefined;
  gapMs?: number | undefined;
}

/** What a step planner may do: append items, resolve defaults, plan nested steps. */
export interface PlanBuilder {
  /** Layout for text steps that name none. */
  readonly layout: string;
  /** Appends one action group (a send item) for top-level step `step`. */
  send(step: number, label: string, actions: InputAction[], timing?: StepTiming): void;
  push(item: PlanItem): void;
  /** A checkpoint's timeout: its own, else the suite's default, else DEFAULT_EXPECT_TIMEOUT_MS. */
  expectTimeout(own: number | undefined): number;
  /** Plans a nested step (a repeat's) under top-level step `step`. */
  add(s: ScenarioStep, step: number): void;
}
