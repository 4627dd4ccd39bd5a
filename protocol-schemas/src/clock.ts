/**
 * Clock-offset estimation from NTP-style four-timestamp pings, pure arithmetic.
 *
 * A ping leaves the local side at t1 (local clock), arrives at t2 and its pong
 * leaves at t3 (both remote clock), and the pong arrives at t4 (local clock).
 * With symmetric paths, offset = remote − local = ((t2 − t1) + (t3 − t4)) / 2 and
 * the network round trip is (t4 − t1) − (t3 − t2).
 *
 * Paths are not symmetric: a ping waits behind whatever keeps the receiver busy
 * (a browser page loading or handling input, a polled virtio port, a loaded
 * event loop) while its pong leaves at once, or the other way round. Causality
 * alone bounds the true offset of every exchange: the ping cannot arrive before
 * it left and the pong cannot arrive before it left, so the offset lies in
 * [t3 − t4, t2 − t1], i.e. within delay/2 of the sample's offset, however
 * lopsided the legs were.
 *
 * Estimator (NTP's clock filter): drop samples with a negative or non-finite
 * delay (impossible, so a clock was stepped or a timestamp is wrong), take the
 * offset of the exchange with the smallest round trip, and report half that round
 * trip as the uncertainty. Averaging the offsets of slower exchanges (a median of
 * the fastest half did) does not cancel the asymmetry, which is one-sided, and
 * claims the best sample's bound for an offset that is not the best sample's:
 * measured with a page on the same machine, it put the offset at +6 to +11 ms
 * with ±1.7 to ±3 ms while the truth was 0. If the samples' intervals do not all
 * overlap the result (a clock stepped or drifted within the window), the
 * uncertainty widens until the interval reaches every one of them.
 *
 * Over time. An estimate describes the clocks at the time of its best exchange
 * (`atMs`); a guest clock under TCG moves against the host's: 4-13 ppm measured
 * here over minutes, and a jump of 1-1.5 ms during a loaded 100 s run. One
 * offset for a whole run is then wrong for its early events by what the offset
 * moved since, while its uncertainty claims the bound of one exchange.
 * `clockAt` gives the offset at the time of each event from fixes (estimates
 * with their times) around it, as an interval that holds if the offset moves
 * monotonically between two neighbouring fixes (a drift, a step in one
 * direction). A rate bound would be tighter near a fix but is broken by such a
 * step; it is used only beyond the fixes, where nothing else bounds the offset.
 */
import { AtpError } from './errors.js';

/** The four timestamps of one ping/pong exchange, in ms. */
export interface ClockTimestamps {
  /** Local clock when the ping was sent. */
  t1: number;
  /** Remote clock when the ping arrived. */
  t2: number;
  /** Remote clock when the pong was sent. */
  t3: number;
  /** Local clock when the pong arrived. */
  t4: number;
}

export interface ClockSample {
  /** Remote clock minus local clock, in ms. */
  offsetMs: number;
  /** Network round trip (remote processing time excluded), in ms. */
  delayMs: number;
  /** Local clock in the middle of the exchange, in ms (absent when not known). */
  atMs?: number;
}

export interface ClockEstimate {
  /** Remote clock minus local clock, in ms. */
  offsetMs: number;
  /**
   * The true offset lies within ±this of `offsetMs`, in ms: a bound from
   * causality, given timestamps on the clocks they claim and clocks that keep
   * the same rate over the samples (the remote's own timestamp resolution is not
   * included).
   */
  uncertaintyMs: number;
  /** The smallest round trip among the samples, in ms (the one the offset comes from). */
  delayMs: number;
  /** Valid samples considered (negative-delay ones excluded). */
  samples: number;
  /** Local clock (ms) of the exchange the offset comes from, when the samples carried their times. */
  atMs?: number;
}

/** An offset estimate and the local time it describes. */
export interface ClockFix {
  /** Local clock, ms. */
  atMs: number;
  /** Remote clock minus local clock at atMs, ms. */
  offsetMs: number;
  /** The true offset at atMs lies within ±this of offsetMs, ms. */
  uncertaintyMs: number;
}

/** The offset at one moment, with its bound. */
export interface ClockAt {
  offsetMs: number;
  uncertaintyMs: number;
}

/**
 * The fastest a clock is taken to drift beyond the last fix, in ppm (µs per s):
 * a margin over the 4-13 ppm measured between a TCG guest and its host. NTP
 * assumes 15 ppm for its dispersion.
 */
export const MAX_CLOCK_DRIFT_PPM = 50;

export function clockSample(t: ClockTimestamps): ClockSample {
  return { offsetMs: (t.t2 - t.t1 + (t.t3 - t.t4)) / 2, delayMs: t.t4 - t.t1 - (t.t3 - t.t2), atMs: (t.t1 + t.t4) / 2 };
}

