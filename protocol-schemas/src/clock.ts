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
}

export function clockSample(t: ClockTimestamps): ClockSample {
  return { offsetMs: (t.t2 - t.t1 + (t.t3 - t.t4)) / 2, delayMs: t.t4 - t.t1 - (t.t3 - t.t2) };
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
  return { offsetMs, uncertaintyMs, delayMs: best.delayMs, samples: valid.length };
}

/** A remote (guest) timestamp on the local (host) clock. */
export function toLocalTime(remoteT: number, estimate: Pick<ClockEstimate, 'offsetMs'>): number {
  return remoteT - estimate.offsetMs;
}

/** A local timestamp on the remote clock. */
export function toRemoteTime(localT: number, estimate: Pick<ClockEstimate, 'offsetMs'>): number {
  return localT + estimate.offsetMs;
}
