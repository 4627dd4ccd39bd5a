import { describe, expect, it } from 'vitest';
import type { KeyId, ObservedEvent } from '@atp/protocol';
import type { InjectedAction } from '../src/inject/actions.js';
import { verifySuite, type VerifyResult } from '../src/verify/index.js';

const T0 = 1_700_000_000_000;
const OFFSET = 5_000;
const SCREEN = { width: 1024, height: 768 };

type Tr = [key: string, action: 'down' | 'up' | 'repeat'];

/** Down/up pairs for each key, in order. */
const taps = (...keys: string[]): Tr[] => keys.flatMap((k): Tr[] => [[k, 'down'], [k, 'up']]);

/** Key actions 10 ms apart (or at explicit times), all in `step`. */
function sent(trs: Tr[], opts: { step?: number; times?: number[] } = {}): InjectedAction[] {
  return trs.map(([key, action], i) => ({
    id: i + 1,
    action: { kind: 'key', key: key as KeyId, down: action === 'down' },
    sentAt: T0 + (opts.times?.[i] ?? i * 10),
    ...(opts.step === undefined ? {} : { step: opts.step }),
  }));
}

/** Observed key events, seq from `firstSeq`, `lag` ms (default 100) after the i-th send slot. */
function seen(trs: Tr[], opts: { firstSeq?: number; lag?: number; mods?: Array<string[] | undefined> } = {}): ObservedEvent[] {
  return trs.map(([key, action], i) => {
    const ev: ObservedEvent = { kind: 'key', key, action, seq: (opts.firstSeq ?? 1) + i, t: T0 + OFFSET + i * 10 + (opts.lag ?? 100), device: 'kbd' };
    const mods = opts.mods?.[i];
    if (mods !== undefined) ev.modifiers = mods;
    return ev;
  });
}

function verify(injected: InjectedAction[], observed: ObservedEvent[]): VerifyResult {
  return verifySuite({ injected, observed, screen: SCREEN, clock: { offsetMs: OFFSET, uncertaintyMs: 0.5 } });
}

const kinds = (r: VerifyResult): string[] => r.findings.map((f) => `${f.kind}:${String(f.expected?.['key'] ?? f.observed?.['key'] ?? '')}`);

