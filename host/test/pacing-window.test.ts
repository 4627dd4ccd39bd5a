/**
 * The closed loop's event window and the open loop's deadlines on a simulated
 * clock (pure code with injected time: no real time passes, nothing is mocked
 * that a real part could give). The simulated guest queues every event a send
 * makes (counted by the same evdev rules) and reads them FIFO at a fixed
 * speed; a transition is observed a fixed delay after it was read.
 */
import { describe, expect, it } from 'vitest';
import type { KeyId } from '@atp/protocol';
import { Pacer, type ObservationFeedback } from '../src/inject/pacing.js';
import { EventWindow, transitionEvents, windowUnit, type EvdevCost, type EventWindowOptions } from '../src/inject/event-window.js';
import { textToKeystrokes, type InjectedAction, type Injector, type InputAction } from '../src/inject/index.js';
import { CONSERVATIVE_COST, evdevCost, policyFor, resolvePacing } from '../src/scenario/pacing-policy.js';

const VIRTIO_QMP: EvdevCost = { eventsPerTransition: 1, transitionsPerSync: 16 };
const key = (k: string, down: boolean): InputAction => ({ kind: 'key', key: k as KeyId, down });
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Deterministic pseudo-random numbers in [0, 1). */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

interface Time {
  now: number;
}

/** A guest that queues events and reads them FIFO at `eventsPerMs`; a transition is observed `delayMs` after its events were read. */
class SimulatedGuest implements Injector, Required<ObservationFeedback> {
  readonly name = 'simulated';
  readonly screen = { width: 800, height: 600 };
  /** Events in flight (sent, their transition not yet observed) right after each send. */
  readonly inFlightAfterSend: number[] = [];
  readonly sends: number[] = [];
  private readonly observedAt: number[] = [];
  private readonly eventsOf: number[] = [];
  private readFreeAt = 0;
  private nextId = 1;

  constructor(private readonly time: Time, private readonly cost: EvdevCost, private readonly eventsPerMs: (t: number) => number, private readonly delayMs: number, private readonly sendMs = 1) {}

  send(actions: readonly InputAction[]): Promise<InjectedAction[]> {
    const at = this.time.now;
    for (const events of transitionEvents(actions, 0, this.cost)) {
      this.readFreeAt = Math.max(this.readFreeAt, at) + events / this.eventsPerMs(at);
      this.observedAt.push(this.readFreeAt + this.delayMs);
      this.eventsOf.push(events);
    }
    this.sends.push(transitionEvents(actions, 0, this.cost).length);
    const seen = this.observedTransitions();
    this.inFlightAfterSend.push(sum(this.eventsOf.slice(seen)));
    this.time.now += this.sendMs;
    return Promise.resolve(actions.map((action) => ({ id: this.nextId++, action, sentAt: at })));
  }

