/**
 * A test-rig Injector that sends X input through XTEST with `xdotool`, into the
 * X display (Xvfb) a wine desktop runs on: what a Windows guest's keyboard and
 * mouse are in the wine rig (test/support/wine-rig.ts).
 *
 *  - keys: raw X keycodes, the Linux key code + 8 (the evdev keycodes every
 *    XKB keymap of Xvfb uses), not keysyms: xdotool turns a modifier keysym
 *    such as Control_R into the modifier's first key as well (wine then sees
 *    Left Ctrl and Right Ctrl), and a keysym missing from the map into a
 *    remapped spare keycode;
 *  - pointer: suite pixels are screen pixels of the display (mousemove);
 *  - wheel: X buttons 4/5 (up/down) and 6/7 (left/right), one click a notch.
 *
 * One xdotool process per send() call carries all its actions in order; every
 * action is stamped `sentAt` when that process is started, so a latency also
 * counts xdotool's start (a few ms) and is never made to look shorter.
 */
import { spawn } from 'node:child_process';
import { AtpError, keyToEvdev } from '@atp/protocol';
import type { InjectedAction, Injector, InputAction, PointerButton, ScreenSize } from '../../host/src/inject/actions.js';
import { hostNow } from '../../host/src/util/clock.js';

const X_BUTTONS: Partial<Record<PointerButton, number>> = { left: 1, middle: 2, right: 3 };

export class XdotoolInjector implements Injector {
  readonly name = 'x11-xdotool';
  private nextId = 1;
  private closed = false;
  private x = 0;
  private y = 0;
  /** Sends are serialised: ids, stamps and the display's order agree. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly xdotool: string,
    private readonly env: NodeJS.ProcessEnv,
    readonly screen: ScreenSize,
  ) {}

  send(actions: readonly InputAction[], context: { step?: number } = {}): Promise<InjectedAction[]> {
    const run = this.tail.then(() => this.sendNow(actions, context));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async sendNow(actions: readonly InputAction[], context: { step?: number }): Promise<InjectedAction[]> {
    if (this.closed) throw new AtpError('ATP_INJECT_CLOSED', 'the X11 injector was closed', { details: { sent: [] } });
    const words = actions.flatMap((a) => this.words(a));
    const sentAt = hostNow();
    const stamped = actions.map((action) => ({ id: this.nextId++, action, sentAt, ...(context.step === undefined ? {} : { step: context.step }) }));
    if (words.length > 0) await this.run(words);
    return stamped;
  }

  private words(a: InputAction): string[] {
    switch (a.kind) {
      case 'key':
        return [a.down ? 'keydown' : 'keyup', xKey(a.key)];
      case 'button': {
        const button = X_BUTTONS[a.button];
        if (button === undefined) throw new AtpError('ATP_INJECT_KEY_UNSUPPORTED', `the X11 injector has no ${a.button} button`, { details: { button: a.button } });
        return [a.down ? 'mousedown' : 'mouseup', String(button)];
      }
      case 'move':
        this.x = a.x;
        this.y = a.y;
        return ['mousemove', String(a.x), String(a.y)];
      case 'moveBy':
        this.x += a.dx;
        this.y += a.dy;
        return ['mousemove', String(this.x), String(this.y)];
      case 'wheel':
        return [...clicks(a.dy, 4, 5), ...clicks(a.dx, 6, 7)];
    }
  }

  private run(words: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.xdotool, words, { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.once('error', (cause) => reject(new AtpError('ATP_INJECT_CLOSED', `xdotool did not start: ${cause.message}`, { cause, details: { sent: [] } })));
      child.once('exit', (code) => {
        if (code === 0) resolve();
        else reject(new AtpError('ATP_INJECT_CLOSED', `xdotool ${words.join(' ')} exited ${String(code)}: ${stderr.trim()}`, { details: { sent: [] } }));
      });
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return this.tail.then(() => undefined);
  }
}

/**
 * The X keycode as xdotool's word for it. xdotool reads a word as a keysym name
 * first and as a keycode only when no keysym has that name, so the one keycode
 * with a single digit (9, Escape) would press the '9' key: it is named instead.
 */
function xKey(key: string): string {
  const keycode = keyToEvdev(key) + 8;
  return keycode < 10 ? (SINGLE_DIGIT_KEYCODES[keycode] ?? String(keycode)) : String(keycode);
}
const SINGLE_DIGIT_KEYCODES: Record<number, string> = { 9: 'Escape' };

/** |n| clicks of `negative` or `positive`. */
function clicks(n: number, negative: number, positive: number): string[] {
  return Array.from({ length: Math.abs(n) }, () => ['click', String(n < 0 ? negative : positive)]).flat();
}
