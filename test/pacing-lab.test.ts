/**
 * Closed-loop pacing with the event window on the real lab VM (QEMU TCG, the
 * virtio keyboard, the guest agent reading evdev, the hub over virtio-serial):
 * hundreds of keystrokes, capitals included, verified with zero defects, sent
 * in far fewer QMP calls than keystrokes, with every call's guest events
 * within the budget. One boot serves the file. Rates are printed, not asserted
 * against tight figures: the machine is shared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpInjector } from '../host/src/inject/index.js';
import { parseSuiteText, runSuite, type PacingFlags, type SuiteRun } from '../host/src/scenario/index.js';
import type { QmpExecuteOptions, QmpExecutor } from '../host/src/vm/qmp/index.js';
import { calibrationSuiteText } from '../host/src/calibrate/calibrate.js';
import { startE2eLab, type E2eLab } from './support/e2e-lab.js';

let lab: E2eLab | undefined;

beforeAll(async () => {
  lab = await startE2eLab({ inputProfile: 'desktop', keyboard: 'virtio' });
}, 600_000);

afterAll(async () => {
  await lab?.stop();
}, 120_000);

/** Counts input-send-event calls and the key events in each. */
class CallCounter implements QmpExecutor {
  readonly keyEventsPerCall: number[] = [];
  constructor(private readonly inner: QmpExecutor) {}
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options?: QmpExecuteOptions): Promise<T> {
    if (command === 'input-send-event' && Array.isArray(args?.events)) this.keyEventsPerCall.push(args.events.length);
    return this.inner.execute<T>(command, args, options);
  }
}

async function typeLetters(keys: number, seed: number, pacing: PacingFlags): Promise<{ run: SuiteRun; calls: number[]; keysPerS: number }> {
  if (lab === undefined) throw new Error('the lab VM did not start (see beforeAll)');
  const { target } = lab;
  const loaded = parseSuiteText(calibrationSuiteText('lab', keys, seed), 'pacing-lab.yaml');
  const executor = new CallCounter(target.qmp);
  const injector = new QmpInjector({ executor, screen: loaded.scenario.target.screen, ...target.route });
  try {
    const run = await runSuite(loaded, { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp, clock: target.clock, inputDevice: 'virtio keyboard' }, { pacing });
    const downs = run.injected.filter((a) => a.action.kind === 'key' && a.action.down && !a.action.key.includes('SHIFT'));
    const keysPerS = ((downs.length - 1) * 1000) / Math.max(1, (downs.at(-1)?.sentAt ?? 0) - (downs[0]?.sentAt ?? 0));
    return { run, calls: executor.keyEventsPerCall, keysPerS };
  } finally {
    await injector.close();
  }
}

function expectZeroDefects(run: SuiteRun, keys: number): void {
  expect(run.report.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
  expect(run.report.verdict).toBe('pass');
  expect(run.report.counts.matched).toBe(run.report.counts.expected);
  expect(run.report.counts.expected).toBeGreaterThanOrEqual(2 * keys);
}

describe('closed loop counted in guest events, on the virtio keyboard', () => {
  it('types 600 letters with zero defects, several keystrokes per QMP call', async () => {
    const { run, calls, keysPerS } = await typeLetters(600, 31, { closedLoop: true });
    console.log(`event window (56 events): ${keysPerS.toFixed(1)} keys/s, ${calls.length} calls, p50 ${run.report.latency?.p50Ms.toFixed(2)} ms`);
    expectZeroDefects(run, 600);
    expect(run.pacing.window).toEqual({ budget: 56, maxRoundTripMs: 200 });
    // One sync per call: at most 16 key events (8 pairs) each, and far fewer calls than keystrokes.
    expect(Math.max(...calls)).toBeLessThanOrEqual(16);
    expect(calls.length).toBeLessThan(600 / 3);
    expect(keysPerS).toBeGreaterThan(30);
  });

  it('keeps to a small budget (10 events: at most 9 transitions in flight) with zero defects', async () => {
    const { run, calls } = await typeLetters(150, 32, { closedLoop: true, eventBudget: 10 });
    expectZeroDefects(run, 150);
    // 10 events hold at most 9 key events plus the call's sync.
    expect(Math.max(...calls)).toBeLessThanOrEqual(9);
  });
});
