/**
 * Suite loading: good suites load with defaults filled; YAML syntax errors and
 * schema errors name file:line:column exactly (positions checked by hand against
 * the inline YAML below); input checks (key names, text, screen) are located the
 * same way; read failures are typed. Real files in unique temp dirs.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError, type AtpError, type AtpErrorCode } from '@atp/protocol';
import { describeStep, loadSuite, parseSuiteText, stepLabels, type SuiteIssue } from '../src/scenario/index.js';

const HEAD = ['version: 1', 'name: t', 'target: { vm: lab }', 'observer: agent', 'steps:'];
/** A suite whose steps (lines 6 onwards) are `steps`. */
const suite = (...steps: string[]): string => [...HEAD, ...steps].join('\n') + '\n';

function failure(text: string, code: AtpErrorCode): AtpError {
  try {
    parseSuiteText(text, 's.yaml');
  } catch (error) {
    if (isAtpError(error, code)) return error;
    throw error;
  }
  throw new Error('expected the suite to be rejected');
}

const issuesOf = (e: AtpError): SuiteIssue[] => e.details['issues'] as SuiteIssue[];
const where = (e: AtpError): string[] => issuesOf(e).map((i) => `${i.line}:${i.column} ${i.pathText}`);

describe('parseSuiteText: good suites', () => {
  it('loads a suite, fills defaults and keeps the file name as source', () => {
    const { scenario, source } = parseSuiteText(suite('  - type: hello', '  - press: [ctrl+a, shift+b]', '  - click: left'), 'suites/a.yaml');
    expect(source).toBe('suites/a.yaml');
    expect(scenario.target).toEqual({ vm: 'lab', injector: 'qmp', layout: 'us', screen: { width: 1024, height: 768 } });
    expect(scenario.observer).toEqual({ kind: 'agent' });
    expect(scenario.steps).toEqual([{ type: 'hello' }, { press: ['ctrl+a', 'shift+b'] }, { click: 'left', count: 1 }]);
  });

  it('labels steps for reports', () => {
    const { scenario } = parseSuiteText(
      suite('  - type: hello', '  - name: copy', '    press: ctrl+c', '  - repeat: { times: 3, steps: [ { wait: 5 } ] }', '  - expect: { pointer: { x: 1, y: 2, tolerancePx: 2 } }'),
      's.yaml',
    );
    expect(stepLabels(scenario)).toEqual(['type "hello"', 'copy (press ctrl+c)', 'repeat 3× (1 step)', 'expect pointer 1,2 ±2 px']);
    expect(describeStep({ drag: { from: { x: 1, y: 2 }, to: { x: 3, y: 4 }, button: 'left' } })).toBe('drag left 1,2 → 3,4');
  });
});

describe('parseSuiteText: YAML errors', () => {
  it('a syntax error names file:line:column', () => {
    const e = failure(suite('  - wait: 1', '  - press: [a, b]]'), 'ATP_SCENARIO_YAML');
    expect(e.message).toMatch(/^s\.yaml:7:18: YAML syntax error: Unexpected flow-seq-end/);
    expect(e.details).toMatchObject({ source: 's.yaml', line: 7, column: 18 });
  });

  it('a bad indentation is located', () => {
    const e = failure(suite('  - wait: 1', '   - wait: 2'), 'ATP_SCENARIO_YAML');
    expect(e.details).toMatchObject({ line: 7, column: 4 });
  });

  it('a duplicate key is a YAML error at the second key', () => {
    const e = failure(suite('  - type: a', '    type: b'), 'ATP_SCENARIO_YAML');
    expect(e.details).toMatchObject({ line: 7, column: 5 });
  });

  it('a second document is refused, pointing at its start', () => {
    const e = failure(`${suite('  - wait: 1')}---\n${suite('  - wait: 2')}`, 'ATP_SCENARIO_YAML');
    expect(e.message).toContain('s.yaml:7:1: YAML syntax error: a suite file holds one YAML document');
  });

  it('an alias bomb fails instead of expanding', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    failure(lines.join('\n'), 'ATP_SCENARIO_YAML');
  });
});

