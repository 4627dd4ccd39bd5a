/**
 * Pacing through a real QmpInjector into a real QEMU. The closed loop's observer
 * is QEMU's own input trace: every `input_event_key_* ... down 1` line is a key
 * press that reached QEMU's input core (what the hub's event stream will be in
 * production). Order is asserted, never durations.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpClient, type QmpExecuteOptions, type QmpExecutor } from '../src/vm/qmp/index.js';
import { Pacer, QmpInjector, textToKeystrokes, type InjectedAction, type Injector, type InputAction, type ObservationFeedback } from '../src/inject/index.js';
import { startQemu, type QemuInstance } from './support/qemu.js';

/** Key presses in a QEMU trace file (0 while it does not exist). */
class TraceFeedback implements ObservationFeedback {
  constructor(private readonly tracePath: string) {}
  observedCount(): number {
    let text: string;
    try {
      text = readFileSync(this.tracePath, 'utf8');
    } catch {
      return 0;
    }
    return text.split('\n').filter((l) => /:input_event_key_(qcode|number) .*down 1$/.test(l)).length;
  }
  async waitForObserved(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.observedCount() < count && Date.now() < deadline) await sleep(10);
  }
}

class CountingExecutor implements QmpExecutor {
  readonly calls: unknown[][] = [];
  constructor(private readonly inner: QmpExecutor) {}
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options?: QmpExecuteOptions): Promise<T> {
    if (Array.isArray(args?.events)) this.calls.push(args.events);
    return this.inner.execute<T>(command, args, options);
  }
}

/** Wraps an injector and records, at each send, how many presses are in flight counting that send. */
class InFlightProbe implements Injector {
  readonly name = 'probe';
  readonly inFlightAtSend: number[] = [];
  private sent = 0;
  constructor(private readonly inner: Injector, private readonly feedback: ObservationFeedback, private readonly base: number) {}
  get screen(): Injector['screen'] { return this.inner.screen; }
  send(actions: readonly InputAction[], context?: { step?: number }): Promise<InjectedAction[]> {
    this.sent += actions.filter((a) => a.kind === 'key' && a.down).length;
    this.inFlightAtSend.push(this.sent - (this.feedback.observedCount() - this.base));
    return this.inner.send(actions, context);
  }
  close(): Promise<void> { return this.inner.close(); }
}

const SCREEN = { width: 800, height: 600 };
const qcodeOf = (e: unknown): string => {
  const ev = e as { data: { down: boolean; key: { data: string } } };
  return `${ev.data.key.data}${ev.data.down ? '+' : '-'}`;
};

let qemu: QemuInstance;
let client: QmpClient;

beforeAll(async () => {
  qemu = await startQemu();
  client = await QmpClient.connect({ path: qemu.qmpPath });
});

afterAll(async () => {
  await client?.close();
  await qemu?.cleanup();
});

describe('open loop', () => {
  it('sends the downs, holds, sends the ups, waits the gap: order per call and per stamp', async () => {
    const executor = new CountingExecutor(client);
    const pacer = new Pacer({ injector: new QmpInjector({ executor, screen: SCREEN }), policy: { mode: 'open', holdMs: 20, gapMs: 10 } });
    const sent = await pacer.send(textToKeystrokes('aB', 'us'));
    expect(executor.calls.map((c) => c.map(qcodeOf))).toEqual([['a+'], ['a-'], ['shift+', 'b+'], ['b-', 'shift-']]);
    const at = (i: number): number => sent[i]?.sentAt ?? Number.NaN;
    // Each phase is its own call after a wait: every up is stamped after its down, every group after the previous one.
    expect(at(1)).toBeGreaterThan(at(0));
    expect(at(2)).toBeGreaterThan(at(1));
    expect(at(4)).toBeGreaterThan(at(3));
    expect(sent.map((a) => a.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('holdMs = 0 puts down and up in one call; holdMs = gapMs = 0 sends all groups in one call', async () => {
    const perGroup = new CountingExecutor(client);
    await new Pacer({ injector: new QmpInjector({ executor: perGroup, screen: SCREEN }), policy: { mode: 'open', holdMs: 0, gapMs: 5 } }).send(textToKeystrokes('ab', 'us'));
    expect(perGroup.calls.map((c) => c.map(qcodeOf))).toEqual([['a+', 'a-'], ['b+', 'b-']]);
    const together = new CountingExecutor(client);
    await new Pacer({ injector: new QmpInjector({ executor: together, screen: SCREEN }), policy: { mode: 'open', holdMs: 0, gapMs: 0 } }).send(textToKeystrokes('ab', 'us'));
    expect(together.calls.map((c) => c.map(qcodeOf))).toEqual([['a+', 'a-', 'b+', 'b-']]);
  });
});

describe('closed loop', () => {
  for (const [maxInFlight, text] of [[1, 'hello world'], [2, 'Hello, World! ABC'], [4, 'The quick brown fox.']] as const) {
    it(`never has more than ${maxInFlight} key press(es) in flight and finishes with all observed (${JSON.stringify(text)})`, async () => {
      const feedback = new TraceFeedback(qemu.tracePath);
      const base = feedback.observedCount();
      const probe = new InFlightProbe(new QmpInjector({ executor: client, screen: SCREEN }), feedback, base);
      const pacer = new Pacer({ injector: probe, feedback, policy: { mode: 'closed', maxInFlight, timeoutMs: 20_000 } });
      const groups = textToKeystrokes(text, 'us');
      const sent = await pacer.send(groups);
      const presses = groups.flatMap((g) => g.actions).filter((a) => a.kind === 'key' && a.down).length;
      expect(sent.length).toBe(groups.flatMap((g) => g.actions).length);
      expect(Math.max(...probe.inFlightAtSend)).toBeLessThanOrEqual(maxInFlight);
      expect(feedback.observedCount() - base).toBe(presses);
    });
  }

  it('times out with ATP_INJECT_FEEDBACK_TIMEOUT saying how many presses are in flight when nothing is observed', async () => {
    const silent = await startQemu({ trace: false }); // a guest whose observer never reports anything
    const silentClient = await QmpClient.connect({ path: silent.qmpPath });
    try {
      const executor = new CountingExecutor(silentClient);
      const pacer = new Pacer({
        injector: new QmpInjector({ executor, screen: SCREEN }),
        feedback: new TraceFeedback(silent.tracePath),
        policy: { mode: 'closed', maxInFlight: 2, timeoutMs: 300 },
      });
      await expect(pacer.send(textToKeystrokes('abcd', 'us'))).rejects.toMatchObject({
        code: 'ATP_INJECT_FEEDBACK_TIMEOUT',
        message: expect.stringContaining('2 key press(es) still in flight'),
        details: { inFlight: 2, sent: 2, observed: 0 },
      });
      expect(executor.calls.map((c) => c.map(qcodeOf))).toEqual([['a+', 'a-'], ['b+', 'b-']]);
    } finally {
      await silentClient.close();
      await silent.cleanup();
    }
  });

  it('refuses a closed loop without feedback and bad numbers', () => {
    const injector = new QmpInjector({ executor: client, screen: SCREEN });
    expect(() => new Pacer({ injector, policy: { mode: 'closed', maxInFlight: 2, timeoutMs: 10 } })).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
    expect(() => new Pacer({ injector, policy: { mode: 'open', holdMs: -1, gapMs: 0 } })).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
  });
});
