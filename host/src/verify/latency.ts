/**
 * Latency of matched transitions: latency = (observed.t − clock.offsetMs) −
 * injected.sentAt, i.e. the guest timestamp moved onto the host clock minus the
 * host's send time (clock.ts: offset = agent clock − host clock).
 *
 * Percentiles use the nearest-rank method: the p-th percentile of n sorted values
 * is the value at rank ceil(p/100 · n) (1-based), always an observed value, never
 * an interpolation.
 *
 * The offset of each pair. With `clock.fixes` (estimates with their times, e.g.
 * one before and one after the suite), each pair gets the offset valid at its
 * send time and that offset's own bound (clockAt in protocol-schemas clock.ts):
 * a guest clock moves against the host's during a run (1-1.5 ms in a loaded
 * 100 s run under TCG), so one offset from the end of the run misplaces the
 * early events by that much while claiming the bound of one exchange. The send
 * time stands in for the event's time: the offset moves microseconds within a
 * latency. Without fixes every pair gets `clock.offsetMs ± uncertaintyMs`.
 * `clockUncertaintyMs` in the stats is the largest bound any pair was given.
 *
 * A stepped clock. Two fixes whose offsets differ by more than their bounds
 * plus what a clock may slew (CLOCK_SLEW_PPM: NTP slews at most 500 ppm) say
 * the guest or host clock was stepped between them (date -s, an NTP step, a
 * resumed VM). The hull above keeps each latency inside its stated bound, but
 * a bound of seconds makes the figures useless, so clockStepFinding names the
 * step in an 'error' finding (the measurement, not the input: the verdict is
 * unaffected).
 *
 * Negative latencies. Input cannot arrive before it was sent, so a latency below
 * −(its clock uncertainty + slack) means the clock estimate is wrong (a stepped
 * guest clock, a skewed ping) or a send time is (stamped after the input had
 * already left). The values are NOT clamped: the statistics stay what was
 * measured, and one finding of kind 'error' says how many were impossible and
 * by how much. That finding concerns the measurement, not the input: it does not
 * fail the verdict (matching is by order, never by time). Negatives within the
 * uncertainty are expected noise and pass silently.
 */
import { clockAt, clockFixOf, type ClockEstimate, type ClockFix, type Finding } from '@atp/protocol';
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

/** The offset estimate (its summary) and, when known, the fixes it varied through. */
export type ClockInput = Pick<ClockEstimate, 'offsetMs' | 'uncertaintyMs'> & { atMs?: number; fixes?: readonly ClockFix[] };

/** Nearest-rank percentile of ascending-sorted values (p in 0..100); NaN for none. */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

/**
 * The clock of a suite from estimates taken around it (oldest first; a failed
 * one is undefined): the latest is the summary, and the fixes are every fix an
 * estimate carries, or the estimate itself when it says when it was taken.
 * Undefined when there is none.
 */
export function clockAround(estimates: readonly (ClockInput | undefined)[]): ClockInput | undefined {
  const present = estimates.filter((e): e is ClockInput => e !== undefined);
  const latest = present[present.length - 1];
  if (latest === undefined) return undefined;
  const fixes = present.flatMap((e): ClockFix[] => {
    if (e.fixes !== undefined && e.fixes.length > 0) return [...e.fixes];
    const fix = clockFixOf(e);
    return fix === undefined ? [] : [fix];
  });
  return { offsetMs: latest.offsetMs, uncertaintyMs: latest.uncertaintyMs, ...(fixes.length === 0 ? {} : { fixes }) };
}

/** The clock offset (and its bound) that applies to a pair sent at `sentAt`. */
export function offsetFor(sentAt: number, clock: ClockInput): { offsetMs: number; uncertaintyMs: number } {
  const fixes = clock.fixes ?? [];
  if (fixes.length > 0 && Number.isFinite(sentAt)) return clockAt(fixes, sentAt);
  return { offsetMs: clock.offsetMs, uncertaintyMs: Math.max(0, clock.uncertaintyMs) };
}

export function latencyOf(pair: LatencyPair, clock: ClockInput): number {
  return pair.t - offsetFor(pair.sentAt, clock).offsetMs - pair.sentAt;
}

