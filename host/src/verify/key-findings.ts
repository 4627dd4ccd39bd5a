/**
 * Findings from the matcher's classes (match-keys.ts): one finding per
 * keystroke where a down and its up share a class (a lost keystroke is one
 * 'missing', not two), one per stuck key, one per autorepeating hold, sorted by
 * position in the expected sequence. Messages are meant to be read at a glance.
 */
import type { Finding } from '@atp/protocol';
import { maskToNames, modifierMask } from './modifiers.js';
import type { ExpectedTransition, ObservedTransition } from './types.js';

export type KeyClass = 'matched' | 'missing' | 'extra' | 'duplicate' | 'reordered' | 'wrongKey' | 'wrongModifier' | 'stuck';

/** Internal: everything key-findings.ts needs. */
export interface Classification {
  exp: readonly ExpectedTransition[];
  obs: readonly ObservedTransition[];
  eClass: KeyClass[];
  oClass: KeyClass[];
  ePartner: Int32Array;
  oPartner: Int32Array;
  /** Next / previous transition of the same key on the same side, or −1. */
  eNext: Int32Array;
  oNext: Int32Array;
  oPrev: Int32Array;
  /** Position of each observed transition in expected order (for steps and ordering). */
  oPos: Int32Array;
  /** Observed modifier mask (held modifier keys as observed) before each observed transition. */
  oHeld: Uint8Array;
  /** Repeat seqs per observed down index. */
  repeats: Map<number, number[]>;
  /** Repeats with no observed down before them, per key. */
  orphanRepeats: Map<string, number[]>;
  /** Key → observed down index for every stuck key. */
  stuck: Map<string, number>;
  repeatThresholdMs: number;
  noun: 'key' | 'button';
  /** Which alignment algorithm ran (align.ts). */
  method: 'full' | 'windowed';
}

interface Placed {
  at: number;
  finding: Finding;
}

const atStep = (step: number | undefined): string => (step === undefined ? '' : ` at step ${step}`);
const list = (xs: readonly (string | number)[]): string => xs.join(', ');
const modText = (mods: readonly string[]): string => (mods.length === 0 ? 'none' : mods.join('+'));

function expObj(e: ExpectedTransition): Record<string, unknown> {
  return { key: e.key, action: e.action, actionId: e.actionId, sentAt: e.sentAt, ...(e.modifiers.length > 0 ? { modifiers: [...e.modifiers] } : {}) };
}

function obsObj(o: ObservedTransition): Record<string, unknown> {
  return { key: o.key, action: o.action, seq: o.seq, t: o.t, ...(o.modifiers === undefined ? {} : { modifiers: [...o.modifiers] }) };
}

function group<T extends ExpectedTransition | ObservedTransition>(items: readonly T[]): Record<string, unknown> {
  const first = items[0];
  if (first === undefined) return {};
  if (items.length === 1) return 'actionId' in first ? expObj(first as ExpectedTransition) : obsObj(first as ObservedTransition);
  const out: Record<string, unknown> = { key: first.key, action: 'press' };
  if ('actionId' in first) {
    out['actionIds'] = items.map((i) => (i as ExpectedTransition).actionId);
    out['sentAt'] = (first as ExpectedTransition).sentAt;
  } else {
    out['seqs'] = items.map((i) => (i as ObservedTransition).seq);
    out['t'] = (first as ObservedTransition).t;
  }
  return out;
}

function what(items: readonly (ExpectedTransition | ObservedTransition)[], noun: 'key' | 'button'): string {
  if (items.length > 1) return noun === 'key' ? 'keystroke' : 'click';
  return items[0]?.action ?? '';
}

/** Members of the same-class keystroke starting at i (the down and, when it shares the class, its up). */
function keystroke(i: number, cls: KeyClass, classes: readonly KeyClass[], next: Int32Array, actions: (k: number) => string | undefined, extra?: (u: number) => boolean): number[] {
  const u = next[i] ?? -1;
  if (actions(i) === 'down' && u >= 0 && actions(u) === 'up' && classes[u] === cls && (extra?.(u) ?? true)) return [i, u];
  return [i];
}

function stepOfPos(c: Classification, pos: number): number | undefined {
  return c.exp[Math.max(0, pos - 1)]?.step ?? c.exp[pos]?.step;
}

