/**
 * The run engine's pure parts and its policies where no VM is needed: outcomes
 * and exit codes, the fleet flags, VM selectors, the event queue, and what
 * stop-all / fail-fast / a signal do to targets that cannot be opened.
 */
import { describe, expect, it } from 'vitest';
import { AtpError, RunEventSchema, type RunEvent } from '@atp/protocol';
import { parseDuration, parseFleetFlags } from '../src/cli/verify-fleet-options.js';
import { AgentHub } from '../src/hub/index.js';
import { EventQueue } from '../src/run/event-queue.js';
import { runExitCode, runFleet, runToEnd, vmOutcome } from '../src/run/index.js';
import { parseSuiteText, planSuite } from '../src/scenario/index.js';
import { selectNames, selectorMatcher } from '../src/targets/vm-glob.js';
import type { TargetOpener } from '../src/targets/index.js';

const base = { opened: true, openFailed: false, verdicts: [] as ('pass' | 'fail' | 'error')[], infraError: false, cutShort: false };

describe('outcomes and exit codes', () => {
  it('classifies a VM from how its run went', () => {
    expect(vmOutcome({ ...base, verdicts: ['pass', 'pass'] })).toBe('passed');
    expect(vmOutcome({ ...base, verdicts: ['pass', 'fail'] })).toBe('failed');
    expect(vmOutcome({ ...base, verdicts: ['pass', 'error'], infraError: true })).toBe('infra-error');
    expect(vmOutcome({ ...base, opened: false, openFailed: true })).toBe('infra-error');
    expect(vmOutcome({ ...base, opened: false })).toBe('not-run');
    expect(vmOutcome({ ...base, verdicts: ['pass'], cutShort: true })).toBe('aborted');
    // Defects found before the stop still count.
    expect(vmOutcome({ ...base, verdicts: ['fail'], cutShort: true })).toBe('failed');
  });

  it('exits 0 only when every VM passed, 3 when nothing was verified or a signal stopped it, 1 otherwise', () => {
    expect(runExitCode(['passed', 'passed'], false)).toBe(0);
    expect(runExitCode(['passed', 'infra-error', 'passed'], false)).toBe(1);
    expect(runExitCode(['failed'], false)).toBe(1);
    expect(runExitCode(['infra-error'], false)).toBe(3);
    expect(runExitCode(['infra-error', 'not-run'], false)).toBe(3);
    expect(runExitCode(['passed', 'passed'], true)).toBe(3);
    expect(runExitCode([], false)).toBe(3);
  });
});

describe('fleet flags', () => {
  it('parses durations with units', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('45')).toBe(45_000);
    for (const bad of ['', 'x', '-1s', '0', '10d', '1e3s']) expect(() => parseDuration(bad), bad).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', details: expect.objectContaining({ field: '--duration' }) }));
  });

  it('checks every number and the failure policy, naming the flag', () => {
    expect(parseFleetFlags({ concurrent: '8', loop: '3', onFailure: 'fail-fast', count: '4', exclude: 'x-*', limit: '2', bootConcurrency: '3' })).toEqual({ concurrency: 8, rounds: 3, onFailure: 'fail-fast', count: 4, exclude: 'x-*', limit: 2, bootConcurrency: 3 });
    expect(parseFleetFlags({})).toEqual({ onFailure: 'continue' });
    const bad: [Record<string, string>, string][] = [
      [{ concurrent: '0' }, '--concurrent'],
      [{ loop: '1.5' }, '--loop'],
      [{ count: 'x' }, '--count'],
      [{ onFailure: 'panic' }, '--on-failure'],
      [{ limit: '-1' }, '--limit'],
      [{ exclude: '' }, '--exclude'],
    ];
    for (const [flags, field] of bad) expect(() => parseFleetFlags(flags), field).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', details: expect.objectContaining({ field }) }));
  });
});

describe('VM selectors', () => {
  const names = ['desk-01', 'desk-02', 'desk-10', 'kiosk', 'db-1'];
  it('takes globs, comma lists and re:REGEX', () => {
    expect(selectNames('desk-0*', names)).toEqual(['desk-01', 'desk-02']);
    expect(selectNames('kiosk,db-*', names)).toEqual(['kiosk', 'db-1']);
    expect(selectNames('re:^desk-\\d0$', names)).toEqual(['desk-10']);
    expect(selectorMatcher('re:sk')('kiosk')).toBe(true);
  });

  it('applies --exclude and --limit in the given order', () => {
    expect(selectNames('desk-*', names, { exclude: 'desk-02' })).toEqual(['desk-01', 'desk-10']);
    expect(selectNames('*', names, { limit: 2 })).toEqual(['desk-01', 'desk-02']);
  });

  it('matching nothing is ATP_RUN_NO_TARGETS listing the names seen; a bad pattern names its flag', () => {
    expect(() => selectNames('web-*', names)).toThrow(expect.objectContaining({ code: 'ATP_RUN_NO_TARGETS', message: expect.stringContaining('desk-01, desk-02, desk-10, kiosk, db-1') }));
    expect(() => selectNames('desk-*', names, { exclude: 'desk-*' })).toThrow(expect.objectContaining({ code: 'ATP_RUN_NO_TARGETS', message: expect.stringContaining('--exclude') }));
    expect(() => selectorMatcher('re:(')).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
    expect(() => selectorMatcher('a,,b')).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
    expect(() => selectorMatcher('[abc', '--exclude')).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
  });
});

