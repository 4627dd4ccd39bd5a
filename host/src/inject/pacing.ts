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
 *   one. A schedule that fell more than one interval behind (a stalled send)
 *   restarts from now instead of catching up in a burst.
 * - Closed loop {maxInFlight, timeoutMs, holdMs?}: a key press is in flight from
 *   its send until the observer has seen it. A group is sent only when its presses
 *   keep the number in flight <= maxInFlight (a group larger than that waits until
 *   nothing is in flight); send() resolves when every press has been observed. No
 *   progress within timeoutMs -> ATP_INJECT_FEEDBACK_TIMEOUT with the count in flight.
 *   The observer's count is taken at the start of send(): it must count only the
 *   presses this pacer sends (key downs, modifiers included) from then on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError } from '@atp/protocol';
import { hostNow } from '../util/clock.js';
import { timerDelay } from '../util/timers.js';
import type { InjectedAction, Injector, InputAction } from './actions.js';

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
}

export type PacingPolicy =
  | { mode: 'open'; holdMs: number; gapMs: number }
  | { mode: 'closed'; maxInFlight: number; timeoutMs: number; holdMs?: number };

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

interface Phase {
  actions: InputAction[];
  /** Wait before this phase, in ms. */
  waitMs: number;
}

const direction = (a: InputAction): 'down' | 'up' | 'other' => (a.kind === 'key' || a.kind === 'button' ? (a.down ? 'down' : 'up') : 'other');

/** Cuts a group into phases with the wait before each (the first phase waits `firstWaitMs`). */
export function phases(actions: readonly InputAction[], holdMs: number, gapMs: number, firstWaitMs: number): Phase[] {
  const out: Phase[] = [];
  let last: 'down' | 'up' | 'other' = 'other';
  for (const action of actions) {
    const dir = direction(action);
    const current = out[out.length - 1];
    const boundary = current !== undefined && ((last === 'down' && dir === 'up') || (last === 'up' && dir === 'down'));
    if (current === undefined || boundary) out.push({ actions: [action], waitMs: current === undefined ? firstWaitMs : dir === 'up' ? holdMs : gapMs });
    else current.actions.push(action);
    if (dir !== 'other') last = dir;
  }
  return out;
}

const presses = (actions: readonly InputAction[]): number => actions.filter((a) => a.kind === 'key' && a.down).length;

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
    }
  }

  /** Sends the groups in order under the policy; resolves with every action as stamped by the injector. */
  async send(groups: readonly ActionGroup[], context: { step?: number } = {}): Promise<InjectedAction[]> {
    return this.policy.mode === 'open' ? this.sendOpen(groups, this.policy, context) : this.sendClosed(groups, this.policy, context);
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
    for (const [i, phase] of merged.entries()) {
      if (i > 0 && phase.waitMs > 0) due = await this.waitUntilDue(due, phase.waitMs);
      injected.push(...(await this.injector.send(phase.actions, context)));
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
    return now - due > waitMs ? now : due;
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
