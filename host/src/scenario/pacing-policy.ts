/**
 * Which pacing a suite runs with: the command line's choice (--rate N,
 * --closed-loop [N]) over the suite's defaults (rate, pacing, holdMs, gapMs,
 * maxInFlight, timeoutMs) over ours. A step's own holdMs/gapMs win over all of
 * these for that step. Pure.
 *
 * The closed loop counts what is in flight in guest events (inject/pacing.ts,
 * event window) unless a number of presses was asked for (--closed-loop N, a
 * suite's maxInFlight): then it keeps that older bound. `rate: calibrated`
 * stays unresolved here (no VM is known yet); runSuite asks the calibration
 * store (calibration-store.ts) for the target's rate.
 */
import { AtpError, type ScenarioV1 } from '@atp/protocol';
import type { ObservationFeedback, PacingPolicy } from '../inject/pacing.js';
import type { EvdevCost } from '../inject/event-window.js';

/** Open-loop default: 50 keystrokes/s, each key held 10 ms, 10 ms between keystrokes. */
export const DEFAULT_HOLD_MS = 10;
export const DEFAULT_GAP_MS = 10;
export const DEFAULT_MAX_IN_FLIGHT = 8;
export const DEFAULT_FEEDBACK_TIMEOUT_MS = 10_000;
/** Guest events in flight: evdev's client buffer holds 64 (63 usable). Measured on the lab VM (virtio keyboard): 56 never overflowed, 63 did once (SYN_DROPPED). */
export const DEFAULT_EVENT_BUDGET = 56;
/** Smoothed round trip (send -> observed at the hub) above which the event window shrinks. */
export const DEFAULT_MAX_ROUND_TRIP_MS = 200;
/**
 * What evdev queues when nothing is known about the guest keyboard, or it is the
 * AT or a USB keyboard: MSC_SCAN + EV_KEY + SYN_REPORT per transition; and the
 * device's own queue in front of evdev: QEMU's PS/2 keyboard drops bytes beyond
 * 16 queued (ps2.c PS2_QUEUE_SIZE), its USB keyboard beyond 16 keycodes, and one
 * QMP call lands whole before the guest runs, so at most 5 transitions (3 bytes
 * each at worst: E0 F0 xx) may be in flight. Measured before this cap: closed
 * loops on the AT keyboard with 18 transitions in flight lost keys.
 */
export const CONSERVATIVE_COST: EvdevCost = { eventsPerTransition: 2, transitionsPerSync: 1, deviceQueueTransitions: 5 };

/** Which VM and injector a calibrated rate belongs to. */
export interface CalibrationKey {
  vm: string;
  host?: string;
  injector: string;
  /** The guest device input is routed to, when the target chose one ("virtio keyboard"). */
  inputDevice?: string;
}

/** Where a suite's `rate: calibrated` is looked up (calibration-store.ts CalibrationStore). */
export interface CalibrationLookup {
  readonly file: string;
  find(key: CalibrationKey): Promise<{ rateKeysPerS: number } | undefined>;
}

export interface PacingFlags {
  /** Open loop at this many keystrokes per second (hold and gap of 500/N ms each). */
  rate?: number;
  /** Closed loop; a number sets maxInFlight (presses) instead of the event window. */
  closedLoop?: boolean | number;
  /** Closed loop: most guest events in flight (default DEFAULT_EVENT_BUDGET). */
  eventBudget?: number;
  /** Closed loop: round trip above which the window shrinks (default DEFAULT_MAX_ROUND_TRIP_MS). */
  maxRoundTripMs?: number;
  /** Where a suite's `rate: calibrated` is looked up. */
  calibration?: CalibrationLookup;
}

export interface ResolvedPacing {
  mode: 'open' | 'closed';
  holdMs: number;
  gapMs: number;
  maxInFlight: number;
  timeoutMs: number;
  /** Closed loop counted in guest events; absent: counted in presses (maxInFlight). */
  window?: { budget: number; maxRoundTripMs: number };
  /** Open loop: the nominal keystrokes/s, when a rate was given. */
  rate?: number;
  /** Open loop at the target's calibrated rate, still to be looked up (runSuite does). */
  calibrated?: true;
}

const usage = (message: string, field: string, value?: unknown): AtpError => new AtpError('ATP_SCHEMA_INVALID', message, { details: { field, ...(value === undefined ? {} : { value }) } });

/** Open loop at `rate` keystrokes/s: hold and gap of 500/rate ms each. */
export function openAtRate(rate: number, base: Pick<ResolvedPacing, 'maxInFlight' | 'timeoutMs'>): ResolvedPacing {
  const half = 500 / rate;
  return { mode: 'open', holdMs: half, gapMs: half, maxInFlight: base.maxInFlight, timeoutMs: base.timeoutMs, rate };
}

