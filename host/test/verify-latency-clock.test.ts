/**
 * Latency against a guest clock that moves during the run, without sockets: the
 * offset read only after the suite (what runSuite did) misplaces the early
 * events and calls them impossible; fixes before and after the suite (clockAround)
 * give each pair the offset of its own time, with a bound that holds it.
 */
import { describe, expect, it } from 'vitest';
import type { KeyId, ObservedEvent } from '@atp/protocol';
import type { InjectedAction } from '../src/inject/actions.js';
import { clockAround, computeLatency, verifySuite, type ClockInput } from '../src/verify/index.js';

const T0 = 1_800_000_000_000;
const SCREEN = { width: 1024, height: 768 };
/** Every key reaches the guest this long after it was sent (ms, host clock). */
const TRUE_LATENCY = 1;

/** A guest 279.73 ms ahead that gains 30 ppm: 3 ms over a 100 s run (a TCG guest on a loaded host). */
const drifting = (hostT: number): number => 279.73 + 30e-6 * (hostT - T0);
/** One that keeps its offset and then steps 3 ms ahead 60 s in (measured here: jumps of 0.9 and 1.4 ms in loaded 108 s rounds). */
const stepping = (hostT: number): number => 279.73 + (hostT - T0 > 60_000 ? 3 : 0);

/** A qga-like estimate taken at host time `at`: the true offset then, to within ±u. */
function estimateAt(offsetOf: (t: number) => number, at: number, u: number, error = 0): ClockInput {
  return { offsetMs: offsetOf(at) + error, uncertaintyMs: u, atMs: at };
}

/** 200 key taps spread over 100 s, and what the guest observed on its own clock. */
function run(offsetOf: (t: number) => number): { injected: InjectedAction[]; observed: ObservedEvent[] } {
  const injected: InjectedAction[] = [];
  const observed: ObservedEvent[] = [];
  for (let i = 0; i < 200; i++) {
    const sentAt = T0 + 1_000 + i * 490;
    for (const down of [true, false]) {
      const at = sentAt + (down ? 0 : 40);
      injected.push({ id: injected.length + 1, action: { kind: 'key', key: 'KEY_A' as KeyId, down }, sentAt: at });
      const hostT = at + TRUE_LATENCY;
      observed.push({ kind: 'key', key: 'KEY_A', action: down ? 'down' : 'up', seq: observed.length + 1, device: 'kbd', t: hostT + offsetOf(hostT) });
    }
  }
  return { injected, observed };
}

