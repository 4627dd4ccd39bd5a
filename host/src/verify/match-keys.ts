/**
 * The key (and button) matcher: classifies every expected and observed
 * transition into exactly one class, then key-findings.ts turns the classes
 * into findings.
 *
 * 1. Alignment (align.ts): most matches first (an LCS of (key, action) tokens),
 *    then most same-action substitutions, then most causal pairs (observed on
 *    the host clock no earlier than sent, within the clock uncertainty). Exact O(n·m) DP for small inputs; for
 *    long runs a linear-time greedy walk with a bounded look-ahead window
 *    (default 64) that runs the DP inside windows (limits in align.ts).
 * 2. Aligned equal tokens are matched; aligned different keys are wrongKey
 *    ("expected KEY_Z, got KEY_Y"): they sit at the same position between the
 *    same two matches.
 * 3. Reordered: unaligned expected and observed transitions with the same token
 *    whose positions differ by at most the window are paired in order (an
 *    observed element's position is the expected index after its last aligned
 *    predecessor). Farther apart they stay missing + extra.
 * 4. The rest: expected → missing; observed → duplicate when it repeats an
 *    adjacent matched transition of the same key with no other non-modifier
 *    key pressed in between (a doubled down/up pair, a second down without an
 *    up), else extra.
 * 5. Stuck: a key whose last observed transition is a down while the expected
 *    sequence ends with it released (or never pressed it). The stuck finding
 *    takes over that key's missing last up and its extra last down, so one
 *    cause is one finding.
 * 6. wrongModifier: a matched down of a non-modifier key whose reported
 *    modifiers (when the observer reports them) differ from those the expected
 *    sequence holds there. A stuck modifier's effect after its expected release
 *    is not reported again. A lost or extra modifier transition does show up as
 *    wrongModifier on the keys typed under it: those characters were wrong.
 *    wrongModifier replaces matched for both transitions of the pair.
 * 7. Autorepeat: 'repeat' transitions belong to the hold of the key's last
 *    observed down. Allowed when that hold's expected duration (up.sentAt −
 *    down.sentAt, via its aligned expected down) reaches the threshold or the
 *    expected sequence never releases the key; otherwise unexpectedRepeat, one
 *    finding per hold. Repeats of an extra, duplicate or stuck down are counted
 *    in that finding instead.
 * Ambiguities in principle (order alone cannot settle them): a swap of two
 * keystrokes may be reported as either of them reordered; a swap of two
 * keystrokes typed under the same modifier reads as two wrongKeys, like a layout
 * swap; "a c" observed as "a a" is wrongKey (c → a), not duplicate a + missing
 * c; a run of identical keystrokes between two defects lets the alignment slide
 * along it (causal preference settles it only when the send gaps exceed the
 * latency); a missing and an extra copy of one key within the window are
 * reordered; a lost key-up and a misplaced up of another key in the same gap
 * pair up as wrongKey.
 */
import type { Finding } from '@atp/protocol';
import { alignSequences } from './align.js';
import { buildTransitionFindings, type Classification, type KeyClass } from './key-findings.js';
import { modifierBit, modifierMask, modifierOfKey, ModifierTracker } from './modifiers.js';
import type { ClockInput } from './latency.js';
import type { ExpectedTransition, LatencyPair, ObservedTransition, Tolerances } from './types.js';

export interface TransitionMatchOptions extends Pick<Tolerances, 'alignWindow' | 'maxFullAlignCells' | 'repeatThresholdMs' | 'negativeLatencySlackMs'> {
  /** 'key' for keyboards, 'button' for pointer buttons (wording of messages, no modifier checks). */
  noun: 'key' | 'button';
  /** The clock estimate, when known: among equally good alignments, causal pairs are preferred. */
  clock?: ClockInput;
}

export interface TransitionMatch {
  findings: Finding[];
  expected: number;
  /** Transitions matched exactly (a wrongModifier pair is not counted here). */
  matched: number;
  /** Observed-vs-sent times of every pair that arrived as the same transition (matched or wrongModifier). */
  latency: LatencyPair[];
  alignment: 'full' | 'windowed';
}

function sameKeyLinks(keys: readonly string[]): { next: Int32Array; prev: Int32Array } {
  const next = new Int32Array(keys.length).fill(-1);
  const prev = new Int32Array(keys.length).fill(-1);
  const last = new Map<string, number>();
  keys.forEach((k, i) => {
    const p = last.get(k);
    if (p !== undefined) {
      next[p] = i;
      prev[i] = p;
    }
    last.set(k, i);
  });
  return { next, prev };
}

