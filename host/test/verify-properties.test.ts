/**
 * Property tests of the verify engine: a simulated perfect observer must give a
 * pass with zero findings and the latencies it was built with; injected defects
 * must come back exactly (kind and key), nothing else. The generators keep each
 * defect unambiguous: defects sit on chords at least two apart and involve
 * distinct keys; a swap exchanges two plain keystrokes of different keys;
 * replacement keys are never typed otherwise; a released-never key is the last
 * use of that key; a defect chord's neighbours type other keys. Ambiguities
 * that exist in principle (and that these rules avoid): a swap may be reported
 * as either key reordered; a run of identical keystrokes between two defects
 * lets the alignment slide along it (F F' A A A O A against F A A A A O reads
 * as F→A wrongKey + extra A as well as duplicate F + reordered A); a swap of two
 * keystrokes typed under the same modifier reads as two wrongKeys (the modifier
 * transitions pin the positions, exactly like a layout swap); a missing and an
 * extra copy of one key nearby pair up as reordered.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Finding, KeyId, ObservedEvent } from '@atp/protocol';
import type { InjectedAction, InputAction, PointerButton } from '../src/inject/actions.js';
import { nearestRank, verifySuite, type Tolerances, type VerifyResult } from '../src/verify/index.js';
import { pixelToAbs } from '../src/inject/pointer-scale.js';

const MAIN = [...'ABCDEFGHIJKLMNOP'].map((c) => `KEY_${c}`);
const REPLACEMENTS = [...'QRSTUVWXYZ'].map((c) => `KEY_${c}`);
const MOD_NAMES: Record<string, string> = { KEY_LEFTSHIFT: 'shift', KEY_LEFTCTRL: 'ctrl' };
const T0 = 1_700_000_000_000;

interface Chord { key: string; shift: boolean; ctrl: boolean; hold: number; gap: number }
interface Tr { key: string; action: 'down' | 'up' | 'repeat'; hostT: number; delay: number }

const chordArb = fc.record({
  key: fc.constantFrom(...MAIN),
  shift: fc.boolean(),
  ctrl: fc.boolean(),
  hold: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 150 }), weight: 5 }, { arbitrary: fc.integer({ min: 300, max: 500 }), weight: 1 }),
  gap: fc.integer({ min: 1, max: 40 }),
});

const mods = (c: Chord): string[] => [...(c.shift ? ['KEY_LEFTSHIFT'] : []), ...(c.ctrl ? ['KEY_LEFTCTRL'] : [])];

/** Sends each chord (modifiers down, key down, key up after `hold`, modifiers up) and returns the actions and the perfect observation, per chord. */
function build(chords: Chord[], delays: number[]): { injected: InjectedAction[]; perChord: Tr[][] } {
  const injected: InjectedAction[] = [];
  const perChord: Tr[][] = [];
  let now = T0;
  const send = (key: string, down: boolean, out: Tr[]): void => {
    injected.push({ id: injected.length + 1, action: { kind: 'key', key: key as KeyId, down }, sentAt: now, step: perChord.length });
    out.push({ key, action: down ? 'down' : 'up', hostT: now, delay: delays[injected.length % delays.length] ?? 3 });
  };
  for (const c of chords) {
    const out: Tr[] = [];
    for (const m of mods(c)) { now += c.gap; send(m, true, out); }
    now += c.gap;
    send(c.key, true, out);
    const downAt = now;
    for (let r = downAt + 250; r < downAt + c.hold; r += 33) out.push({ key: c.key, action: 'repeat', hostT: r, delay: 3 });
    now += c.hold;
    send(c.key, false, out);
    for (const m of mods(c).reverse()) { now += c.gap; send(m, false, out); }
    perChord.push(out);
  }
  return { injected, perChord };
}

/** Observed events from transitions: t on the agent clock (increasing), modifiers as the observer tracks them. */
function observe(trs: Tr[], offset: number): ObservedEvent[] {
  const held = new Set<string>();
  let last = -Infinity;
  return trs.map((tr, i) => {
    const t = Math.max(last + 0.001, tr.hostT + offset + tr.delay);
    last = t;
    const modifiers = [...held].map((k) => MOD_NAMES[k] ?? k).sort();
    if (tr.key in MOD_NAMES && tr.action !== 'repeat') {
      if (tr.action === 'down') held.add(tr.key);
      else held.delete(tr.key);
    }
    return { kind: 'key', key: tr.key, action: tr.action, seq: i + 1, t, device: 'kbd', modifiers };
  });
}

type DefectKind = 'drop' | 'double' | 'swap' | 'stuck' | 'replace';
interface Defect { kind: DefectKind; at: number; pick: number }
interface Want { kind: Finding['kind']; keys: string[]; observedKey?: string }