  observedCount(): number {
    return 0;
  }
  waitForObserved(): Promise<void> {
    return Promise.resolve();
  }
  observedTransitions(): number {
    return this.observedAt.filter((t) => t <= this.time.now).length;
  }
  /** Advances the simulated clock to the moment the count-th transition is observed (or by timeoutMs when it never will be). */
  waitForTransitions(count: number, timeoutMs: number): Promise<void> {
    const at = this.observedAt[count - 1];
    this.time.now = at === undefined || !Number.isFinite(at) ? this.time.now + timeoutMs : Math.max(this.time.now, at);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function windowed(guest: SimulatedGuest, time: Time, window: EventWindowOptions, timeoutMs = 10_000): Pacer {
  return new Pacer({ injector: guest, feedback: guest, policy: { mode: 'closed', maxInFlight: 1, timeoutMs, window }, clock: () => time.now });
}

const TEXT = 'The Quick Brown Fox Jumps Over The Lazy Dog, then types 300 letters: abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ '.repeat(3);

describe('evdev event counts', () => {
  it('counts EV_KEY per transition and one SYN_REPORT per QMP call of up to 16 transitions into the virtio keyboard', () => {
    expect(sum(transitionEvents(textToKeystrokes('abc', 'us').flatMap((g) => g.actions), 0, VIRTIO_QMP))).toBe(6 + 1);
    // Shift down, a down, a up, shift up: four transitions, one sync.
    expect(sum(transitionEvents(textToKeystrokes('A', 'us').flatMap((g) => g.actions), 0, VIRTIO_QMP))).toBe(4 + 1);
    // 9 keystrokes = 18 transitions: two calls (16 + 2), two syncs.
    expect(transitionEvents(textToKeystrokes('abcdefghi', 'us').flatMap((g) => g.actions), 0, VIRTIO_QMP)).toEqual([...Array<number>(15).fill(1), 2, 1, 2]);
  });

  it('counts MSC_SCAN + EV_KEY + SYN_REPORT per transition where every key is synced alone, and a sync per hold phase', () => {
    expect(transitionEvents([key('KEY_A', true), key('KEY_A', false)], 0, CONSERVATIVE_COST)).toEqual([3, 3]);
    // Held keys: the down and the up are separate calls, each with its sync.
    expect(transitionEvents([key('KEY_A', true), key('KEY_B', true), key('KEY_B', false), key('KEY_A', false)], 10, VIRTIO_QMP)).toEqual([1, 2, 1, 2]);
    expect(evdevCost('qmp', 'virtio keyboard')).toEqual(VIRTIO_QMP);
    expect(evdevCost('spice', 'virtio keyboard')).toEqual({ eventsPerTransition: 1, transitionsPerSync: 1 });
    expect(evdevCost('qmp', 'ps2 keyboard')).toEqual(CONSERVATIVE_COST);
    expect(evdevCost('qmp', undefined)).toEqual(CONSERVATIVE_COST);
  });

  it("caps the window at what the device's own queue holds (QEMU's AT keyboard: 16 bytes, 5 transitions), not at evdev's buffer", () => {
    const closed = resolvePacing(undefined, { closedLoop: true });
    expect(policyFor(closed, {}, evdevCost('qmp', 'ps2 keyboard'))).toMatchObject({ mode: 'closed', window: { budget: 15 } });
    expect(policyFor(closed, {}, evdevCost('qmp', 'virtio keyboard'))).toMatchObject({ mode: 'closed', window: { budget: 56 } });
    expect(policyFor(resolvePacing(undefined, { closedLoop: true, eventBudget: 8 }), {}, evdevCost('vnc', undefined))).toMatchObject({ window: { budget: 8 } });
  });
});

describe('closed loop: the event window', () => {
  for (const [what, cost, budget] of [['virtio keyboard over QMP', VIRTIO_QMP, 56], ['a keyboard synced per key', CONSERVATIVE_COST, 56], ['a small budget', VIRTIO_QMP, 20], ["the AT keyboard's 5 queued transitions", CONSERVATIVE_COST, 15]] as const) {
    it(`never has more events in flight than the budget (${what}, ${budget}), sends every action once, in order, and ends with all observed`, async () => {
      const time = { now: 0 };
      const random = prng(budget + cost.transitionsPerSync);
      // The guest reads 0.5 to 3 events per ms; every 100 ms it stalls (a 1/50 speed for a while).
      const guest = new SimulatedGuest(time, cost, (t) => (Math.floor(t / 100) % 5 === 4 ? 0.02 : 0.5 + 2.5 * random()), 3);
      const groups = textToKeystrokes(TEXT, 'us');
      const sent = await windowed(guest, time, { budget, cost, maxRoundTripMs: 100 }).send(groups);
      expect(sent.map((s) => s.action)).toEqual(groups.flatMap((g) => g.actions));
      expect(Math.max(...guest.inFlightAfterSend)).toBeLessThanOrEqual(budget);
      expect(guest.observedTransitions()).toBe(sent.length);
      // Groups share sends (with a budget of 5 transitions, a keystroke's 2-4 mostly go alone).
      expect(guest.sends.length).toBeLessThanOrEqual(cost === VIRTIO_QMP ? groups.length / 3 : budget < 20 ? groups.length : groups.length - 1);
    });
  }

  it('fills the window when the guest keeps up: the rate is budget / round trip, not one key per round trip', async () => {
    const time = { now: 0 };
    const guest = new SimulatedGuest(time, VIRTIO_QMP, () => 10, 10); // reads 10 events/ms, observed 10 ms later
    const groups = textToKeystrokes('abcdefghijklmnopqrstuvwxyz'.repeat(20), 'us');
    await windowed(guest, time, { budget: 56, cost: VIRTIO_QMP, maxRoundTripMs: 100 }).send(groups);
    const keysPerS = (groups.length * 1000) / time.now;
    // 56 events ≈ 26 keystrokes per ~12 ms round trip: well above 1000 keys/s here.
    expect(keysPerS).toBeGreaterThan(1000);
    expect(Math.max(...guest.inFlightAfterSend)).toBeGreaterThan(56 - windowUnit({ budget: 56, cost: VIRTIO_QMP, maxRoundTripMs: 100 }));
  });

  it('a group larger than the window goes alone once nothing is in flight', async () => {
    const time = { now: 0 };
    const guest = new SimulatedGuest(time, CONSERVATIVE_COST, () => 1, 2);
    const big = { label: 'chord', actions: ['A', 'B', 'C', 'D'].flatMap((k) => [key(`KEY_${k}`, true)]).concat(['A', 'B', 'C', 'D'].map((k) => key(`KEY_${k}`, false))) };
    await windowed(guest, time, { budget: 6, cost: CONSERVATIVE_COST, maxRoundTripMs: 100 }).send([{ actions: [key('KEY_X', true), key('KEY_X', false)] }, big]);
    expect(guest.sends).toEqual([2, 8]);
    expect(guest.inFlightAfterSend).toEqual([6, 24]);
  });

  it('times out with ATP_INJECT_FEEDBACK_TIMEOUT naming the transitions and events in flight when nothing is observed', async () => {
    const time = { now: 0 };
    const guest = new SimulatedGuest(time, VIRTIO_QMP, () => 0, 0); // never reads
    await expect(windowed(guest, time, { budget: 10, cost: VIRTIO_QMP, maxRoundTripMs: 100 }, 40).send(textToKeystrokes('abcdefgh', 'us'))).rejects.toMatchObject({
      code: 'ATP_INJECT_FEEDBACK_TIMEOUT',
      // 'abcd' (8 transitions + 1 sync = 9 events) fit the 10; 'e' would make 11.
      details: { inFlight: 8, eventsInFlight: 9, sent: 8, observed: 0 },
    });
  });

  it('refuses a window without a transition count and bad numbers', () => {
    const time = { now: 0 };
    const guest = new SimulatedGuest(time, VIRTIO_QMP, () => 1, 0);
    const counter: ObservationFeedback = { observedCount: () => 0, waitForObserved: () => Promise.resolve() };
    const window = { budget: 56, cost: VIRTIO_QMP, maxRoundTripMs: 100 };
    expect(() => new Pacer({ injector: guest, feedback: counter, policy: { mode: 'closed', maxInFlight: 1, timeoutMs: 10, window } })).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
    expect(() => new Pacer({ injector: guest, feedback: guest, policy: { mode: 'closed', maxInFlight: 1, timeoutMs: 10, window: { ...window, budget: 1.5 } } })).toThrow(
      expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', details: { field: 'window.budget', value: 1.5 } }),
    );
  });
});

describe('the window adapts to the observed round trip', () => {
  const options = { budget: 56, cost: VIRTIO_QMP, maxRoundTripMs: 40 };
  it('stays at the budget while round trips stay below the bound, shrinks by units above it, never below one unit, and grows back', () => {
    const w = new EventWindow(options);
    const unit = windowUnit(options);
    for (let i = 0; i < 50; i++) w.onRoundTrip(10 + (i % 3));
    expect(w.size()).toBe(56);
    const sizes: number[] = [];
    for (let i = 0; i < 200; i++) {
      w.onRoundTrip(150);
      sizes.push(w.size());
    }
    expect(Math.min(...sizes)).toBe(unit);
    expect(sizes.every((s) => s <= 56 && s >= unit)).toBe(true);
    for (let i = 0; i < 300; i++) w.onRoundTrip(10);
    expect(w.size()).toBe(56);
  });

  it('on a guest that reads slowly, keeps fewer events in flight than the budget once it measured the round trip', async () => {
    const time = { now: 0 };
    const guest = new SimulatedGuest(time, VIRTIO_QMP, () => 0.4, 2); // 400 events/s: a full window waits 140 ms
    await windowed(guest, time, { ...options, maxRoundTripMs: 40 }).send(textToKeystrokes('abcdefghijklmnopqrstuvwxyz'.repeat(20), 'us'));
    const late = guest.inFlightAfterSend.slice(-40);
    expect(Math.max(...late)).toBeLessThan(56);
  });
});

describe('open loop: deadlines', () => {
  const openRig = (rate: number, sendMs: () => number): { pacer: Pacer; downs: number[] } => {
    const time = { now: 0 };
    const downs: number[] = [];
    const injector: Injector = {
      name: 'simulated',
      screen: { width: 800, height: 600 },
      send: (actions) => {
        const at = time.now;
        for (const a of actions) if (a.kind === 'key' && a.down && !a.key.includes('SHIFT')) downs.push(at);
        time.now += sendMs();
        return Promise.resolve(actions.map((action, i) => ({ id: i + 1, action, sentAt: at })));
      },
      close: () => Promise.resolve(),
    };
    const pacing = resolvePacing(undefined, { rate });
    const pacer = new Pacer({
      injector,
      policy: policyFor(pacing, {}),
      clock: () => time.now,
      sleep: (ms) => {
        time.now += ms + 0.3; // timers fire late
        return Promise.resolve();
      },
    });
    return { pacer, downs };
  };
  const achieved = (downs: readonly number[]): number => ((downs.length - 1) * 1000) / ((downs.at(-1) ?? 0) - (downs[0] ?? 0));

  it('catches up in one call: phases already due when a slow call returns go together, and every action goes once, in order', async () => {
    const calls: number[] = [];
    const time = { now: 0 };
    const sent: InputAction[] = [];
    const injector: Injector = {
      name: 'simulated',
      screen: { width: 800, height: 600 },
      send: (actions) => {
        calls.push(actions.length);
        sent.push(...actions);
        const at = time.now;
        time.now += 3; // every call takes 3 ms; at 500 keys/s a phase is due every 1 ms
        return Promise.resolve(actions.map((action, i) => ({ id: i + 1, action, sentAt: at })));
      },
      close: () => Promise.resolve(),
    };
    const pacer = new Pacer({ injector, policy: policyFor(resolvePacing(undefined, { rate: 500 }), {}), clock: () => time.now, sleep: (ms) => ((time.now += ms), Promise.resolve()) });
    const groups = textToKeystrokes('abcdefghij'.repeat(10), 'us');
    await pacer.send(groups);
    expect(sent).toEqual(groups.flatMap((g) => g.actions));
    expect(calls.length).toBeLessThan(groups.length); // 200 phases in far fewer calls
    expect(Math.max(...calls)).toBeGreaterThanOrEqual(3);
    expect((groups.length * 1000) / time.now).toBeGreaterThan(450); // the nominal 500 keys/s, within 10 %
  });

  for (const [rate, slowest] of [[30, 4], [60, 4], [120, 4], [200, 2.5]] as const) {
    it(`achieves ${rate} keystrokes/s within 2 % when calls take 0.5-${slowest} ms and now and then 12 ms`, async () => {
      const random = prng(rate);
      const { pacer, downs } = openRig(rate, () => (random() < 0.03 ? 12 : 0.5 + (slowest - 0.5) * random()));
      await pacer.send(textToKeystrokes('abcdefghijklmnopqrstuvwxyz'.repeat(12), 'us'));
      expect(Math.abs(achieved(downs) - rate) / rate).toBeLessThan(0.02);
    });
  }
});
