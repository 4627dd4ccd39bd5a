import { describe, expect, it } from 'vitest';
import type { KeyId, ObservedEvent } from '@atp/protocol';
import type { InjectedAction } from '../src/inject/actions.js';
import { verifySuite } from '../src/verify/index.js';

const T0 = 1_700_000_000_000;
const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c) => `KEY_${c}`);

/** Deterministic pseudo-random keys, never the same key twice in a row. */
function keystrokes(n: number): string[] {
  let state = 12345;
  const out: string[] = [];
  while (out.length < n) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const k = LETTERS[state % LETTERS.length] ?? 'KEY_A';
    if (k !== out[out.length - 1]) out.push(k);
  }
  return out;
}

describe('verify at stress-suite size', () => {
  it('classifies 20,000 transitions with a handful of defects, a 50-keystroke loss among them', () => {
    const keys = [...keystrokes(9_999), 'KEY_ENTER'];
    const injected: InjectedAction[] = keys.flatMap((key, i) => [
      { id: 2 * i + 1, action: { kind: 'key', key: key as KeyId, down: true }, sentAt: T0 + i * 20 },
      { id: 2 * i + 2, action: { kind: 'key', key: key as KeyId, down: false }, sentAt: T0 + i * 20 + 8 },
    ]);
    type Tr = { key: string; action: 'down' | 'up'; i: number };
    const perKeystroke: Tr[][] = keys.map((key, i) => [{ key, action: 'down', i }, { key, action: 'up', i }]);
    // Defects, far apart: a lost keystroke, a doubled one, a swap, a wrong key, a burst loss, a stuck Enter.
    perKeystroke[1_000] = [];
    perKeystroke[3_000] = [...(perKeystroke[3_000] ?? []), ...(perKeystroke[3_000] ?? [])];
    [perKeystroke[5_000], perKeystroke[5_001]] = [perKeystroke[5_001] ?? [], perKeystroke[5_000] ?? []];
    perKeystroke[7_000] = (perKeystroke[7_000] ?? []).map((t) => ({ ...t, key: 'KEY_1' }));
    for (let i = 8_000; i < 8_050; i++) perKeystroke[i] = [];
    perKeystroke[9_999] = (perKeystroke[9_999] ?? []).slice(0, 1);
    let seq = 0;
    const observed: ObservedEvent[] = perKeystroke.flat().map((t) => ({
      kind: 'key', key: t.key, action: t.action, seq: ++seq, device: 'kbd', t: T0 + t.i * 20 + (t.action === 'up' ? 8 : 0) + 4 + seq * 1e-6,
    }));
    const r = verifySuite({ injected, observed, screen: { width: 1024, height: 768 }, clock: { offsetMs: 0, uncertaintyMs: 0.5 } });
    expect(r.alignment).toBe('windowed');
    const summary = r.findings.map((f) => `${f.kind}:${String(f.expected?.['key'] ?? f.observed?.['key'])}`);
    const lost = keys.slice(8_000, 8_050).map((k) => `missing:${k}`);
    expect(summary).toEqual([
      `missing:${keys[1_000]}`,
      `duplicate:${keys[3_000]}`,
      expect.stringMatching(new RegExp(`^reordered:(${keys[5_000]}|${keys[5_001]})$`)),
      `wrongKey:${keys[7_000]}`,
      ...lost,
      'stuck:KEY_ENTER',
    ]);
    expect(r.findings[3]?.observed?.['key']).toBe('KEY_1');
    expect(r.counts).toMatchObject({ expected: 20_000, missing: 51, duplicate: 1, reordered: 1, wrongKey: 1, stuck: 1, extra: 0 });
    // Not matched: the lost keystroke (2), the reordered one (2), the wrong key (2), the burst (100), Enter's up (1).
    expect(r.counts.matched).toBe(20_000 - 2 - 2 - 2 - 100 - 1);
    expect(r.latency?.n).toBe(r.counts.matched);
    expect(r.verdict).toBe('fail');
  });
});
