import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObservedEventSchema, type RawInputEvent } from '@atp/protocol';
import { EvdevTranslator, ModifierState } from '../src/capture/linux-evdev/translate.js';

const TABLET = { xMin: 0, xMax: 32767, yMin: 0, yMax: 32767 };
let clock = 0;
/** One record at the next millisecond (sec/usec split like the kernel's timeval). */
const ev = (type: number, code: number, value: number): RawInputEvent => {
  clock += 1;
  return { sec: 1000 + Math.floor(clock / 1000), usec: (clock % 1000) * 1000, type, code, value };
};
const syn = (): RawInputEvent => ev(0, 0, 0);
const dropped = (): RawInputEvent => ev(0, 3, 0);
const key = (code: number, value: number): RawInputEvent => ev(1, code, value);
const rel = (code: number, value: number): RawInputEvent => ev(2, code, value);
const abs = (code: number, value: number): RawInputEvent => ev(3, code, value);
const scan = (value: number): RawInputEvent => ev(4, 4, value);
const led = (code: number, value: number): RawInputEvent => ev(0x11, code, value);

const KEY_A = 30;
const KEY_LEFTSHIFT = 42;
const KEY_RIGHTCTRL = 97;
const KEY_CAPSLOCK = 58;

describe('evdev translator: keys', () => {
  it('turns values 1/2/0 into down/repeat/up with the key id and the evdev code', () => {
    const t = new EvdevTranslator({ device: 'event1' });
    const out = t.push([key(KEY_A, 1), syn(), key(KEY_A, 2), syn(), key(KEY_A, 2), syn(), key(KEY_A, 0), syn()]);
    expect(out.map((e) => (e.kind === 'key' ? `${e.key}:${e.action}` : e.kind))).toEqual([
      'KEY_A:down', 'KEY_A:repeat', 'KEY_A:repeat', 'KEY_A:up',
    ]);
    expect(out[0]).toMatchObject({ kind: 'key', device: 'event1', native: { evdev: KEY_A }, modifiers: [] });
  });

  it('stamps t in ms from the record timeval', () => {
    const t = new EvdevTranslator({ device: 'event1' });
    const [down] = t.push([{ sec: 1_700_000_000, usec: 123_456, type: 1, code: KEY_A, value: 1 }, syn()]);
    expect(down?.t).toBeCloseTo(1_700_000_000_123.456, 3);
  });

  it('emits keys only at SYN_REPORT', () => {
    const t = new EvdevTranslator({ device: 'event1' });
    expect(t.push([key(KEY_A, 1)])).toEqual([]);
    expect(t.push([syn()])).toHaveLength(1);
  });

  it('attaches MSC_SCAN to the key that follows it in the frame', () => {
    const t = new EvdevTranslator({ device: 'event1' });
    const out = t.push([scan(0x1e), key(KEY_A, 1), syn(), key(KEY_A, 0), syn()]);
    expect(out[0]).toMatchObject({ native: { evdev: KEY_A, scancode: 0x1e } });
    expect(out[1]).toMatchObject({ native: { evdev: KEY_A } });
    expect(out[1]).not.toHaveProperty('native.scancode');
  });

  it('reports held modifiers and lock LEDs, shared across keyboards', () => {
    const shared = new ModifierState();
    const ps2 = new EvdevTranslator({ device: 'event1', modifiers: shared });
    const virtio = new EvdevTranslator({ device: 'event2', modifiers: shared });
    expect(ps2.push([key(KEY_LEFTSHIFT, 1), syn()])[0]).toMatchObject({ key: 'KEY_LEFTSHIFT', modifiers: ['shift'] });
    expect(virtio.push([key(KEY_RIGHTCTRL, 1), syn(), key(KEY_A, 1), syn()])[1]).toMatchObject({ key: 'KEY_A', modifiers: ['shift', 'ctrl'] });
    // The LED follows in its own frame, set by the guest's keyboard handler.
    expect(ps2.push([key(KEY_CAPSLOCK, 1), syn(), led(1, 1), syn()])[0]).toMatchObject({ modifiers: ['shift', 'ctrl'] });
    expect(ps2.push([key(KEY_LEFTSHIFT, 0), syn()])[0]).toMatchObject({ action: 'up', modifiers: ['ctrl', 'capslock'] });
    virtio.close(); // the virtio keyboard went away holding Ctrl
    expect(ps2.push([key(KEY_A, 1), syn()])[0]).toMatchObject({ modifiers: ['capslock'] });
  });

  it('names unknown key and button codes and ignores impossible ones', () => {
    const t = new EvdevTranslator({ device: 'event1' });
    const out = t.push([key(0x2fe, 1), key(0x15f, 1), key(0x300, 1), key(0, 1), key(KEY_A, 7), syn()]);
    expect(out.map((e) => (e.kind === 'key' ? e.key : e.kind === 'button' ? e.button : e.kind))).toEqual(['KEY_UNNAMED_766', 'BTN_UNNAMED_351']);
  });
});

