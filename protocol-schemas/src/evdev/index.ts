/**
 * Linux evdev wire formats: `struct input_event` records (both layouts), the
 * input ABI's numbers and names (the `evdevCodes` namespace), and the
 * /proc/bus/input/devices parser and classifier. One implementation for the
 * guest agent and the host's lab. Pure and browser-safe.
 */
export * from './input-event.js';
export * from './proc-devices.js';
export { eventCodeName, eventTypeName, formatInputEvent } from './codes.js';
export * as evdevCodes from './codes.js';
