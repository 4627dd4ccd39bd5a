/**
 * InputAction -> QEMU input-send-event events, and the batching plan. Pure: no
 * sockets, no timers; qmp-injector.ts sends what this module plans.
 *
 * Batching rules (QEMU 7.2, hw/input/hid.c and ps2.c):
 * - One input-send-event call is one input "sync". Key events are queued one by
 *   one by every keyboard, so consecutive key actions share a call, but at most
 *   `maxKeyPairs` pairs (2 * maxKeyPairs key events): PS/2 keeps only 16 bytes
 *   per batch and the virtio keyboard drops a whole batch above 16 pairs.
 * - Pointer devices (PS/2 mouse, USB tablet/mouse) accumulate everything between
 *   two syncs into ONE report whose button state is the state at the sync: a
 *   button down+up in one call never reaches the guest, and two moves in one call
 *   become the last one. So every pointer action (move, moveBy, button, wheel) is
 *   a call of its own. A wheel action's notches (press+release each) share its call:
 *   the wheel buttons only add to the report's wheel delta, so n notches arrive as
 *   a delta of n.
 */
import { AtpError, keyToQcode, keyToQnum, requireKeyInfo } from '@atp/protocol';
import type { QmpInputEvent } from '../vm/qmp/commands.js';
import type { InputAction, ScreenSize } from './actions.js';
import { pixelToAbs } from './pointer-scale.js';

/** The QMP key value for a canonical key: its qcode, else its qnum; ATP_INJECT_KEY_UNSUPPORTED when it has neither. */
export function qmpKeyValue(key: string): { type: 'qcode'; data: string } | { type: 'number'; data: number } {
  requireKeyInfo(key); // ATP_KEY_UNKNOWN for an id that is not in the table
  const qcode = keyToQcode(key);
  if (qcode !== undefined) return { type: 'qcode', data: qcode };
  const qnum = keyToQnum(key);
  if (qnum !== undefined) return { type: 'number', data: qnum };
  throw new AtpError('ATP_INJECT_KEY_UNSUPPORTED', `Key ${key} has neither a QEMU qcode nor a qnum: QMP cannot send it`, { details: { key } });
}

function integer(value: number, field: string): number {
  if (!Number.isSafeInteger(value)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `${field} must be an integer, got ${value}`, { details: { field, value } });
  }
  return value;
}

function wheelEvents(count: number, negative: 'wheel-up' | 'wheel-left', positive: 'wheel-down' | 'wheel-right'): QmpInputEvent[] {
  const button = count < 0 ? negative : positive;
  const events: QmpInputEvent[] = [];
  for (let i = 0; i < Math.abs(count); i++) {
    events.push({ type: 'btn', down: true, button }, { type: 'btn', down: false, button });
  }
  return events;
}

/** The events that carry one action (validated: ATP_SCHEMA_INVALID, ATP_KEY_UNKNOWN, ATP_INJECT_KEY_UNSUPPORTED). */
export function actionToEvents(action: InputAction, screen: ScreenSize): QmpInputEvent[] {
  switch (action.kind) {
    case 'key':
      return [{ type: 'key', down: action.down, key: qmpKeyValue(action.key) }];
    case 'button':
      return [{ type: 'btn', down: action.down, button: action.button }];
    case 'move':
      return [
        { type: 'abs', axis: 'x', value: pixelToAbs(action.x, screen.width, 'width') },
        { type: 'abs', axis: 'y', value: pixelToAbs(action.y, screen.height, 'height') },
      ];
    case 'moveBy':
      return [
        { type: 'rel', axis: 'x', value: integer(action.dx, 'moveBy.dx') },
        { type: 'rel', axis: 'y', value: integer(action.dy, 'moveBy.dy') },
      ];
    case 'wheel': {
      const events = [
        ...wheelEvents(integer(action.dy, 'wheel.dy'), 'wheel-up', 'wheel-down'),
        ...wheelEvents(integer(action.dx, 'wheel.dx'), 'wheel-left', 'wheel-right'),
      ];
      if (events.length === 0) throw new AtpError('ATP_SCHEMA_INVALID', 'wheel action with dx = dy = 0 sends nothing', { details: { field: 'wheel' } });
      return events;
    }
  }
}

/** One planned input-send-event call: the events and the indexes (into the input) of the actions they carry. */
export interface PlannedCall {
  events: QmpInputEvent[];
  actionIndexes: number[];
}

/** Splits actions into calls by the rules in the header. Throws before anything is sent if any action is invalid. */
export function planCalls(actions: readonly InputAction[], screen: ScreenSize, maxKeyPairs: number): PlannedCall[] {
  const calls: PlannedCall[] = [];
  let keys: PlannedCall | undefined;
  actions.forEach((action, index) => {
    const events = actionToEvents(action, screen);
    if (action.kind !== 'key') {
      keys = undefined;
      calls.push({ events, actionIndexes: [index] });
      return;
    }
    if (keys === undefined || keys.events.length + events.length > 2 * maxKeyPairs) {
      keys = { events: [], actionIndexes: [] };
      calls.push(keys);
    }
    keys.events.push(...events);
    keys.actionIndexes.push(index);
  });
  return calls;
}
