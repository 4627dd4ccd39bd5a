/**
 * The terminal summary (with and without colour, width, finding cap, text from
 * the guest made harmless) and the live progress line.
 */
import { describe, expect, it } from 'vitest';
import { formatElapsed, formatProgress, formatSummary } from '../src/report/index.js';
import { erroredSuite, failingSuite, passingSuite, sampleReport } from './report-fixture.js';

const ESC = '\u001b';
/** Removes SGR codes (ESC [ … m) without a control character in a regex literal. */
const strip = (text: string): string => text.split(ESC).map((part, i) => (i === 0 ? part : part.replace(/^\[[0-9;]*m/, ''))).join('');

describe('formatSummary', () => {
  const plain = formatSummary(sampleReport(), { color: false });
  const lines = plain.split('\n');

  it('has no escape codes without colour, even for guest text that holds one', () => {
    expect(plain).not.toContain(ESC);
    expect(plain).toContain('step 7: typed <b> & "quotes" \'n\' \\u001b[31m');
  });

  it('one verdict line per suite, then totals', () => {
    expect(lines.filter((l) => /^(PASS|FAIL|ERROR) +\S/.test(l)).map((l) => l.split(/\s+/, 2).join(' '))).toEqual([
      'PASS smoke',
      'FAIL layout',
      'ERROR stress',
      'ERROR 3',
    ]);
    expect(lines[0]).toBe('PASS   smoke  scenarios/smoke.yaml · vm lab · observer agent  12.3 s');
    expect(plain.endsWith('ERROR 3 suites: 1 passed, 1 failed, 1 error (1 min 21 s)\n')).toBe(true);
  });

  it('non-zero counts, latency with its clock uncertainty, pointer error', () => {
    expect(lines).toContain('       expected 900, matched 895, missing 1, duplicate 1, stuck 1, wrongKey 1');
    expect(lines).toContain('       latency p50 3.7 ms, p95 11.8 ms, p99 15.0 ms, max 21.5 ms (±0.40 ms clock, n=400)');
    expect(lines).toContain('       pointer max error 7.5 px, mean 4 px (tolerance 2 px, 2 samples)');
    expect(lines).toContain('       ATP_QMP_DISCONNECTED: QMP closed while input-send-event was in flight');
  });

  it('findings read as sentences; a passing suite lists notes', () => {
    expect(lines).toContain('         step 3: KEY_E pressed twice (seq 41, 43): doubled character');
    expect(lines).toContain('         step 3: expected KEY_Z, got KEY_Y (seq 50) — layout mismatch?');
    expect(lines).toContain('         KEY_LEFTSHIFT still held at the end (down at seq 99)');
    expect(lines).toContain('       notes (1):');
  });

  it('caps findings per suite', () => {
    const text = formatSummary(sampleReport([failingSuite(12)]), { color: false, maxFindings: 5 });
    expect(text).toContain('findings (16):');
    expect(text.split('\n').filter((l) => l.startsWith('         ') && !l.includes('…'))).toHaveLength(5);
    expect(text).toContain('         … and 11 more');
  });

  it('colours verdicts when asked', () => {
    const text = formatSummary(sampleReport(), { color: true });
    expect(text).toContain(`${ESC}[1;32mPASS`);
    expect(text).toContain(`${ESC}[1;31mFAIL`);
    expect(text).toContain(`${ESC}[1;35mERROR`);
    expect(strip(text)).toBe(plain);
  });

  it('cuts lines to the width, colour codes taking no room', () => {
    for (const color of [false, true]) {
      const text = formatSummary(sampleReport(), { color, width: 40 });
      for (const line of strip(text).split('\n')) expect([...line].length).toBeLessThanOrEqual(40);
      expect(text).toContain('…');
    }
  });

  it('all passing: a PASS totals line', () => {
    expect(formatSummary(sampleReport([passingSuite()]), { color: false })).toMatch(/\nPASS 1 suite: 1 passed, 0 failed, 0 errors \(1 min 21 s\)\n$/);
    expect(formatSummary(sampleReport([erroredSuite()]), { color: false })).toContain('1 min 05 s');
  });
});

describe('formatProgress', () => {
  it('suite, step i/n, keys sent and seen, elapsed', () => {
    const state = { suite: 'smoke', suiteIndex: 1, suiteCount: 2, step: 12, steps: 40, keysSent: 1200, keysObserved: 1187, elapsedMs: 12_345 };
    expect(formatProgress(state)).toBe('[1/2] smoke  step 12/40  keys 1200 sent · 1187 seen (13 in flight)  0:12.3');
    expect(formatProgress({ ...state, suiteIndex: undefined, keysObserved: 1200 })).toBe('smoke  step 12/40  keys 1200 sent · 1200 seen  0:12.3');
    expect(formatProgress(state, { width: 20 })).toBe('[1/2] smoke  step 1…');
    expect(formatProgress({ ...state, suite: `evil${ESC}[2J` })).not.toContain(ESC);
  });

  it('elapsed time', () => {
    expect(formatElapsed(0)).toBe('0:00.0');
    expect(formatElapsed(61_050)).toBe('1:01.0');
    expect(formatElapsed(3_723_000)).toBe('1:02:03');
    expect(formatElapsed(Number.NaN)).toBe('0:00.0');
  });
});
