/**
 * Clock-offset tracking for one agent boot: outstanding pings by id (t1), the
 * samples completed by pongs (t4 taken on receipt), and the estimate from the
 * most recent samples (the fastest exchange bounds it, see protocol-schemas
 * clock.ts); the window lets the estimate follow a clock that drifts.
 * Pure: the caller passes the times.
 */
import { estimateClockOffset, type ClockEstimate, type ClockTimestamps, type PongBody } from '@atp/protocol';

export interface ClockTrackerOptions {
  /** Samples kept; older ones fall out. */
  window?: number;
  /** A ping unanswered this long is forgotten. */
  maxPingAgeMs?: number;
}

export class ClockTracker {
  private readonly window: number;
  private readonly maxPingAgeMs: number;
  private readonly outstanding = new Map<number, number>();
  private readonly samples: ClockTimestamps[] = [];
  private nextId = 1;
  private cached: ClockEstimate | undefined;

  constructor(options: ClockTrackerOptions = {}) {
    this.window = options.window ?? 32;
    this.maxPingAgeMs = options.maxPingAgeMs ?? 30_000;
  }

  /** Registers a ping sent at `t1`; returns its id. */
  ping(t1: number): number {
    for (const [id, sent] of this.outstanding) if (t1 - sent > this.maxPingAgeMs) this.outstanding.delete(id);
    const id = this.nextId++;
    this.outstanding.set(id, t1);
    return id;
  }

  /** Completes a ping with its pong, received at `t4`; false for an unknown id or a t1 that does not match. */
  pong(body: PongBody, t4: number): boolean {
    const t1 = this.outstanding.get(body.id);
    if (t1 === undefined || t1 !== body.t1) return false;
    this.outstanding.delete(body.id);
    this.samples.push({ t1, t2: body.t2, t3: body.t3, t4 });
    if (this.samples.length > this.window) this.samples.shift();
    this.cached = undefined;
    return true;
  }

  get sampleCount(): number {
    return this.samples.length;
  }

  /** The samples in the window, oldest first (copies). */
  recent(): ClockTimestamps[] {
    return this.samples.map((s) => ({ ...s }));
  }

  /** The current estimate, or undefined before the first usable sample. */
  estimate(): ClockEstimate | undefined {
    if (this.cached !== undefined) return this.cached;
    if (this.samples.length === 0) return undefined;
    try {
      this.cached = estimateClockOffset(this.samples);
    } catch {
      return undefined; // every sample had a negative round trip: no estimate yet
    }
    return this.cached;
  }
}
