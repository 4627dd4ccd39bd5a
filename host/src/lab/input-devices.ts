/**
 * The lab guest's input devices beyond the pc board's own, and how QMP input
 * is routed to exactly one of them. Pure.
 *
 * Profiles:
 * - 'minimal': the PS/2 keyboard and mouse (i8042) and a USB tablet; with the
 *   ACPI power button and PC speaker the guest kernel adds, five devices.
 * - 'desktop': what a desktop VM carries on top: a USB keyboard and virtio
 *   keyboard, mouse and tablet (nine input devices in the guest).
 *
 * Routing (QEMU 7.2, ui/input.c): input-send-event without `device` goes to the
 * first *unbound* handler that takes the event, and a virtio keyboard moves
 * itself to the front when its driver binds. A handler bound to a display
 * console (the device's display=/head= properties) only gets input sent to that
 * console (input-send-event device=, head=). So every extra device is bound to
 * its own head of a virtio-gpu that exists only to provide consoles (no guest
 * driver needed): sending without `device` still reaches the PS/2 keyboard and
 * the USB tablet, and `device: LAB_INPUT_DISPLAY, head: N` reaches exactly the
 * device on head N. (usb-kbd has display= but no head=: it takes head 0.)
 * Checked on this machine: each route delivered its key to that device only.
 */

export const LAB_INPUT_PROFILES = ['minimal', 'desktop'] as const;
export type LabInputProfile = (typeof LAB_INPUT_PROFILES)[number];
export const LAB_KEYBOARDS = ['ps2', 'virtio', 'usb'] as const;
export type LabKeyboard = (typeof LAB_KEYBOARDS)[number];

/** QOM id of the virtio-gpu whose heads the extra input devices are bound to. */
export const LAB_INPUT_DISPLAY = 'atp-heads';
/** Heads of LAB_INPUT_DISPLAY: 0..3 for the desktop set, the rest free for a test's extra devices. */
export const LAB_INPUT_HEADS = 16;
/** The first head that neither the desktop set nor usb-kbd (head 0) uses. */
export const FIRST_FREE_HEAD = 4;

/** Where input-send-event must aim for its events to reach one device (empty: QEMU's default handlers). */
export interface InputRoute {
  device?: string;
  head?: number;
}

const DESKTOP_DEVICES: readonly { role: LabKeyboard | 'virtio-mouse' | 'virtio-tablet'; device: string; head: number }[] = [
  { role: 'usb', device: `usb-kbd,id=atp-usb-kbd,bus=xhci0.0,display=${LAB_INPUT_DISPLAY}`, head: 0 },
  { role: 'virtio', device: `virtio-keyboard-pci,id=atp-virtio-kbd,display=${LAB_INPUT_DISPLAY},head=1`, head: 1 },
  { role: 'virtio-mouse', device: `virtio-mouse-pci,id=atp-virtio-mouse,display=${LAB_INPUT_DISPLAY},head=2`, head: 2 },
  { role: 'virtio-tablet', device: `virtio-tablet-pci,id=atp-virtio-tablet,display=${LAB_INPUT_DISPLAY},head=3`, head: 3 },
];

/** The console provider; any profile may carry it (a test binds its own extra devices to free heads). */
export function inputDisplayDevice(): string {
  return `virtio-gpu-pci,id=${LAB_INPUT_DISPLAY},max_outputs=${LAB_INPUT_HEADS}`;
}

/** -device values a profile adds (after the board's devices and the USB tablet). */
export function profileDevices(profile: LabInputProfile): string[] {
  return profile === 'desktop' ? [inputDisplayDevice(), ...DESKTOP_DEVICES.map((d) => d.device)] : [];
}

/** The route to the chosen keyboard; 'ps2' is QEMU's default (no device). */
export function keyboardRoute(keyboard: LabKeyboard): InputRoute {
  if (keyboard === 'ps2') return {};
  const head = DESKTOP_DEVICES.find((d) => d.role === keyboard)?.head ?? 0;
  return { device: LAB_INPUT_DISPLAY, head };
}

/** A device id that gives its own head on LAB_INPUT_DISPLAY (for tests adding many devices). */
export function boundToHead(device: string, head: number): string {
  return `${device},display=${LAB_INPUT_DISPLAY},head=${head}`;
}