function expectedSide(c: Classification, out: Placed[]): void {
  const done = new Uint8Array(c.exp.length);
  const actions = (k: number): string | undefined => c.exp[k]?.action;
  c.eClass.forEach((cls, e) => {
    if (done[e] === 1 || cls === 'matched' || cls === 'stuck') return;
    const partnerKey = (k: number): string | undefined => c.obs[c.ePartner[k] ?? -1]?.key;
    const members = cls === 'wrongModifier' ? [e] : keystroke(e, cls, c.eClass, c.eNext, actions, (u) => partnerKey(u) === partnerKey(e));
    for (const m of members) done[m] = 1;
    const exps = members.map((m) => c.exp[m]).filter((x): x is ExpectedTransition => x !== undefined);
    const obss = members.map((m) => c.obs[c.ePartner[m] ?? -1]).filter((x): x is ObservedTransition => x !== undefined);
    const x = exps[0];
    const o = obss[0];
    if (x === undefined) return;
    const w = what(exps, c.noun);
    const at = atStep(x.step);
    const ids = list(exps.map((i) => `#${i.actionId}`));
    const seqs = list(obss.map((i) => i.seq));
    let message: string;
    if (cls === 'missing') message = `${x.key} ${w} never observed (sent as action ${ids})${at}`;
    else if (cls === 'reordered') message = `${x.key} ${w} arrived out of order (sent as action ${ids}, observed at seq ${seqs})${at}`;
    else if (cls === 'wrongKey') {
      const hint = c.noun === 'key' ? ': layout mismatch?' : '';
      message = `expected ${x.key}, got ${o?.key ?? '?'} (seq ${seqs})${at}${hint}`;
    } else {
      const got = maskToNames(modifierMask(o?.modifiers ?? []));
      message = `${x.key} observed with modifiers ${modText(got)}, expected ${modText(x.modifiers)} (seq ${seqs})${at}`;
    }
    const finding: Finding = { kind: cls, message, expected: group(exps) };
    if (obss.length > 0) finding.observed = group(obss);
    if (x.step !== undefined) finding.step = x.step;
    out.push({ at: e, finding });
  });
}

/** The matched transition a duplicate repeats: the nearest same-key one with the same action, before or after. */
function originalOf(c: Classification, first: number, last: number): number {
  const action = c.obs[first]?.action;
  const paired = (k: number): boolean => c.oClass[k] === 'matched' || c.oClass[k] === 'wrongModifier';
  for (let k = c.oPrev[first] ?? -1, n = 0; k >= 0 && n < 2; k = c.oPrev[k] ?? -1, n++) if (c.obs[k]?.action === action && paired(k)) return k;
  for (let k = c.oNext[last] ?? -1, n = 0; k >= 0 && n < 2; k = c.oNext[k] ?? -1, n++) if (c.obs[k]?.action === action && paired(k)) return k;
  return c.oPrev[first] ?? c.oNext[last] ?? -1;
}

function observedSide(c: Classification, out: Placed[]): void {
  const done = new Uint8Array(c.obs.length);
  const actions = (k: number): string | undefined => c.obs[k]?.action;
  c.oClass.forEach((cls, o) => {
    if (done[o] === 1 || (cls !== 'extra' && cls !== 'duplicate')) return;
    const members = keystroke(o, cls, c.oClass, c.oNext, actions);
    for (const m of members) done[m] = 1;
    const obss = members.map((m) => c.obs[m]).filter((x): x is ObservedTransition => x !== undefined);
    const x = obss[0];
    if (x === undefined) return;
    const pos = c.oPos[o] ?? 0;
    const step = stepOfPos(c, pos);
    const repeats = members.reduce((n, m) => n + (c.repeats.get(m)?.length ?? 0), 0);
    const rep = repeats > 0 ? `, then autorepeated ${repeats}×` : '';
    let message: string;
    if (cls === 'extra') {
      message = `${x.key} ${what(obss, c.noun)} observed but never sent (seq ${list(obss.map((i) => i.seq))}${rep})${atStep(step)}`;
    } else {
      const neighbour = c.obs[originalOf(c, o, members[members.length - 1] ?? o)];
      const pair = [neighbour?.seq, x.seq].filter((s): s is number => s !== undefined).sort((m, n) => m - n);
      const verb = x.action === 'up' && obss.length === 1 ? 'released' : 'pressed';
      const effect = c.noun === 'key' ? 'doubled character' : 'doubled click';
      message = `${x.key} ${verb} twice (seq ${list(pair)}${rep}): ${effect}${atStep(step)}`;
    }
    const finding: Finding = { kind: cls, message, observed: { ...group(obss), ...(repeats > 0 ? { repeats } : {}) } };
    if (step !== undefined) finding.step = step;
    out.push({ at: pos, finding });
  });
}

