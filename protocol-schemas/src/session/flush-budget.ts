/**
 * When may the session write the next `events` frame? A token bucket over
 * flushes: an idle session, or one in a short burst, writes at once (latency is
 * what ATP measures); a sustained flood is paced to one frame per `intervalMs`
 * so the frames stay far below the hub's per-session message limit (2,000/s)
 * and each frame carries more events. Pure: the caller passes the time.
 */
export class FlushBudget {
  private tokens: number;
  private updatedAt: number | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** How long to wait before the next flush at `now` (0: at once). */
  waitMs(now: number): number {
    this.refill(now);
    if (this.intervalMs <= 0 || this.tokens >= 1) return 0;
    return Math.max(0, Math.ceil((1 - this.tokens) * this.intervalMs));
  }

  /** A flush happened at `now`. */
  take(now: number): void {
    this.refill(now);
    if (this.intervalMs > 0) this.tokens = Math.max(0, this.tokens - 1);
  }

  private refill(now: number): void {
    if (this.updatedAt !== undefined && this.intervalMs > 0 && now > this.updatedAt) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) / this.intervalMs);
    }
    if (this.updatedAt === undefined || now > this.updatedAt) this.updatedAt = now;
  }
}
