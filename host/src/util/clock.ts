/**
 * The host's clock for every timestamp that latency is computed from: injection
 * times, hub receive times and the t1/t4 of clock-offset pings. Epoch ms with
 * sub-millisecond resolution, monotonic within a process.
 */
export function hostNow(): number {
  return performance.timeOrigin + performance.now();
}