function classify(exp: readonly ExpectedTransition[], all: readonly ObservedTransition[], opts: TransitionMatchOptions): Classification {
  const obs: ObservedTransition[] = [];
  const repeats = new Map<number, number[]>();
  const orphanRepeats = new Map<string, number[]>();
  const lastDown = new Map<string, number>();
  for (const o of all) {
    if (o.action === 'repeat') {
      const d = lastDown.get(o.key);
      const seqs = d === undefined ? orphanRepeats.get(o.key) : repeats.get(d);
      if (seqs !== undefined) seqs.push(o.seq);
      else if (d === undefined) orphanRepeats.set(o.key, [o.seq]);
      else repeats.set(d, [o.seq]);
      continue;
    }
    if (o.action === 'down') lastDown.set(o.key, obs.length);
    obs.push(o);
  }
  const ids = new Map<string, number>();
  const token = (key: string, action: string): number => {
    let k = ids.get(key);
    if (k === undefined) ids.set(key, (k = ids.size));
    return k * 2 + (action === 'up' ? 1 : 0);
  };
  const a = Int32Array.from(exp, (e) => token(e.key, e.action));
  const b = Int32Array.from(obs, (o) => token(o.key, o.action));
  const clock = opts.clock;
  const slack = clock === undefined ? 0 : Math.max(0, clock.uncertaintyMs) + opts.negativeLatencySlackMs;
  const al = alignSequences(a, b, {
    canSubstitute: (x, y) => ((x ^ y) & 1) === 0,
    // Causal pairs first: observed (on the host clock) no earlier than sent.
    ...(clock === undefined ? {} : { prefer: (e: number, o: number) => (obs[o]?.t ?? 0) - clock.offsetMs >= (exp[e]?.sentAt ?? 0) - slack }),
    window: opts.alignWindow,
    maxFullCells: opts.maxFullAlignCells,
  });
  const eClass: KeyClass[] = exp.map(() => 'missing');
  const oClass: KeyClass[] = obs.map(() => 'extra');
  const ePartner = Int32Array.from(al.aToB);
  const oPartner = Int32Array.from(al.bToA);
  al.aToB.forEach((o, e) => {
    if (o < 0) return;
    const cls: KeyClass = a[e] === b[o] ? 'matched' : 'wrongKey';
    eClass[e] = cls;
    oClass[o] = cls;
  });
  const oPos = new Int32Array(obs.length);
  let pos = 0;
  al.bToA.forEach((e, o) => {
    if (e >= 0) pos = e + 1;
    oPos[o] = e >= 0 ? e : pos;
  });
  // Reordered: same token, unaligned on both sides, within the window.
  const queues = new Map<number, number[]>();
  exp.forEach((_, e) => {
    if (ePartner[e] !== -1) return;
    const q = queues.get(a[e] ?? 0) ?? [];
    q.push(e);
    queues.set(a[e] ?? 0, q);
  });
  const heads = new Map<number, number>();
  obs.forEach((_, o) => {
    if (oPartner[o] !== -1) return;
    const tok = b[o] ?? 0;
    const q = queues.get(tok);
    if (q === undefined) return;
    let h = heads.get(tok) ?? 0;
    const p = oPos[o] ?? 0;
    while (h < q.length && (q[h] ?? 0) < p - opts.alignWindow) h++;
    const e = q[h];
    if (e !== undefined && e <= p + opts.alignWindow) {
      ePartner[e] = o;
      oPartner[o] = e;
      eClass[e] = 'reordered';
      oClass[o] = 'reordered';
      h++;
    }
    heads.set(tok, h);
  });
  const eLinks = sameKeyLinks(exp.map((e) => e.key));
  const oLinks = sameKeyLinks(obs.map((o) => o.key));
  const oHeld = new Uint8Array(obs.length);
  const tracker = new ModifierTracker();
  const downsBefore = new Int32Array(obs.length + 1);
  obs.forEach((o, i) => {
    oHeld[i] = tracker.mask();
    tracker.apply(o.key, o.action);
    downsBefore[i + 1] = (downsBefore[i] ?? 0) + (o.action === 'down' && modifierOfKey(o.key) === undefined ? 1 : 0);
  });
  markDuplicates(obs, oClass, oLinks.prev, oLinks.next, downsBefore);
  const stuck = markStuck(exp, obs, eClass, oClass);
  if (opts.noun === 'key') markWrongModifiers(exp, obs, eClass, oClass, ePartner, stuck);
  return {
    exp, obs, eClass, oClass, ePartner, oPartner, eNext: eLinks.next, oNext: oLinks.next, oPrev: oLinks.prev,
    oPos, oHeld, repeats, orphanRepeats, stuck, repeatThresholdMs: opts.repeatThresholdMs, noun: opts.noun, method: al.method,
  };
}