/** Accepts the defects that keep each one unambiguous, applies them, and says which findings they must produce. */
function inject(chords: Chord[], perChord: Tr[][], defects: Defect[]): { trs: Tr[]; wants: Want[] } {
  const used: number[] = [];
  const usedKeys = new Set<string>();
  const wants: Want[] = [];
  const out = perChord.map((c) => [...c]);
  const laterUses = (key: string, c: number): boolean => chords.slice(c + 1).some((x) => x.key === key || mods(x).includes(key));
  for (const d of defects) {
    const c = d.at % chords.length;
    const span = d.kind === 'swap' ? [c, c + 1] : [c];
    const chord = chords[c];
    const next = chords[c + 1];
    if (chord === undefined || (d.kind === 'swap' && next === undefined)) continue;
    if (span.some((s) => used.some((u) => Math.abs(u - s) < 2))) continue;
    let keys = d.kind === 'swap' ? [chord.key, next?.key ?? ''] : [chord.key];
    if (d.kind === 'stuck') {
      const candidates = [chord.key, ...mods(chord)].filter((k) => !laterUses(k, c));
      const k = candidates[d.pick % Math.max(1, candidates.length)];
      if (k === undefined) continue;
      keys = [k];
    }
    if (keys.some((k) => usedKeys.has(k))) continue;
    // A run of identical keystrokes beside a defect lets it slide (see the header): keep neighbours different.
    const around = [chords[c - 1]?.key, chords[(span[span.length - 1] ?? c) + 1]?.key];
    if (d.kind !== 'stuck' && around.some((k) => k !== undefined && keys.includes(k))) continue;
    if (d.kind === 'swap' && (chord.key === next?.key || mods(chord).length > 0 || (next !== undefined && mods(next).length > 0))) continue;
    const list = out[c] ?? [];
    const main = (action: string): number => list.findIndex((t) => t.key === chord.key && t.action === action);
    if (d.kind === 'drop') {
      const up = d.pick % 2 === 1;
      if (up) list.splice(main('up'), 1);
      else out[c] = list.filter((t) => !(t.key === chord.key && t.action !== 'up'));
      wants.push({ kind: up && !laterUses(chord.key, c) ? 'stuck' : 'missing', keys });
    } else if (d.kind === 'double') {
      const upIdx = main('up');
      const up = list[upIdx];
      if (up === undefined) continue;
      list.splice(upIdx + 1, 0, { ...up, action: 'down', hostT: up.hostT + 0.2 }, { ...up, hostT: up.hostT + 0.4 });
      wants.push({ kind: 'duplicate', keys });
    } else if (d.kind === 'swap') {
      [out[c], out[c + 1]] = [out[c + 1] ?? [], list];
      wants.push({ kind: 'reordered', keys });
    } else if (d.kind === 'stuck') {
      const key = keys[0] ?? '';
      const upIdx = list.findIndex((t) => t.key === key && t.action === 'up');
      const up = list[upIdx];
      if (up === undefined) continue;
      list.splice(upIdx, 1);
      list.push(...[1, 2, 3].map((k): Tr => ({ key, action: 'repeat', hostT: up.hostT + 250 + k * 33, delay: 3 })));
      wants.push({ kind: 'stuck', keys });
    } else {
      const repl = REPLACEMENTS[wants.length % REPLACEMENTS.length] ?? 'KEY_Z';
      out[c] = list.map((t) => (t.key === chord.key ? { ...t, key: repl } : t));
      wants.push({ kind: 'wrongKey', keys, observedKey: repl });
    }
    used.push(...span);
    for (const k of keys) usedKeys.add(k);
  }
  return { trs: out.flat(), wants };
}

const keyOf = (f: Finding, side: 'expected' | 'observed'): unknown => f[side]?.['key'];

function expectExactly(r: VerifyResult, wants: Want[]): void {
  const left = [...r.findings];
  for (const w of wants) {
    const i = left.findIndex((f) => {
      if (f.kind !== w.kind) return false;
      const key = keyOf(f, f.kind === 'duplicate' || f.kind === 'stuck' ? 'observed' : 'expected');
      return w.keys.includes(String(key)) && (w.observedKey === undefined || keyOf(f, 'observed') === w.observedKey);
    });
    expect(i, `no ${w.kind} finding for ${w.keys.join('/')} among ${JSON.stringify(left.map((f) => f.message))}`).toBeGreaterThanOrEqual(0);
    left.splice(i, 1);
  }
  expect(left.map((f) => f.message), `unexpected: ${JSON.stringify(left.map((f) => f.message))}`).toEqual([]);
  expect(r.verdict).toBe(wants.length === 0 ? 'pass' : 'fail');
  for (const kind of ['missing', 'duplicate', 'reordered', 'stuck', 'wrongKey', 'extra', 'wrongModifier', 'unexpectedRepeat'] as const) {
    expect(r.counts[kind]).toBe(r.findings.filter((f) => f.kind === kind).length);
  }
}

