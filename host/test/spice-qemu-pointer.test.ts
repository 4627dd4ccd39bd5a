/**
 * SPICE pointer input into a real QEMU 7.2 (guest-less, SeaBIOS, usb-tablet
 * made current as a guest driver would): client mode positions at the corners
 * and centre map to abs values that the verify engine's mapping reads back
 * within 1 px (exactly when the suite screen is the surface); server mode
 * relative motion sums to the moves sent; buttons; wheel notches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { absToPixel } from '../src/inject/pointer-scale.js';
import type { InputAction, ScreenSize } from '../src/inject/actions.js';
import { motionChunks, openSpiceInjector, type SpiceInjector } from '../src/inject/spice-injector.js';
import { startDisplayQemu, type DisplayQemu, type InputEvent } from './support/display-qemu.js';

let qemu: DisplayQemu;
/** SeaBIOS ends in 720x400 text mode (after a 640x480 moment at start). */
const FINAL_SURFACE = { width: 720, height: 400 };

beforeAll(async () => {
  qemu = await startDisplayQemu({ spice: {} });
  await qemu.useTablet();
});
afterAll(async () => {
  await qemu?.cleanup();
});

async function settledSurface(injector: SpiceInjector): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = injector.spice.client.surface;
    if (s?.width === FINAL_SURFACE.width && s.height === FINAL_SURFACE.height) return;
    if (Date.now() > deadline) throw new Error(`the primary surface did not settle at 720x400 within 30 s (now ${JSON.stringify(s)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Abs = { x: number; y: number };
/** The absolute positions QEMU received, pairing each x with the y after it. */
function positions(events: InputEvent[]): Abs[] {
  const out: Abs[] = [];
  let x: number | undefined;
  for (const e of events) {
    if (e.kind !== 'abs') continue;
    if (e.axis === 'x') x = e.value;
    else if (x !== undefined) {
      out.push({ x, y: e.value });
      x = undefined;
    }
  }
  return out;
}
const buttons = (events: InputEvent[]): string[] => events.flatMap((e) => (e.kind === 'btn' ? [`${e.button} ${e.down ? 'down' : 'up'}`] : []));

describe('client mouse mode', () => {
  it.each([
    ['a 1024x768 suite screen', { width: 1024, height: 768 }],
    ['a suite screen equal to the surface', FINAL_SURFACE],
    ['a 1920x1080 suite screen', { width: 1920, height: 1080 }],
  ] as [string, ScreenSize][])('corners and centre of %s land within 1 px after the verify mapping', async (_name, screen) => {
    const injector = await openSpiceInjector(qemu.endpoint('spice'), screen, { mouseMode: 'client' });
    try {
      expect(injector.spice.client.mouseMode).toBe('client');
      await settledSurface(injector);
      const points = [[0, 0], [screen.width - 1, 0], [0, screen.height - 1], [screen.width - 1, screen.height - 1], [Math.floor(screen.width / 2), Math.floor(screen.height / 2)]] as const;
      const from = (await qemu.inputEvents()).length;
      await injector.send(points.map(([x, y]): InputAction => ({ kind: 'move', x, y })));
      const seen = positions(await qemu.waitForInput((e) => positions(e).length >= points.length, `${points.length} absolute positions`, from));
      const landed = seen.map((p) => [absToPixel(p.x, screen.width), absToPixel(p.y, screen.height)]);
      const exact = screen.width <= FINAL_SURFACE.width + 1 && screen.height <= FINAL_SURFACE.height + 1;
      points.forEach(([x, y], i) => {
        const [lx = -9, ly = -9] = landed[i] ?? [];
        if (exact) expect([lx, ly]).toEqual([x, y]);
        expect(Math.abs(lx - x)).toBeLessThanOrEqual(1);
        expect(Math.abs(ly - y)).toBeLessThanOrEqual(1);
      });
      expect(seen[0]).toEqual({ x: 0, y: 0 });
      expect(seen[3]).toEqual({ x: 0x7fff, y: 0x7fff });
    } finally {
      await injector.close();
    }
  });

  it('buttons press and release with the mask (side and extra too) and the wheel turns one notch per press+release', async () => {
    const injector = await openSpiceInjector(qemu.endpoint('spice'), FINAL_SURFACE, { mouseMode: 'client', surface: FINAL_SURFACE });
    try {
      const from = (await qemu.inputEvents()).length;
      const order = ['left', 'right', 'middle', 'side', 'extra'] as const;
      await injector.send([
        ...order.map((button): InputAction => ({ kind: 'button', button, down: true })),
        ...order.map((button): InputAction => ({ kind: 'button', button, down: false })),
        { kind: 'wheel', dx: 0, dy: -1 },
        { kind: 'wheel', dx: 0, dy: 2 },
      ]);
      const expected = [...order.map((b) => `${b} down`), ...order.map((b) => `${b} up`), 'wheel-up down', 'wheel-up up', 'wheel-down down', 'wheel-down up', 'wheel-down down', 'wheel-down up'];
      const events = await qemu.waitForInput((e) => buttons(e).length >= expected.length, `${expected.length} button events`, from);
      expect(buttons(events)).toEqual(expected);
    } finally {
      await injector.close();
    }
  });
});

describe('server mouse mode', () => {
  it('moves become relative motion from the last position; QEMU gets deltas that sum to the path, as recorded (moveBy)', async () => {
    const injector = await openSpiceInjector(qemu.endpoint('spice'), { width: 1024, height: 768 }, { mouseMode: 'server' });
    try {
      expect(injector.spice.client.mouseMode).toBe('server');
      const from = (await qemu.inputEvents()).length;
      const path: InputAction[] = [
        { kind: 'move', x: 200, y: 100 },
        { kind: 'move', x: 150, y: 300 },
        { kind: 'moveBy', dx: -20, dy: 7 },
        ...Array.from({ length: 30 }, (_, i): InputAction => ({ kind: 'move', x: 150 + 10 * i, y: 300 - 5 * i })),
        { kind: 'button', button: 'left', down: true },
        { kind: 'moveBy', dx: 40, dy: 0 },
        { kind: 'button', button: 'left', down: false },
      ];
      const sent = await injector.send(path);
      const moves = sent.flatMap((s) => (s.action.kind === 'moveBy' ? [s.action] : []));
      expect(sent.filter((s) => s.action.kind === 'move')).toEqual([]);
      expect(moves[0]).toEqual({ kind: 'moveBy', dx: 200, dy: 100 });
      expect(moves[1]).toEqual({ kind: 'moveBy', dx: -50, dy: 200 });
      const rel = (e: InputEvent[], axis: string): number[] => e.flatMap((x) => (x.kind === 'rel' && x.axis === axis ? [x.value] : []));
      // Each motion goes out in PS/2-sized chunks (motionChunks); spice-server hands a press in server mode to QEMU as a (0, 0) motion with the new buttons.
      const expected = (axis: 'dx' | 'dy'): number[] =>
        sent.flatMap((s) => (s.action.kind === 'moveBy' ? motionChunks(s.action.dx, s.action.dy, 0).map((m) => (m.kind === 'mouseMotion' ? m[axis] : Number.NaN)) : s.action.kind === 'button' && s.action.down ? [0] : []));
      const events = await qemu.waitForInput((e) => rel(e, 'y').length >= expected('dy').length && buttons(e).length >= 2, `${moves.length} relative motions and a click`, from);
      expect(rel(events, 'x')).toEqual(expected('dx'));
      expect(rel(events, 'y')).toEqual(expected('dy'));
      expect(rel(events, 'x').reduce((a, b) => a + b, 0)).toBe(150 + 10 * 29 + 40);
      expect(buttons(events)).toEqual(['left down', 'left up']);
      expect(positions(events)).toEqual([]);
    } finally {
      await injector.close();
    }
  });

  it('client mode refuses relative motion before sending anything', async () => {
    const injector = await openSpiceInjector(qemu.endpoint('spice'), FINAL_SURFACE, { mouseMode: 'client', surface: FINAL_SURFACE });
    try {
      await expect(injector.send([{ kind: 'moveBy', dx: 1, dy: 1 }])).rejects.toMatchObject({ code: 'ATP_INJECT_ACTION_UNSUPPORTED', message: expect.stringMatching(/client mouse mode takes absolute positions only/) });
    } finally {
      await injector.close();
    }
  });
});
