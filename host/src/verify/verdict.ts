/**
 * The verdict of one suite: (what was sent, what was observed, clock estimate,
 * screen, tolerances) → counts, findings, pointer and latency statistics and
 * pass/fail, in the shapes of report.ts's SuiteReport. Pure.
 *
 * - counts.expected / matched: key transitions + button transitions + expected
 *   text characters; every other count is the number of findings of that kind
 *   (report.ts: counts[finding.kind] is its tally).
 * - pass iff something was expected (a key, button, position, wheel notch,
 *   relative move or text) and no finding other than 'error' occurred. The only
 *   'error' finding the engine makes itself without failing is the clock warning
 *   of latency.ts; "nothing was sent" is an 'error' finding with a fail.
 * - Each sync-dropped event is a finding: the kernel lost input, so the
 *   observation is incomplete and the suite cannot pass.
 * - Observed events are taken in delivery order (per boot id, seq order).
 */
import { REPORT_COUNT_KEYS, type Finding, type LatencySamples, type ObservedEvent, type ObservedTextEvent, type ReportCounts } from '@atp/protocol';
import type { InjectedAction, ScreenSize } from '../inject/actions.js';
import { deriveExpectations } from './expectations.js';
import { clockStepFinding, computeLatency, type ClockInput, type LatencyStats } from './latency.js';
import { latencySamples } from './latency-samples.js';
import { matchTransitions } from './match-keys.js';
import { matchPointer, type PointerStats } from './match-pointer.js';
import { matchText } from './match-text.js';
import { DEFAULT_TOLERANCES, type ObservedTransition, type Tolerances } from './types.js';

export interface VerifyInput {
  /** What the injector sent, in send order. */
  injected: readonly InjectedAction[];
  /** What the observer reported, in delivery order. */
  observed: readonly ObservedEvent[];
  /** Agent clock offset estimate; without it there are no latency figures. */
  clock?: ClockInput;
  screen: ScreenSize;
  tolerances?: Partial<Tolerances>;
  /** Text the observer's `text` events must spell (web observer). */
  expectText?: string | { text: string; step?: number };
}

export interface VerifyResult {
  verdict: 'pass' | 'fail';
  counts: ReportCounts;
  findings: Finding[];
  pointer?: PointerStats;
  latency?: LatencyStats;
  /** The latencies behind `latency`, for plots (latency-samples.ts). */
  latencySamples?: LatencySamples;
  /** Which alignment the key matcher used (see align.ts). */
  alignment: 'full' | 'windowed';
}

function syncDroppedFindings(observed: readonly ObservedEvent[], injected: readonly InjectedAction[], clock: ClockInput | undefined): Finding[] {
  const bySend = clock === undefined ? [] : [...injected].sort((a, b) => a.sentAt - b.sentAt);
  const out: Finding[] = [];
  for (const ev of observed) {
    if (ev.kind !== 'sync-dropped') continue;
    let step: number | undefined;
    if (clock !== undefined) {
      const hostT = ev.t - clock.offsetMs;
      let lo = 0;
      let hi = bySend.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((bySend[mid]?.sentAt ?? 0) <= hostT) lo = mid + 1;
        else hi = mid;
      }
      step = bySend[lo - 1]?.step;
    }
    const lost = ev.lost === undefined ? 'an unknown number of events' : `${ev.lost} events`;
    const finding: Finding = {
      kind: 'syncDropped',
      message: `the guest kernel dropped input (SYN_DROPPED at seq ${ev.seq}${ev.device === '' ? '' : ` on ${ev.device}`}, ${lost} lost): the observer read too slowly, observation is incomplete${step === undefined ? '' : ` at step ${step}`}`,
      observed: { seq: ev.seq, t: ev.t, device: ev.device, ...(ev.lost === undefined ? {} : { lost: ev.lost }) },
    };
    if (step !== undefined) finding.step = step;
    out.push(finding);
  }
  return out;
}

function keyTransitions(observed: readonly ObservedEvent[]): ObservedTransition[] {
  const out: ObservedTransition[] = [];
  for (const ev of observed) {
    if (ev.kind !== 'key') continue;
    const o: ObservedTransition = { key: ev.key, action: ev.action, seq: ev.seq, t: ev.t };
    if (ev.modifiers !== undefined) o.modifiers = ev.modifiers;
    out.push(o);
  }
  return out;
}

function emptyCounts(): ReportCounts {
  return Object.fromEntries(REPORT_COUNT_KEYS.map((k) => [k, 0])) as ReportCounts;
}

/** Verifies one suite; see the header for the rules. */
export function verifySuite(input: VerifyInput): VerifyResult {
  const tol: Tolerances = { ...DEFAULT_TOLERANCES, ...input.tolerances };
  const exp = deriveExpectations(input.injected);
  const clock = input.clock === undefined ? {} : { clock: input.clock };
  const keys = matchTransitions(exp.keys, keyTransitions(input.observed), { ...tol, noun: 'key', ...clock });
  const pointer = matchPointer(exp.pointer, input.observed, input.screen, tol, input.clock);
  const findings: Finding[] = [...syncDroppedFindings(input.observed, input.injected, input.clock), ...keys.findings, ...pointer.findings];
  const counts = emptyCounts();
  counts.expected = keys.expected + pointer.buttons.expected;
  counts.matched = keys.matched + pointer.buttons.matched;
  if (input.expectText !== undefined) {
    const spec = typeof input.expectText === 'string' ? { text: input.expectText } : input.expectText;
    const texts = input.observed.filter((e): e is ObservedTextEvent => e.kind === 'text');
    const text = matchText(spec.text, texts, spec.step);
    counts.expected += text.expected;
    counts.matched += text.matched;
    if (text.finding !== undefined) findings.push(text.finding);
  }
  const p = exp.pointer;
  const wheelNotches = p.wheel.up + p.wheel.down + p.wheel.left + p.wheel.right;
  const expectedAnything = counts.expected > 0 || p.positions.length > 0 || wheelNotches > 0 || p.relative.moves > 0 || input.expectText !== undefined;
  if (!expectedAnything) findings.push({ kind: 'error', message: 'nothing to verify: no input was sent (no key, button, move, wheel or text expectation)' });
  const result: VerifyResult = { verdict: 'fail', counts, findings, alignment: keys.alignment };
  if (input.clock !== undefined) {
    const pairs = [...keys.latency, ...pointer.buttons.latency];
    const latency = computeLatency(pairs, input.clock, tol.negativeLatencySlackMs);
    if (latency.stats !== undefined) result.latency = latency.stats;
    const samples = latencySamples(pairs, latency.values);
    if (samples !== undefined) result.latencySamples = samples;
    if (latency.finding !== undefined) findings.push(latency.finding);
    const stepped = pairs.length === 0 ? undefined : clockStepFinding(input.clock, tol.negativeLatencySlackMs);
    if (stepped !== undefined) findings.push(stepped);
  }
  if (pointer.stats !== undefined) result.pointer = pointer.stats;
  for (const f of findings) {
    if (f.kind in counts) counts[f.kind as keyof ReportCounts] += 1;
  }
  const defects = findings.some((f) => f.kind !== 'error');
  result.verdict = expectedAnything && !defects ? 'pass' : 'fail';
  return result;
}
