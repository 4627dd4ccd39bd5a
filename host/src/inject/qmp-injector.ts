/**
 * The QMP injector: sends InputActions with input-send-event through any
 * QmpExecutor (a QmpClient socket, or libvirt's qemu-monitor-command via virsh).
 * The call plan (what shares a call, and why) is in qmp-events.ts. Calls go out
 * one at a time in order; each action gets an id that increases over the
 * injector's life and a `sentAt`: the hostNow() at which the call carrying it
 * was actually written out, as the executor reports through `onSent` (after
 * its own queueing: a busy virsh, a QMP reconnect), so a wait in that queue is
 * not counted as guest latency. An executor that does not report it leaves the
 * hostNow() taken just before the call. All actions of one call share its time.
 */
import { AtpError } from '@atp/protocol';
import { hostNow } from '../util/clock.js';
import { inputSendEvent, type InputSendEventOptions } from '../vm/qmp/commands.js';
import type { QmpExecutor } from '../vm/qmp/executor.js';
import type { InjectedAction, Injector, InputAction, ScreenSize } from './actions.js';
import { planCalls } from './qmp-events.js';
import { pixelToAbs } from './pointer-scale.js';

export interface QmpInjectorOptions {
  executor: QmpExecutor;
  screen: ScreenSize;
  /** QOM id of a display device: events then come from its console (see input-send-event). Default: QEMU's active handlers. */
  device?: string;
  head?: number;
  /** Most key down/up pairs in one input-send-event call (default and upper limit 8). */
  maxKeyPairsPerCall?: number;
  /** Per-call QMP timeout in ms (default: the executor's). */
  timeoutMs?: number;
}

export const MAX_KEY_PAIRS_PER_CALL = 8;

/**
 * The failed call's error, with details.sent listing the actions of the earlier
 * calls (delivered). The failed call's own actions may or may not have reached QEMU
 * (a timeout does not say), so they are in neither list.
 */
function withSent(error: unknown, sent: InjectedAction[]): AtpError {
  if (error instanceof AtpError) return new AtpError(error.code, error.message, { details: { ...error.details, sent }, cause: error });
  return new AtpError('ATP_QMP_COMMAND', `input-send-event failed: ${String(error)}`, { details: { sent }, cause: error });
}

export class QmpInjector implements Injector {
  readonly name = 'qmp';
  readonly screen: ScreenSize;
  readonly maxKeyPairsPerCall: number;
  private readonly executor: QmpExecutor;
  private readonly callOptions: InputSendEventOptions;
  private nextId = 1;
  private closed = false;
  /** Sends are serialised so that ids, stamps and QEMU's order agree even when callers overlap. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(options: QmpInjectorOptions) {
    const pairs = options.maxKeyPairsPerCall ?? MAX_KEY_PAIRS_PER_CALL;
    if (!Number.isInteger(pairs) || pairs < 1 || pairs > MAX_KEY_PAIRS_PER_CALL) {
      throw new AtpError('ATP_SCHEMA_INVALID', `maxKeyPairsPerCall must be an integer in 1..${MAX_KEY_PAIRS_PER_CALL}, got ${pairs}`, {
        details: { field: 'maxKeyPairsPerCall', value: pairs },
      });
    }
    pixelToAbs(0, options.screen.width, 'width'); // validates the screen size
    pixelToAbs(0, options.screen.height, 'height');
    this.executor = options.executor;
    this.screen = { width: options.screen.width, height: options.screen.height };
    this.maxKeyPairsPerCall = pairs;
    this.callOptions = {};
    if (options.device !== undefined) this.callOptions.device = options.device;
    if (options.head !== undefined) this.callOptions.head = options.head;
    if (options.timeoutMs !== undefined) this.callOptions.timeoutMs = options.timeoutMs;
  }

  send(actions: readonly InputAction[], context: { step?: number } = {}): Promise<InjectedAction[]> {
    const run = this.tail.then(() => this.sendNow(actions, context));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async sendNow(actions: readonly InputAction[], context: { step?: number }): Promise<InjectedAction[]> {
    if (this.closed) throw new AtpError('ATP_INJECT_CLOSED', 'The QMP injector is closed');
    const calls = planCalls(actions, this.screen, this.maxKeyPairsPerCall);
    const injected: InjectedAction[] = [];
    for (const call of calls) {
      if (this.closed) throw new AtpError('ATP_INJECT_CLOSED', 'The QMP injector was closed during a send', { details: { sent: injected.length } });
      const before = hostNow();
      const stamps: InjectedAction[] = [];
      for (const index of call.actionIndexes) {
        const action = actions[index];
        if (action === undefined) continue;
        const stamped: InjectedAction = { id: this.nextId++, action, sentAt: before };
        if (context.step !== undefined) stamped.step = context.step;
        stamps.push(stamped);
      }
      // The last report wins: a wrapper that resends the call (reconnectingQmpExecutor) reports the resend.
      let left: number | undefined;
      try {
        await inputSendEvent(this.executor, call.events, { ...this.callOptions, onSent: (at) => (left = at) });
      } catch (error) {
        throw withSent(error, injected);
      }
      for (const stamped of stamps) {
        if (left !== undefined) stamped.sentAt = left;
        injected.push(stamped);
      }
    }
    return injected;
  }

  /** Refuses further sends; the executor belongs to the caller and stays open. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
  }
}
