/**
 * What a view is to the shell (main.ts): a root element, a title, and a
 * dispose that stops its timers and event streams when the user leaves. The
 * shell gives each view the App: navigation, the announcement line and the
 * live-stream indicator.
 */
import type { Route } from './router.js';
import type { StreamState } from './events.js';

export interface App {
  navigate(route: Route): void;
  /** A message for everyone (screen readers too): role=alert. */
  announce(message: string, kind?: 'error' | 'info'): void;
  /** The header's live pill. */
  setLive(state: StreamState, detail: string): void;
  /** After sign-in: go where the user was heading. */
  signedIn(): void;
}

export interface View {
  title: string;
  root: HTMLElement;
  dispose(): void;
}

/** Runs `fn` at most once per `ms` (trailing call kept): refreshes triggered by bursts of events. */
export function throttle(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending = false;
  const run = (): void => {
    timer = undefined;
    if (!pending) return;
    pending = false;
    fn();
    timer = setTimeout(run, ms);
  };
  const call = (): void => {
    pending = true;
    if (timer === undefined) run();
  };
  call.cancel = (): void => {
    clearTimeout(timer);
    pending = false;
  };
  return call;
}
