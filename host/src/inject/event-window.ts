/**
 * The closed loop's event window (inject/pacing.ts explains the pacing): what a
 * send adds to the guest's evdev client buffer, counted per key transition
 * (EvdevCost, transitionEvents), the smallest send worth making (windowUnit),
 * and the window itself, adapting to the observed round trip (EventWindow).
 * Pure: the Pacer feeds it.
 */
import type { InputAction } from './actions.js';
import { phases } from './phases.js';

/** What the guest's evdev client buffer queues for the key transitions of one send. */
export interface EvdevCost {
  /** Events per key transition besides the sync: 1 (EV_KEY: virtio keyboard), 2 (MSC_SCAN + EV_KEY: AT keyboard, USB HID). */
  eventsPerTransition: number;
  /** Consecutive key transitions of one send that share one SYN_REPORT: 16 for QMP into the virtio keyboard, 1 where each is synced alone. */
  transitionsPerSync: number;
  /**
   * Most key transitions the device's own queue holds before the guest's driver
   * reads them, where that queue is smaller than evdev's (QEMU's AT keyboard:
   * 16 bytes, up to 3 bytes a transition: 5). The window never holds more.
   */
  deviceQueueTransitions?: number;
}

export interface EventWindowOptions {
  /** Most events in flight (the guest's evdev buffer is 64, one slot of its ring stays empty). */
  budget: number;
  cost: EvdevCost;
  /** Smoothed round trip (send -> observed) above which the window shrinks, in ms. */
  maxRoundTripMs: number;
}

/** The actions of one send as the pacer cuts them into injector calls: at hold boundaries when holdMs > 0, else one. */
function sendUnits(actions: readonly InputAction[], holdMs: number): InputAction[][] {
  if (holdMs === 0) return [[...actions]];
  const units: InputAction[][] = [];
  for (const phase of phases(actions, holdMs, 0, 0)) {
    const last = units[units.length - 1];
    if (last !== undefined && phase.waitMs === 0) last.push(...phase.actions);
    else units.push([...phase.actions]);
  }
  return units;
}

/**
 * The evdev events each key transition of one send adds to the guest's queue,
 * in order: `eventsPerTransition` each, plus the SYN_REPORT on the transition
 * that closes a sync (every `transitionsPerSync` transitions, before a
 * non-key action, and at the end of each call).
 */
export function transitionEvents(actions: readonly InputAction[], holdMs: number, cost: EvdevCost): number[] {
  const marks: number[] = [];
  let run = 0;
  const sync = (): void => {
    if (run > 0) marks[marks.length - 1] = (marks[marks.length - 1] ?? 0) + 1;
    run = 0;
  };
  for (const unit of sendUnits(actions, holdMs)) {
    for (const action of unit) {
      if (action.kind !== 'key') {
        sync();
        continue;
      }
      if (run === cost.transitionsPerSync) sync();
      marks.push(cost.eventsPerTransition);
      run++;
    }
    sync();
  }
  return marks;
}

/** The events of one full sync group, at least a quarter of the budget, at most half of it: the smallest send worth making. */
export function windowUnit(options: EventWindowOptions): number {
  const group = options.cost.eventsPerTransition * options.cost.transitionsPerSync + 1;
  return Math.max(1, Math.min(Math.floor(options.budget / 2), Math.max(group, Math.floor(options.budget / 4))));
}

/**
 * The closed loop's window in events: starts at the budget; shrinks by one unit
 * while the smoothed round trip (EWMA, 1/8) exceeds maxRoundTripMs, grows by
 * one unit while it is below 3/4 of it; between one unit and the budget. By
 * Little's law what is in flight is throughput x round trip, so a round trip
 * over the bound means events wait in the guest: fewer in flight shortens the
 * wait at the same throughput. Pure: the Pacer feeds it round trips.
 */
export class EventWindow {
  private current: number;
  private smoothed: number | undefined;

  constructor(private readonly options: EventWindowOptions, private readonly unit = windowUnit(options)) {
    this.current = options.budget;
  }

  size(): number {
    return this.current;
  }

  /** The smoothed round trip (ms), once there is one. */
  roundTripMs(): number | undefined {
    return this.smoothed;
  }

  onRoundTrip(ms: number): void {
    this.smoothed = this.smoothed === undefined ? ms : this.smoothed + (ms - this.smoothed) / 8;
    if (this.smoothed > this.options.maxRoundTripMs) this.current = Math.max(this.unit, this.current - this.unit);
    else if (this.smoothed < (this.options.maxRoundTripMs * 3) / 4) this.current = Math.min(this.options.budget, this.current + this.unit);
  }
}

