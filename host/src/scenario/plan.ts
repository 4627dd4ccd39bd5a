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
 * Text goes through the step's layout (else the target's, else `layout`), key
 * names through the key table, combos press in order and release in reverse.
 * Repeats are expanded; the expansion is bounded by MAX_PLAN_ITEMS so a suite
 * with nested repeats cannot eat the host's memory. A run always ends with a
 * checkpoint: the plan appends one when the suite does not end with an expect.
 */
import { AtpError, parseKeyName, type ExpectStep, type KeyId, type ScenarioStep, type ScenarioV1 } from '@atp/protocol';
import type { InputAction } from '../inject/actions.js';
import type { ActionGroup } from '../inject/pacing.js';
import { comboToKeystroke, textToKeystrokes } from '../inject/text.js';

/** More items than this is not a suite anyone can read the report of. */
export const MAX_PLAN_ITEMS = 1_000_000;
/** A checkpoint's wait when neither the expect step nor the suite's defaults set timeoutMs. */
export const DEFAULT_EXPECT_TIMEOUT_MS = 10_000;

export type ExpectSpec = ExpectStep['expect'] & { timeoutMs: number };

export type PlanItem =
  | { kind: 'send'; step: number; group: ActionGroup; holdMs?: number; gapMs?: number }
  | { kind: 'wait'; step: number; ms: number }
  | { kind: 'expect'; step: number; expect: ExpectSpec; implicit?: boolean };

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

const key = (k: KeyId, down: boolean): InputAction => ({ kind: 'key', key: k, down });

class Planner {
  readonly items: PlanItem[] = [];
  constructor(
    private readonly scenario: ScenarioV1,
    private readonly layout: string,
  ) {}

  private push(item: PlanItem): void {
    if (this.items.length >= MAX_PLAN_ITEMS) {
      throw new AtpError('ATP_SCENARIO_INVALID', `suite ${this.scenario.name} expands to more than ${MAX_PLAN_ITEMS} actions (check the repeat counts)`, {
        details: { limit: MAX_PLAN_ITEMS },
      });
    }
    this.items.push(item);
  }

  private send(step: number, label: string, actions: InputAction[], timing: { holdMs?: number | undefined; gapMs?: number | undefined } = {}): void {
    const item: PlanItem = { kind: 'send', step, group: { label, actions } };
    if (timing.holdMs !== undefined) item.holdMs = timing.holdMs;
    if (timing.gapMs !== undefined) item.gapMs = timing.gapMs;
    this.push(item);
  }

  add(s: ScenarioStep, step: number): void {
    if ('type' in s) {
      for (const k of textToKeystrokes(s.type, s.layout ?? this.layout)) this.send(step, k.label, k.actions, s);
    } else if ('press' in s) {
      for (const combo of s.press) {
        const k = comboToKeystroke(combo);
        this.send(step, k.label, k.actions, { holdMs: s.holdMs });
      }
    } else if ('keyDown' in s) {
      this.send(step, `${s.keyDown} down`, [key(parseKeyName(s.keyDown), true)]);
    } else if ('keyUp' in s) {
      this.send(step, `${s.keyUp} up`, [key(parseKeyName(s.keyUp), false)]);
    } else if ('move' in s) {
      this.send(step, `move ${s.move.x},${s.move.y}`, [{ kind: 'move', x: s.move.x, y: s.move.y }]);
    } else if ('moveBy' in s) {
      this.send(step, `moveBy ${s.moveBy.dx},${s.moveBy.dy}`, [{ kind: 'moveBy', dx: s.moveBy.dx, dy: s.moveBy.dy }]);
    } else if ('click' in s) {
      for (let i = 0; i < s.count; i++) {
        const move: InputAction[] = i === 0 && s.at !== undefined ? [{ kind: 'move', x: s.at.x, y: s.at.y }] : [];
        this.send(step, `click ${s.click}`, [...move, { kind: 'button', button: s.click, down: true }, { kind: 'button', button: s.click, down: false }]);
      }
    } else if ('drag' in s) {
      const { from, to, button } = s.drag;
      this.send(step, `drag from ${from.x},${from.y}`, [{ kind: 'move', x: from.x, y: from.y }, { kind: 'button', button, down: true }]);
      this.send(step, `drag to ${to.x},${to.y}`, [{ kind: 'move', x: to.x, y: to.y }]);
      this.send(step, `drag release`, [{ kind: 'button', button, down: false }]);
    } else if ('wheel' in s) {
      this.send(step, `wheel ${s.wheel.dy}`, [{ kind: 'wheel', dx: s.wheel.dx, dy: s.wheel.dy }]);
    } else if ('wait' in s) {
      this.push({ kind: 'wait', step, ms: s.wait });
    } else if ('expect' in s) {
      this.push({ kind: 'expect', step, expect: { ...s.expect, timeoutMs: this.expectTimeout(s.expect.timeoutMs) } });
    } else {
      for (let i = 0; i < s.repeat.times; i++) for (const inner of s.repeat.steps) this.add(inner, step);
    }
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

