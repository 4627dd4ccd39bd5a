/** Hook records (KBDLLHOOKSTRUCT / MSLLHOOKSTRUCT fields) -> CapturedEvents: pure, so tested on Linux. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { keyToSet1, keyToVk, ObservedEventSchema } from '@atp/protocol';
import { HookKeyboardTranslator, keyFromHook, set1FromHook, signedHighWord, translateMouseHook, virtualScreenRange } from '../src/capture/windows-hooks/hook-mapping.js';
import { LLKHF, LLMHF, WM } from '../src/capture/windows-hooks/hook-mapping.js';
import { sessionProblem } from '../src/capture/windows-hooks/session-check.js';

const key = (message: number, vkCode: number, scanCode: number, flags = 0, t = 5) => ({ message, vkCode, scanCode, flags, t });

describe('keyboard hook records', () => {
  it('maps scanCode + LLKHF_EXTENDED to the set-1 code and its canonical key', () => {
    expect(set1FromHook(0x1d, LLKHF.EXTENDED)).toBe(0xe01d);
    expect(keyFromHook(0xa2, 0x1d, 0)).toEqual({ key: 'KEY_LEFTCTRL' });
    expect(keyFromHook(0xa3, 0x1d, LLKHF.EXTENDED)).toEqual({ key: 'KEY_RIGHTCTRL' });
    expect(keyFromHook(0x0d, 0x1c, LLKHF.EXTENDED)).toEqual({ key: 'KEY_KPENTER' });
    expect(keyFromHook(0x26, 0x48, LLKHF.EXTENDED)).toEqual({ key: 'KEY_UP' });
    expect(keyFromHook(0x68, 0x48, 0)).toEqual({ key: 'KEY_KP8' });
  });

  it('handles the hook quirks: Pause, Num Lock, Right Shift, fake shifts, VK-only input', () => {
    expect(keyFromHook(0x13, 0x45, 0)).toEqual({ key: 'KEY_PAUSE' });
    expect(keyFromHook(0x90, 0x45, LLKHF.EXTENDED)).toEqual({ key: 'KEY_NUMLOCK' });
    expect(keyFromHook(0xa1, 0x36, LLKHF.EXTENDED)).toEqual({ key: 'KEY_RIGHTSHIFT' });
    expect(keyFromHook(0xa0, 0x2a, LLKHF.EXTENDED)).toEqual({ ignored: 'fake-shift' });
    expect(keyFromHook(0x41, 0, LLKHF.INJECTED)).toEqual({ key: 'KEY_A' });
    expect(keyFromHook(0, 0, 0)).toEqual({ ignored: 'unmapped' });
  });

  it('every key with a set-1 code comes back from its make code (property)', () => {
    const withCodes = ['KEY_A', 'KEY_Z', 'KEY_1', 'KEY_F12', 'KEY_HOME', 'KEY_END', 'KEY_DELETE', 'KEY_LEFTMETA', 'KEY_RIGHTALT', 'KEY_KPSLASH', 'KEY_102ND', 'KEY_SPACE'];
    fc.assert(
      fc.property(fc.constantFrom(...withCodes), (id) => {
        const code = keyToSet1(id);
        if (code === undefined) return false;
        const flags = code > 0xff ? LLKHF.EXTENDED : 0;
        const mapped = keyFromHook(keyToVk(id) ?? 0, code & 0xff, flags);
        return 'key' in mapped && mapped.key === id;
      }),
    );
  });

  it('turns a down while held into repeat, tracks modifiers and lock toggles, and flags injected input', () => {
    const tr = new HookKeyboardTranslator({ numlock: true });
    const shiftDown = tr.translate(key(WM.KEYDOWN, 0xa0, 0x2a));
    expect(shiftDown.event).toMatchObject({ kind: 'key', key: 'KEY_LEFTSHIFT', action: 'down', modifiers: ['shift', 'numlock'] });
    const a1 = tr.translate(key(WM.KEYDOWN, 0x41, 0x1e, 0, 7));
    const a2 = tr.translate(key(WM.KEYDOWN, 0x41, 0x1e, 0, 8));
    const aUp = tr.translate(key(WM.KEYUP, 0x41, 0x1e, LLKHF.UP | LLKHF.INJECTED, 9));
    expect(a1.event).toEqual({ kind: 'key', t: 7, device: 'win-keyboard', key: 'KEY_A', action: 'down', native: { scancode: 0x1e, vk: 0x41 }, modifiers: ['shift', 'numlock'] });
    expect(a2.event).toMatchObject({ action: 'repeat' });
    expect(aUp).toMatchObject({ injected: true, event: { action: 'up' } });
    expect(a1.injected).toBe(false);
    tr.translate(key(WM.KEYUP, 0xa0, 0x2a, LLKHF.UP));
    tr.translate(key(WM.KEYDOWN, 0x14, 0x3a));
    const altDown = tr.translate(key(WM.SYSKEYDOWN, 0xa4, 0x38, LLKHF.ALTDOWN));
    expect(altDown.event).toMatchObject({ key: 'KEY_LEFTALT', modifiers: ['alt', 'capslock', 'numlock'] });
    for (const r of [shiftDown, a1, a2, aUp, altDown]) expect(ObservedEventSchema.safeParse({ ...r.event, seq: 1 }).success).toBe(true);
  });

  it('ignores messages that are not key messages', () => {
    expect(new HookKeyboardTranslator().translate(key(0x200, 0x41, 0x1e))).toEqual({ injected: false, ignored: 'unknown-message' });
  });
});

describe('mouse hook records', () => {
  const range = virtualScreenRange(-1920, 0, 3840, 1080);
  const mouse = (message: number, x: number, y: number, mouseData = 0, flags = 0) => ({ message, x, y, mouseData, flags, t: 3 });

  it('reports moves as abs screen pixels with the virtual screen as range', () => {
    expect(range).toEqual({ xMin: -1920, xMax: 1919, yMin: 0, yMax: 1079 });
    expect(virtualScreenRange(0, 0, 0, 0)).toBeUndefined();
    expect(translateMouseHook(mouse(WM.MOUSEMOVE, -5, 10), range)).toEqual({ injected: false, event: { kind: 'abs', t: 3, device: 'win-mouse', x: -5, y: 10, range } });
  });

  it('maps buttons, XBUTTON1/2 and the injected flag', () => {
    expect(translateMouseHook(mouse(WM.LBUTTONDOWN, 1, 2)).event).toEqual({ kind: 'button', t: 3, device: 'win-mouse', button: 'left', action: 'down', x: 1, y: 2 });
    expect(translateMouseHook(mouse(WM.RBUTTONUP, 1, 2)).event).toMatchObject({ button: 'right', action: 'up' });
    expect(translateMouseHook(mouse(WM.MBUTTONDOWN, 1, 2)).event).toMatchObject({ button: 'middle', action: 'down' });
    expect(translateMouseHook(mouse(WM.XBUTTONDOWN, 1, 2, 1 << 16)).event).toMatchObject({ button: 'side', action: 'down' });
    expect(translateMouseHook(mouse(WM.XBUTTONUP, 1, 2, 2 << 16, LLMHF.INJECTED))).toMatchObject({ injected: true, event: { button: 'extra', action: 'up' } });
    expect(translateMouseHook(mouse(WM.XBUTTONUP, 1, 2, 3 << 16))).toEqual({ injected: false, ignored: 'unknown-message' });
  });

  it('converts WHEEL_DELTA units: forward = scroll up = negative dy; tilt right = positive dx', () => {
    expect(signedHighWord(0xff880000)).toBe(-120);
    expect(translateMouseHook(mouse(WM.MOUSEWHEEL, 0, 0, 120 << 16)).event).toMatchObject({ kind: 'wheel', dx: 0, dy: -1, hiRes: { dx: 0, dy: -120 } });
    expect(translateMouseHook(mouse(WM.MOUSEWHEEL, 0, 0, 0xff880000)).event).toMatchObject({ dy: 1, hiRes: { dy: 120 } });
    expect(translateMouseHook(mouse(WM.MOUSEHWHEEL, 0, 0, 240 << 16)).event).toMatchObject({ dx: 2, dy: 0, hiRes: { dx: 240, dy: 0 } });
    expect(translateMouseHook(mouse(WM.MOUSEWHEEL, 0, 0, 30 << 16)).event).toMatchObject({ dy: -0.25, hiRes: { dy: -30 } });
  });

  it('produces events the protocol accepts', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(WM).filter((m) => m >= 0x200)), fc.integer({ min: -40000, max: 40000 }), fc.integer({ min: 0, max: 0xffffffff }), (message, xy, data) => {
        const r = translateMouseHook(mouse(message, xy, -xy, data), range);
        return r.event === undefined || ObservedEventSchema.safeParse({ ...r.event, seq: 1 }).success;
      }),
    );
  });
});

describe('where the Windows agent runs', () => {
  it('warns in session 0, without an input desktop, and outside the console session; not in the console session', () => {
    expect(sessionProblem({ sessionId: 1, consoleSessionId: 1, inputDesktop: 'Default' })).toBeUndefined();
    expect(sessionProblem({ sessionId: 0, consoleSessionId: 1, inputDesktop: null })?.message).toMatch(/session 0 \(a service\)/);
    expect(sessionProblem({ sessionId: 1, consoleSessionId: 1, inputDesktop: null })).toMatchObject({ code: 'ATP_CAPTURE_SESSION', details: { inputDesktop: null } });
    expect(sessionProblem({ sessionId: 3, consoleSessionId: 1, inputDesktop: 'Default' })?.message).toMatch(/session 3, not the console session 1/);
  });
});
