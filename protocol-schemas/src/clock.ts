/**
 * Clock-offset estimation from NTP-style four-timestamp pings, pure arithmetic.
 *
 * A ping leaves the local side at t1 (local clock), arrives at t2 and its pong
 * leaves at t3 (both remote clock), and the pong arrives at t4 (local clock).
 * With symmetric paths, offset = remote − local = ((t2 − t1) + (t3 − t4)) / 2 and
 * the network round trip is (t4 − t1) − (t3 − t2). An asymmetric path shifts the
 * offset by at most half the round trip, which is why low-delay samples are the
 * trustworthy ones.
 *
 * Estimator: drop samples with a negative or non-finite delay (impossible, so a
 * clock was stepped or a timestamp is wrong), keep the fastest half by delay (at
 * least one), and take the median of their offsets, which ignores the few that a
 * scheduler stall skewed. Uncertainty is the larger of half the smallest round
 * trip (the NTP error bound of the best sample) and the median absolute
 * deviation of the kept offsets (how much they disagree). It is an estimate, not
 * a hard bound.
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
  /** How far the true offset may plausibly be from `offsetMs`, in ms. */
  uncertaintyMs: number;
  /** The smallest round trip among the samples used, in ms. */
  delayMs: number;
  /** Valid samples considered (negative-delay ones excluded). */
  samples: number;
  /** Samples the median was taken over (the fastest ones). */
  used: number;
}

export interface ClockEstimateOptions {
  /** Fraction of the valid samples kept, fastest first (0 < f <= 1). Default 0.5. */
  keepFraction?: number;
}

export function clockSample(t: ClockTimestamps): ClockSample {
  return { offsetMs: (t.t2 - t.t1 + (t.t3 - t.t4)) / 2, delayMs: t.t4 - t.t1 - (t.t3 - t.t2) };
}

/** Estimates the offset from pings (raw timestamps or computed samples). Throws ATP_CLOCK_NO_SAMPLES. */
export function estimateClockOffset(
  input: ReadonlyArray<ClockTimestamps | ClockSample>,
  options: ClockEstimateOptions = {},
): ClockEstimate {
  const keepFraction = options.keepFraction ?? 0.5;
  if (!(keepFraction > 0 && keepFraction <= 1)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `keepFraction must be in (0, 1], got ${keepFraction}`);
  }
  const valid = input
    .map((s) => ('offsetMs' in s ? s : clockSample(s)))
    .filter((s) => Number.isFinite(s.offsetMs) && Number.isFinite(s.delayMs) && s.delayMs >= 0)
    .sort((a, b) => a.delayMs - b.delayMs);
  const first = valid[0];
  if (first === undefined) {
    throw new AtpError('ATP_CLOCK_NO_SAMPLES', `no usable clock samples (${input.length} given, none with a finite, non-negative round trip)`, {
      details: { given: input.length },
    });
  }
  const kept = valid.slice(0, Math.max(1, Math.ceil(valid.length * keepFraction)));
  const offsets = kept.map((s) => s.offsetMs);
  const offsetMs = median(offsets);
  const spread = median(offsets.map((o) => Math.abs(o - offsetMs)));
  return {
    offsetMs,
    uncertaintyMs: Math.max(first.delayMs / 2, spread),
    delayMs: first.delayMs,
    samples: valid.length,
    used: kept.length,
  };
}

/** A remote (guest) timestamp on the local (host) clock. */
export function toLocalTime(remoteT: number, estimate: Pick<ClockEstimate, 'offsetMs'>): number {
  return remoteT - estimate.offsetMs;
}

/** A local timestamp on the remote clock. */
export function toRemoteTime(localT: number, estimate: Pick<ClockEstimate, 'offsetMs'>): number {
  return localT + estimate.offsetMs;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const hi = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? hi) + hi) / 2;
}