describe('latency with a guest clock that moves during the run', () => {
  for (const [name, offsetOf] of [['drifts', drifting], ['steps', stepping]] as const) {
    it(`${name}: one offset from after the run makes early latencies impossible; fixes around it keep every latency within its bound`, () => {
      const { injected, observed } = run(offsetOf);
      const before = estimateAt(offsetOf, T0, 0.26, -0.1);
      const after = estimateAt(offsetOf, T0 + 100_000, 0.29, 0.12);

      const endOnly = verifySuite({ injected, observed, screen: SCREEN, clock: { offsetMs: after.offsetMs, uncertaintyMs: after.uncertaintyMs } });
      expect(endOnly.findings.map((f) => f.message).join('\n')).toMatch(/latencies are negative beyond the clock uncertainty/);
      expect(endOnly.latency?.clockUncertaintyMs).toBeCloseTo(0.29, 9);

      const clock = clockAround([before, after]);
      expect(clock?.fixes).toHaveLength(2);
      const fixed = verifySuite({ injected, observed, screen: SCREEN, ...(clock === undefined ? {} : { clock }) });
      expect(fixed.findings).toEqual([]);
      expect(fixed.verdict).toBe('pass');
      // The bound is honest: it holds every latency's error, and it is as wide as the offset moved (plus the fixes' own bounds).
      const u = fixed.latency?.clockUncertaintyMs ?? Number.NaN;
      const pairs = injected.map((a, i) => ({ sentAt: a.sentAt, t: observed[i]?.t ?? Number.NaN }));
      const { values } = computeLatency(pairs, clock ?? after);
      for (const v of values) expect(Math.abs(v - TRUE_LATENCY)).toBeLessThanOrEqual(u + 1e-9);
      expect(u).toBeLessThanOrEqual((Math.abs(offsetOf(T0 + 100_000) - offsetOf(T0)) + 0.26 + 0.29 + 0.22) / 2 + 1e-9);
      expect(fixed.latency?.clockOffsetMs).toBe(after.offsetMs);
    });
  }

  it('a clock that keeps its offset costs nothing: the bound stays that of the fixes', () => {
    const still = (): number => -1046.2;
    const { injected, observed } = run(still);
    const clock = clockAround([estimateAt(still, T0, 0.2), estimateAt(still, T0 + 100_000, 0.3)]);
    const r = verifySuite({ injected, observed, screen: SCREEN, ...(clock === undefined ? {} : { clock }) });
    expect(r.findings).toEqual([]);
    expect(r.latency).toMatchObject({ n: 400, p50Ms: TRUE_LATENCY, maxMs: TRUE_LATENCY, clockOffsetMs: -1046.2 });
    expect(r.latency?.clockUncertaintyMs).toBeCloseTo(0.3, 9);
  });

  it('still names a latency that is impossible whatever the clock did (a send stamped after the input left)', () => {
    const pairs = [
      { sentAt: T0 + 10_000, t: T0 + 10_000 + 1 + drifting(T0 + 10_000) },
      { sentAt: T0 + 50_000 + 6, t: T0 + 50_000 + 2 + drifting(T0 + 50_000) },
    ];
    const clock = clockAround([estimateAt(drifting, T0, 0.2), estimateAt(drifting, T0 + 100_000, 0.2)]);
    const r = computeLatency(pairs, clock ?? { offsetMs: 0, uncertaintyMs: 0 });
    expect(r.finding?.message).toMatch(/^1 of 2 latencies are negative beyond the clock uncertainty \(min -4\.\d ms, uncertainty ±1\.\d ms\)/);
    expect(r.finding?.observed).toMatchObject({ impossible: 1 });
  });
});

describe('clockAround', () => {
  it('takes the latest estimate as the summary and every estimate that says when as a fix', () => {
    const before = { offsetMs: 10, uncertaintyMs: 0.2, atMs: 1 };
    const after = { offsetMs: 11, uncertaintyMs: 0.3, atMs: 2 };
    expect(clockAround([before, after])).toEqual({ offsetMs: 11, uncertaintyMs: 0.3, fixes: [{ atMs: 1, offsetMs: 10, uncertaintyMs: 0.2 }, { atMs: 2, offsetMs: 11, uncertaintyMs: 0.3 }] });
  });

  it('uses what there is: a failed reading is skipped, an estimate without a time is a summary only', () => {
    expect(clockAround([undefined, { offsetMs: 11, uncertaintyMs: 0.3, atMs: 2 }])).toEqual({ offsetMs: 11, uncertaintyMs: 0.3, fixes: [{ atMs: 2, offsetMs: 11, uncertaintyMs: 0.3 }] });
    expect(clockAround([{ offsetMs: 10, uncertaintyMs: 0.2, atMs: 1 }, undefined])).toMatchObject({ offsetMs: 10, uncertaintyMs: 0.2 });
    expect(clockAround([{ offsetMs: 5, uncertaintyMs: 1 }])).toEqual({ offsetMs: 5, uncertaintyMs: 1 });
    expect(clockAround([undefined, undefined])).toBeUndefined();
  });

  it('keeps the fixes an estimate carries', () => {
    const fixes = [{ atMs: 1, offsetMs: 1, uncertaintyMs: 1 }, { atMs: 5, offsetMs: 2, uncertaintyMs: 1 }];
    expect(clockAround([{ offsetMs: 2, uncertaintyMs: 1, atMs: 5, fixes }])?.fixes).toEqual(fixes);
  });
});