const isPaired = (c: KeyClass | undefined): boolean => c === 'matched' || c === 'wrongModifier';

/** Extra observed transitions that repeat an adjacent matched one of the same key become duplicates. */
function markDuplicates(obs: readonly ObservedTransition[], oClass: KeyClass[], prev: Int32Array, next: Int32Array, downsBefore: Int32Array): void {
  const quiet = (from: number, to: number): boolean => (downsBefore[to] ?? 0) - (downsBefore[from + 1] ?? 0) === 0;
  for (let o = 0; o < obs.length; o++) {
    if (oClass[o] !== 'extra') continue;
    // The run of extras of this key starting here (a doubled down/up pair is one run).
    let last = o;
    while ((next[last] ?? -1) >= 0 && oClass[next[last] ?? 0] === 'extra' && obs[next[last] ?? 0]?.action !== obs[last]?.action) last = next[last] ?? 0;
    const p = prev[o] ?? -1;
    const n = next[last] ?? -1;
    const before = p >= 0 && isPaired(oClass[p]) && quiet(p, o);
    const after = n >= 0 && isPaired(oClass[n]) && quiet(last, n);
    if (!before && !after) continue;
    for (let k = o; ; k = next[k] ?? 0) {
      oClass[k] = 'duplicate';
      if (k === last) break;
    }
  }
}

/** Keys left down at the end of observation that the expected sequence releases; returns key → observed down index. */
function markStuck(exp: readonly ExpectedTransition[], obs: readonly ObservedTransition[], eClass: KeyClass[], oClass: KeyClass[]): Map<string, number> {
  const lastObs = new Map<string, number>();
  obs.forEach((o, i) => lastObs.set(o.key, i));
  const lastExp = new Map<string, number>();
  exp.forEach((e, i) => lastExp.set(e.key, i));
  const stuck = new Map<string, number>();
  for (const [key, o] of lastObs) {
    if (obs[o]?.action !== 'down') continue;
    const e = lastExp.get(key);
    if (e !== undefined && exp[e]?.action === 'down') continue;
    stuck.set(key, o);
    if (oClass[o] === 'extra' || oClass[o] === 'duplicate') oClass[o] = 'stuck';
    if (e !== undefined && eClass[e] === 'missing') eClass[e] = 'stuck';
  }
  return stuck;
}

function markWrongModifiers(
  exp: readonly ExpectedTransition[], obs: readonly ObservedTransition[], eClass: KeyClass[], oClass: KeyClass[],
  ePartner: Int32Array, stuck: Map<string, number>,
): void {
  // A stuck modifier's effect after its expected release is already reported.
  const releasedAt: Array<{ at: number; bit: number }> = [];
  const lastExp = new Map<string, number>();
  exp.forEach((e, i) => lastExp.set(e.key, i));
  for (const key of stuck.keys()) {
    const m = modifierOfKey(key);
    if (m === undefined) continue;
    const e = lastExp.get(key);
    releasedAt.push({ at: e ?? -1, bit: modifierBit(m) });
  }
  exp.forEach((e, i) => {
    if (eClass[i] !== 'matched' || e.action !== 'down' || modifierOfKey(e.key) !== undefined) return;
    const o = ePartner[i] ?? -1;
    const reported = obs[o]?.modifiers;
    if (reported === undefined) return;
    let diff = modifierMask(reported) ^ modifierMask(e.modifiers);
    for (const r of releasedAt) if (i > r.at) diff &= ~r.bit;
    if (diff === 0) return;
    eClass[i] = 'wrongModifier';
    oClass[o] = 'wrongModifier';
  });
}

/** Matches expected against observed transitions (observed in delivery order, repeats included). */
export function matchTransitions(expected: readonly ExpectedTransition[], observed: readonly ObservedTransition[], opts: TransitionMatchOptions): TransitionMatch {
  const c = classify(expected, observed, opts);
  const latency: LatencyPair[] = [];
  let matched = 0;
  c.eClass.forEach((cls, e) => {
    if (cls === 'matched') matched++;
    const o = c.obs[c.ePartner[e] ?? -1];
    const x = c.exp[e];
    if (isPaired(cls) && o !== undefined && x !== undefined) latency.push({ sentAt: x.sentAt, t: o.t });
  });
  return {
    findings: buildTransitionFindings(c),
    expected: expected.length,
    matched,
    latency,
    alignment: c.method,
  };
}
