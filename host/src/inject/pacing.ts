/**
 * Pacing: when each keystroke group (the actions of one character or combo) goes
 * through an Injector.
 *
 * A group is cut into phases: a new phase starts where the group turns from
 * pressing to releasing (a "hold" boundary) or from releasing to pressing (a
 * "gap" boundary, e.g. between a dead key and the next key). Moves and wheels
 * join the phase they are in.
 *
 * - Open loop {holdMs, gapMs}: send a phase, wait holdMs at a hold boundary and
 *   gapMs at a gap boundary and between groups. Phases with no wait between them
 *   share one send (the injector still splits calls at its batch limit), so
 *   holdMs = 0 puts a key's down and up in one call and holdMs = gapMs = 0 sends
 *   everything at once. Waits run to deadlines: a phase is due its wait after the
 *   previous phase was *due*, not after that send returned, so the time a send
 *   takes is not added to every interval and the achieved rate is the nominal
 *   one. A phase that is late by up to CATCH_UP_INTERVALS of its own wait (at
 *   least CATCH_UP_MS) goes at once, together with every later phase already
 *   due, in one injector call (the schedule catches up without paying a call
 *   per phase, so a slow call or a late timer does not lower the rate); a
 *   schedule that fell further behind (a stalled send) restarts from now
 *   instead of catching up in a burst. Above the rate at which one phase per
 *   call keeps up, phases are sent in bursts: what a guest's input path does
 *   with a burst (QEMU's AT keyboard holds 16 bytes) is what calibrate finds.
 * - Closed loop {maxInFlight, timeoutMs, holdMs?}: a key press is in flight from
 *   its send until the observer has seen it. A group is sent only when its presses
 *   keep the number in flight <= maxInFlight (a group larger than that waits until
 *   nothing is in flight); send() resolves when every press has been observed. No
 *   progress within timeoutMs -> ATP_INJECT_FEEDBACK_TIMEOUT with the count in flight.
 *   The observer's count is taken at the start of send(): it must count only the
 *   presses this pacer sends (key downs, modifiers included) from then on.
 * - Closed loop with an event window ({..., window}): what is in flight is counted
 *   in the events the guest's evdev client buffer queues for it (64 slots; a slow
 *   reader loses everything queued: SYN_DROPPED), not in presses. Every key
 *   transition is `eventsPerTransition` events (EV_KEY, plus MSC_SCAN on the AT and
 *   USB keyboards) and every input sync one SYN_REPORT (QMP into the virtio
 *   keyboard: one per call of up to 16 transitions; the AT keyboard's driver and
 *   SPICE/VNC input: one per transition). A transition is in flight from its send
 *   until the observer counted it; the observer sees it only after the agent read
 *   it, so the guest's queues (evdev's, and QEMU's 64-entry virtio queue) hold at
 *   most what is in flight. As many groups as fit go in one injector send (QMP
 *   packs 8 pairs per call), once at least one unit (a sync group's events, at
 *   least a quarter of the budget) is free. The window starts at the budget and
 *   adapts to the observed round trip (send -> counted): it shrinks by one unit
 *   while the smoothed round trip exceeds maxRoundTripMs (keys wait in the
 *   guest, latency figures grow) and grows back by one unit while it is below
 *   3/4 of that; never above the budget, never below one unit (EventWindow).
 *   Counting needs the observer's transition count (observedTransitions,
 *   waitForTransitions).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@atp/protocol';
import { hostNow } from '../util/clock.js';
import { timerDelay } from '../util/timers.js';
import type { InjectedAction, Injector, InputAction } from './actions.js';
import { phases, type Phase } from './phases.js';
import { EventWindow, transitionEvents, windowUnit, type EventWindowOptions } from './event-window.js';


/** What the guest has seen so far; the orchestration layer backs it with the hub's event stream. */
export interface ObservationFeedback {
  /** Key presses (key-down events) observed so far, from any fixed origin. */
  observedCount(): number;
  /**
   * Resolves once observedCount() >= count, or when timeoutMs has passed (whichever
   * comes first: the pacer checks the count itself); rejects only when the
   * observation source failed.
   */
  waitForObserved(count: number, timeoutMs: number): Promise<void>;
  /** Key transitions (downs and ups, not repeats) observed so far; the event window counts these. */
  observedTransitions?(): number;
  /** Like waitForObserved, for observedTransitions(). */
  waitForTransitions?(count: number, timeoutMs: number): Promise<void>;
}