describe('verifySuite on keys', () => {
  it('passes a perfect observation with zero findings and counts every transition', () => {
    const r = verify(sent(taps('KEY_H', 'KEY_I')), seen(taps('KEY_H', 'KEY_I'), { lag: 3 }));
    expect(r.findings).toEqual([]);
    expect(r.verdict).toBe('pass');
    expect(r.counts).toMatchObject({ expected: 4, matched: 4, missing: 0, extra: 0 });
    expect(r.latency).toMatchObject({ n: 4, p50Ms: 3, maxMs: 3, clockOffsetMs: OFFSET, clockUncertaintyMs: 0.5 });
  });

  it('reports a lost keystroke once, as missing', () => {
    const r = verify(sent(taps('KEY_A', 'KEY_B', 'KEY_C'), { step: 2 }), seen(taps('KEY_A', 'KEY_C')));
    expect(kinds(r)).toEqual(['missing:KEY_B']);
    expect(r.findings[0]?.message).toBe('KEY_B keystroke never observed (sent as action #3, #4) at step 2');
    expect(r.findings[0]?.step).toBe(2);
    expect(r.verdict).toBe('fail');
    expect(r.counts).toMatchObject({ expected: 6, matched: 4, missing: 1 });
  });

  it('reports a lost key-up of a key pressed again later as a missing up', () => {
    const r = verify(sent(taps('KEY_A', 'KEY_B', 'KEY_A')), seen([['KEY_A', 'down'], ...taps('KEY_B', 'KEY_A')]));
    expect(kinds(r)).toEqual(['missing:KEY_A']);
    expect(r.findings[0]?.expected).toMatchObject({ key: 'KEY_A', action: 'up', actionId: 2 });
  });

  it('reports a keystroke nobody sent as extra', () => {
    const r = verify(sent(taps('KEY_A', 'KEY_C')), seen(taps('KEY_A', 'KEY_Q', 'KEY_C').slice(0, 2).concat(taps('KEY_X', 'KEY_C'))));
    expect(kinds(r)).toEqual(['extra:KEY_X']);
    expect(r.findings[0]?.message).toBe('KEY_X keystroke observed but never sent (seq 3, 4)');
  });

  it('reports a doubled down/up pair as one duplicate with both seqs', () => {
    const injected = sent(taps('KEY_W', 'KEY_E', 'KEY_R'), { step: 3 });
    const r = verify(injected, seen(taps('KEY_W', 'KEY_E', 'KEY_E', 'KEY_R'), { firstSeq: 39 }));
    expect(kinds(r)).toEqual(['duplicate:KEY_E']);
    expect(r.findings[0]?.message).toBe('KEY_E pressed twice (seq 41, 43): doubled character at step 3');
    expect(r.counts.duplicate).toBe(1);
  });

  it('reports a second down without an up between as a duplicate', () => {
    const r = verify(sent(taps('KEY_A', 'KEY_B')), seen([['KEY_A', 'down'], ['KEY_A', 'down'], ['KEY_A', 'up'], ...taps('KEY_B')]));
    expect(kinds(r)).toEqual(['duplicate:KEY_A']);
  });

  it('does not call an extra keystroke a duplicate when another key was pressed in between', () => {
    const r = verify(sent(taps('KEY_A', 'KEY_B', 'KEY_C')), seen(taps('KEY_A', 'KEY_B', 'KEY_A', 'KEY_C')));
    expect(kinds(r)).toEqual(['extra:KEY_A']);
  });

  it('reports a swap of two keystrokes as one reordered keystroke', () => {
    const r = verify(sent(taps('KEY_S', 'KEY_W', 'KEY_A', 'KEY_P')), seen(taps('KEY_S', 'KEY_A', 'KEY_W', 'KEY_P')));
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]?.kind).toBe('reordered');
    expect(['KEY_W', 'KEY_A']).toContain(r.findings[0]?.expected?.['key']);
    expect(r.findings[0]?.message).toMatch(/^KEY_[WA] keystroke arrived out of order \(sent as action #\d, #\d, observed at seq \d, \d\)$/);
  });

  it('pairs a replaced key as wrongKey: the z/y layout signature', () => {
    const r = verify(sent(taps('KEY_L', 'KEY_Z', 'KEY_O'), { step: 1 }), seen(taps('KEY_L', 'KEY_Y', 'KEY_O')));
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ kind: 'wrongKey', expected: { key: 'KEY_Z', action: 'press' }, observed: { key: 'KEY_Y', seqs: [3, 4] } });
    expect(r.findings[0]?.message).toBe('expected KEY_Z, got KEY_Y (seq 3, 4) at step 1: layout mismatch?');
  });

  it('finds both halves of a z/y layout swap', () => {
    const r = verify(sent(taps('KEY_Z', 'KEY_A', 'KEY_Y')), seen(taps('KEY_Y', 'KEY_A', 'KEY_Z')));
    expect(r.findings.map((f) => `${String(f.expected?.['key'])}->${String(f.observed?.['key'])}`)).toEqual(['KEY_Z->KEY_Y', 'KEY_Y->KEY_Z']);
    expect(kinds(r)).toEqual(['wrongKey:KEY_Z', 'wrongKey:KEY_Y']);
  });

  it('reports a stuck shift with the modifiers active, and not the lost up as missing', () => {
    const trs: Tr[] = [['KEY_LEFTSHIFT', 'down'], ...taps('KEY_A'), ['KEY_LEFTSHIFT', 'up'], ...taps('KEY_B')];
    const observed = seen([['KEY_LEFTSHIFT', 'down'], ...taps('KEY_A'), ...taps('KEY_B')], {
      mods: [[], ['shift'], ['shift'], ['shift'], ['shift']],
    });
    const r = verify(sent(trs, { step: 0 }), observed);
    expect(kinds(r)).toEqual(['stuck:KEY_LEFTSHIFT']);
    expect(r.findings[0]?.message).toBe('KEY_LEFTSHIFT stuck down: pressed at seq 1 and never released (modifiers active: none) at step 0');
    const r2 = verify(sent([['KEY_LEFTCTRL', 'down'], ...trs, ['KEY_LEFTCTRL', 'up']]), seen([['KEY_LEFTCTRL', 'down'], ['KEY_LEFTSHIFT', 'down'], ...taps('KEY_A'), ...taps('KEY_B'), ['KEY_LEFTCTRL', 'up']]));
    expect(kinds(r2)).toEqual(['stuck:KEY_LEFTSHIFT']);
    expect(r2.findings[0]?.observed?.['activeModifiers']).toEqual(['ctrl']);
  });

  it('reports an extra down left pressed at the end as stuck only', () => {
    const r = verify(sent(taps('KEY_A')), seen([...taps('KEY_A'), ['KEY_A', 'down'], ['KEY_A', 'repeat'], ['KEY_A', 'repeat']]));
    expect(kinds(r)).toEqual(['stuck:KEY_A']);
    expect(r.findings[0]?.message).toContain('autorepeated 2×');
  });

  it('reports autorepeat of a short hold, and allows it for a long hold', () => {
    // KEY_A held 100 ms, KEY_B held 400 ms.
    const injected = sent(taps('KEY_A', 'KEY_B'), { times: [0, 100, 200, 600], step: 4 });
    const observed: ObservedEvent[] = [
      { kind: 'key', key: 'KEY_A', action: 'down', seq: 1, t: T0 + OFFSET + 2, device: 'kbd' },
      { kind: 'key', key: 'KEY_A', action: 'repeat', seq: 2, t: T0 + OFFSET + 60, device: 'kbd' },
      { kind: 'key', key: 'KEY_A', action: 'up', seq: 3, t: T0 + OFFSET + 102, device: 'kbd' },
      { kind: 'key', key: 'KEY_B', action: 'down', seq: 4, t: T0 + OFFSET + 202, device: 'kbd' },
      ...[5, 6, 7].map((seq): ObservedEvent => ({ kind: 'key', key: 'KEY_B', action: 'repeat', seq, t: T0 + OFFSET + 450 + seq * 33, device: 'kbd' })),
      { kind: 'key', key: 'KEY_B', action: 'up', seq: 8, t: T0 + OFFSET + 602, device: 'kbd' },
    ];
    const r = verify(injected, observed);
    expect(kinds(r)).toEqual(['unexpectedRepeat:KEY_A']);
    expect(r.findings[0]?.message).toBe('KEY_A autorepeated 1× (seq 2) though held only 100 ms (< 250 ms): doubled characters at step 4');
    expect(r.counts).toMatchObject({ matched: 4, unexpectedRepeat: 1 });
  });

  it('fails on a sync-dropped event even when every key matched', () => {
    const observed = seen(taps('KEY_A', 'KEY_B'));
    observed.splice(2, 0, { kind: 'sync-dropped', seq: 99, t: T0 + OFFSET + 15, device: 'event3', lost: 24 });
    const r = verify(sent(taps('KEY_A', 'KEY_B'), { step: 7 }), observed);
    expect(kinds(r)).toEqual(['syncDropped:']);
    expect(r.verdict).toBe('fail');
    expect(r.counts).toMatchObject({ matched: 4, syncDropped: 1 });
    expect(r.findings[0]?.step).toBe(7);
    expect(r.findings[0]?.message).toContain('24 events lost');
  });

  it("reports 'A' expected with shift but observed without as wrongModifier", () => {
    const trs: Tr[] = [['KEY_LEFTSHIFT', 'down'], ...taps('KEY_A'), ['KEY_LEFTSHIFT', 'up']];
    const good = verify(sent(trs), seen(trs, { mods: [[], ['shift'], ['shift'], []] }));
    expect(good.findings).toEqual([]);
    const r = verify(sent(trs, { step: 5 }), seen(trs, { mods: [[], [], [], []] }));
    expect(kinds(r)).toEqual(['wrongModifier:KEY_A']);
    expect(r.findings[0]?.message).toBe('KEY_A observed with modifiers none, expected shift (seq 2) at step 5');
    expect(r.counts).toMatchObject({ matched: 3, wrongModifier: 1 });
    // Lock states and AltGr-vs-Alt naming are not modifier mismatches.
    const alt: Tr[] = [['KEY_RIGHTALT', 'down'], ...taps('KEY_Q'), ['KEY_RIGHTALT', 'up']];
    expect(verify(sent(alt), seen(alt, { mods: [['numlock'], ['altgr', 'numlock'], ['altgr'], []] })).findings).toEqual([]);
  });

  it('fails when nothing was sent', () => {
    const r = verify([], []);
    expect(r.verdict).toBe('fail');
    expect(kinds(r)).toEqual(['error:']);
  });
});