describe('event queue', () => {
  it('hands items over in push order and ends when closed', async () => {
    const q = new EventQueue<number>();
    const seen: number[] = [];
    const drained = (async () => {
      for await (const n of q.drain()) seen.push(n);
    })();
    q.push(1);
    await Promise.resolve();
    q.push(2);
    q.push(3);
    q.close();
    q.push(4);
    await drained;
    expect(seen).toEqual([1, 2, 3]);
  });
});

/** A target that cannot be opened, after `ms`. */
const broken = (label: string, ms = 0): TargetOpener => ({
  label,
  open: async () => {
    await new Promise((r) => setTimeout(r, ms));
    throw new AtpError('ATP_LAB_BOOT', `${label} does not boot`);
  },
});
/** A target whose opening waits until the run's signal aborts. */
const slow = (label: string): TargetOpener => ({
  label,
  open: (context) =>
    new Promise((_, reject) => {
      context.signal.addEventListener('abort', () => reject(new AtpError('ATP_LAB_BOOT', 'stopped while starting')), { once: true });
    }),
});

describe('run policies on targets that cannot be opened', () => {
  const loaded = parseSuiteText('version: 1\nname: t\ntarget: { vm: x }\nobserver: agent\nsteps:\n  - type: a\n', 't.yaml');
  const suites = [{ loaded, plan: planSuite(loaded.scenario) }];

  async function run(targets: TargetOpener[], extra: { onFailure?: 'continue' | 'stop-all' | 'fail-fast'; concurrency?: number; signal?: AbortSignal }): Promise<{ events: RunEvent[]; exitCode: number; outcomes: Record<string, string> }> {
    const hub = await AgentHub.create({ auth: { tokens: ['t'] } });
    try {
      const events: RunEvent[] = [];
      const result = await runToEnd({ suites, targets, hub, version: '0.0.0', ...extra }, (e) => events.push(RunEventSchema.parse(e)));
      const outcomes = Object.fromEntries((result.report.fleet?.vms ?? []).map((v) => [v.vm, v.outcome]));
      return { events, exitCode: result.exitCode, outcomes };
    } finally {
      await hub.close();
    }
  }

  it('continue: every VM is tried, each failure is its own infra-error, exit 3 (nothing verified)', async () => {
    const r = await run([broken('a'), broken('b'), broken('c')], { concurrency: 1 });
    expect(r.outcomes).toEqual({ a: 'infra-error', b: 'infra-error', c: 'infra-error' });
    expect(r.events.filter((e) => e.type === 'target-finished').map((e) => (e.type === 'target-finished' ? e.error?.code : ''))).toEqual(['ATP_LAB_BOOT', 'ATP_LAB_BOOT', 'ATP_LAB_BOOT']);
    expect(r.exitCode).toBe(3);
    expect(r.events.map((e) => e.seq)).toEqual(r.events.map((_, i) => i));
  });

  it('stop-all: after the first failure nothing new starts', async () => {
    const r = await run([broken('a'), broken('b'), broken('c')], { concurrency: 1, onFailure: 'stop-all' });
    expect(r.outcomes).toEqual({ a: 'infra-error', b: 'not-run', c: 'not-run' });
    const finished = r.events.at(-1);
    expect(finished?.type === 'run-finished' ? finished.fleet.stopped?.reason : undefined).toBe('stop-all');
  });

  it('fail-fast: the failure interrupts a VM that is still opening', async () => {
    const r = await run([slow('a'), broken('b', 50), broken('c')], { concurrency: 2, onFailure: 'fail-fast' });
    expect(r.outcomes).toEqual({ a: 'not-run', b: 'infra-error', c: 'not-run' });
  });

  it('a signal stops the run: exit 3, VMs still opening are not-run', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const r = await run([slow('a'), slow('b')], { concurrency: 2, signal: abort.signal });
    expect(r.outcomes).toEqual({ a: 'not-run', b: 'not-run' });
    expect(r.exitCode).toBe(3);
  });

  it('the generator yields run-started first and run-finished last', async () => {
    const hub = await AgentHub.create({ auth: { tokens: ['t'] } });
    try {
      const types: string[] = [];
      for await (const e of runFleet({ suites, targets: [broken('a')], hub, version: '0.0.0' })) types.push(e.type);
      expect(types).toEqual(['run-started', 'target-finished', 'run-finished']);
    } finally {
      await hub.close();
    }
  });
});
