/**
 * The example suites in scenarios/: every file (v1 and v2) loads through
 * loadAnySuite, and each version 2 suite has the platform steps its header
 * promises, in that order (pool-typing creates, starts, waits, types, shuts
 * down and deletes, the last two as `always: true` cleanup; …). Also v2
 * mistakes written as text (an unknown platform action, createPool without a
 * name, an unknown wait condition, a variable used before its `as:`), each
 * refused as ATP_SCENARIO_INVALID at its exact file:line:column.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCombo, runStepAction, type ScenarioStep, type ScenarioV2Step } from '@atp/protocol';
import { loadAnySuite, type LoadedSuiteV2 } from '../src/scenario/index.js';

const DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const V2_FILES = ['app-start.yaml', 'pool-keyboard.yaml', 'pool-mouse.yaml', 'pool-reboot.yaml', 'pool-typing.yaml', 'user-login.yaml'];

async function v2(file: string): Promise<LoadedSuiteV2> {
  const loaded = await loadAnySuite(path.join(DIR, file));
  if (loaded.version !== 2) throw new Error(`${file}: expected a version 2 suite`);
  return loaded;
}

/** A step's kind: `vdi:ACTION`, `waitFor:CONDITION`, `exec`, `select`, or `input` for an input step. */
function kind(step: ScenarioV2Step): string {
  if ('vdi' in step) return `vdi:${Object.keys(step.vdi).join()}`;
  if ('waitFor' in step) return `waitFor:${Object.keys(step.waitFor).filter((k) => k !== 'timeoutMs' && k !== 'pollMs').join()}`;
  return runStepAction(step) ?? 'input';
}

/** The suite's step kinds in order, consecutive input steps as one `input`. */
function shape(suite: LoadedSuiteV2): string[] {
  return suite.scenario.steps.map(kind).filter((k, i, all) => k !== 'input' || all[i - 1] !== 'input');
}

const inputSteps = (suite: LoadedSuiteV2): ScenarioStep[] => suite.blocks.flatMap((b) => b.steps);
const typed = (steps: readonly ScenarioStep[]): string => steps.map((s) => ('type' in s ? s.type : '')).join('');
const pressedKeys = (steps: readonly ScenarioStep[]): Set<string> => new Set(steps.flatMap((s) => ('press' in s ? s.press.flatMap((c) => parseCombo(c)) : [])));