/** Estimates the offset from pings (raw timestamps or computed samples, oldest first). Throws ATP_CLOCK_NO_SAMPLES. */
export function estimateClockOffset(input: ReadonlyArray<ClockTimestamps | ClockSample>): ClockEstimate {
  const valid = input
    .map((s) => ('offsetMs' in s ? s : clockSample(s)))
    .filter((s) => Number.isFinite(s.offsetMs) && Number.isFinite(s.delayMs) && s.delayMs >= 0);
  let best = valid[0];
  if (best === undefined) {
    throw new AtpError('ATP_CLOCK_NO_SAMPLES', `no usable clock samples (${input.length} given, none with a finite, non-negative round trip)`, {
      details: { given: input.length },
    });
  }
  // The latest of equally fast samples: it reflects the clocks as they are now.
  for (const s of valid) if (s.delayMs <= best.delayMs) best = s;
  const offsetMs = best.offsetMs;
  let uncertaintyMs = best.delayMs / 2;
  // With consistent clocks every sample's interval contains the truth, which is
  // within best.delay/2 of offsetMs, so this only widens for a stepped or drifting clock.
  for (const s of valid) uncertaintyMs = Math.max(uncertaintyMs, Math.abs(s.offsetMs - offsetMs) - s.delayMs / 2);
  const estimate: ClockEstimate = { offsetMs, uncertaintyMs, delayMs: best.delayMs, samples: valid.length };
  if (best.atMs !== undefined && Number.isFinite(best.atMs)) estimate.atMs = best.atMs;
  return estimate;
}

/** The estimate as a fix, if it says when it was taken. */
export function clockFixOf(e: Pick<ClockEstimate, 'offsetMs' | 'uncertaintyMs' | 'atMs'> | undefined): ClockFix | undefined {
  if (e?.atMs === undefined || ![e.atMs, e.offsetMs, e.uncertaintyMs].every(Number.isFinite)) return undefined;
  return { atMs: e.atMs, offsetMs: e.offsetMs, uncertaintyMs: Math.max(0, e.uncertaintyMs) };
}

/**
 * The offset at local time `t` from fixes (any order; see the header). Between
 * fixes, the nearest one at or before `t` and the nearest at or after it bound
 * it by the hull of their intervals: the offset is taken to move monotonically
 * between them (a drift, a step), not at any particular rate, so a step right
 * after the first fix is covered. Beyond the fixes, the nearest one widened by
 * `driftPpm` of its distance. The offset is the middle of the interval, the
 * uncertainty its half width. ATP_CLOCK_NO_SAMPLES without a usable fix.
 */
export function clockAt(fixes: readonly ClockFix[], t: number, driftPpm = MAX_CLOCK_DRIFT_PPM): ClockAt {
  const valid = fixes.filter((f) => [f.atMs, f.offsetMs, f.uncertaintyMs].every(Number.isFinite));
  if (valid.length === 0 || !Number.isFinite(t)) {
    throw new AtpError('ATP_CLOCK_NO_SAMPLES', `no usable clock fix for the offset at ${t} (${fixes.length} given)`, { details: { given: fixes.length } });
  }
  // Of fixes at one time, the tightest.
  const better = (f: ClockFix, than: ClockFix | undefined, closer: boolean): boolean =>
    than === undefined || closer || (f.atMs === than.atMs && f.uncertaintyMs < than.uncertaintyMs);
  let before: ClockFix | undefined;
  let after: ClockFix | undefined;
  for (const f of valid) {
    if (f.atMs <= t && better(f, before, before !== undefined && f.atMs > before.atMs)) before = f;
    if (f.atMs >= t && better(f, after, after !== undefined && f.atMs < after.atMs)) after = f;
  }
  const spread = (f: ClockFix, extra: number): { lo: number; hi: number } => {
    const u = Math.max(0, f.uncertaintyMs) + extra;
    return { lo: f.offsetMs - u, hi: f.offsetMs + u };
  };
  let interval: { lo: number; hi: number };
  if (before !== undefined && after !== undefined) {
    const a = spread(before, 0);
    const b = spread(after, 0);
    interval = { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
  } else {
    // One of them exists: t lies on some side of every fix.
    const nearest = before ?? after ?? valid[0];
    interval = nearest === undefined ? { lo: Number.NaN, hi: Number.NaN } : spread(nearest, Math.max(0, driftPpm) * 1e-6 * Math.abs(t - nearest.atMs));
  }
  return { offsetMs: (interval.lo + interval.hi) / 2, uncertaintyMs: (interval.hi - interval.lo) / 2 };
}

/** A remote (guest) timestamp on the local (host) clock. */
export function toLocalTime(remoteT: number, estimate: Pick<ClockEstimate, 'offsetMs'>): number {
  return remoteT - estimate.offsetMs;
}

/** A local timestamp on the remote clock. */
export function toRemoteTime(localT: number, estimate: Pick<ClockEstimate, 'offsetMs'>): number {
  return localT + estimate.offsetMs;
}
