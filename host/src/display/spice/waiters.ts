/**
 * Waits on client state ("INIT arrived", "the mode switched", "a motion ack
 * freed a slot"): each waiter is a check re-run whenever the state changes,
 * bounded by its own timeout, and all of them reject at once when the
 * connection fails, so no caller can hang on a dead server.
 */
import type { AtpError } from '@atp/protocol';
import { timerDelay } from '../../util/timers.js';

interface Waiter {
  check: () => boolean;
  resolve: () => void;
  reject: (error: AtpError) => void;
  timer: NodeJS.Timeout;
}

export class Waiters {
  private readonly waiting = new Set<Waiter>();
  private failure: AtpError | undefined;

  /** Resolves once `check()` holds (at once if it already does); rejects with `onTimeout()` or the failure. */
  until(check: () => boolean, timeoutMs: number, onTimeout: () => AtpError): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiting.delete(waiter);
          reject(onTimeout());
        }, timerDelay(timeoutMs)),
      };
      this.waiting.add(waiter);
    });
  }

  /** The state changed: settle the waiters whose check now holds. */
  poke(): void {
    for (const waiter of [...this.waiting]) {
      if (!waiter.check()) continue;
      clearTimeout(waiter.timer);
      this.waiting.delete(waiter);
      waiter.resolve();
    }
  }

  /** Rejects every waiter, now and later, with `error`. */
  failAll(error: AtpError): void {
    this.failure ??= error;
    for (const waiter of this.waiting) {
      clearTimeout(waiter.timer);
      waiter.reject(this.failure);
    }
    this.waiting.clear();
  }
}
