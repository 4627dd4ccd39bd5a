/**
 * Latency of matched transitions: latency = (observed.t − clock.offsetMs) −
 * injected.sentAt, i.e. the guest timestamp moved onto the host clock minus the
 * host's send time (clock.ts: offset = agent clock − host clock).
 *
 * Percentiles use the nearest-rank method: the p-th percentile of n sorted values
 * is the value at rank ceil(p/100 · n) (1-based), always an observed value, never
 * an interpolation.
 *
 * Negative latencies. Input cannot arrive before it was sent, so a latency below
 * −(uncertainty + slack) means the clock estimate is wrong (a stepped guest
 * clock, a skewed ping). The values are NOT clamped: the statistics stay what
 * was measured, and one finding of kind 'error' says how many were impossible and
 * by how much. That finding concerns the measurement, not the input: it does not
 * fail the verdict (matching is by order, never by time). Negatives within the
 * uncertainty are expected noise and pass silently.
 */
import type { ClockEstimate, Finding } from '@atp/protocol';
import type { LatencyPair } from './types.js';

export interface LatencyStats {
  n: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  clockOffsetMs: number;
  clockUncertaintyMs: number;
}

export type ClockInput = Pick<ClockEstimate, 'offsetMs' | 'uncertaintyMs'>;

/** Nearest-rank percentile of ascending-sorted values (p in 0..100); NaN for none. */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

export function latencyOf(pair: LatencyPair, clock: ClockInput): number {
  return pair.t - clock.offsetMs - pair.sentAt;
}

export interface LatencyResult {
  /** Absent when there was nothing to measure. */
  stats?: LatencyStats;
  /** Every latency in pair order, ms. */
  values: number[];
  /** The 'error' finding about impossible negative latencies, if any. */
  finding?: Finding;
}

export function computeLatency(pairs: readonly LatencyPair[], clock: ClockInput, slackMs = 1): LatencyResult {
  const values = pairs.map((p) => latencyOf(p, clock));
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { values };
  const sorted = [...finite].sort((a, b) => a - b);
  const stats: LatencyStats = {
    n: sorted.length,
    p50Ms: nearestRank(sorted, 50),
    p95Ms: nearestRank(sorted, 95),
    p99Ms: nearestRank(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    clockOffsetMs: clock.offsetMs,
    clockUncertaintyMs: Math.max(0, clock.uncertaintyMs),
  };
  const limit = -(stats.clockUncertaintyMs + slackMs);
  const impossible = sorted.filter((v) => v < limit);
  const result: LatencyResult = { stats, values };
  const worst = impossible[0];
  if (worst !== undefined) {
    result.finding = {
      kind: 'error',
      message:
        `${impossible.length} of ${sorted.length} latencies are negative beyond the clock uncertainty ` +
        `(min ${worst.toFixed(1)} ms, uncertainty ±${stats.clockUncertaintyMs.toFixed(1)} ms): the clock offset estimate ` +
        `(${clock.offsetMs.toFixed(1)} ms) is wrong, latency figures are unreliable`,
      observed: { impossible: impossible.length, minLatencyMs: worst, clockOffsetMs: clock.offsetMs, clockUncertaintyMs: stats.clockUncertaintyMs },
    };
  }
  return result;
}
