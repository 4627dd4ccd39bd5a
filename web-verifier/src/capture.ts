/**
 * Listens to the page's input events and turns them into observed events
 * (events.ts). Listeners sit on `window` in the capture phase, so every key and
 * pointer event is seen whatever element has the focus; text and composition
 * come from the capture area (a textarea) where typing produces real text.
 *
 * Keeping keys in the page: browser shortcuts that would take the page away
 * (F1-F12 such as F5 reload, Ctrl+S/P/O/F/…, Alt+Left back, mouse back/forward
 * buttons, the context menu, middle-click paste) are prevented. Ctrl+Alt combos
 * and AltGr are never prevented: on Windows AltGr is Ctrl+Alt and produces text.
 * Tab stays in the capture area (it is recorded, not a focus move); to leave
 * deliberately press Escape and then Tab (or Shift+Tab). The capture area takes
 * the focus back after a click on a non-interactive part of the page.
 * A pointermove to the position last reported is skipped (browsers send such
 * moves, e.g. before a click); evdev reports only changes too.
 */
import type { UnsequencedEvent } from '@atp/protocol';
import { absEvent, buttonEvent, compositionEvent, focusEvent, keyEvent, textEvent, wheelEvent } from './events.js';

export interface CaptureSink {
  event(event: UnsequencedEvent): void;
  /** Something the tester should see that is not an observed event (context menu, focus moved). */
  note(text: string): void;
}

const CTRL_SHORTCUT_CODES = new Set([
  'KeyD', 'KeyE', 'KeyF', 'KeyG', 'KeyH', 'KeyJ', 'KeyK', 'KeyL', 'KeyN', 'KeyO', 'KeyP', 'KeyR', 'KeyS', 'KeyT', 'KeyU', 'KeyW',
]);
const ALT_SHORTCUT_CODES = new Set(['ArrowLeft', 'ArrowRight', 'Home', 'KeyD', 'KeyF', 'KeyE']);

/** True for keys whose browser default would take input away from the page. */
export function isBrowserShortcut(e: KeyboardEvent): boolean {
  if (/^F([1-9]|1[0-9]|2[0-4])$/.test(e.code) || e.code.startsWith('Browser')) return true;
  if (e.getModifierState('AltGraph') || (e.ctrlKey && e.altKey)) return false;
  if ((e.ctrlKey || e.metaKey) && CTRL_SHORTCUT_CODES.has(e.code)) return true;
  return e.altKey && !e.ctrlKey && !e.metaKey && ALT_SHORTCUT_CODES.has(e.code);
}

const INTERACTIVE = 'button, a, input, select, textarea, [tabindex]';

export class Capture {
  private releaseArmed = false;
  private pasted: string | undefined;
  /** Last pointer position reported: a move to the same spot (browsers send them) is not a new abs event. */
  private lastX = Number.NaN;
  private lastY = Number.NaN;
  private readonly removers: (() => void)[] = [];

  constructor(
    private readonly area: HTMLTextAreaElement,
    private readonly sink: CaptureSink,
    private readonly wheelPxPerNotch: number,
  ) {}

  start(): void {
    const listen = (target: Window | Document, type: string, listener: EventListener): void => {
      target.addEventListener(type, listener, { capture: true });
      this.removers.push(() => target.removeEventListener(type, listener, { capture: true }));
    };
    const on = <K extends keyof WindowEventMap>(type: K, fn: (e: WindowEventMap[K]) => void): void => listen(window, type, fn as EventListener);
    on('keydown', (e) => this.onKey(e));
    on('keyup', (e) => this.onKey(e));
    on('beforeinput', (e) => {
      if (e.target !== this.area) return;
      this.pasted = e.dataTransfer?.getData('text/plain') ?? undefined;
    });
    on('input', (e) => {
      if (e.target !== this.area || !(e instanceof InputEvent)) return;
      const text = textEvent(e, this.pasted);
      this.pasted = undefined;
      if (text !== undefined) this.sink.event(text);
    });
    for (const type of ['compositionstart', 'compositionupdate', 'compositionend'] as const) {
      on(type, (e) => {
        if (e.target === this.area) this.sink.event(compositionEvent(e));
      });
    }
    on('pointermove', (e) => {
      const button = buttonEvent(e);
      if (button !== undefined) this.sink.event(button);
      else if (e.screenX !== this.lastX || e.screenY !== this.lastY) this.sink.event(absEvent(e, window.screen));
      this.lastX = e.screenX;
      this.lastY = e.screenY;
    });
    on('pointerdown', (e) => this.onButton(e));
    on('pointerup', (e) => {
      this.onButton(e);
      this.keepFocus(e.target);
    });
    on('mousedown', (e) => this.preventNavigationButtons(e));
    on('mouseup', (e) => this.preventNavigationButtons(e));
    on('auxclick', (e) => e.preventDefault());
    on('wheel', (e) => this.sink.event(wheelEvent(e, this.wheelPxPerNotch)));
    on('contextmenu', (e) => {
      e.preventDefault();
      this.sink.note(`context menu at client ${e.clientX},${e.clientY} screen ${e.screenX},${e.screenY} buttons ${e.buttons} (menu suppressed)`);
    });
    on('focus', (e) => {
      if (e.target === window) this.sink.event(focusEvent(e, 'focus'));
    });
    on('blur', (e) => {
      if (e.target === window) this.sink.event(focusEvent(e, 'blur'));
    });
    listen(document, 'visibilitychange', (e) => this.sink.event(focusEvent(e, document.visibilityState === 'hidden' ? 'hidden' : 'visible')));
    this.area.focus();
  }

  /** Reports a focus or visibility state no DOM event announced (the state at load). */
  report(e: Event, state: 'focus' | 'blur' | 'visible' | 'hidden'): void {
    this.sink.event(focusEvent(e, state));
  }

  stop(): void {
    for (const remove of this.removers.splice(0)) remove();
  }

  private onKey(e: KeyboardEvent): void {
    this.sink.event(keyEvent(e));
    if (e.type !== 'keydown') return;
    if (isBrowserShortcut(e)) e.preventDefault();
    if (e.code === 'Tab' && e.target === this.area) {
      if (this.releaseArmed) this.sink.note('Escape then Tab: focus leaves the capture area on purpose');
      else e.preventDefault();
    }
    this.releaseArmed = e.code === 'Escape' && !e.repeat;
  }

  private onButton(e: PointerEvent): void {
    const button = buttonEvent(e);
    if (button !== undefined) this.sink.event(button);
  }

  private preventNavigationButtons(e: MouseEvent): void {
    // Middle click pastes (Linux) or autoscrolls; back/forward buttons navigate away.
    if (e.button === 1 || e.button === 3 || e.button === 4) e.preventDefault();
  }

  private keepFocus(target: EventTarget | null): void {
    if (target instanceof Element && target.closest(INTERACTIVE) !== null) return;
    if (document.activeElement !== this.area) this.area.focus({ preventScroll: true });
  }
}