describe('parseSuiteText: schema errors located', () => {
  it('unknown step option → the key', () => {
    const e = failure(suite('  - type: hello', '  - wait: 10', '    holdMs: 5'), 'ATP_SCENARIO_INVALID');
    expect(where(e)).toEqual(['8:5 steps[1].holdMs']);
    expect(e.message).toContain('s.yaml:8:5: steps[1].holdMs: unknown option for a wait step');
  });

  it('two action keys → the step', () => {
    const e = failure(suite('  - wait: 1', '  - press: a', '    type: b'), 'ATP_SCENARIO_INVALID');
    expect(where(e)).toEqual(['7:5 steps[1]']);
    expect(issuesOf(e)[0]?.message).toContain('found 2: type, press');
  });

  it('wrong type → the value; empty value → the key', () => {
    expect(where(failure(suite('  - click: 5'), 'ATP_SCENARIO_INVALID'))).toEqual(['6:12 steps[0].click']);
    expect(where(failure(suite('  - wait: 1', '  - click:'), 'ATP_SCENARIO_INVALID'))).toEqual(['7:5 steps[1].click']);
  });

  it('missing steps → the root mapping; missing key in a flow map → that map', () => {
    const e = failure(HEAD.slice(0, 4).join('\n'), 'ATP_SCENARIO_INVALID');
    expect(where(e)).toEqual(['1:1 steps']);
    expect(e.message).toContain('s.yaml:1:1: steps: missing (expected array)');
    const t = failure(suite('  - wait: 1').replace('target: { vm: lab }', 'target: { host: h }'), 'ATP_SCENARIO_INVALID');
    expect(where(t)).toEqual(['3:9 target.vm']);
  });

  it('unknown top-level key and unknown nested field → the key', () => {
    expect(where(failure(suite('  - wait: 1') + 'nmae: x\n', 'ATP_SCENARIO_INVALID'))).toEqual(['7:1 nmae']);
    expect(where(failure(suite('  - move: { x: 1, y: 2, z: 3 }'), 'ATP_SCENARIO_INVALID'))).toEqual(['6:25 steps[0].move.z']);
  });

  it('an error inside a repeat → the nested node', () => {
    const text = suite('  - repeat:', '      times: 2', '      steps:', '        - wait: 1', '        - move: { x: 1, y: oops }');
    const e = failure(text, 'ATP_SCENARIO_INVALID');
    expect(where(e)).toEqual(['10:28 steps[0].repeat.steps[1].move.y']);
    expect(issuesOf(e)[0]).toMatchObject({ path: ['steps', 0, 'repeat', 'steps', 1, 'move', 'y'], line: 10, column: 28, message: 'expected number, got string' });
  });

  it('several issues are all listed, in text order', () => {
    const e = failure(suite('  - click: up', '  - wait: -1', '  - bogus: 1'), 'ATP_SCENARIO_INVALID');
    expect(where(e)).toEqual(['6:12 steps[0].click', '7:11 steps[1].wait', '8:5 steps[2]']);
    expect(e.message.split('\n')[0]).toBe('s.yaml: invalid scenario (3 problems):');
  });

  it('a root that is not a mapping → 1:1', () => {
    expect(where(failure('- a\n- b\n', 'ATP_SCENARIO_INVALID'))).toEqual(['1:1 (root)']);
  });
});

describe('parseSuiteText: input checks', () => {
  it('unknown key names, untypable text and off-screen points are located', () => {
    const text = suite('  - press: ctrl+alt+delte', '  - press: [shift+a, foo]', '  - type: "aé"', '  - move: { x: 1024, y: 0 }', '  - keyDown: hyperspace');
    const e = failure(text, 'ATP_SCENARIO_INVALID');
    expect(where(e)).toEqual(['6:12 steps[0].press', '7:22 steps[1].press[1]', '8:11 steps[2].type', '9:16 steps[3].move.x', '10:14 steps[4].keyDown']);
    expect(issuesOf(e).map((i) => i.code)).toEqual(['ATP_KEY_UNKNOWN', 'ATP_KEY_UNKNOWN', 'ATP_INJECT_UNMAPPED_CHAR', 'off_screen', 'ATP_KEY_UNKNOWN']);
    expect(e.message).toContain("did you mean 'delete'");
  });

  it('an unknown layout is reported once, at the target', () => {
    const text = suite('  - type: a', '  - type: b').replace('{ vm: lab }', '{ vm: lab, layout: xx }');
    expect(where(failure(text, 'ATP_SCENARIO_INVALID'))).toEqual(['3:28 target.layout']);
  });

  it('checkInputs: false skips them', () => {
    expect(parseSuiteText(suite('  - press: nosuchkey'), 's.yaml', { checkInputs: false }).scenario.steps).toHaveLength(1);
  });
});

describe('loadSuite: files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'atp-scenario-load-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file; errors name it', async () => {
    const good = join(dir, 'good.yaml');
    await writeFile(good, suite('  - type: hi'));
    expect((await loadSuite(good)).source).toBe(good);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, suite('  - click: 5'));
    await expect(loadSuite(bad)).rejects.toMatchObject({ code: 'ATP_SCENARIO_INVALID', message: expect.stringContaining(`${bad}:6:12: steps[0].click`) as unknown });
  });

  it('a missing file, a directory and invalid UTF-8 are ATP_SCENARIO_READ', async () => {
    const missing = join(dir, 'missing.yaml');
    await expect(loadSuite(missing)).rejects.toMatchObject({ code: 'ATP_SCENARIO_READ', message: `${missing}: cannot read suite file: no such file` });
    const sub = join(dir, 'sub.yaml');
    await mkdir(sub);
    await expect(loadSuite(sub)).rejects.toMatchObject({ code: 'ATP_SCENARIO_READ' });
    const latin1 = join(dir, 'latin1.yaml');
    await writeFile(latin1, Buffer.from('name: caf\xe9\n', 'latin1'));
    await expect(loadSuite(latin1)).rejects.toMatchObject({ code: 'ATP_SCENARIO_READ', message: `${latin1}: suite file is not valid UTF-8` });
  });
});
