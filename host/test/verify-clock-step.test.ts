/**
 * A stepped clock between two clock fixes (the fault matrix's guest `date -s +5 s`):
 * latencies stay inside their stated bound (the hull of the fixes), and
 * clockStepFinding names the step in an 'error' finding that leaves the verdict
 * alone; drift and slews, however loaded the host, stay unflagged.
 */
import { describe, expect, it } from 'vitest';
import type { ClockFix, KeyId, ObservedEvent } from '@atp/protocol';
import type { InjectedAction } from '../src/inject/actions.js';
import { clockAround, clockStepFinding, verifySuite, type ClockInput } from '../src/verify/index.js';

const T0 = 1_800_000_000_000;
const fix = (atMs: number, offsetMs: number, uncertaintyMs = 2): ClockFix & ClockInput => ({ offsetMs, uncertaintyMs, atMs });

describe('clockStepFinding', () => {
  it('names a +5 s step between the fixes before and after a 20 s suite', () => {
    const clock = clockAround([fix(T0, 300), fix(T0 + 20_000, 5300)]);
    const f = clock === undefined ? undefined : clockStepFinding(clock);
    expect(f?.kind).toBe('error');
    expect(f?.observed?.['clockStepMs']).toBe(5000);
    expect(f?.message).toMatch(/moved by \+5000\.0 ms within 20\.0 s.*clock was stepped.*±2500 ms/);
  });

  it('names a backward step too', () => {
    const f = clockStepFinding({ offsetMs: 0, uncertaintyMs: 1, fixes: [fix(T0, 0, 1), fix(T0 + 1000, -800, 1)] });
    expect(f?.observed?.['clockStepMs']).toBe(-800);
  });

  it('leaves drift, a slew and moves within the fixes’ bounds alone', () => {
    // 30 ppm over 100 s; NTP's 500 ppm slew over 100 s; 40 ms apart with ±25 ms bounds (a slow qemu-ga exchange).
    for (const fixes of [[fix(T0, 280), fix(T0 + 100_000, 283)], [fix(T0, 280), fix(T0 + 100_000, 330)], [fix(T0, 280, 25), fix(T0 + 5000, 320, 25)], [fix(T0, 280)]]) {
      expect(clockStepFinding({ offsetMs: 0, uncertaintyMs: 0, fixes })).toBeUndefined();
    }
    expect(clockStepFinding({ offsetMs: 0, uncertaintyMs: 0 })).toBeUndefined();
  });

  it('in verifySuite: a suite typed across a +5 s guest step passes, flagged, every latency within its bound', () => {
    const injected: InjectedAction[] = [];
    const observed: ObservedEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const sentAt = T0 + 500 + i * 450;
      for (const down of [true, false]) {
        const at = sentAt + (down ? 0 : 30);
        injected.push({ id: injected.length + 1, action: { kind: 'key', key: 'KEY_A' as KeyId, down }, sentAt: at });
        const guestOffset = at - T0 > 9_000 ? 5300 : 300; // stepped 9 s in
        observed.push({ kind: 'key', key: 'KEY_A', action: down ? 'down' : 'up', seq: observed.length + 1, device: 'kbd', t: at + 2 + guestOffset });
      }
    }
    const clock = clockAround([fix(T0, 300), fix(T0 + 20_000, 5300)]);
    if (clock === undefined) throw new Error('no clock');
    const r = verifySuite({ injected, observed, screen: { width: 1024, height: 768 }, clock });
    expect(r.verdict).toBe('pass');
    expect(r.findings.filter((f) => /clock was stepped/.test(f.message))).toHaveLength(1);
    expect(r.findings.filter((f) => /negative beyond/.test(f.message))).toEqual([]);
    expect(r.latency?.clockUncertaintyMs).toBeGreaterThanOrEqual(2500);
  });
});
