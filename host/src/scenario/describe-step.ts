/**
 * Short human labels for steps ("press ctrl+c", "type \"hello\"", "repeat 100× (1 step)"),
 * used to name JUnit testcases and progress lines. A step's `name` comes first
 * when it has one. Pure.
 */
import type { ScenarioStep, ScenarioV1 } from '@atp/protocol';

const MAX_TEXT = 32;

function quote(text: string): string {
  const cut = [...text];
  return JSON.stringify(cut.length > MAX_TEXT ? `${cut.slice(0, MAX_TEXT).join('')}…` : text);
}

const at = (p: { x: number; y: number }): string => `${p.x},${p.y}`;
const signed = (n: number): string => (n >= 0 ? `+${n}` : String(n));

function summary(step: ScenarioStep): string {
  if ('type' in step) return `type ${quote(step.type)}`;
  if ('press' in step) return `press ${step.press.join(', ')}`;
  if ('keyDown' in step) return `keyDown ${step.keyDown}`;
  if ('keyUp' in step) return `keyUp ${step.keyUp}`;
  if ('move' in step) return `move ${at(step.move)}`;
  if ('moveBy' in step) return `moveBy ${signed(step.moveBy.dx)},${signed(step.moveBy.dy)}`;
  if ('click' in step) return `click ${step.click}${step.at === undefined ? '' : ` at ${at(step.at)}`}${step.count > 1 ? ` ×${step.count}` : ''}`;
  if ('drag' in step) return `drag ${step.drag.button} ${at(step.drag.from)} → ${at(step.drag.to)}`;
  if ('wheel' in step) return `wheel dy ${step.wheel.dy}${step.wheel.dx === 0 ? '' : ` dx ${step.wheel.dx}`}`;
  if ('wait' in step) return `wait ${step.wait} ms`;
  if ('expect' in step) {
    const e = step.expect;
    const parts = [
      e.keys === undefined ? undefined : `keys ${e.keys}`,
      e.text === undefined ? undefined : `text ${quote(e.text)}`,
      e.pointer === undefined ? undefined : `pointer ${at(e.pointer)}${e.pointer.tolerancePx === undefined ? '' : ` ±${e.pointer.tolerancePx} px`}`,
      e.latencyP95Ms === undefined ? undefined : `p95 ≤ ${e.latencyP95Ms} ms`,
    ].filter((p): p is string => p !== undefined);
    return `expect ${parts.length === 0 ? 'all delivered' : parts.join(', ')}`;
  }
  const n = step.repeat.steps.length;
  return `repeat ${step.repeat.times}× (${n} ${n === 1 ? 'step' : 'steps'})`;
}

/** "press ctrl+c", or "copy (press ctrl+c)" for a named step. */
export function describeStep(step: ScenarioStep): string {
  const text = summary(step);
  return step.name === undefined ? text : `${step.name} (${text})`;
}

/** One label per top-level step, in order. */
export function stepLabels(scenario: ScenarioV1): string[] {
  return scenario.steps.map(describeStep);
}