describe('scenarios/', () => {
  it.each(FILES)('%s loads through loadAnySuite', async (file) => {
    const loaded = await loadAnySuite(path.join(DIR, file));
    expect(loaded.source).toBe(path.join(DIR, file));
    expect(loaded.scenario.steps.length).toBeGreaterThan(0);
  });

  it('holds the v2 examples, each on the simulator (platform sim), observed by the agent', async () => {
    expect(FILES).toEqual(expect.arrayContaining(V2_FILES));
    for (const file of V2_FILES) {
      const { scenario } = await v2(file);
      expect(scenario.target.platform, file).toBe('sim');
      expect(scenario.observer.kind, file).toBe('agent');
      expect(scenario.target.layout, file).toBe('us');
    }
  });

  it('pool-typing creates, starts, waits for running VMs and agents, types and checks, then shuts down and deletes as cleanup', async () => {
    const suite = await v2('pool-typing.yaml');
    expect(shape(suite)).toEqual(['vdi:createPool', 'vdi:start', 'waitFor:poolStatus', 'waitFor:agentConnected', 'input', 'vdi:shutdown', 'vdi:deletePool']);
    const steps = suite.scenario.steps;
    const create = steps[0];
    expect(create !== undefined && 'vdi' in create && 'createPool' in create.vdi ? { as: create.as, amount: create.vdi.createPool.amount } : undefined).toEqual({ as: 'desks', amount: 3 });
    expect(suite.scenario.target.pool).toBe('${desks.name}');
    const cleanup = steps.slice(-2);
    expect(cleanup.map((s) => 'vdi' in s && s.always === true)).toEqual([true, true]);
    expect(steps.slice(0, -2).some((s) => 'always' in s && s.always === true)).toBe(false);
    const text = typed(inputSteps(suite));
    for (const re of [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9 ]/]) expect(text).toMatch(re);
    expect(inputSteps(suite).at(-1)).toEqual({ expect: { keys: 'exact' } });
  });

  it('user-login binds a user, fetches that user\'s connection info, selects the user\'s VM and types on it', async () => {
    const suite = await v2('user-login.yaml');
    expect(shape(suite)).toEqual(['vdi:createPool', 'vdi:start', 'waitFor:poolStatus', 'vdi:bindUser', 'vdi:connectionInfo', 'select', 'waitFor:agentConnected', 'input', 'vdi:shutdown', 'vdi:deletePool']);
    const steps = suite.scenario.steps;
    const bind = steps.find((s) => 'vdi' in s && 'bindUser' in s.vdi);
    const info = steps.find((s) => 'vdi' in s && 'connectionInfo' in s.vdi);
    const user = bind !== undefined && 'vdi' in bind && 'bindUser' in bind.vdi ? bind.vdi.bindUser.user : undefined;
    expect(user).toBe('user01');
    expect(info !== undefined && 'vdi' in info ? { as: info.as, vdi: info.vdi } : undefined).toEqual({ as: 'conn', vdi: { connectionInfo: { user } } });
    expect(steps.find((s) => 'select' in s)).toMatchObject({ select: { vms: '${conn.vms}' } });
    expect(typed(inputSteps(suite)).length).toBeGreaterThan(0);
    expect(steps.slice(-2).every((s) => 'vdi' in s && s.always === true)).toBe(true);
  });

  it('app-start execs a program, checks it runs, types, and stops it', async () => {
    const suite = await v2('app-start.yaml');
    expect(shape(suite)).toEqual(['waitFor:poolStatus', 'waitFor:agentConnected', 'exec', 'exec', 'input', 'exec']);
    const execs = suite.scenario.steps.flatMap((s) => ('exec' in s ? [s.exec] : []));
    expect(execs.map((e) => e.command?.slice(0, 2))).toEqual([['/bin/sh', '-c'], ['/bin/sh', '-c'], ['/bin/sh', '-c']]);
    expect(execs.slice(0, 2).map((e) => [e.expectExit, e.expectOutput])).toEqual([[0, 'started'], [0, 'running']]);
    expect(typed(inputSteps(suite)).length).toBeGreaterThan(0);
  });

  it('pool-keyboard presses combos, F1–F12, navigation and editing keys, and holds modifiers with keyDown/keyUp', async () => {
    const suite = await v2('pool-keyboard.yaml');
    expect(shape(suite)).toEqual(['waitFor:agentConnected', 'input']);
    const steps = inputSteps(suite);
    const keys = pressedKeys(steps);
    for (let n = 1; n <= 12; n++) expect(keys).toContain(`KEY_F${n}`);
    for (const k of ['KEY_UP', 'KEY_DOWN', 'KEY_LEFT', 'KEY_RIGHT', 'KEY_HOME', 'KEY_END', 'KEY_PAGEUP', 'KEY_PAGEDOWN', 'KEY_INSERT', 'KEY_DELETE', 'KEY_BACKSPACE', 'KEY_TAB', 'KEY_ENTER', 'KEY_ESC']) expect(keys).toContain(k);
    const combos = steps.flatMap((s) => ('press' in s ? s.press.filter((c) => c.includes('+')) : []));
    expect(new Set(combos.map((c) => parseCombo(c)[0]))).toEqual(new Set(['KEY_LEFTSHIFT', 'KEY_RIGHTSHIFT', 'KEY_LEFTCTRL', 'KEY_RIGHTCTRL', 'KEY_LEFTALT', 'KEY_RIGHTALT']));
    // Every keyDown is released by a keyUp of the same key, with a press between them.
    const held: string[] = [];
    let pressedWhileHeld = 0;
    for (const s of steps) {
      if ('keyDown' in s) held.push(s.keyDown);
      else if ('keyUp' in s) {
        expect(held.pop()).toBe(s.keyUp);
        expect(pressedWhileHeld).toBeGreaterThan(0);
        pressedWhileHeld = 0;
      } else if ('press' in s && held.length > 0) pressedWhileHeld++;
    }
    expect(held).toEqual([]);
    expect(steps.filter((s) => 'keyDown' in s).length).toBeGreaterThanOrEqual(3);
    expect(steps.at(-1)).toEqual({ expect: { keys: 'exact' } });
  });

  it('pool-mouse visits the corners and the centre with position checks, clicks every button, drags and wheels both ways', async () => {
    const suite = await v2('pool-mouse.yaml');
    expect(shape(suite)).toEqual(['waitFor:agentConnected', 'input']);
    const steps = inputSteps(suite);
    const { width, height } = suite.scenario.target.screen;
    const corners = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1], [width / 2, height / 2]];
    for (const [x, y] of corners) {
      const i = steps.findIndex((s) => 'move' in s && s.move.x === x && s.move.y === y);
      expect(i, `move to ${x},${y}`).toBeGreaterThanOrEqual(0);
      expect(steps[i + 1], `pointer check after the move to ${x},${y}`).toEqual({ expect: { pointer: { x, y, tolerancePx: 2 } } });
    }
    expect(new Set(steps.flatMap((s) => ('click' in s ? [s.click] : [])))).toEqual(new Set(['left', 'right', 'middle']));
    expect(steps.some((s) => 'click' in s && s.count === 2)).toBe(true);
    const drag = steps.findIndex((s) => 'drag' in s);
    const dragStep = steps[drag];
    expect(dragStep !== undefined && 'drag' in dragStep ? steps[drag + 1] : undefined).toEqual({ expect: { pointer: { ...(dragStep !== undefined && 'drag' in dragStep ? dragStep.drag.to : {}), tolerancePx: 2 } } });
    expect(new Set(steps.flatMap((s) => ('wheel' in s ? [Math.sign(s.wheel.dy)] : [])))).toEqual(new Set([1, -1]));
  });

  it('pool-reboot types and checks, reboots the pool, waits for running VMs and agents, and types and checks again', async () => {
    const suite = await v2('pool-reboot.yaml');
    expect(shape(suite)).toEqual(['waitFor:agentConnected', 'input', 'vdi:reboot', 'waitFor:poolStatus', 'waitFor:agentConnected', 'input']);
    expect(suite.blocks).toHaveLength(2);
    for (const block of suite.blocks) {
      expect(typed(block.steps).length).toBeGreaterThan(0);
      expect(block.steps.at(-1)).toEqual({ expect: { keys: 'exact' } });
    }
    const wait = suite.scenario.steps.find((s) => 'waitFor' in s && 'poolStatus' in s.waitFor);
    expect(wait).toMatchObject({ waitFor: { poolStatus: { pool: suite.scenario.target.pool, status: 'running' } } });
  });
});

