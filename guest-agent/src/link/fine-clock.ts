/**
 * The agent's clock for pong stamps and session timers: epoch ms with
 * sub-millisecond resolution. Date.now() has whole milliseconds, which put up
 * to a millisecond of rounding into each pong's t2 and t3 (the hub's offset
 * estimate is after ±1 ms); performance.now() is fine-grained but monotonic,
 * while evdev timestamps are the guest's wall clock (CLOCK_REALTIME). So:
 * performance.now() anchored at performance.timeOrigin, re-anchored to
 * Date.now() whenever the two part by more than a millisecond (the wall clock
 * was stepped, or slewed that far).
 */
export function fineWallClock(wall: () => number = Date.now, mono: () => number = () => performance.now(), origin = performance.timeOrigin): () => number {
  let anchor = origin;
  return () => {
    const m = mono();
    const w = wall();
    // Date.now() is the floor of the true time: the fine clock reads w ≤ t < w + 1 while both agree.
    const d = anchor + m - w;
    if (d < -1 || d > 2) anchor = w + 0.5 - m;
    return anchor + m;
  };
}
