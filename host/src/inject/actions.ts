/**
 * What an injector is asked to do and what it records having done. These types
 * are the contract between injection (which sends), orchestration (which plans
 * actions from scenario steps) and verification (which derives expectations from
 * what was actually sent, with its send times).
 */
import type { KeyId } from '@atp/protocol';

export type PointerButton = 'left' | 'right' | 'middle' | 'side' | 'extra';

/** One primitive input action, in screen pixels and canonical key ids. */
export type InputAction =
  | { kind: 'key'; key: KeyId; down: boolean }
  | { kind: 'button'; button: PointerButton; down: boolean }
  /** Absolute move to (x, y) in pixels of the target screen. */
  | { kind: 'move'; x: number; y: number }
  /** Relative move in device units (mickeys). */
  | { kind: 'moveBy'; dx: number; dy: number }
  /** Wheel notches; dy > 0 scrolls down, dx > 0 scrolls right. */
  | { kind: 'wheel'; dx: number; dy: number };

/** An action as sent: its place in the run, when the injector handed it to the VM, and the step it came from. */
export interface InjectedAction {
  /** 1-based, increasing in send order within one run. */
  id: number;
  action: InputAction;
  /** Host clock (util/clock.ts hostNow) just before the call that carried it. */
  sentAt: number;
  /** Index of the scenario step that produced it, when there is one. */
  step?: number;
}

export interface ScreenSize {
  width: number;
  height: number;
}

/** One way of putting input into a VM: QMP today; VNC, SPICE and USB HID later. */
export interface Injector {
  readonly name: string;
  readonly screen: ScreenSize;
  /** Sends the actions in order (batched as the backend allows) and returns them stamped. */
  send(actions: readonly InputAction[], context?: { step?: number }): Promise<InjectedAction[]>;
  close(): Promise<void>;
}