export interface LatencyResult {
  /** Absent when there was nothing to measure. */
  stats?: LatencyStats;
  /** Every latency in pair order, ms. */
  values: number[];
  /** The 'error' finding about impossible negative latencies, if any. */
  finding?: Finding;
}

/** More than any clock slews (NTP's limit is 500 ppm); an offset moving faster was stepped. */
export const CLOCK_SLEW_PPM = 1000;

/** The 'error' finding naming the largest step between consecutive clock fixes, if any offset moved faster than a slew. */
export function clockStepFinding(clock: ClockInput, slackMs = 1): Finding | undefined {
  const fixes = [...(clock.fixes ?? [])].filter((f) => [f.atMs, f.offsetMs, f.uncertaintyMs].every(Number.isFinite)).sort((a, b) => a.atMs - b.atMs);
  let worst: { stepMs: number; spanMs: number; allowedMs: number } | undefined;
  for (let i = 1; i < fixes.length; i++) {
    const a = fixes[i - 1];
    const b = fixes[i];
    if (a === undefined || b === undefined) continue;
    const stepMs = b.offsetMs - a.offsetMs;
    const allowedMs = Math.max(0, a.uncertaintyMs) + Math.max(0, b.uncertaintyMs) + CLOCK_SLEW_PPM * 1e-6 * (b.atMs - a.atMs) + slackMs;
    if (Math.abs(stepMs) > allowedMs && (worst === undefined || Math.abs(stepMs) > Math.abs(worst.stepMs))) worst = { stepMs, spanMs: b.atMs - a.atMs, allowedMs };
  }
  if (worst === undefined) return undefined;
  const sign = worst.stepMs > 0 ? '+' : '';
  return {
    kind: 'error',
    message:
      `the clock offset (agent − host) moved by ${sign}${worst.stepMs.toFixed(1)} ms within ${(worst.spanMs / 1000).toFixed(1)} s, ` +
      `beyond any slew (±${worst.allowedMs.toFixed(1)} ms): a clock was stepped, latencies of that span carry up to ±${(Math.abs(worst.stepMs) / 2).toFixed(0)} ms and are unreliable`,
    observed: { clockStepMs: worst.stepMs, spanMs: worst.spanMs, allowedMs: worst.allowedMs },
  };
}

export function computeLatency(pairs: readonly LatencyPair[], clock: ClockInput, slackMs = 1): LatencyResult {
  const offsets = pairs.map((p) => offsetFor(p.sentAt, clock));
  const values = pairs.map((p, i) => p.t - (offsets[i]?.offsetMs ?? clock.offsetMs) - p.sentAt);
  const measured = values.flatMap((v, i) => (Number.isFinite(v) ? [{ v, u: offsets[i]?.uncertaintyMs ?? 0 }] : []));
  if (measured.length === 0) return { values };
  const sorted = measured.map((m) => m.v).sort((a, b) => a - b);
  const stats: LatencyStats = {
    n: sorted.length,
    p50Ms: nearestRank(sorted, 50),
    p95Ms: nearestRank(sorted, 95),
    p99Ms: nearestRank(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    clockOffsetMs: clock.offsetMs,
    clockUncertaintyMs: measured.reduce((max, m) => Math.max(max, m.u), 0),
  };
  const impossible = measured.filter((m) => m.v < -(m.u + slackMs)).sort((a, b) => a.v - b.v);
  const result: LatencyResult = { stats, values };
  const worst = impossible[0];
  if (worst !== undefined) {
    result.finding = {
      kind: 'error',
      message:
        `${impossible.length} of ${sorted.length} latencies are negative beyond the clock uncertainty ` +
        `(min ${worst.v.toFixed(1)} ms, uncertainty ±${worst.u.toFixed(1)} ms): the clock offset estimate ` +
        `(${clock.offsetMs.toFixed(1)} ms) is wrong, latency figures are unreliable`,
      observed: { impossible: impossible.length, minLatencyMs: worst.v, clockOffsetMs: clock.offsetMs, clockUncertaintyMs: worst.u },
    };
  }
  return result;
}
