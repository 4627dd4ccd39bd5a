/**
 * Open-loop pacing runs to deadlines: on a simulated clock (sleep and every send
 * advance it; no real time passes), the time sends take is not added to the
 * intervals, and a stalled send restarts the schedule instead of a burst.
 */
import { describe, expect, it } from 'vitest';
import { Pacer, textToKeystrokes, type InjectedAction, type Injector, type InputAction } from '../src/inject/index.js';

class SimulatedInjector implements Injector {
  readonly name = 'simulated';
  readonly screen = { width: 800, height: 600 };
  readonly sentAt: number[] = [];
  private nextId = 1;
  constructor(private readonly time: { now: number }, private readonly sendMs: (call: number) => number) {}
  send(actions: readonly InputAction[]): Promise<InjectedAction[]> {
    const at = this.time.now;
    this.sentAt.push(at);
    this.time.now += this.sendMs(this.sentAt.length);
    return Promise.resolve(actions.map((action) => ({ id: this.nextId++, action, sentAt: at })));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function rig(sendMs: (call: number) => number): { pacer: Pacer; injector: SimulatedInjector; time: { now: number } } {
  const time = { now: 1000 };
  const injector = new SimulatedInjector(time, sendMs);
  const pacer = new Pacer({
    injector,
    policy: { mode: 'open', holdMs: 5, gapMs: 5 },
    clock: () => time.now,
    sleep: (ms) => {
      time.now += ms;
      return Promise.resolve();
    },
  });
  return { pacer, injector, time };
}

describe('open-loop deadlines', () => {
  it('keeps the nominal rate however long each send takes (below one interval)', async () => {
    const { pacer, injector } = rig(() => 3); // every input-send-event takes 3 ms
    await pacer.send(textToKeystrokes('abcdefghij', 'us'));
    // 10 keystrokes at hold 5 + gap 5 ms = 100 keys/s: the downs are 10 ms apart exactly (a relative sleep made them 16).
    const downs = injector.sentAt.filter((_, i) => i % 2 === 0);
    expect(downs.slice(1).map((t, i) => t - (downs[i] ?? 0))).toEqual(Array.from({ length: 9 }, () => 10));
    expect(injector.sentAt.at(-1)).toBe(1000 + 95);
  });

  it('restarts the schedule after a send stalled for more than one interval, without a burst', async () => {
    const { pacer, injector } = rig((call) => (call === 3 ? 50 : 1)); // the third call (b's down) stalls 50 ms
    await pacer.send(textToKeystrokes('abcd', 'us'));
    const gaps = injector.sentAt.slice(1).map((t, i) => t - (injector.sentAt[i] ?? 0));
    // a+ a- b+ (stalls) b- c+ c- d+ d-: after the stall every interval is back to 5 ms, none shorter.
    expect(gaps).toEqual([5, 5, 50, 5, 5, 5, 5]);
  });
});
