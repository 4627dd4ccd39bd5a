/**
 * Sequence alignment for the matcher: which expected transition corresponds to
 * which observed one. Tokens are small integers (a key id and its action).
 *
 * Objective: first the most matches (equal tokens, in order: a longest common
 * subsequence), then, among those alignments, the most substitutions (two
 * different tokens that `canSubstitute` allows, e.g. the same action of two
 * different keys: the wrong-key signature), then the most pairs that `prefer`
 * accepts (the matcher prefers causal pairs, observed after they were sent: of
 * "a a" observed as "a a a", the spurious copy is then the one that arrived too
 * early for the next keystroke, not whichever comes last). A substitution is only ever made
 * between elements left unmatched in the same gap between two matches, so it
 * never costs a match. Ties are broken towards skipping the expected side first,
 * which keeps a replaced key in the same gap as its replacement.
 *
 * Algorithms.
 * - Full (n·m ≤ maxFullCells): dynamic programming over suffixes, O(n·m) time
 *   and memory, exact for the objective above.
 * - Windowed (larger inputs, e.g. the stress suite's 20,000 transitions): walk
 *   both sequences; equal, preferred heads match at once (an LCS step); on a
 *   mismatch run the same DP on the next `window` (W, default 64) elements of
 *   each side and commit its steps up to W/2 into either side (the far half is
 *   only look-ahead, so the window edge cannot force a bad choice), then slide.
 *   When fewer than half of a window's elements can match (a loss longer than
 *   the window, or garbage: random text matches a little by chance), a resync
 *   scans up to 64·W elements ahead on each side for the nearest point where
 *   16 tokens agree; the skipped elements are left unmatched. If none is
 *   found, the window's own walk is committed up to W/2 and the walk goes on.
 *   Time O((n + m) · W) plus O(64·W) per resync; each resync skips ≥ W elements,
 *   so the total is linear in n + m for a fixed W. Memory O(W²).
 * Limits of the windowed mode: it is exact only for displacements under W/2;
 * an element moved farther than that is reported unmatched on both sides
 * (missing + extra rather than reordered); a gap of more than 64·W lost
 * elements is not resynchronized across; a resync needs 16 agreeing tokens
 * after the gap (8 keystrokes), so defects packed tighter than that right
 * after a long loss may be misaligned.
 */

export interface AlignOptions {
  /** Whether two different tokens may pair as a substitution. Default: never. */
  canSubstitute?: CanSubstitute;
  /** Tie-breaker among equally good alignments: pairs (a index, b index) to prefer (e.g. causal ones). */
  prefer?: (i: number, j: number) => boolean;
  /** Window of the linear-time mode (≥ 4). Default 64. */
  window?: number;
  /** Use the exact quadratic DP while n·m is at most this. Default 2^20. */
  maxFullCells?: number;
}

export interface Alignment {
  /** For each element of `a`: the index in `b` it is aligned to (match or substitution), or −1. */
  aToB: Int32Array;
  /** For each element of `b`: the index in `a`, or −1. */
  bToA: Int32Array;
  method: 'full' | 'windowed';
}

export type CanSubstitute = (x: number, y: number) => boolean;

const RESYNC_RUN = 16;
const RESYNC_FACTOR = 64;

/** Scores a pair (i, j) of absolute indices: −Infinity when it cannot pair. */
type PairScore = (i: number, j: number) => number;

interface Table {
  s: Float64Array;
  w: number;
  a0: number;
  b0: number;
  pair: PairScore;
}

/**
 * Weights: a match is worth B², a substitution B, a preferred pair +1, with
 * B = min(na, nb) + 1, so more matches always win, then more substitutions,
 * then more preferred pairs. Scores stay far below 2^53.
 */
function pairScorer(a: Int32Array, b: Int32Array, na: number, nb: number, opts: Required<Pick<AlignOptions, 'canSubstitute'>> & AlignOptions): PairScore {
  const big = Math.min(na, nb) + 1;
  const prefer = opts.prefer;
  return (i, j) => {
    const x = a[i];
    const y = b[j];
    const bonus = prefer !== undefined && prefer(i, j) ? 1 : 0;
    if (x === y) return big * big + bonus;
    if (x !== undefined && y !== undefined && opts.canSubstitute(x, y)) return big + bonus;
    return Number.NEGATIVE_INFINITY;
  };
}