describe('evdev translator: pointer', () => {
  it('maps BTN_LEFT..BTN_TASK to named buttons and others to their BTN_ id', () => {
    const t = new EvdevTranslator({ device: 'event3' });
    const codes = [0x110, 0x111, 0x112, 0x113, 0x114, 0x115, 0x116, 0x117, 0x14a, 0x100];
    const out = t.push(codes.flatMap((c) => [key(c, 1), syn(), key(c, 0), syn()]));
    const buttons = out.filter((e) => e.kind === 'button').map((e) => (e.kind === 'button' ? `${e.button}:${e.action}` : ''));
    expect(buttons.filter((b) => b.endsWith(':down'))).toEqual([
      'left:down', 'right:down', 'middle:down', 'side:down', 'extra:down', 'forward:down', 'back:down', 'task:down', 'BTN_TOUCH:down', 'BTN_0:down',
    ]);
    expect(buttons.filter((b) => b.endsWith(':up'))).toHaveLength(codes.length);
  });

  it('accumulates REL_X/REL_Y of a frame into one rel event, before the buttons of that frame', () => {
    const t = new EvdevTranslator({ device: 'event3' });
    const out = t.push([rel(0, 3), rel(1, -2), rel(0, 4), key(0x110, 1), syn(), rel(1, 5), syn()]);
    expect(out).toMatchObject([
      { kind: 'rel', dx: 7, dy: -2 },
      { kind: 'button', button: 'left', action: 'down' },
      { kind: 'rel', dx: 0, dy: 5 },
    ]);
    expect(out[1]).not.toHaveProperty('x');
  });

  it('makes one wheel event per frame: notches with positive dy = down, hi-res apart and never added', () => {
    const t = new EvdevTranslator({ device: 'event4' });
    // QEMU's tablet, wheel down one notch: REL_WHEEL -1 plus REL_WHEEL_HI_RES -120.
    const down = t.push([rel(8, -1), rel(11, -120), syn()]);
    expect(down).toEqual([{ kind: 'wheel', t: expect.any(Number), device: 'event4', dx: 0, dy: 1, hiRes: { dx: 0, dy: 120 } }]);
    // PS/2 mouse: no hi-res axis; horizontal right.
    expect(t.push([rel(6, 2), syn()])).toMatchObject([{ kind: 'wheel', dx: 2, dy: 0 }]);
    expect(t.push([rel(6, 2), syn()])[0]).not.toHaveProperty('hiRes');
    // A hi-res mouse half a notch up: hi-res only, no notch.
    expect(t.push([rel(11, 60), rel(12, -30), syn()])).toMatchObject([{ kind: 'wheel', dx: 0, dy: 0, hiRes: { dx: -30, dy: -60 } }]);
  });

  it('reports absolute positions with the range, keeping the axis that did not change', () => {
    const t = new EvdevTranslator({ device: 'event4', absRange: TABLET });
    const out = t.push([abs(0, 16384), abs(1, 8192), syn(), abs(0, 100), syn(), key(0x110, 1), syn()]);
    expect(out).toMatchObject([
      { kind: 'abs', x: 16384, y: 8192, range: TABLET },
      { kind: 'abs', x: 100, y: 8192, range: TABLET },
      { kind: 'button', button: 'left', action: 'down', x: 100, y: 8192 },
    ]);
  });

  it('reports abs without range when none is known', () => {
    const t = new EvdevTranslator({ device: 'event2' });
    expect(t.push([abs(1, 5), syn()])).toEqual([{ kind: 'abs', t: expect.any(Number), device: 'event2', x: 0, y: 5 }]);
  });
});

describe('evdev translator: SYN_DROPPED', () => {
  it('emits sync-dropped at once and discards the partial frame up to the next SYN_REPORT', () => {
    const t = new EvdevTranslator({ device: 'event1' });
    const out = t.push([
      key(KEY_A, 1), rel(0, 5), // partial frame, lost
      dropped(),
      key(KEY_A, 0), rel(0, 9), // after the drop, still the broken frame
      syn(),
      key(KEY_A, 1), syn(), // the next full frame counts again
    ]);
    expect(out).toMatchObject([
      { kind: 'sync-dropped', device: 'event1' },
      { kind: 'key', key: 'KEY_A', action: 'down' },
    ]);
    expect(out).toHaveLength(2);
  });

  it('does not let a discarded frame change the modifiers', () => {
    const t = new EvdevTranslator({ device: 'event1' });
    t.push([dropped(), key(KEY_LEFTSHIFT, 1), syn()]);
    expect(t.push([key(KEY_A, 1), syn()])[0]).toMatchObject({ modifiers: [] });
  });
});

describe('evdev translator: robustness', () => {
  const record = fc.record({
    sec: fc.nat({ max: 2 ** 33 }),
    usec: fc.nat({ max: 999_999 }),
    type: fc.constantFrom(0, 1, 2, 3, 4, 0x11, 0x14, 0x15, 7, 0xffff),
    code: fc.oneof(fc.nat({ max: 16 }), fc.nat({ max: 0x320 }), fc.constant(0xffff)),
    value: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  });

  it('property: any record stream yields only schema-valid events, and a SYN_DROPPED is never hidden', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 300 }), (records) => {
        const t = new EvdevTranslator({ device: 'event9', absRange: TABLET });
        const out = t.push(records);
        for (const e of out) expect(ObservedEventSchema.safeParse({ ...e, seq: 1 }).success).toBe(true);
        const drops = records.filter((r) => r.type === 0 && r.code === 3).length;
        expect(out.filter((e) => e.kind === 'sync-dropped')).toHaveLength(drops);
      }),
    );
  });

  it('flushes a stream that never sends SYN_REPORT instead of growing without bound', () => {
    const t = new EvdevTranslator({ device: 'event1' });
    const out = t.push(Array.from({ length: 1000 }, (_, i) => key(KEY_A, i % 2)));
    expect(out.length).toBeGreaterThanOrEqual(768);
  });
});
