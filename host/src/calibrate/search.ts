/**
 * The rate search of `atp-host calibrate`, on any probe (a verification run at
 * a rate): up from `startRate`, doubling while runs pass (down, halving, while
 * the first ones fail), then bisection (geometric midpoints, whole keys/s)
 * between the highest pass and the lowest failure until they are within
 * `resolution` of each other. That highest pass is the edge: a run there
 * passed once, and on the next boot or under other load the same rate fails
 * about as often as it passes (seen on the lab VM: a rate found on one boot
 * lost keys on the next). So the rate kept is `margin` below the edge, and
 * `confirmations` runs in a row must pass there; a confirming run that fails
 * makes that rate a failure and the search confirms one resolution step lower
 * (when every rate up to maxRate passed, maxRate itself is confirmed).
 * Every run counts against `maxRuns`, so the search ends in bounded time.
 * Pure: the probe is injected.
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
  /** The kept rate is this fraction below the edge (the highest rate that passed once). */
  margin: number;
  /** Runs in a row that must pass at the kept rate. */
  confirmations: number;
}

export const DEFAULT_SEARCH: SearchOptions = { startRate: 30, maxRate: 480, minRate: 5, resolution: 0.15, maxRuns: 12, margin: 0.2, confirmations: 2 };

export interface SearchStep<P> {
  rate: number;
  phase: 'explore' | 'bisect' | 'confirm';
  pass: boolean;
  result: P;
}

export interface SearchOutcome<P> {
  /** The rate kept: `margin` below the edge, confirmed by `confirmations` runs; undefined when none was. */
  rate: number | undefined;
  /** The highest rate that passed before confirmation (the edge the kept rate is derived from). */
  edge: number | undefined;
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
  if (!Number.isInteger(options.confirmations) || options.confirmations < 1) throw bad('confirmations', options.confirmations, 'expected a whole number >= 1');
  if (!Number.isInteger(options.maxRuns) || options.maxRuns < options.confirmations + 1) throw bad('maxRuns', options.maxRuns, `expected a whole number >= ${options.confirmations + 1} (one search run and the confirmations)`);
  if (!Number.isFinite(options.margin) || options.margin < 0 || options.margin >= 1) throw bad('margin', options.margin, 'expected a fraction >= 0 and < 1');
}

/** The rate kept for an edge: `margin` below it, whole keys/s, never below minRate. */
export const keptRate = (edge: number, options: Pick<SearchOptions, 'margin' | 'minRate'>): number => Math.max(options.minRate, Math.floor(edge * (1 - options.margin)));

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
  const reserve = options.confirmations;
  // Explore, keeping runs for the confirmations.
  for (let rate = Math.round(options.startRate); left() > reserve; ) {
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
  while (lo !== undefined && hi !== undefined && hi / lo > 1 + options.resolution && left() > reserve) {
    const mid = Math.round(Math.sqrt(lo * hi));
    if (mid <= lo || mid >= hi) break;
    if ((await run(mid, 'bisect')).pass) lo = mid;
    else hi = mid;
  }
  // Confirm `margin` below the edge; a failed confirmation steps down by the resolution.
  const edge = lo;
  // With no failure up to maxRate there is no edge to keep away from.
  let rate = lo === undefined ? undefined : hi === undefined ? lo : keptRate(lo, options);
  while (rate !== undefined && left() >= options.confirmations) {
    let last: SearchStep<P> | undefined;
    for (let i = 0; i < options.confirmations; i++) {
      last = await run(rate, 'confirm');
      if (!last.pass) break;
    }
    if (last?.pass === true) return { rate, edge, failedAt: hi, confirmed: last.result, steps };
    hi = Math.min(hi ?? rate, rate);
    const lower = Math.floor(rate / (1 + options.resolution));
    rate = lower >= options.minRate && lower < rate ? lower : undefined;
  }
  return { rate: undefined, edge, failedAt: hi, confirmed: undefined, steps };
}
