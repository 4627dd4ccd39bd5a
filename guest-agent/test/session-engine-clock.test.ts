/** fineWallClock: sub-millisecond stamps that stay on the wall clock, also across a step of the wall clock. */
import { describe, expect, it } from 'vitest';
import { fineWallClock } from '../src/link/fine-clock.js';

describe('fineWallClock', () => {
  it('has sub-ms resolution and stays within [Date.now(), Date.now() + 1) while the clocks agree', () => {
    let mono = 100.25;
    let wall = 1_000_100;
    const clock = fineWallClock(() => wall, () => mono, 1_000_000.1);
    expect(clock()).toBeCloseTo(1_000_100.35, 6);
    mono += 0.3;
    expect(clock()).toBeCloseTo(1_000_100.65, 6);
    mono += 0.5;
    wall += 1;
    expect(clock() - wall).toBeGreaterThanOrEqual(0);
    expect(clock() - wall).toBeLessThan(1);
  });

  it('follows a step of the wall clock and keeps its fine steps afterwards', () => {
    let mono = 0;
    let wall = 5_000;
    const clock = fineWallClock(() => wall, () => mono, 5_000);
    wall += 60_000; // stepped forward a minute (NTP, a VM restored)
    const after = clock();
    expect(Math.abs(after - wall)).toBeLessThan(1);
    mono += 0.2;
    expect(clock() - after).toBeCloseTo(0.2, 6);
    expect(Math.abs(fineWallClock()() - Date.now())).toBeLessThan(2);
  });
});
