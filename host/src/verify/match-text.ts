/**
 * Text matching for observers that see characters (the web verifier): the
 * expected text against the concatenation of the observed `text` events
 * (composing ones skipped: the final text arrives as its own event). The two
 * strings are aligned per character (code point) with align.ts, any character
 * allowed to substitute for any other, so a layout mismatch reads as
 * substitutions: expected "qwerty", got "azerty" → 0: q→a, 1: w→z. Characters
 * only on one side are missing ('' actual) or extra ('' expected). One
 * wrongText finding per text carries the diff (at most MAX_DIFFS entries).
 */
import type { Finding, ObservedTextEvent } from '@atp/protocol';
import { alignSequences } from './align.js';

export const MAX_DIFFS = 64;
const MAX_QUOTE = 80;

export interface CharDiff {
  /** Index in the expected text (code points); for an extra character, where it was inserted. */
  pos: number;
  /** Index in the observed text, or −1 for a missing character. */
  actualPos: number;
  expected: string;
  actual: string;
}

export interface TextMatch {
  expected: number;
  matched: number;
  diffs: CharDiff[];
  observedText: string;
  finding?: Finding;
}

const quote = (s: string): string => JSON.stringify([...s].length > MAX_QUOTE ? `${[...s].slice(0, MAX_QUOTE).join('')}…` : s);

/** Per-character diff of two strings (code points). */
export function diffText(expected: string, actual: string): { diffs: CharDiff[]; matched: number } {
  const e = [...expected];
  const o = [...actual];
  const al = alignSequences(Int32Array.from(e, (c) => c.codePointAt(0) ?? 0), Int32Array.from(o, (c) => c.codePointAt(0) ?? 0), { canSubstitute: () => true });
  const diffs: CharDiff[] = [];
  let matched = 0;
  let j = 0;
  for (let i = 0; i <= e.length; i++) {
    const partner = i < e.length ? (al.aToB[i] ?? -1) : o.length;
    // Observed characters before this expected one's partner that nobody aligned: extras.
    if (partner >= 0) {
      for (; j < partner; j++) if ((al.bToA[j] ?? -1) < 0) diffs.push({ pos: i, actualPos: j, expected: '', actual: o[j] ?? '' });
      j = Math.max(j, partner + 1);
    }
    if (i === e.length) break;
    const ec = e[i] ?? '';
    if (partner < 0) diffs.push({ pos: i, actualPos: -1, expected: ec, actual: '' });
    else if (o[partner] === ec) matched++;
    else diffs.push({ pos: i, actualPos: partner, expected: ec, actual: o[partner] ?? '' });
  }
  return { diffs, matched };
}

function describe(d: CharDiff): string {
  if (d.expected === '') return `+${JSON.stringify(d.actual)} at ${d.pos}`;
  if (d.actual === '') return `${d.pos}: ${JSON.stringify(d.expected)} missing`;
  return `${d.pos}: ${d.expected}→${d.actual}`;
}

/** Compares the expected text with what the observer's text events spelled. */
export function matchText(expectText: string, observed: readonly ObservedTextEvent[], step?: number): TextMatch {
  const observedText = observed
    .filter((t) => t.composing !== true)
    .map((t) => t.text)
    .join('');
  const { diffs, matched } = diffText(expectText, observedText);
  const result: TextMatch = { expected: [...expectText].length, matched, diffs, observedText };
  if (diffs.length > 0) {
    const shown = diffs.slice(0, 8).map(describe).join(', ');
    const more = diffs.length > 8 ? `, … ${diffs.length - 8} more` : '';
    result.finding = {
      kind: 'wrongText',
      message: `expected ${quote(expectText)}, got ${quote(observedText)}: ${diffs.length} character${diffs.length === 1 ? '' : 's'} differ (${shown}${more})`,
      expected: { text: expectText },
      observed: { text: observedText, diff: diffs.slice(0, MAX_DIFFS), seqs: observed.slice(0, 16).map((t) => t.seq) },
    };
    if (step !== undefined) result.finding.step = step;
  }
  return result;
}
