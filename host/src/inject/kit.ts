/**
 * The injector kit: what every injector (QMP, SPICE, VNC) shares, so that a
 * backend only says how actions become bytes on its wire.
 *
 * - Serialisation: sends run one at a time in call order, so ids, `sentAt`
 *   stamps and the order the VM receives agree even when callers overlap.
 * - Ids: 1-based, increasing over the injector's life.
 * - Stamps: a batch's actions share the time its bytes left, which the backend
 *   reports through `markSent` right before it writes (after any queueing of
 *   its own); a backend that never reports it leaves the time taken just before
 *   `deliver` was called.
 * - Closed checks: a closed injector refuses new sends (ATP_INJECT_CLOSED);
 *   a send queued before close() starts, and stops between two batches.
 * - Failure: the backend's typed error is rethrown with `details.sent` (the
 *   actions delivered by earlier batches) and `details.sentCount`, and the
 *   message says how many of the send's actions went out before it. The
 *   failed batch's own actions may or may not have reached the VM (a timeout
 *   does not say), so they are in neither list.
 */
import { AtpError } from '@atp/protocol';
import { hostNow } from '../util/clock.js';
import type { InjectedAction, Injector, InputAction, ScreenSize } from './actions.js';

export interface PlannedBatch {
  /** Indexes into the actions given to send(), in order; each index is in exactly one batch. */
  readonly actionIndexes: readonly number[];
  /**
   * What the backend really sent for each index, when that is not the action
   * itself (SPICE's server mouse mode sends a `move` as relative motion).
   * Parallel to actionIndexes. Reports and the verify engine see these.
   */
  readonly sentAs?: readonly InputAction[];
}

export interface InjectorBackend<B extends PlannedBatch> {
  /** 'qmp' | 'spice' | 'vnc'. */
  readonly name: string;
  /** Called in send order inside the kit's queue (a backend may keep state: button mask, pointer position). Throws AtpError for what it cannot send. */
  plan(actions: readonly InputAction[], screen: ScreenSize): B[];
  /** Sends one batch; calls markSent(hostNow()) right before its bytes are written (the last call wins). Rejects with a typed AtpError. */
  deliver(batch: B, markSent: (at: number) => void): Promise<void>;
  /** Releases what the backend owns; called once, after the last send. */
  close(): Promise<void>;
}

function checkScreen(screen: ScreenSize): ScreenSize {
  for (const [what, size] of [['width', screen.width], ['height', screen.height]] as const) {
    if (!Number.isInteger(size) || size < 1 || size > 0x8000) {
      throw new AtpError('ATP_SCHEMA_INVALID', `screen ${what} must be an integer in 1..32768, got ${size}`, { details: { field: `screen.${what}`, value: size } });
    }
  }
  return { width: screen.width, height: screen.height };
}

/** The backend's error with what was delivered before it (see the header). */
function withSent(error: unknown, backend: string, sent: InjectedAction[], total: number): AtpError {
  const note = ` (${sent.length} of ${total} actions of this send went out before the failure)`;
  if (error instanceof AtpError) {
    return new AtpError(error.code, `${error.message}${note}`, { details: { ...error.details, sent, sentCount: sent.length }, cause: error });
  }
  return new AtpError('ATP_INJECT_FAILED', `${backend} injection failed: ${String(error)}${note}`, { details: { sent, sentCount: sent.length }, cause: error });
}

export class KitInjector<B extends PlannedBatch> implements Injector {
  readonly name: string;
  readonly screen: ScreenSize;
  private nextId = 1;
  private closed = false;
  private closing: Promise<void> | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    protected readonly backend: InjectorBackend<B>,
    screen: ScreenSize,
  ) {
    this.name = backend.name;
    this.screen = checkScreen(screen);
  }

  send(actions: readonly InputAction[], context: { step?: number } = {}): Promise<InjectedAction[]> {
    if (this.closed) return Promise.reject(this.closedError(false, 0));
    const run = this.tail.then(() => this.sendNow(actions, context));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private closedError(during: boolean, sent: number): AtpError {
    return new AtpError('ATP_INJECT_CLOSED', during ? `The ${this.name} injector was closed during a send` : `The ${this.name} injector is closed`, { details: { sent } });
  }

  private async sendNow(actions: readonly InputAction[], context: { step?: number }): Promise<InjectedAction[]> {
    const batches = this.backend.plan(actions, this.screen);
    const injected: InjectedAction[] = [];
    for (const [n, batch] of batches.entries()) {
      if (n > 0 && this.closed) throw this.closedError(true, injected.length);
      const stamps: InjectedAction[] = [];
      const before = hostNow();
      batch.actionIndexes.forEach((index, i) => {
        const action = batch.sentAs?.[i] ?? actions[index];
        if (action === undefined) return;
        const stamped: InjectedAction = { id: this.nextId++, action, sentAt: before };
        if (context.step !== undefined) stamped.step = context.step;
        stamps.push(stamped);
      });
      let left: number | undefined;
      try {
        await this.backend.deliver(batch, (at) => (left = at));
      } catch (error) {
        throw withSent(error, this.name, injected, actions.length);
      }
      for (const stamped of stamps) {
        if (left !== undefined) stamped.sentAt = left;
        injected.push(stamped);
      }
    }
    return injected;
  }

  /** Refuses further sends, lets the send in flight end, then closes the backend (once). */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.tail.then(() => this.backend.close());
    return this.closing;
  }
}

/** An Injector over a backend. */
export function kitInjector<B extends PlannedBatch>(backend: InjectorBackend<B>, screen: ScreenSize): Injector {
  return new KitInjector(backend, screen);
}
