/**
 * The QMP injector: sends InputActions with input-send-event through any
 * QmpExecutor (a QmpClient socket, or libvirt's qemu-monitor-command via virsh).
 * The call plan (what shares a call, and why) is in qmp-events.ts; ids,
 * serialisation, closed checks and failure details come from the kit (kit.ts).
 * A call's `sentAt` is the hostNow() at which it was actually written out, as
 * the executor reports through `onSent` (after its own queueing: a busy virsh,
 * a QMP reconnect; a wrapper that resends the call reports the resend), so a
 * wait in that queue is not counted as guest latency.
 */
import { AtpError } from '@atp/protocol';
import { inputSendEvent, type InputSendEventOptions } from '../vm/qmp/commands.js';
import type { QmpExecutor } from '../vm/qmp/executor.js';
import type { ScreenSize } from './actions.js';
import { KitInjector, type InjectorBackend } from './kit.js';
import { planCalls, type PlannedCall } from './qmp-events.js';
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

/** input-send-event over an executor; the executor belongs to the caller and stays open on close. */
function qmpBackend(options: QmpInjectorOptions, pairs: number): InjectorBackend<PlannedCall> {
  const callOptions: InputSendEventOptions = {};
  if (options.device !== undefined) callOptions.device = options.device;
  if (options.head !== undefined) callOptions.head = options.head;
  if (options.timeoutMs !== undefined) callOptions.timeoutMs = options.timeoutMs;
  return {
    name: 'qmp',
    plan: (actions, screen) => planCalls(actions, screen, pairs),
    deliver: async (call, markSent) => {
      try {
        await inputSendEvent(options.executor, call.events, { ...callOptions, onSent: markSent });
      } catch (error) {
        if (error instanceof AtpError) throw error;
        throw new AtpError('ATP_QMP_COMMAND', `input-send-event failed: ${String(error)}`, { cause: error });
      }
    },
    close: async () => undefined,
  };
}

export class QmpInjector extends KitInjector<PlannedCall> {
  readonly maxKeyPairsPerCall: number;

  constructor(options: QmpInjectorOptions) {
    const pairs = options.maxKeyPairsPerCall ?? MAX_KEY_PAIRS_PER_CALL;
    if (!Number.isInteger(pairs) || pairs < 1 || pairs > MAX_KEY_PAIRS_PER_CALL) {
      throw new AtpError('ATP_SCHEMA_INVALID', `maxKeyPairsPerCall must be an integer in 1..${MAX_KEY_PAIRS_PER_CALL}, got ${pairs}`, {
        details: { field: 'maxKeyPairsPerCall', value: pairs },
      });
    }
    pixelToAbs(0, options.screen.width, 'width'); // validates the screen size as QEMU's abs axis allows
    pixelToAbs(0, options.screen.height, 'height');
    super(qmpBackend(options, pairs), options.screen);
    this.maxKeyPairsPerCall = pairs;
  }
}