function stuckFindings(c: Classification, out: Placed[]): void {
  for (const [key, d] of c.stuck) {
    const o = c.obs[d];
    if (o === undefined) continue;
    const mods = o.modifiers !== undefined ? maskToNames(modifierMask(o.modifiers)) : maskToNames(c.oHeld[d] ?? 0);
    const pos = c.oPos[d] ?? 0;
    const e = c.exp.findLastIndex((x) => x.key === key);
    const x = c.exp[e];
    const step = x?.step ?? stepOfPos(c, pos);
    const repeats = c.repeats.get(d)?.length ?? 0;
    const rep = repeats > 0 ? `, autorepeated ${repeats}×` : '';
    const finding: Finding = {
      kind: 'stuck',
      message: `${key} stuck down: pressed at seq ${o.seq} and never released${rep} (modifiers active: ${modText(mods)})${atStep(step)}`,
      observed: { ...obsObj(o), activeModifiers: mods, ...(repeats > 0 ? { repeats } : {}) },
    };
    if (x !== undefined) finding.expected = expObj(x);
    if (step !== undefined) finding.step = step;
    out.push({ at: e >= 0 ? e : pos, finding });
  }
}

function repeatFindings(c: Classification, out: Placed[]): void {
  for (const [d, seqs] of c.repeats) {
    const cls = c.oClass[d];
    const o = c.obs[d];
    if (o === undefined || cls === 'extra' || cls === 'duplicate' || cls === 'stuck' || c.stuck.get(o.key) === d) continue;
    const e = c.oPartner[d] ?? -1;
    const x = c.exp[e];
    const u = c.eNext[e] ?? -1;
    const up = e >= 0 ? c.exp[u] : undefined;
    let held: number | undefined;
    if (x !== undefined) {
      if (up === undefined || up.action !== 'up') continue;
      held = up.sentAt - x.sentAt;
      if (held >= c.repeatThresholdMs) continue;
    }
    const heldText = held === undefined ? 'though never sent' : `though held only ${Math.round(held)} ms (< ${c.repeatThresholdMs} ms)`;
    const first = seqs[0] ?? 0;
    const lastSeq = seqs[seqs.length - 1] ?? first;
    const finding: Finding = {
      kind: 'unexpectedRepeat',
      message: `${o.key} autorepeated ${seqs.length}× (seq ${first === lastSeq ? first : `${first}–${lastSeq}`}) ${heldText}: doubled characters${atStep(x?.step)}`,
      observed: { ...obsObj(o), repeats: seqs.length, repeatSeqs: seqs.slice(0, 16) },
    };
    if (x !== undefined) finding.expected = { ...expObj(x), heldMs: held };
    if (x?.step !== undefined) finding.step = x.step;
    out.push({ at: e >= 0 ? e : (c.oPos[d] ?? 0), finding });
  }
  for (const [key, seqs] of c.orphanRepeats) {
    out.push({
      at: 0,
      finding: {
        kind: 'unexpectedRepeat',
        message: `${key} autorepeated ${seqs.length}× (first seq ${seqs[0] ?? '?'}) with no press observed before: held since before the run?`,
        observed: { key, repeats: seqs.length, repeatSeqs: seqs.slice(0, 16) },
      },
    });
  }
}

export function buildTransitionFindings(c: Classification): Finding[] {
  const out: Placed[] = [];
  expectedSide(c, out);
  observedSide(c, out);
  stuckFindings(c, out);
  repeatFindings(c, out);
  return out.sort((p, q) => p.at - q.at).map((p) => p.finding);
}
