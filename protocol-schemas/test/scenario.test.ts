import { describe, expect, it } from 'vitest';
import type { AtpError } from '../src/errors.js';
import { STEP_ACTIONS, parseScenario, stepAction } from '../src/scenario.js';
import type { ValidationIssue } from '../src/validate.js';

const base = { version: 1, name: 'login', target: { vm: 'lab' }, observer: 'agent' };

function caught(fn: () => unknown): AtpError {
  try {
    fn();
  } catch (e) {
    return e as AtpError;
  }
  throw new Error('expected a throw');
}

function issuesOf(steps: unknown[]): ValidationIssue[] {
  const err = caught(() => parseScenario({ ...base, steps }, 'suite.yaml'));
  expect(err.code).toBe('ATP_SCHEMA_INVALID');
  expect(err.message).toContain('suite.yaml');
  return err.details['issues'] as ValidationIssue[];
}

describe('parseScenario', () => {
  it('parses every kind of step and fills defaults', () => {
    const s = parseScenario({
      ...base,
      description: 'types a password',
      defaults: { holdMs: 30, gapMs: 20, pacing: 'closed', maxInFlight: 8 },
      steps: [
        { type: 'hunter2', gapMs: 40, layout: 'de', name: 'password' },
        { press: 'ctrl+alt+delete', holdMs: 50 },
        { press: ['ctrl+c', 'ctrl+v'] },
        { keyDown: 'shift' },
        { keyUp: 'shift' },
        { move: { x: 10, y: 20 } },
        { moveBy: { dx: -5, dy: 5 } },
        { click: 'left', at: { x: 1, y: 2 } },
        { drag: { from: { x: 0, y: 0 }, to: { x: 100, y: 50 } } },
        { wheel: { dy: -3 } },
        { wait: 250 },
        { expect: { keys: 'exact', text: 'hunter2', pointer: { x: 100, y: 50, tolerancePx: 2 }, timeoutMs: 2000, latencyP95Ms: 50 } },
        { repeat: { times: 3, steps: [{ press: 'a' }, { repeat: { times: 2, steps: [{ wait: 1 }] } }] } },
      ],
    });
    expect(s.target).toEqual({ vm: 'lab', injector: 'qmp', layout: 'us', screen: { width: 1024, height: 768 } });
    expect(s.observer).toEqual({ kind: 'agent' });
    expect(new Set(s.steps.map(stepAction))).toEqual(new Set(STEP_ACTIONS));
    expect(s.steps[1]).toEqual({ press: ['ctrl+alt+delete'], holdMs: 50 });
    expect(s.steps[7]).toEqual({ click: 'left', at: { x: 1, y: 2 }, count: 1 });
    expect(s.steps[8]).toEqual({ drag: { from: { x: 0, y: 0 }, to: { x: 100, y: 50 }, button: 'left' } });
    expect(s.steps[9]).toEqual({ wheel: { dy: -3, dx: 0 } });
    expect(s.steps[12]).toEqual({ repeat: { times: 3, steps: [{ press: ['a'] }, { repeat: { times: 2, steps: [{ wait: 1 }] } }] } });
  });

  it('keeps explicit target and observer settings', () => {
    const s = parseScenario({
      ...base,
      target: { vm: 'w11', host: 'kvm1', layout: 'de', screen: { width: 1920, height: 1080 } },
      observer: { kind: 'web', id: 'page-1' },
      steps: [{ wait: 0 }],
    });
    expect(s.target).toEqual({ vm: 'w11', host: 'kvm1', injector: 'qmp', layout: 'de', screen: { width: 1920, height: 1080 } });
    expect(s.observer).toEqual({ kind: 'web', id: 'page-1' });
  });

  it('takes the display injectors and SPICE mouse mode', () => {
    const spice = parseScenario({ ...base, target: { vm: 'w11', injector: 'spice', mouseMode: 'server' }, steps: [{ wait: 0 }] });
    expect(spice.target).toMatchObject({ injector: 'spice', mouseMode: 'server' });
    expect(parseScenario({ ...base, target: { vm: 'w11', injector: 'vnc' }, steps: [{ wait: 0 }] }).target.injector).toBe('vnc');
    expect(() => parseScenario({ ...base, target: { vm: 'w11', injector: 'spice', mouseMode: 'relative' }, steps: [{ wait: 0 }] }, 'suite.yaml')).toThrow(/target\.mouseMode: expected "client" \| "server", got "relative"/);
  });

  it('says which action keys a step with none or several has', () => {
    const [none] = issuesOf([{ holdMs: 3 }]);
    expect(none?.path).toEqual(['steps', 0]);
    expect(none?.message).toMatch(/exactly one action .*found none \(keys: holdMs\)/);
    const [two] = issuesOf([{ wait: 1 }, { press: 'a', click: 'left' }]);
    expect(two?.path).toEqual(['steps', 1]);
    expect(two?.message).toContain('found 2: press, click');
    const [notObject] = issuesOf(['press a']);
    expect(notObject?.message).toContain('got string');
  });

  it('names the path of a bad action value', () => {
    const err = caught(() => parseScenario({ ...base, steps: [{ wait: 1 }, { wait: 1 }, { wait: 1 }, { click: 'lft' }] }));
    expect(err.message).toContain('steps[3].click: expected "left" | "right" | "middle", got "lft"');
    expect((err.details['issues'] as ValidationIssue[])[0]?.path).toEqual(['steps', 3, 'click']);

    const cases: [unknown, (string | number)[]][] = [
      [{ press: 'ctrl+' }, ['steps', 0, 'press']],
      [{ press: ['a', 'ctrl alt'] }, ['steps', 0, 'press', 1]],
      [{ press: [] }, ['steps', 0, 'press']],
      [{ keyDown: 'ctrl+a' }, ['steps', 0, 'keyDown']],
      [{ move: { x: 1 } }, ['steps', 0, 'move', 'y']],
      [{ moveBy: { dx: 1.5, dy: 0 } }, ['steps', 0, 'moveBy', 'dx']],
      [{ click: 'left', count: 4 }, ['steps', 0, 'count']],
      [{ drag: { from: { x: 0, y: 0 }, to: { x: 1, y: 1 }, button: 'side' } }, ['steps', 0, 'drag', 'button']],
      [{ wheel: { dx: 1 } }, ['steps', 0, 'wheel', 'dy']],
      [{ wait: -1 }, ['steps', 0, 'wait']],
      [{ expect: { keys: 'some' } }, ['steps', 0, 'expect', 'keys']],
      [{ expect: { txt: 'a' } }, ['steps', 0, 'expect', 'txt']],
      [{ repeat: { times: 0, steps: [{ wait: 1 }] } }, ['steps', 0, 'repeat', 'times']],
      [{ repeat: { times: 2, steps: [] } }, ['steps', 0, 'repeat', 'steps']],
      [{ repeat: { times: 2, steps: [{ wait: 1 }, { click: 'up' }] } }, ['steps', 0, 'repeat', 'steps', 1, 'click']],
      [{ type: '' }, ['steps', 0, 'type']],
    ];
    for (const [step, path] of cases) {
      const issues = issuesOf([step]);
      expect(issues.map((i) => i.path), JSON.stringify(step)).toContainEqual(path);
    }
  });

  it('names an option that does not belong to the step and lists the allowed ones', () => {
    const [issue] = issuesOf([{ click: 'left', holdMs: 10 }]);
    expect(issue?.path).toEqual(['steps', 0, 'holdMs']);
    expect(issue?.message).toBe('unknown option for a click step (allowed: name, at, count)');
  });

  it('names bad top-level fields', () => {
    const cases: [unknown, string][] = [
      [{ ...base, version: 2, steps: [{ wait: 1 }] }, 'version: expected 1, got 2'],
      [{ ...base, steps: [] }, 'steps: '],
      [{ ...base, name: undefined, steps: [{ wait: 1 }] }, 'name: missing'],
      [{ ...base, observer: 'agnet', steps: [{ wait: 1 }] }, 'observer: expected "agent" | "web", got "agnet"'],
      [{ ...base, target: { vm: 'x', injector: 'rdp' }, steps: [{ wait: 1 }] }, 'target.injector: expected "qmp" | "spice" | "vnc", got "rdp"'],
      [{ ...base, target: { vm: 'x', screen: { width: 0, height: 1 } }, steps: [{ wait: 1 }] }, 'target.screen.width: '],
      [{ ...base, defaults: { pacing: 'fast' }, steps: [{ wait: 1 }] }, 'defaults.pacing: '],
      [{ ...base, stepz: [], steps: [{ wait: 1 }] }, 'stepz: unknown field'],
      [[], '(root): expected object, got array'],
    ];
    for (const [value, text] of cases) {
      const err = caught(() => parseScenario(value, 'suite.yaml'));
      expect(err.code).toBe('ATP_SCHEMA_INVALID');
      expect(err.message, text).toContain(text);
      expect(err.message).toMatch(/^suite\.yaml: invalid scenario: /);
    }
  });

  it('reports every issue in details even when the message lists only a few', () => {
    const steps = Array.from({ length: 6 }, () => ({ wait: 'soon' }));
    const err = caught(() => parseScenario({ ...base, steps }));
    expect(err.message).toContain('(and 3 more)');
    expect((err.details['issues'] as ValidationIssue[]).map((i) => i.pathText)).toEqual(steps.map((_, i) => `steps[${i}].wait`));
    expect((err.details['issues'] as ValidationIssue[])[0]?.code).toBe('invalid_type');
  });
});
