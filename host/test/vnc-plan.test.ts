import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAtpError, type KeyId } from '@atp/protocol';
import { qemuAbs, surfaceCoordinate } from '../src/display/vnc/pointer-map.js';
import { absToPixel } from '../src/inject/pointer-scale.js';
import { keyMessage, planMessages } from '../src/inject/vnc-injector.js';
import type { InputAction } from '../src/inject/actions.js';

/** The pixel the verify engine reads back when the injector aims at `pixel` (QEMU: abs = trunc(x * 32767 / surface)). */
const roundTrip = (pixel: number, suite: number, surface: number): number => absToPixel(qemuAbs(surfaceCoordinate(pixel, suite, surface), surface), suite);

const size = fc.integer({ min: 1, max: 8192 });

describe('VNC pointer mapping (suite pixel -> PointerEvent x -> QEMU abs -> verify pixel)', () => {
  it('matches the abs values measured on QEMU 7.2 (surface 720 wide)', () => {
    expect([0, 5, 360, 719, 720].map((x) => qemuAbs(x, 720))).toEqual([0, 0xe3, 0x3fff, 0x7fd1, 0x7fff]);
  });

  it('lands exactly on the corners for any suite and surface size', () => {
    fc.assert(
      fc.property(size, size, (suite, surface) => {
        expect(roundTrip(0, suite, surface)).toBe(0);
        expect(roundTrip(suite - 1, suite, surface)).toBe(suite - 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('lands within 1 px of the centre on an even-sized surface (all real ones), or an odd one at least half the suite size', () => {
    fc.assert(
      fc.property(size, size, (suite, surface) => {
        fc.pre(surface % 2 === 0 || 2 * surface >= suite);
        for (const p of [Math.floor((suite - 1) / 2), Math.ceil((suite - 1) / 2)]) {
          expect(Math.abs(roundTrip(p, suite, surface) - p), `pixel ${p} of ${suite} on a ${surface} surface`).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 2000 },
    );
    // A surface 3 wide reaches abs 0, 10922, 21844, 32767 only: the centre of 1920 comes back 320 px off.
    expect(roundTrip(959, 1920, 3)).toBe(640);
  });

  it('lands every pixel within 1 px when the surface is at least as large as the suite screen', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 3000 }), fc.double({ min: 0, max: 1, noNaN: true }), (suite, extra, at) => {
        const p = Math.round(at * (suite - 1));
        expect(Math.abs(roundTrip(p, suite, suite + extra) - p)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 5000 },
    );
    // Truncation (QEMU) then rounding (verify) skips some pixels even at equal sizes: 861 of 1920 comes back as 860 or 862.
    expect(roundTrip(861, 1920, 1920)).toBe(860);
  });

  it('stays within half a surface step elsewhere when the surface is smaller', () => {
    fc.assert(
      fc.property(size, size, fc.double({ min: 0, max: 1, noNaN: true }), (suite, surface, at) => {
        const p = Math.round(at * (suite - 1));
        const step = (suite - 1) / surface; // suite pixels per surface pixel
        expect(Math.abs(roundTrip(p, suite, surface) - p)).toBeLessThanOrEqual(Math.max(1, step / 2 + 1));
      }),
    );
  });

  it('clamps pixels outside the screen and never goes past the surface (QEMU does not clamp x > width)', () => {
    expect(surfaceCoordinate(-50, 1920, 720)).toBe(0);
    expect(surfaceCoordinate(5000, 1920, 720)).toBe(720);
    expect(surfaceCoordinate(10, 1, 720)).toBe(0);
  });
});

const screen = { width: 1920, height: 1080 };
const surface = { width: 720, height: 400 };
const start = { mask: 0, x: 0, y: 0 };

function codeOf(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (error) {
    return isAtpError(error) ? `${error.code}: ${error.message}` : String(error);
  }
}

describe('VNC injector plan', () => {
  it('sends keys as QEMU extended key events with the XT code (E0 keys folded into 0x80) and the unshifted keysym', () => {
    expect(keyMessage('KEY_A', true, 'extended')).toEqual({ type: 'qemuExtendedKeyEvent', down: true, keysym: 0x61, keycode: 0x1e });
    expect(keyMessage('KEY_RIGHT', false, 'extended')).toEqual({ type: 'qemuExtendedKeyEvent', down: false, keysym: 0xff53, keycode: 0xcd });
    expect(keyMessage('KEY_KPENTER', true, 'extended')).toEqual({ type: 'qemuExtendedKeyEvent', down: true, keysym: 0xff8d, keycode: 0x9c });
    expect(keyMessage('KEY_MUTE', true, 'extended')).toEqual({ type: 'qemuExtendedKeyEvent', down: true, keysym: 0, keycode: 0xa0 });
  });

  it('sends keysym-only KeyEvents with X11 keysyms, and refuses keys without one', () => {
    expect(keyMessage('KEY_1', true, 'keysym')).toEqual({ type: 'keyEvent', down: true, keysym: 0x31 });
    expect(keyMessage('KEY_LEFTMETA', true, 'keysym')).toEqual({ type: 'keyEvent', down: true, keysym: 0xffeb });
    expect(codeOf(() => keyMessage('KEY_MUTE', true, 'keysym'))).toMatch(/^ATP_INJECT_KEY_UNSUPPORTED: Key KEY_MUTE has no X keysym/);
    expect(codeOf(() => keyMessage('KEY_NOPE' as KeyId, true, 'keysym'))).toMatch(/^ATP_KEY_UNKNOWN: Key KEY_NOPE/);
    expect(codeOf(() => keyMessage('BTN_LEFT', true, 'extended'))).toMatch(/^ATP_INJECT_KEY_UNSUPPORTED: Key BTN_LEFT has no XT keycode/);
  });

  it('restates position and button mask in every PointerEvent; wheel notches press and release buttons 4-7', () => {
    const actions: InputAction[] = [
      { kind: 'move', x: 1919, y: 1079 },
      { kind: 'button', button: 'left', down: true },
      { kind: 'button', button: 'right', down: true },
      { kind: 'button', button: 'left', down: false },
      { kind: 'wheel', dx: -1, dy: 2 },
      { kind: 'button', button: 'right', down: false },
    ];
    const { messages, end } = planMessages(actions, screen, surface, 'extended', start);
    const p = (buttonMask: number): object => ({ type: 'pointerEvent', buttonMask, x: 720, y: 400 });
    expect(messages).toEqual([p(0), p(1), p(5), p(4), p(4 | 0x10), p(4), p(4 | 0x10), p(4), p(4 | 0x20), p(4), p(0)]);
    expect(end).toEqual({ mask: 0, x: 720, y: 400 });
  });

  it('refuses relative motion and side/extra buttons with ATP_INJECT_ACTION_UNSUPPORTED, and bad numbers with ATP_SCHEMA_INVALID', () => {
    expect(codeOf(() => planMessages([{ kind: 'moveBy', dx: 1, dy: 1 }], screen, surface, 'extended', start))).toMatch(/^ATP_INJECT_ACTION_UNSUPPORTED: .*no relative pointer motion/);
    expect(codeOf(() => planMessages([{ kind: 'button', button: 'side', down: true }], screen, surface, 'extended', start))).toMatch(/^ATP_INJECT_ACTION_UNSUPPORTED: .*no side button/);
    expect(codeOf(() => planMessages([{ kind: 'wheel', dx: 0, dy: 1.5 }], screen, surface, 'extended', start))).toMatch(/^ATP_SCHEMA_INVALID: wheel.dy must be an integer/);
    expect(codeOf(() => planMessages([{ kind: 'move', x: Number.NaN, y: 0 }], screen, surface, 'extended', start))).toMatch(/^ATP_SCHEMA_INVALID: move.x must be a finite number/);
  });
});
