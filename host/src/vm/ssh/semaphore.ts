/** A counting semaphore with a FIFO queue: at most `limit` holders at once. */
import { AtpError } from '@atp/protocol';

export class Semaphore {
  private held = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new AtpError('ATP_SCHEMA_INVALID', `a concurrency limit must be a positive integer (got ${limit})`);
  }

  get inUse(): number {
    return this.held;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves with a release function once a slot is free (FIFO). */
  acquire(): Promise<() => void> {
    if (this.held < this.limit) {
      this.held += 1;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiters.push(() => resolve(this.releaser())));
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.held -= 1;
    };
  }
}