const defectArb = fc.record({
  kind: fc.constantFrom<DefectKind>('drop', 'double', 'swap', 'stuck', 'replace'),
  at: fc.nat(),
  pick: fc.nat(),
});
const SCREEN = { width: 1280, height: 800 };
const CLOCK = { offsetMs: -3_456.5, uncertaintyMs: 0.5 };

function defectsProperty(tolerances: Partial<Tolerances>): void {
  fc.assert(
    fc.property(fc.array(chordArb, { minLength: 4, maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 8 }), fc.array(defectArb, { minLength: 1, maxLength: 5 }), (chords, delays, defects) => {
      const { injected, perChord } = build(chords, delays);
      const { trs, wants } = inject(chords, perChord, defects);
      const r = verifySuite({ injected, observed: observe(trs, CLOCK.offsetMs), screen: SCREEN, clock: CLOCK, tolerances });
      expectExactly(r, wants);
    }),
    { numRuns: 300 },
  );
}

describe('verify properties', () => {
  it('a perfect observer passes with zero findings and its latencies recovered (keys and pointer)', () => {
    const pointerArb = fc.oneof(
      fc.record({ kind: fc.constant('move' as const), x: fc.integer({ min: 0, max: SCREEN.width - 1 }), y: fc.integer({ min: 0, max: SCREEN.height - 1 }) }),
      fc.record({ kind: fc.constant('click' as const), button: fc.constantFrom<PointerButton>('left', 'right', 'middle') }),
      fc.record({ kind: fc.constant('wheel' as const), dx: fc.integer({ min: -2, max: 2 }), dy: fc.integer({ min: -3, max: 3 }).filter((v) => v !== 0) }),
      fc.record({ kind: fc.constant('moveBy' as const), dx: fc.integer({ min: -50, max: 50 }), dy: fc.integer({ min: -50, max: 50 }) }),
    );
    fc.assert(
      fc.property(fc.array(chordArb, { maxLength: 30 }), fc.array(pointerArb, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), (chords, pointerOps, delays) => {
        fc.pre(chords.length + pointerOps.length > 0);
        const { injected, perChord } = build(chords, delays);
        const keyEvents = observe(perChord.flat(), CLOCK.offsetMs);
        let now = (injected[injected.length - 1]?.sentAt ?? T0) + 100;
        let seq = keyEvents.length;
        let pos = { x: 0, y: 0 };
        const pointerEvents: ObservedEvent[] = [];
        const sendPointer = (action: InputAction, observed?: Record<string, unknown>): void => {
          now += 7;
          injected.push({ id: injected.length + 1, action, sentAt: now });
          if (observed !== undefined) pointerEvents.push({ seq: ++seq, t: now + CLOCK.offsetMs + 4, device: 'tablet', ...observed } as ObservedEvent);
        };
        for (const op of pointerOps) {
          if (op.kind === 'move') {
            const ax = { x: pixelToAbs(op.x, SCREEN.width), y: pixelToAbs(op.y, SCREEN.height) };
            const changed = ax.x !== pos.x || ax.y !== pos.y;
            pos = ax;
            sendPointer({ kind: 'move', x: op.x, y: op.y }, changed ? { kind: 'abs', ...ax } : undefined);
          } else if (op.kind === 'click') {
            for (const down of [true, false]) sendPointer({ kind: 'button', button: op.button, down }, { kind: 'button', button: op.button, action: down ? 'down' : 'up' });
          } else if (op.kind === 'wheel') sendPointer(op, { kind: 'wheel', dx: op.dx, dy: op.dy });
          else sendPointer(op, { kind: 'rel', dx: op.dx, dy: op.dy });
        }
        const observed = [...keyEvents, ...pointerEvents];
        const r = verifySuite({ injected, observed, screen: SCREEN, clock: CLOCK });
        expect(r.findings).toEqual([]);
        expect(r.verdict).toBe('pass');
        const transitions = injected.filter((a) => a.action.kind === 'key' || a.action.kind === 'button');
        expect(r.counts.matched).toBe(transitions.length);
        expect(r.counts.expected).toBe(transitions.length);
        const seen = observed.filter((e) => (e.kind === 'key' || e.kind === 'button') && e.action !== 'repeat');
        const lat = transitions.map((a, i) => (seen[i]?.t ?? NaN) - CLOCK.offsetMs - a.sentAt).sort((x, y) => x - y);
        if (lat.length > 0) {
          expect(r.latency).toMatchObject({ n: lat.length, p50Ms: nearestRank(lat, 50), p95Ms: nearestRank(lat, 95), p99Ms: nearestRank(lat, 99), maxMs: lat[lat.length - 1] });
          for (const v of lat) expect(v).toBeGreaterThan(0);
        }
        if (r.pointer !== undefined) expect(r.pointer.maxErrorPx).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('reports exactly the injected defects (exact alignment)', () => {
    defectsProperty({});
  });

  it('reports exactly the injected defects (windowed alignment, window 16)', () => {
    defectsProperty({ maxFullAlignCells: 0, alignWindow: 16 });
  });
});
