/**
 * The QMP injector: sends InputActions with input-send-event through any
 * QmpExecutor (a QmpClient socket today, libvirt's qemu-monitor-command later).
 * The call plan (what shares a call, and why) is in qmp-events.ts. Calls go out
 * one at a time in order; each action is stamped with hostNow() taken just before
 * the call that carries it, and with an id that increases over the injector's life.
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
      const sentAt = hostNow();
      for (const index of call.actionIndexes) {
        const action = actions[index];
        if (action === undefined) continue;
        const stamped: InjectedAction = { id: this.nextId++, action, sentAt };
        if (context.step !== undefined) stamped.step = context.step;
        injected.push(stamped);
      }
      try {
        await inputSendEvent(this.executor, call.events, this.callOptions);
      } catch (error) {
        throw withSent(error, injected.slice(0, injected.length - call.actionIndexes.length));
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
