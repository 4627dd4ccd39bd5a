/**
 * Short human labels for steps ("press ctrl+c", "type \"hello\"", "repeat 100× (1 step)"),
 * used to name JUnit testcases and progress lines. A step's `name` comes first
 * when it has one. Pure.
 */
import type { ScenarioStep, ScenarioV1 } from '@atp/protocol';
import { dispatchStep, type StepTable } from './step-table.js';

const MAX_TEXT = 32;

function quote(text: string): string {
  const cut = [...text];
  return JSON.stringify(cut.length > MAX_TEXT ? `${cut.slice(0, MAX_TEXT).join('')}…` : text);
}

const at = (p: { x: number; y: number }): string => `${p.x},${p.y}`;
const signed = (n: number): string => (n >= 0 ? `+${n}` : String(n));

/** One summary per step action; a new step kind must add its entry (StepTable has a member per action). */
const SUMMARIES: StepTable<string> = {
  type: (s) => `type ${quote(s.type)}`,
  press: (s) => `press ${s.press.join(', ')}`,
  keyDown: (s) => `keyDown ${s.keyDown}`,
  keyUp: (s) => `keyUp ${s.keyUp}`,
  move: (s) => `move ${at(s.move)}`,
  moveBy: (s) => `moveBy ${signed(s.moveBy.dx)},${signed(s.moveBy.dy)}`,
  click: (s) => `click ${s.click}${s.at === undefined ? '' : ` at ${at(s.at)}`}${s.count > 1 ? ` ×${s.count}` : ''}`,
  drag: (s) => `drag ${s.drag.button} ${at(s.drag.from)} → ${at(s.drag.to)}`,
  wheel: (s) => `wheel dy ${s.wheel.dy}${s.wheel.dx === 0 ? '' : ` dx ${s.wheel.dx}`}`,
  wait: (s) => `wait ${s.wait} ms`,
  expect: (s) => {
    const e = s.expect;
    const parts = [
      e.keys === undefined ? undefined : `keys ${e.keys}`,
      e.text === undefined ? undefined : `text ${quote(e.text)}`,
      e.pointer === undefined ? undefined : `pointer ${at(e.pointer)}${e.pointer.tolerancePx === undefined ? '' : ` ±${e.pointer.tolerancePx} px`}`,
      e.latencyP95Ms === undefined ? undefined : `p95 ≤ ${e.latencyP95Ms} ms`,
    ].filter((p): p is string => p !== undefined);
    return `expect ${parts.length === 0 ? 'all delivered' : parts.join(', ')}`;
  },
  repeat: (s) => {
    const n = s.repeat.steps.length;
    return `repeat ${s.repeat.times}× (${n} ${n === 1 ? 'step' : 'steps'})`;
  },
};

/** "press ctrl+c", or "copy (press ctrl+c)" for a named step. */
export function describeStep(step: ScenarioStep): string {
  const text = dispatchStep(SUMMARIES, step);
  return step.name === undefined ? text : `${step.name} (${text})`;
}

/** One label per top-level step, in order. */
export function stepLabels(scenario: ScenarioV1): string[] {
  return scenario.steps.map(describeStep);
}