/** Suffix DP over a[a0..a1) × b[b0..b1). */
function scoreTable(a: Int32Array, a0: number, a1: number, b: Int32Array, b0: number, b1: number, opts: Required<Pick<AlignOptions, 'canSubstitute'>> & AlignOptions): Table {
  const na = a1 - a0;
  const nb = b1 - b0;
  const w = nb + 1;
  const pair = pairScorer(a, b, na, nb, opts);
  const s = new Float64Array((na + 1) * w);
  for (let i = na - 1; i >= 0; i--) {
    for (let j = nb - 1; j >= 0; j--) {
      const best = Math.max(s[(i + 1) * w + j] ?? 0, s[i * w + j + 1] ?? 0);
      s[i * w + j] = Math.max(best, (s[(i + 1) * w + j + 1] ?? 0) + pair(a0 + i, b0 + j));
    }
  }
  return { s, w, a0, b0, pair };
}

type Step = 'pair' | 'skipA' | 'skipB';

/** The next step of an optimal walk at table cell (i, j): pair, else skip the expected side, else the observed side. */
function stepAt(t: Table, i: number, j: number): Step {
  const here = t.s[i * t.w + j] ?? 0;
  if (here === (t.s[(i + 1) * t.w + j + 1] ?? 0) + t.pair(t.a0 + i, t.b0 + j)) return 'pair';
  if (here === (t.s[(i + 1) * t.w + j] ?? 0)) return 'skipA';
  return 'skipB';
}

function newAlignment(n: number, m: number, method: Alignment['method']): Alignment {
  return { aToB: new Int32Array(n).fill(-1), bToA: new Int32Array(m).fill(-1), method };
}

type Opts = Required<Pick<AlignOptions, 'canSubstitute'>> & AlignOptions;

function fullAlign(a: Int32Array, b: Int32Array, opts: Opts): Alignment {
  const out = newAlignment(a.length, b.length, 'full');
  const t = scoreTable(a, 0, a.length, b, 0, b.length, opts);
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const step = stepAt(t, i, j);
    if (step === 'pair') {
      out.aToB[i] = j;
      out.bToA[j] = i;
      i++;
      j++;
    } else if (step === 'skipA') i++;
    else j++;
  }
  return out;
}

function runAgrees(a: Int32Array, i: number, b: Int32Array, j: number): boolean {
  const len = Math.min(RESYNC_RUN, a.length - i, b.length - j);
  if (len <= 0) return false;
  for (let k = 0; k < len; k++) if (a[i + k] !== b[j + k]) return false;
  return true;
}

/** Nearest resync point: skip `d` elements of a (side 'a') or of b. */
function resync(a: Int32Array, i: number, b: Int32Array, j: number, horizon: number): { side: 'a' | 'b'; d: number } | undefined {
  for (let d = 1; d <= horizon; d++) {
    if (i + d < a.length && runAgrees(a, i + d, b, j)) return { side: 'a', d };
    if (j + d < b.length && runAgrees(a, i, b, j + d)) return { side: 'b', d };
  }
  return undefined;
}

function windowedAlign(a: Int32Array, b: Int32Array, opts: Opts, window: number): Alignment {
  const out = newAlignment(a.length, b.length, 'windowed');
  const half = window >> 1;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j] && (opts.prefer?.(i, j) ?? true)) {
      out.aToB[i] = j;
      out.bToA[j] = i;
      i++;
      j++;
      continue;
    }
    const a1 = Math.min(a.length, i + window);
    const b1 = Math.min(b.length, j + window);
    const t = scoreTable(a, i, a1, b, j, b1, opts);
    const big = Math.min(a1 - i, b1 - j) + 1;
    const atEnd = a1 === a.length && b1 === b.length;
    const matches = Math.floor((t.s[0] ?? 0) / (big * big));
    if (!atEnd && matches * 2 < big - 1) {
      const r = resync(a, i, b, j, window * RESYNC_FACTOR);
      if (r?.side === 'a') i += r.d;
      else if (r?.side === 'b') j += r.d;
      if (r !== undefined) continue;
    }
    let ii = 0;
    let jj = 0;
    while (i + ii < a1 && j + jj < b1 && (atEnd || (ii < half && jj < half))) {
      const step = stepAt(t, ii, jj);
      if (step === 'pair') {
        out.aToB[i + ii] = j + jj;
        out.bToA[j + jj] = i + ii;
        ii++;
        jj++;
      } else if (step === 'skipA') ii++;
      else jj++;
    }
    i += ii;
    j += jj;
  }
  return out;
}

/** Aligns `a` (expected) with `b` (observed); see the header for the objective and the two algorithms. */
export function alignSequences(a: Int32Array, b: Int32Array, options: AlignOptions = {}): Alignment {
  const window = Math.max(4, Math.floor(options.window ?? 64));
  const maxFull = options.maxFullCells ?? 1 << 20;
  const opts: Opts = { ...options, canSubstitute: options.canSubstitute ?? (() => false) };
  if (a.length * b.length <= maxFull) return fullAlign(a, b, opts);
  return windowedAlign(a, b, opts, window);
}
