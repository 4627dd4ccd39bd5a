/**
 * The rate search of `atp-host calibrate`, on any probe (a verification run at
 * a rate): up from `startRate`, doubling while runs pass (down, halving, while
 * the first ones fail), then bisection (geometric midpoints, whole keys/s)
 * between the highest pass and the lowest failure until they are within
 * `resolution` of each other, then a confirming run at the highest pass; a
 * confirming run that fails makes that rate a failure and the search confirms
 * the next lower one. Every run counts against `maxRuns`, so the search ends in
 * bounded time. Pure: the probe is injected.
 */
import { AtpError } from '@atp/protocol';

export interface SearchOptions {
  /** First rate tried, keystrokes/s. */
  startRate: number;
  /** Never tries above this. */
  maxRate: number;
  /** Never tries below this; a failure here ends the search without a rate. */
  minRate: number;
  /** Stop bisecting when lowest failure / highest pass <= 1 + resolution. */
  resolution: number;
  /** Most runs, confirmations included. */
  maxRuns: number;
}

export const DEFAULT_SEARCH: SearchOptions = { startRate: 30, maxRate: 480, minRate: 5, resolution: 0.15, maxRuns: 10 };

export interface SearchStep<P> {
  rate: number;
  phase: 'explore' | 'bisect' | 'confirm';
  pass: boolean;
  result: P;
}

export interface SearchOutcome<P> {
  /** The highest rate that passed and was confirmed; undefined when none did. */
  rate: number | undefined;
  /** The lowest rate that failed (or failed its confirmation), if one did. */
  failedAt: number | undefined;
  /** The confirming run's result. */
  confirmed: P | undefined;
  steps: SearchStep<P>[];
}

export function checkSearch(options: SearchOptions): void {
  const bad = (field: string, value: number, why: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', `calibrate: ${field} ${value}: ${why}`, { details: { field, value } });
  for (const [field, value] of [['startRate', options.startRate], ['maxRate', options.maxRate], ['minRate', options.minRate]] as const) {
    if (!Number.isFinite(value) || value <= 0) throw bad(field, value, 'expected keystrokes per second > 0');
  }
  if (options.minRate > options.startRate || options.startRate > options.maxRate) throw bad('startRate', options.startRate, `expected minRate (${options.minRate}) <= startRate <= maxRate (${options.maxRate})`);
  if (!Number.isFinite(options.resolution) || options.resolution <= 0) throw bad('resolution', options.resolution, 'expected a fraction > 0');
  if (!Number.isInteger(options.maxRuns) || options.maxRuns < 2) throw bad('maxRuns', options.maxRuns, 'expected a whole number >= 2 (one search run and the confirmation)');
}

export async function searchRate<P>(probe: (rate: number) => Promise<{ pass: boolean; result: P }>, options: SearchOptions = DEFAULT_SEARCH): Promise<SearchOutcome<P>> {
  checkSearch(options);
  const steps: SearchStep<P>[] = [];
  const run = async (rate: number, phase: SearchStep<P>['phase']): Promise<SearchStep<P>> => {
    const { pass, result } = await probe(rate);
    const step = { rate, phase, pass, result };
    steps.push(step);
    return step;
  };
  const left = (): number => options.maxRuns - steps.length;
  let lo: number | undefined;
  let hi: number | undefined;
  // Explore, keeping one run for the confirmation.
  for (let rate = Math.round(options.startRate); left() > 1; ) {
    const step = await run(rate, 'explore');
    if (step.pass) {
      lo = rate;
      if (hi !== undefined || rate >= options.maxRate) break;
      rate = Math.min(options.maxRate, rate * 2);
    } else {
      hi = rate;
      if (lo !== undefined) break;
      const lower = Math.round(rate / 2);
      if (lower < options.minRate) break;
      rate = lower;
    }
  }
  // Bisect.
  while (lo !== undefined && hi !== undefined && hi / lo > 1 + options.resolution && left() > 1) {
    const mid = Math.round(Math.sqrt(lo * hi));
    if (mid <= lo || mid >= hi) break;
    if ((await run(mid, 'bisect')).pass) lo = mid;
    else hi = mid;
  }
  // Confirm; a failed confirmation steps down by the resolution.
  while (lo !== undefined && left() > 0) {
    const step = await run(lo, 'confirm');
    if (step.pass) return { rate: lo, failedAt: hi, confirmed: step.result, steps };
    hi = lo;
    const lower = Math.floor(lo / (1 + options.resolution));
    lo = lower >= options.minRate && lower < lo ? lower : undefined;
  }
  return { rate: undefined, failedAt: hi, confirmed: undefined, steps };
}