export function resolvePacing(defaults: ScenarioV1['defaults'], flags: PacingFlags = {}): ResolvedPacing {
  const closedFlag = flags.closedLoop !== undefined && flags.closedLoop !== false;
  if (flags.rate !== undefined && closedFlag) throw usage('--rate (open loop) and --closed-loop exclude each other', 'pacing');
  if (flags.rate !== undefined && (!Number.isFinite(flags.rate) || flags.rate <= 0)) throw usage(`--rate expects keystrokes per second > 0, got ${flags.rate}`, 'rate', flags.rate);
  if (defaults?.rate !== undefined && defaults.pacing === 'closed') throw usage("a suite's defaults.rate (open loop) and defaults.pacing: closed exclude each other", 'defaults.rate');
  const maxInFlight = typeof flags.closedLoop === 'number' ? flags.closedLoop : (defaults?.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw usage(`--closed-loop expects a whole number of keys in flight >= 1, got ${maxInFlight}`, 'closedLoop', maxInFlight);
  const budget = flags.eventBudget ?? DEFAULT_EVENT_BUDGET;
  if (!Number.isInteger(budget) || budget < 2) throw usage(`the event budget must be a whole number of events >= 2, got ${budget}`, 'eventBudget', budget);
  const maxRoundTripMs = flags.maxRoundTripMs ?? DEFAULT_MAX_ROUND_TRIP_MS;
  if (!Number.isFinite(maxRoundTripMs) || maxRoundTripMs <= 0) throw usage(`maxRoundTripMs must be a finite number > 0, got ${maxRoundTripMs}`, 'maxRoundTripMs', maxRoundTripMs);
  const timeoutMs = defaults?.timeoutMs ?? DEFAULT_FEEDBACK_TIMEOUT_MS;
  const base = { maxInFlight, timeoutMs };
  const closed = closedFlag || (flags.rate === undefined && defaults?.rate === undefined && defaults?.pacing === 'closed');
  if (closed) {
    const presses = typeof flags.closedLoop === 'number' || defaults?.maxInFlight !== undefined;
    return { mode: 'closed', holdMs: defaults?.holdMs ?? 0, gapMs: 0, ...base, ...(presses ? {} : { window: { budget, maxRoundTripMs } }) };
  }
  if (flags.rate !== undefined) return openAtRate(flags.rate, base);
  if (defaults?.rate === 'calibrated') return { mode: 'open', holdMs: DEFAULT_HOLD_MS, gapMs: DEFAULT_GAP_MS, ...base, calibrated: true };
  if (defaults?.rate !== undefined) return openAtRate(defaults.rate, base);
  return { mode: 'open', holdMs: defaults?.holdMs ?? DEFAULT_HOLD_MS, gapMs: defaults?.gapMs ?? DEFAULT_GAP_MS, ...base };
}

/**
 * What the guest's evdev queue holds per key transition for this injector and
 * input device (recorded: the virtio keyboard sends EV_KEY only, the AT
 * keyboard MSC_SCAN + EV_KEY, each then SYN_REPORT; QMP puts up to 16
 * transitions under one sync, the AT keyboard's driver syncs every byte, SPICE
 * and VNC input syncs every key). Unknown devices get the conservative cost.
 */
export function evdevCost(injector: string, inputDevice: string | undefined): EvdevCost {
  if (inputDevice === undefined || !/virtio/i.test(inputDevice)) return CONSERVATIVE_COST;
  return { eventsPerTransition: 1, transitionsPerSync: injector === 'qmp' ? 16 : 1 };
}

/** The Pacer policy for one step, with the step's own holdMs/gapMs applied. */
export function policyFor(pacing: ResolvedPacing, step: { holdMs?: number | undefined; gapMs?: number | undefined }, cost: EvdevCost = CONSERVATIVE_COST): PacingPolicy {
  const holdMs = step.holdMs ?? pacing.holdMs;
  if (pacing.mode === 'closed') {
    const limit = cost.deviceQueueTransitions;
    const budget = (w: { budget: number }): number => (limit === undefined ? w.budget : Math.max(2, Math.min(w.budget, limit * (cost.eventsPerTransition + 1))));
    const window = pacing.window === undefined ? {} : { window: { ...pacing.window, budget: budget(pacing.window), cost } };
    return { mode: 'closed', maxInFlight: pacing.maxInFlight, timeoutMs: pacing.timeoutMs, holdMs, ...window };
  }
  return { mode: 'open', holdMs, gapMs: step.gapMs ?? pacing.gapMs };
}

/** What transitionFeedback needs of an observation (scenario/observer-feedback.ts HubObservation has it). */
export interface TransitionSource extends ObservationFeedback {
  readonly keyTransitions: number;
  waitFor(ready: () => boolean, timeoutMs: number): Promise<boolean>;
  error(): AtpError | undefined;
}

/** The observation as a feedback that also counts key transitions (the event window's unit). */
export function transitionFeedback(source: TransitionSource): Required<ObservationFeedback> {
  return {
    observedCount: () => source.observedCount(),
    waitForObserved: (count, timeoutMs) => source.waitForObserved(count, timeoutMs),
    observedTransitions: () => source.keyTransitions,
    waitForTransitions: async (count, timeoutMs) => {
      await source.waitFor(() => source.keyTransitions >= count, timeoutMs);
      const failure = source.error();
      if (failure !== undefined) throw failure;
    },
  };
}
