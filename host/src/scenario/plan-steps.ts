/**
 * What each kind of input step adds to a plan: one planner per step action.
 * A new step kind gets its schema in @atp/protocol (scenario.ts) and one entry
 * here; the table's type (StepTable) refuses to compile without it. Pure.
 *
 * Text goes through the step's layout (else the builder's), key names through
 * the key table, combos press in order and release in reverse; a click with
 * `at` moves first (once, before the first of `count` clicks); a drag is three
 * groups (press at `from`, move to `to`, release) so each is paced.
 */
import { parseKeyName, type KeyId } from '@atp/protocol';
import type { InputAction } from '../inject/actions.js';
import { comboToKeystroke, textToKeystrokes } from '../inject/text.js';
import type { PlanBuilder } from './plan-items.js';
import type { StepTable } from './step-table.js';

const key = (k: KeyId, down: boolean): InputAction => ({ kind: 'key', key: k, down });

export const STEP_PLANNERS: StepTable<void, [step: number, plan: PlanBuilder]> = {
  type: (s, step, plan) => {
    for (const k of textToKeystrokes(s.type, s.layout ?? plan.layout)) plan.send(step, k.label, k.actions, s);
  },
  press: (s, step, plan) => {
    for (const combo of s.press) {
      const k = comboToKeystroke(combo);
      plan.send(step, k.label, k.actions, { holdMs: s.holdMs });
    }
  },
  keyDown: (s, step, plan) => plan.send(step, `${s.keyDown} down`, [key(parseKeyName(s.keyDown), true)]),
  keyUp: (s, step, plan) => plan.send(step, `${s.keyUp} up`, [key(parseKeyName(s.keyUp), false)]),
  move: (s, step, plan) => plan.send(step, `move ${s.move.x},${s.move.y}`, [{ kind: 'move', x: s.move.x, y: s.move.y }]),
  moveBy: (s, step, plan) => plan.send(step, `moveBy ${s.moveBy.dx},${s.moveBy.dy}`, [{ kind: 'moveBy', dx: s.moveBy.dx, dy: s.moveBy.dy }]),
  click: (s, step, plan) => {
    for (let i = 0; i < s.count; i++) {
      const move: InputAction[] = i === 0 && s.at !== undefined ? [{ kind: 'move', x: s.at.x, y: s.at.y }] : [];
      plan.send(step, `click ${s.click}`, [...move, { kind: 'button', button: s.click, down: true }, { kind: 'button', button: s.click, down: false }]);
    }
  },
  drag: (s, step, plan) => {
    const { from, to, button } = s.drag;
    plan.send(step, `drag from ${from.x},${from.y}`, [{ kind: 'move', x: from.x, y: from.y }, { kind: 'button', button, down: true }]);
    plan.send(step, `drag to ${to.x},${to.y}`, [{ kind: 'move', x: to.x, y: to.y }]);
    plan.send(step, `drag release`, [{ kind: 'button', button, down: false }]);
  },
  wheel: (s, step, plan) => plan.send(step, `wheel ${s.wheel.dy}`, [{ kind: 'wheel', dx: s.wheel.dx, dy: s.wheel.dy }]),
  wait: (s, step, plan) => plan.push({ kind: 'wait', step, ms: s.wait }),
  expect: (s, step, plan) => plan.push({ kind: 'expect', step, expect: { ...s.expect, timeoutMs: plan.expectTimeout(s.expect.timeoutMs) } }),
  repeat: (s, step, plan) => {
    for (let i = 0; i < s.repeat.times; i++) for (const inner of s.repeat.steps) plan.add(inner, step);
  },
};
