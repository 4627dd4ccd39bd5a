/**
 * Planning on pure inputs (suite → action groups, waits, checkpoints), pacing
 * resolution, agent endpoints, and the verify command's usage errors and exit
 * code 2, through the real CLI entry (runCli) without any VM.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { runCli, type CliIo } from '../src/cli/program.js';
import { parseAgentEndpoint, parseSuiteText, planSuite, resolvePacing, type PlanItem } from '../src/scenario/index.js';

const suite = (steps: string, extra = ''): string => `version: 1\nname: t\ntarget: { vm: lab, layout: us }\nobserver: agent\n${extra}steps:\n${steps}`;
const plan = (steps: string, extra = '') => planSuite(parseSuiteText(suite(steps, extra), 't.yaml').scenario);
const sends = (items: PlanItem[]) => items.filter((i): i is Extract<PlanItem, { kind: 'send' }> => i.kind === 'send');

describe('planSuite', () => {
  it('one group per character through the layout, with the step index; Shift around capitals', () => {
    const p = plan('  - type: aB\n');
    const groups = sends(p.items);
    expect(groups.map((g) => [g.step, g.group.label])).toEqual([[0, 'a'], [0, 'B']]);
    expect(groups[1]?.group.actions).toEqual([
      { kind: 'key', key: 'KEY_LEFTSHIFT', down: true },
      { kind: 'key', key: 'KEY_B', down: true },
      { kind: 'key', key: 'KEY_B', down: false },
      { kind: 'key', key: 'KEY_LEFTSHIFT', down: false },
    ]);
    expect(p.keyTransitions).toBe(6);
    // No expect at the end: the plan adds the final checkpoint.
    expect(p.items.at(-1)).toMatchObject({ kind: 'expect', implicit: true, expect: { timeoutMs: 10_000 } });
  });

  it('combos press in order and release in reverse; a step holdMs rides on its groups', () => {
    const p = plan('  - press: [ctrl+alt+t, f5]\n    holdMs: 40\n');
    const [combo, f5] = sends(p.items);
    expect(combo?.holdMs).toBe(40);
    expect(combo?.group.actions.map((a) => (a.kind === 'key' ? `${a.key}${a.down ? '↓' : '↑'}` : a.kind))).toEqual([
      'KEY_LEFTCTRL↓', 'KEY_LEFTALT↓', 'KEY_T↓', 'KEY_T↑', 'KEY_LEFTALT↑', 'KEY_LEFTCTRL↑',
    ]);
    expect(f5?.group.label).toBe('f5');
  });

  it('pointer steps: click with a position and a count, drag in three parts, wheel, wait and expect with timeouts', () => {
    const p = plan(
      '  - click: right\n    at: { x: 10, y: 20 }\n    count: 2\n  - drag: { from: { x: 1, y: 2 }, to: { x: 3, y: 4 } }\n  - wheel: { dy: -2 }\n  - wait: 50\n  - expect: { pointer: { x: 3, y: 4 } }\n',
      'defaults: { timeoutMs: 3000 }\n',
    );
    expect(p.items.map((i) => (i.kind === 'send' ? i.group.actions.map((a) => a.kind).join('+') : i.kind))).toEqual([
      'move+button+button', 'button+button', 'move+button', 'move', 'button', 'wheel', 'wait', 'expect',
    ]);
    expect(p.items.map((i) => i.step)).toEqual([0, 0, 1, 1, 1, 2, 3, 4]);
    expect(p.items.at(-1)).toMatchObject({ kind: 'expect', expect: { pointer: { x: 3, y: 4 }, timeoutMs: 3000 } });
    expect(p.buttonTransitions).toBe(6);
  });

  it('expands repeats (nested) under the step index of the top-level repeat', () => {
    const p = plan('  - press: esc\n  - repeat:\n      times: 3\n      steps:\n        - type: ab\n        - repeat: { times: 2, steps: [ { press: enter } ] }\n');
    const groups = sends(p.items);
    expect(groups).toHaveLength(1 + 3 * (2 + 2));
    expect(groups.slice(1).every((g) => g.step === 1)).toBe(true);
    expect(groups.slice(1, 5).map((g) => g.group.label)).toEqual(['a', 'b', 'enter', 'enter']);
  });

  it('refuses a suite whose repeats expand past the bound', () => {
    const deep = '  - repeat:\n      times: 100000\n      steps:\n        - repeat: { times: 100000, steps: [ { type: a } ] }\n';
    expect(() => plan(deep)).toThrow(expect.objectContaining({ code: 'ATP_SCENARIO_INVALID' }));
  });

  it('keyDown and keyUp resolve names through the key table', () => {
    const [down, up] = sends(plan('  - keyDown: shift\n  - keyUp: shift\n').items);
    expect(down?.group.actions).toEqual([{ kind: 'key', key: 'KEY_LEFTSHIFT', down: true }]);
    expect(up?.group.actions).toEqual([{ kind: 'key', key: 'KEY_LEFTSHIFT', down: false }]);
  });
});

describe('resolvePacing', () => {
  it('open loop by default, the suite defaults next, the command line over both', () => {
    expect(resolvePacing(undefined)).toMatchObject({ mode: 'open', holdMs: 10, gapMs: 10 });
    expect(resolvePacing({ holdMs: 5, gapMs: 7 })).toMatchObject({ mode: 'open', holdMs: 5, gapMs: 7 });
    expect(resolvePacing({ pacing: 'closed', maxInFlight: 4 })).toMatchObject({ mode: 'closed', maxInFlight: 4, holdMs: 0 });
    expect(resolvePacing({ pacing: 'closed' }, { rate: 100 })).toMatchObject({ mode: 'open', holdMs: 5, gapMs: 5 });
    expect(resolvePacing({ pacing: 'open' }, { closedLoop: 16 })).toMatchObject({ mode: 'closed', maxInFlight: 16 });
  });

  it('refuses a zero rate, both loops at once, and a fractional window', () => {
    for (const flags of [{ rate: 0 }, { rate: 10, closedLoop: true }, { closedLoop: 1.5 }]) {
      expect(() => resolvePacing(undefined, flags)).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
    }
  });
});

describe('parseAgentEndpoint', () => {
  it('reads virtio:, tcp: and ws: endpoints and refuses the rest', () => {
    expect(parseAgentEndpoint('virtio:/run/a.sock')).toEqual({ kind: 'virtio', path: '/run/a.sock' });
    expect(parseAgentEndpoint('tcp:7000')).toEqual({ kind: 'tcp', port: 7000 });
    expect(parseAgentEndpoint('ws:[::1]:8080')).toEqual({ kind: 'ws', port: 8080, host: '::1' });
    for (const bad of ['tcp:0', 'tcp:x', 'udp:1', 'virtio:', '7000']) {
      let error: unknown;
      try {
        parseAgentEndpoint(bad);
      } catch (e) {
        error = e;
      }
      expect(isAtpError(error, 'ATP_SCHEMA_INVALID')).toBe(true);
    }
  });
});

describe('atp-host verify: usage errors exit 2 before anything starts', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-verify-cli-'));
    await writeFile(path.join(dir, 'bad.yaml'), suite('  - press: ctrl+nosuchkey\n'));
    await writeFile(path.join(dir, 'good.yaml'), suite('  - type: a\n'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t) };
    const code = await runCli(['verify', ...args], io);
    return { code, out, err };
  }

  it('a bad suite file: exit 2 with file:line:column', async () => {
    const bad = path.join(dir, 'bad.yaml');
    const r = await cli(['--lab', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:6:`);
    expect(r.err).toMatch(/nosuchkey/);
  });

  it('a missing suite file: exit 2', async () => {
    const r = await cli(['--lab', path.join(dir, 'none.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no such file/);
  });

  it('no target, both targets, --qmp without --agent, a bad endpoint or report spec: exit 2', async () => {
    const good = path.join(dir, 'good.yaml');
    const cases = [
      [good],
      ['--lab', '--qmp', '/x.sock', good],
      ['--qmp', '/x.sock', good],
      ['--qmp', '/x.sock', '--agent', 'udp:1', '--token', 't', good],
      ['--lab', '--report', 'html:x', good],
      ['--lab', '--rate', '10', '--closed-loop', good],
      ['--lab', '--layout', 'xx', good],
    ];
    for (const args of cases) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.err).toMatch(/^atp-host verify: /);
    }
  });

  it('no suite at all: commander usage error, exit 2', async () => {
    expect((await cli(['--lab'])).code).toBe(2);
  });
});