describe('v2 suite mistakes: ATP_SCENARIO_INVALID at file:line:column', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-scenario-examples-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const HEAD = ['version: 2', 'name: bad', 'target: { platform: sim, pool: desks }', 'observer: agent', 'steps:'];

  it.each([
    // Line 7 is the second step; column 10 is its vdi value.
    ['an unknown platform action', ['  - vdi: { start: { on: desks } }', '  - vdi: { restartAll: { on: desks } }', '  - type: abc'], 7, 10, 'steps[1].vdi: a platform action needs exactly one of createPool, enablePool, disablePool, deletePool, start, shutdown, reboot, delete, bindUser, connectionInfo; found none (keys: restartAll)'],
    // The createPool mapping that lacks name starts at line 8, column 9.
    ['createPool without a pool name', ['  - vdi:', '      createPool:', '        model: desk-template', '        amount: 2', '  - type: abc'], 8, 9, 'steps[0].vdi.createPool.name: missing (expected string)'],
    ['an unknown wait condition', ['  - type: abc', '  - waitFor: { vmsUp: { pool: desks }, timeoutMs: 1000 }'], 7, 14, 'steps[1].waitFor: a wait condition needs exactly one of poolStatus, vmStatus, agentConnected; found none (keys: vmsUp, timeoutMs)'],
    // Column 20 is the quoted value of vms.
    ['a variable used before its as:', ['  - select: { vms: "${conn.vms}" }', '  - vdi: { connectionInfo: { user: user01 } }', '    as: conn', '  - type: abc'], 6, 20, 'steps[0].select.vms: ${conn.vms} is used before a step defines it with as: conn'],
  ])('%s', async (_what, steps, line, column, problem) => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, `${[...HEAD, ...steps].join('\n')}\n`);
    const error = await loadAnySuite(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ATP_SCENARIO_INVALID', details: { source: file, line, column } });
    expect((error as Error).message).toBe(`${file}: invalid scenario (1 problem):\n  ${file}:${line}:${column}: ${problem}`);
  });
});