export type PacingPolicy =
  | { mode: 'open'; holdMs: number; gapMs: number }
  | { mode: 'closed'; maxInFlight: number; timeoutMs: number; holdMs?: number; window?: EventWindowOptions };

/** One group of actions sent together as a unit of pacing (a character, a combo, a click). */
export interface ActionGroup {
  label?: string;
  actions: readonly InputAction[];
}

export interface PacerOptions {
  injector: Injector;
  policy: PacingPolicy;
  /** Required for the closed loop. */
  feedback?: ObservationFeedback;
  /** Clock and sleep for the open loop's deadlines (tests pass a simulated pair; default hostNow and timers). */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

const presses = (actions: readonly InputAction[]): number => actions.filter((a) => a.kind === 'key' && a.down).length;

/** A phase late by up to this many of its own waits, or CATCH_UP_MS, goes at once (catching up); later, the schedule restarts. */
export const CATCH_UP_INTERVALS = 4;
export const CATCH_UP_MS = 25;

function checkMs(value: number, field: string): void {
  if (!Number.isFinite(value) || value < 0) throw new AtpError('ATP_SCHEMA_INVALID', `${field} must be a finite number >= 0, got ${value}`, { details: { field, value } });
}

export class Pacer {
  private readonly injector: Injector;
  private readonly policy: PacingPolicy;
  private readonly feedback: ObservationFeedback | undefined;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: PacerOptions) {
    this.injector = options.injector;
    this.policy = options.policy;
    this.feedback = options.feedback;
    this.clock = options.clock ?? hostNow;
    this.sleep = options.sleep ?? ((ms) => sleep(timerDelay(ms)));
    if (options.policy.mode === 'open') {
      checkMs(options.policy.holdMs, 'holdMs');
      checkMs(options.policy.gapMs, 'gapMs');
    } else {
      const { maxInFlight, timeoutMs, holdMs = 0 } = options.policy;
      if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
        throw new AtpError('ATP_SCHEMA_INVALID', `maxInFlight must be an integer >= 1, got ${maxInFlight}`, { details: { field: 'maxInFlight', value: maxInFlight } });
      }
      checkMs(timeoutMs, 'timeoutMs');
      checkMs(holdMs, 'holdMs');
      if (options.feedback === undefined) throw new AtpError('ATP_SCHEMA_INVALID', 'closed-loop pacing needs an ObservationFeedback', { details: { field: 'feedback' } });
      const window = options.policy.window;
      if (window !== undefined) {
        const { budget, cost } = window;
        const integers: [number, string, number][] = [[budget, 'window.budget', 2], [cost.eventsPerTransition, 'window.cost.eventsPerTransition', 1], [cost.transitionsPerSync, 'window.cost.transitionsPerSync', 1]];
        for (const [value, field, min] of integers) {
          if (!Number.isInteger(value) || value < min) throw new AtpError('ATP_SCHEMA_INVALID', `${field} must be an integer >= ${min}, got ${value}`, { details: { field, value } });
        }
        checkMs(window.maxRoundTripMs, 'window.maxRoundTripMs');
        if (options.feedback.observedTransitions === undefined || options.feedback.waitForTransitions === undefined) {
          throw new AtpError('ATP_SCHEMA_INVALID', 'an event window needs an ObservationFeedback that counts key transitions', { details: { field: 'feedback' } });
        }
      }
    }
  }

  /** Sends the groups in order under the policy; resolves with every action as stamped by the injector. */
  async send(groups: readonly ActionGroup[], context: { step?: number } = {}): Promise<InjectedAction[]> {
    if (this.policy.mode === 'open') return this.sendOpen(groups, this.policy, context);
    if (this.policy.window !== undefined) return this.sendWindowed(groups, this.policy.window, this.policy.timeoutMs, this.policy.holdMs ?? 0, context);
    return this.sendClosed(groups, this.policy, context);
  }

  private async sendOpen(groups: readonly ActionGroup[], policy: { holdMs: number; gapMs: number }, context: { step?: number }): Promise<InjectedAction[]> {
    return this.sendPhases(groups.flatMap((g, i) => phases(g.actions, policy.holdMs, policy.gapMs, i === 0 ? 0 : policy.gapMs)), context);
  }

  /** Sends phases in order, waiting before each; phases with no wait before them join the previous send. */
  private async sendPhases(all: readonly Phase[], context: { step?: number }): Promise<InjectedAction[]> {
    const merged: Phase[] = [];
    for (const phase of all) {
      const last = merged[merged.length - 1];
      if (last !== undefined && phase.waitMs === 0) last.actions.push(...phase.actions);
      else merged.push({ actions: [...phase.actions], waitMs: phase.waitMs });
    }
    const injected: InjectedAction[] = [];
    let due = this.clock();
    for (let i = 0; i < merged.length; ) {
      const phase = merged[i] as Phase;
      if (i > 0 && phase.waitMs > 0) due = await this.waitUntilDue(due, phase.waitMs);
      const batch = [...phase.actions];
      // Later phases already due join this call: a schedule that fell behind catches up in one send, not one call each.
      for (i++; i < merged.length; i++) {
        const later = merged[i] as Phase;
        if (due + later.waitMs > this.clock()) break;
        due += later.waitMs;
        batch.push(...later.actions);
      }
      injected.push(...(await this.injector.send(batch, context)));
    }
    return injected;
  }

  /** Sleeps until `waitMs` after `previousDue`; returns the new phase's due time (now, if the schedule was more than one interval behind). */
  private async waitUntilDue(previousDue: number, waitMs: number): Promise<number> {
    const due = previousDue + waitMs;
    const now = this.clock();
    if (due > now) {
      await this.sleep(due - now);
      return due;
    }
    return now - due > Math.max(CATCH_UP_INTERVALS * waitMs, CATCH_UP_MS) ? now : due;
  }

  /** The closed loop bounded in evdev events (see the header); resolves when every transition sent was observed. */
  private async sendWindowed(groups: readonly ActionGroup[], options: EventWindowOptions, timeoutMs: number, holdMs: number, context: { step?: number }): Promise<InjectedAction[]> {
    const feedback = this.feedback as Required<ObservationFeedback>;
    const base = feedback.observedTransitions();
    const window = new EventWindow(options);
    const unit = windowUnit(options);
    const cum = [0]; // cum[k]: events of the first k transitions sent
    const chunks: { end: number; at: number }[] = []; // sends not yet fully observed: last transition index, send time
    const injected: InjectedAction[] = [];
    const observed = (): number => {
      const seen = Math.min(feedback.observedTransitions() - base, cum.length - 1);
      const now = this.clock();
      for (let c = chunks[0]; c !== undefined && c.end <= seen; c = chunks[0]) {
        window.onRoundTrip(now - c.at);
        chunks.shift();
      }
      return seen;
    };
    const costOf = (actions: readonly InputAction[]): number[] => transitionEvents(actions, holdMs, options.cost);
    let next = 0;
    while (next < groups.length) {
      const seen = observed();
      const sent = cum.length - 1;
      const inFlight = (cum[sent] ?? 0) - (cum[seen] ?? 0);
      const free = window.size() - inFlight;
      // Everything that fits, or one group alone when nothing is in flight (a group larger than the window).
      let take: InputAction[] = [];
      let marks: number[] = [];
      let end = next;
      for (let g = groups[end]; g !== undefined; g = groups[end]) {
        const more = [...take, ...g.actions];
        const moreMarks = costOf(more);
        if (sum(moreMarks) > free && !(end === next && inFlight === 0)) break;
        take = more;
        marks = moreMarks;
        end++;
      }
      const wanted = Math.min(unit, window.size());
      if (inFlight > 0 && (end === next || (sum(marks) < wanted && end < groups.length))) {
        // Wait until a unit (or the next group, if larger) is free: the observed events must reach this.
        const need = Math.max(wanted, sum(costOf(groups[next]?.actions ?? [])));
        const target = (cum[sent] ?? 0) - (window.size() - need);
        let k = seen + 1;
        while (k < sent && (cum[k] ?? 0) < target) k++;
        await this.waitTransitions(feedback, base, k, sent, inFlight, timeoutMs, groups[next]?.label);
        continue;
      }
      const at = this.clock();
      injected.push(...(await this.sendPhases(phases(take, holdMs, 0, 0), context)));
      for (const m of marks) cum.push((cum[cum.length - 1] ?? 0) + m);
      if (marks.length > 0) chunks.push({ end: cum.length - 1, at });
      next = end;
    }
    const sent = cum.length - 1;
    await this.waitTransitions(feedback, base, sent, sent, (cum[sent] ?? 0) - (cum[observed()] ?? 0), timeoutMs, undefined);
    return injected;
  }

  private async waitTransitions(feedback: Required<ObservationFeedback>, base: number, needed: number, sent: number, eventsInFlight: number, timeoutMs: number, next: string | undefined): Promise<void> {
    if (needed <= 0 || feedback.observedTransitions() - base >= needed) return;
    const ac = new AbortController();
    await Promise.race([feedback.waitForTransitions(base + needed, timeoutMs), sleep(timerDelay(timeoutMs), undefined, { signal: ac.signal }).catch(() => undefined)]).finally(() => ac.abort());
    const observed = feedback.observedTransitions() - base;
    if (observed >= needed) return;
    const what = next === undefined ? 'before finishing' : `before sending ${JSON.stringify(next)}`;
    throw new AtpError('ATP_INJECT_FEEDBACK_TIMEOUT', `Closed-loop pacing: ${sent - observed} key transition(s) (${eventsInFlight} guest events) still in flight after ${timeoutMs} ms ${what} (sent ${sent}, observed ${observed})`, {
      details: { inFlight: sent - observed, eventsInFlight, sent, observed, timeoutMs },
    });
  }

  private async sendClosed(groups: readonly ActionGroup[], policy: { maxInFlight: number; timeoutMs: number; holdMs?: number }, context: { step?: number }): Promise<InjectedAction[]> {
    const feedback = this.feedback as ObservationFeedback;
    const base = feedback.observedCount();
    let sent = 0;
    const injected: InjectedAction[] = [];
    for (const group of groups) {
      const count = presses(group.actions);
      // Observed presses needed before this group keeps the number in flight <= maxInFlight.
      const needed = count > policy.maxInFlight ? sent : sent + count - policy.maxInFlight;
      await this.waitUntil(feedback, base, needed, sent, policy.timeoutMs, group.label);
      injected.push(...(await this.sendPhases(phases(group.actions, policy.holdMs ?? 0, 0, 0), context)));
      sent += count;
    }
    await this.waitUntil(feedback, base, sent, sent, policy.timeoutMs, undefined);
    return injected;
  }

  private async waitUntil(feedback: ObservationFeedback, base: number, needed: number, sent: number, timeoutMs: number, next: string | undefined): Promise<void> {
    if (needed <= 0 || feedback.observedCount() - base >= needed) return;
    const ac = new AbortController();
    await Promise.race([feedback.waitForObserved(base + needed, timeoutMs), sleep(timerDelay(timeoutMs), undefined, { signal: ac.signal }).catch(() => undefined)]).finally(() => ac.abort());
    const observed = feedback.observedCount() - base;
    if (observed >= needed) return;
    const inFlight = sent - observed;
    const what = next === undefined ? 'before finishing' : `before sending ${JSON.stringify(next)}`;
    throw new AtpError('ATP_INJECT_FEEDBACK_TIMEOUT', `Closed-loop pacing: ${inFlight} key press(es) still in flight after ${timeoutMs} ms ${what} (sent ${sent}, observed ${observed})`, {
      details: { inFlight, sent, observed, timeoutMs },
    });
  }
}
