/**
 * A test-only Injector that types and points into a Chromium page through
 * playwright's keyboard and mouse (CDP Input.dispatch*), for the web verifier
 * suite tests. It stands in for the VM's input path: in CI no browser runs
 * inside the lab VM, so the page that observes is opened on the host and this
 * injector plays the part of QEMU's keyboard and tablet.
 *
 *  - keys: the canonical key id → DOM `code` (keyToDomCode), pressed with
 *    keyboard.down/up; playwright's built-in US layout turns codes into `key`
 *    and text, so the page behaves like a browser on a US keyboard;
 *  - pointer: suite pixels are screen pixels (what the page reports as
 *    screenX/screenY); the viewport's offset on the simulated screen is probed
 *    once at create() and subtracted; moveBy is relative to the last position;
 *  - wheel: notches × the page's pixels per notch (100 unless the URL says).
 */
import { AtpError, keyToDomCode } from '@atp/protocol';
import type { Page } from 'playwright-core';
import type { InjectedAction, Injector, InputAction, PointerButton, ScreenSize } from '../../host/src/inject/actions.js';
import { hostNow } from '../../host/src/util/clock.js';

export interface WebInjectorOptions {
  /** Must match the page's wheelPx (default 100). */
  wheelPxPerNotch?: number;
}

const BUTTONS: Partial<Record<PointerButton, 'left' | 'right' | 'middle'>> = { left: 'left', right: 'right', middle: 'middle' };

export class WebInjector implements Injector {
  readonly name = 'web-playwright';
  private nextId = 1;
  private closed = false;
  /** Last pointer position in screen pixels. */
  private x = 0;
  private y = 0;

  private constructor(
    private readonly page: Page,
    readonly screen: ScreenSize,
    /** Screen position of the viewport's top-left corner. */
    private readonly offset: { x: number; y: number },
    private readonly wheelPx: number,
  ) {}

  /** Measures the page's screen and where its viewport sits on it (two probe moves; the page reports them as abs events). */
  static async create(page: Page, options: WebInjectorOptions = {}): Promise<WebInjector> {
    const screen = await page.evaluate(() => ({ width: window.screen.width, height: window.screen.height }));
    await page.mouse.move(3, 3);
    // The listener is in place before the probe move is sent (an evaluate left pending could lose the race with the
    // move on a loaded machine, and wait forever); its wait is bounded.
    await page.evaluate(() => {
      const w = window as unknown as { atpOffsetProbe?: Promise<{ x: number; y: number }> };
      w.atpOffsetProbe = new Promise((resolve) => addEventListener('pointermove', (e) => resolve({ x: e.screenX - e.clientX, y: e.screenY - e.clientY }), { once: true }));
    });
    await page.mouse.move(4, 4);
    const offset = await page.evaluate(async () => {
      const w = window as unknown as { atpOffsetProbe?: Promise<{ x: number; y: number }> };
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the page saw no pointermove within 10 s of the probe move')), 10_000)));
      try {
        return await Promise.race([w.atpOffsetProbe ?? late, late]);
      } finally {
        clearTimeout(timer);
      }
    });
    const injector = new WebInjector(page, screen, offset, options.wheelPxPerNotch ?? 100);
    injector.x = 4 + offset.x;
    injector.y = 4 + offset.y;
    return injector;
  }

  /** Screen pixels (suite coordinates) of a point given in the page's viewport (CSS pixels). */
  toScreen(clientX: number, clientY: number): { x: number; y: number } {
    return { x: Math.round(clientX + this.offset.x), y: Math.round(clientY + this.offset.y) };
  }

  async send(actions: readonly InputAction[], context: { step?: number } = {}): Promise<InjectedAction[]> {
    const done: InjectedAction[] = [];
    for (const action of actions) {
      if (this.closed) throw new AtpError('ATP_INJECT_CLOSED', 'the web injector was closed', { details: { sent: done } });
      const stamped: InjectedAction = { id: this.nextId++, action, sentAt: hostNow(), ...(context.step === undefined ? {} : { step: context.step }) };
      try {
        await this.perform(action);
      } catch (error) {
        if (error instanceof AtpError) throw new AtpError(error.code, error.message, { details: { ...error.details, sent: done }, cause: error });
        throw new AtpError('ATP_INJECT_CLOSED', `the browser refused ${action.kind}: ${error instanceof Error ? error.message : String(error)}`, { details: { sent: done }, cause: error });
      }
      done.push(stamped);
    }
    return done;
  }

  private async perform(a: InputAction): Promise<void> {
    const { keyboard, mouse } = this.page;
    switch (a.kind) {
      case 'key': {
        const code = keyToDomCode(a.key);
        if (code === undefined) throw new AtpError('ATP_INJECT_KEY_UNSUPPORTED', `${a.key} has no DOM code to press in the browser`, { details: { key: a.key } });
        await (a.down ? keyboard.down(code) : keyboard.up(code));
        return;
      }
      case 'button': {
        const button = BUTTONS[a.button];
        if (button === undefined) throw new AtpError('ATP_INJECT_KEY_UNSUPPORTED', `the browser injector has no ${a.button} button`, { details: { button: a.button } });
        await (a.down ? mouse.down({ button }) : mouse.up({ button }));
        return;
      }
      case 'move':
        return this.moveTo(a.x, a.y);
      case 'moveBy':
        return this.moveTo(this.x + a.dx, this.y + a.dy);
      case 'wheel':
        await mouse.wheel(a.dx * this.wheelPx, a.dy * this.wheelPx);
        return;
    }
  }

  private async moveTo(x: number, y: number): Promise<void> {
    this.x = x;
    this.y = y;
    await this.page.mouse.move(x - this.offset.x, y - this.offset.y);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
