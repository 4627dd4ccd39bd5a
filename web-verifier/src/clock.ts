/**
 * The page's clock: ms since the epoch with sub-ms precision, from
 * performance.timeOrigin + performance.now(). Event `t` and pong t2/t3 use this
 * one clock, so the host's offset estimate applies to event times.
 */

export function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * When the browser says the event happened: Event.timeStamp is on the same
 * clock as performance.now() (it is the OS input time for real input, and for
 * DevTools-dispatched input the moment the browser process took the command), so
 * it is closer to the truth than the moment the listener runs, which may wait
 * behind other page work. Falls back to now().
 */
export function eventTime(event: Event): number {
  return event.timeStamp > 0 ? performance.timeOrigin + event.timeStamp : now();
}
