/**
 * Checks a schema-valid suite against what the host can actually send, so a typo
 * fails at load time with a file:line:column instead of halfway through a run:
 * key names and combos resolve in the key table, text is typable on the step's
 * layout (or the target's), layouts exist, and absolute pointer positions lie on
 * the target screen. Pure; returns issues with paths like the schema's.
 */
import { isAtpError, parseCombo, parseKeyName, formatPath, type IssuePath, type ScenarioStep, type ScenarioV1, type ValidationIssue } from '@atp/protocol';
import { getLayout } from '../inject/layouts/layout.js';
import { textToKeystrokes } from '../inject/text.js';

type Issues = ValidationIssue[];

function issue(out: Issues, path: IssuePath, message: string, code: string): void {
  out.push({ path: [...path], pathText: formatPath(path), message, code });
}

/** Runs `check`; an AtpError it throws becomes an issue at `path` (anything else is a bug and propagates). */
function attempt(out: Issues, path: IssuePath, check: () => void): boolean {
  try {
    check();
    return true;
  } catch (error) {
    if (!isAtpError(error)) throw error;
    issue(out, path, error.message, error.code);
    return false;
  }
}

function checkPoint(out: Issues, path: IssuePath, p: { x: number; y: number }, screen: { width: number; height: number }): void {
  if (p.x < 0 || p.x >= screen.width) issue(out, [...path, 'x'], `x ${p.x} is off the ${screen.width}×${screen.height} screen (0..${screen.width - 1})`, 'off_screen');
  if (p.y < 0 || p.y >= screen.height) issue(out, [...path, 'y'], `y ${p.y} is off the ${screen.width}×${screen.height} screen (0..${screen.height - 1})`, 'off_screen');
}

function checkStep(out: Issues, step: ScenarioStep, path: IssuePath, scenario: ScenarioV1): void {
  const screen = scenario.target.screen;
  if ('press' in step) {
    const single = step.press.length === 1;
    step.press.forEach((combo, j) => attempt(out, single ? [...path, 'press'] : [...path, 'press', j], () => parseCombo(combo)));
  } else if ('keyDown' in step) {
    attempt(out, [...path, 'keyDown'], () => parseKeyName(step.keyDown));
  } else if ('keyUp' in step) {
    attempt(out, [...path, 'keyUp'], () => parseKeyName(step.keyUp));
  } else if ('type' in step) {
    const layoutPath = step.layout === undefined ? ['target', 'layout'] : [...path, 'layout'];
    const layoutName = step.layout ?? scenario.target.layout;
    // An unknown target layout is reported once, by checkSuiteInputs.
    if (step.layout === undefined && !knownLayout(layoutName)) return;
    if (!attempt(out, layoutPath, () => getLayout(layoutName))) return;
    attempt(out, [...path, 'type'], () => textToKeystrokes(step.type, layoutName));
  } else if ('move' in step) {
    checkPoint(out, [...path, 'move'], step.move, screen);
  } else if ('click' in step) {
    if (step.at !== undefined) checkPoint(out, [...path, 'at'], step.at, screen);
  } else if ('drag' in step) {
    checkPoint(out, [...path, 'drag', 'from'], step.drag.from, screen);
    checkPoint(out, [...path, 'drag', 'to'], step.drag.to, screen);
  } else if ('expect' in step) {
    const p = step.expect.pointer;
    if (p !== undefined) checkPoint(out, [...path, 'expect', 'pointer'], p, screen);
  } else if ('repeat' in step) {
    step.repeat.steps.forEach((inner, j) => checkStep(out, inner, [...path, 'repeat', 'steps', j], scenario));
  }
}

function knownLayout(name: string): boolean {
  try {
    getLayout(name);
    return true;
  } catch (error) {
    if (isAtpError(error)) return false;
    throw error;
  }
}

/** Every problem the schema cannot see; empty when the suite can be sent as written. */
export function checkSuiteInputs(scenario: ScenarioV1): ValidationIssue[] {
  const out: Issues = [];
  attempt(out, ['target', 'layout'], () => getLayout(scenario.target.layout));
  scenario.steps.forEach((step, i) => checkStep(out, step, ['steps', i], scenario));
  return out;
}
