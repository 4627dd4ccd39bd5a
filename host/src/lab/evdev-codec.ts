/**
 * The lab's side of evdev: which of the guest's input devices are the lab's
 * standard PS/2 keyboard, PS/2 mouse and USB tablet. The wire formats themselves
 * (struct input_event, /proc/bus/input/devices, names, text form) are the shared
 * ones in @atp/protocol (protocol-schemas/src/evdev/); the aliases below keep the
 * lab's earlier names. Pure.
 */
import { evdevCodes, INPUT_EVENT_SIZE, type ProcInputDevice, type RawInputEvent } from '@atp/protocol';

/** A device block of /proc/bus/input/devices (the shared ProcInputDevice). */
export type InputDeviceInfo = ProcInputDevice;
/** One decoded struct input_event (the shared RawInputEvent). */
export type InputEventRecord = RawInputEvent;

/** Size of one record in the lab guest's x86-64 userland. */
export const INPUT_EVENT_BYTES = INPUT_EVENT_SIZE.timeval64;
/** Event types: EV.KEY, EV.REL, ... */
export const EV = evdevCodes.EV;

/** The lab's standard input devices (PS/2 keyboard and mouse, USB tablet), if all are present with evdev nodes. */
export function findLabInputDevices(devices: readonly InputDeviceInfo[]): { keyboard: InputDeviceInfo; mouse: InputDeviceInfo; tablet: InputDeviceInfo } | undefined {
  const keyboard = devices.find((d) => d.phys.startsWith('isa0060/serio0') && d.handlers.includes('kbd') && d.eventNode);
  const mouse = devices.find((d) => d.phys.startsWith('isa0060/serio1') && d.eventNode);
  const tablet = devices.find((d) => d.name.includes('USB Tablet') && d.eventNode);
  return keyboard && mouse && tablet ? { keyboard, mouse, tablet } : undefined;
}
