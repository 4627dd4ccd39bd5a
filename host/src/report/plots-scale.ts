/**
 * The arithmetic behind the report's plots (plots.ts): "nice" axis ticks
 * (steps of 1, 2, 2.5 or 5 × 10^k), histogram bins with an overflow bin for a
 * long tail, and linear scales from data to pixels. Pure; no SVG here.
 */

export interface Axis {
  lo: number;
  hi: number;
  step: number;
  ticks: number[];
}

const NICE = [1, 2, 2.5, 5, 10];

/** A round step near `raw` (1, 2, 2.5, 5 × 10^k). */
export function niceStep(raw: number): number {
  if (!Number.isFinite(raw) || raw <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / magnitude;
  const nice = NICE.find((n) => n >= fraction - 1e-9) ?? 10;
  return nice * magnitude;
}

/** Drops float noise from tick values (0.30000000000000004 → 0.3). */
const clean = (v: number): number => Number.parseFloat(v.toPrecision(12));

/** An axis from `min` to `max` with about `count` ticks, its ends on ticks. A flat range gets a unit around it. */
export function niceAxis(min: number, max: number, count = 5): Axis {
  let lo = Number.isFinite(min) ? min : 0;
  let hi = Number.isFinite(max) ? max : 1;
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi - lo < 1e-9) {
    const pad = Math.abs(lo) > 1e-9 ? Math.abs(lo) * 0.1 : 1;
    const nonNegative = lo >= 0;
    lo -= pad;
    hi += pad;
    if (nonNegative && lo < 0) lo = 0;
  }
  const step = niceStep((hi - lo) / Math.max(1, count));
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= last + step / 2; v += step) ticks.push(clean(v));
  return { lo: clean(first), hi: clean(last), step, ticks };
}

export interface Bin {
  /** Inclusive lower edge. */
  from: number;
  /** Exclusive upper edge (the overflow bin: the largest value). */
  to: number;
  count: number;
  /** The bin of every value at or past `from` when the tail was cut. */
  overflow?: boolean;
}

export interface Histogram {
  bins: Bin[];
  /** Width of the regular bins. */
  width: number;
  total: number;
}

/**
 * Where a long tail starts, if there is one: with at least 50 values and a
 * maximum past three times the 99th percentile's distance from the minimum,
 * a quarter of that distance past the 99th percentile. Undefined otherwise.
 * `sorted` is ascending.
 */
export function tailCut(sorted: readonly number[]): number | undefined {
  const total = sorted.length;
  if (total < 50) return undefined;
  const min = sorted[0] ?? 0;
  const max = sorted[total - 1] ?? 0;
  const p99 = sorted[Math.min(total - 1, Math.max(0, Math.ceil(0.99 * total) - 1))] ?? max;
  return max - min > 3 * (p99 - min) && p99 > min ? p99 + (p99 - min) * 0.25 : undefined;
}

/**
 * Bins of nice width over `values` (about `target` of them). A long tail
 * (a maximum past three times the 99th percentile, with enough values to
 * tell) goes into one overflow bin at the end, so one stray value does not
 * squash every other bar into a sliver.
 */
export function histogram(values: readonly number[], target = 24): Histogram {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const total = finite.length;
  if (total === 0) return { bins: [], width: 1, total: 0 };
  const min = finite[0] ?? 0;
  const max = finite[total - 1] ?? 0;
  const cut = tailCut(finite);
  const top = cut ?? max;
  const width = niceStep((top - min) / target || 1);
  const start = Math.floor(min / width + 1e-9) * width;
  const regular = Math.max(1, Math.floor((top - start) / width + 1e-9) + 1);
  const bins: Bin[] = Array.from({ length: regular }, (_, i) => ({ from: clean(start + i * width), to: clean(start + (i + 1) * width), count: 0 }));
  const overflowFrom = clean(start + regular * width);
  const overflow: Bin = { from: overflowFrom, to: max, count: 0, overflow: true };
  for (const v of finite) {
    if (cut !== undefined && v >= overflowFrom) {
      overflow.count += 1;
      continue;
    }
    const i = Math.min(regular - 1, Math.max(0, Math.floor((v - start) / width + 1e-9)));
    const bin = bins[i];
    if (bin !== undefined) bin.count += 1;
  }
  if (overflow.count > 0) bins.push(overflow);
  return { bins, width, total };
}

/** A linear map from [d0, d1] onto [r0, r1]. */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0;
  return (v) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0));
}

/** A tick label: as few decimals as the step needs. */
export function tickLabel(value: number, step: number): string {
  const decimals = step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step) - 1e-9));
  return value.toFixed(decimals);
}
