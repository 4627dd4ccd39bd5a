/**
 * The task runner: platform operations that answer at once and finish later
 * (batch power operations, desk pool creation and update). Each task has an
 * event; while it runs the object it works on (a domain or pool id) is busy
 * (domains read status 5, a second task on it is refused) and the event has no
 * isSuccess; when it ends the busy mark goes and the event gets isSuccess 1,
 * or 0 with the error as errorReason, in the same tick. `close()` aborts the
 * tasks' signal (waits such as a graceful close's grace period end early) and
 * waits for every task to end.
 */
import type { SimEvent, SimStore } from './store.js';

export type TaskWork = (signal: AbortSignal) => Promise<void>;

export class TaskRunner {
  private readonly running = new Set<Promise<void>>();
  private readonly controller = new AbortController();

  constructor(private readonly store: SimStore) {}

  get closing(): boolean {
    return this.controller.signal.aborted;
  }

  /** Starts `work` in the background, `busyId` marked busy until it ends; the event records the outcome. */
  run(event: SimEvent, busyId: string | undefined, work: TaskWork): void {
    if (busyId !== undefined) this.store.busy.add(busyId);
    const task = (async () => {
      let error: string | undefined;
      try {
        if (this.closing) throw new Error('the simulator is shutting down');
        await work(this.controller.signal);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      if (busyId !== undefined) this.store.busy.delete(busyId);
      this.store.finishEvent(event, error);
    })();
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  async close(): Promise<void> {
    this.controller.abort();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
