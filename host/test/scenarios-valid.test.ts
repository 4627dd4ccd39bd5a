/**
 * Every suite shipped in scenarios/ loads (schema, key names, typable text,
 * on-screen positions), and the smoke and stress suites cover what they claim.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCombo, type ScenarioStep } from '@atp/protocol';
import { loadAnySuite, loadSuite } from '../src/scenario/index.js';

const DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

/** Every step, with repeats expanded once, and how many times it runs. */
function flatten(steps: readonly ScenarioStep[], times = 1): { step: ScenarioStep; times: number }[] {
  return steps.flatMap((step) => ('repeat' in step ? flatten(step.repeat.steps, times * step.repeat.times) : [{ step, times }]));
}

const combos = (steps: readonly ScenarioStep[]): string[] => flatten(steps).flatMap(({ step }) => ('press' in step ? step.press : []));

describe('scenarios/', () => {
  it('holds the smoke and stress suites', () => {
    expect(FILES).toEqual(expect.arrayContaining(['smoke.yaml', 'stress.yaml']));
  });

  it.each(FILES)('%s loads and passes the input checks', async (file) => {
    const { scenario, source } = await loadAnySuite(join(DIR, file));
    expect(source).toBe(join(DIR, file));
    expect(scenario.steps.length).toBeGreaterThan(0);
  });

  it('smoke types every printable ASCII character on us', async () => {
    const { scenario } = await loadSuite(join(DIR, 'smoke.yaml'));
    expect(scenario.target.layout).toBe('us');
    const typed = new Set(flatten(scenario.steps).flatMap(({ step }) => ('type' in step ? [...step.type] : [])));
    const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
    expect(printable.filter((ch) => !typed.has(ch))).toEqual([]);
  });

  it('smoke presses F1–F12, arrows and page keys, and no harmful combo', async () => {
    const { scenario } = await loadSuite(join(DIR, 'smoke.yaml'));
    const keys = new Set(combos(scenario.steps).flatMap((c) => parseCombo(c)));
    for (let n = 1; n <= 12; n++) expect(keys).toContain(`KEY_F${n}`);
    for (const k of ['KEY_UP', 'KEY_DOWN', 'KEY_LEFT', 'KEY_RIGHT', 'KEY_HOME', 'KEY_END', 'KEY_PAGEUP', 'KEY_PAGEDOWN']) expect(keys).toContain(k);
    const harmful = combos(scenario.steps).filter((c) => {
      const ids = parseCombo(c);
      const has = (k: string): boolean => ids.some((id) => id.includes(k));
      return (has('CTRL') && has('ALT')) || (has('ALT') && (has('KEY_F4') || has('TAB') || has('SHIFT'))) || has('META') || (has('CTRL') && has('SHIFT'));
    });
    expect(harmful).toEqual([]);
  });

  it('smoke visits the four corners and the centre, with clicks, a drag and the wheel', async () => {
    const { scenario } = await loadSuite(join(DIR, 'smoke.yaml'));
    const steps = flatten(scenario.steps).map(({ step }) => step);
    const moves = steps.flatMap((s) => ('move' in s ? [`${s.move.x},${s.move.y}`] : []));
    expect(moves).toEqual(expect.arrayContaining(['0,0', '1023,0', '1023,767', '0,767', '512,384']));
    expect(new Set(steps.flatMap((s) => ('click' in s ? [s.click] : [])))).toEqual(new Set(['left', 'right', 'middle']));
    expect(steps.some((s) => 'drag' in s)).toBe(true);
    const wheel = steps.flatMap((s) => ('wheel' in s ? [Math.sign(s.wheel.dy)] : []));
    expect(wheel).toEqual(expect.arrayContaining([1, -1]));
    expect(steps.filter((s) => 'expect' in s && s.expect.pointer?.tolerancePx !== undefined).length).toBeGreaterThanOrEqual(5);
    expect(scenario.target.vm).toBe('lab');
    expect(scenario.observer.kind).toBe('agent');
  });

  it('stress sends thousands of keystrokes and checks them at the end', async () => {
    const { scenario } = await loadSuite(join(DIR, 'stress.yaml'));
    const keystrokes = flatten(scenario.steps).reduce((n, { step, times }) => n + times * ('type' in step ? [...step.type].length : 'press' in step ? step.press.length : 0), 0);
    expect(keystrokes).toBeGreaterThanOrEqual(4000);
    const last = scenario.steps[scenario.steps.length - 1];
    expect(last !== undefined && 'expect' in last && last.expect.keys === 'exact').toBe(true);
  });
});
