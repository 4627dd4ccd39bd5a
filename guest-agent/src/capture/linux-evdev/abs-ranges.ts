/**
 * ABS_X/ABS_Y ranges. Linux publishes an axis range (struct input_absinfo) only
 * through the EVIOCGABS ioctl, which Node cannot issue without a native addon;
 * sysfs (/sys/class/input/eventN/device/capabilities/abs) lists which axes exist,
 * not their ranges. So ranges come from, in order:
 *   1. the caller (LinuxEvdevCaptureOptions.absRanges, keyed by device id or name);
 *   2. the table below of virtual devices whose ranges are fixed by their emulator;
 *   3. nothing: `abs` events then carry no `range`.
 * Pure.
 */
import type { AxisRange, ProcInputDevice } from '@atp/protocol';

const QEMU_VENDOR = 0x0627;
const QEMU_ABS: AxisRange = { xMin: 0, xMax: 0x7fff, yMin: 0, yMax: 0x7fff };

interface KnownRange {
  readonly why: string;
  readonly matches: (dev: ProcInputDevice) => boolean;
  readonly range: AxisRange;
}

export const KNOWN_ABS_RANGES: readonly KnownRange[] = [
  {
    why: 'QEMU usb-tablet: its HID report descriptor declares logical 0..0x7fff',
    matches: (d) => d.vendor === QEMU_VENDOR && d.name === 'QEMU QEMU USB Tablet',
    range: QEMU_ABS,
  },
  {
    why: 'QEMU virtio-tablet: absinfo 0..0x7fff (INPUT_EVENT_ABS_MAX)',
    matches: (d) => d.vendor === QEMU_VENDOR && d.name === 'QEMU Virtio Tablet',
    range: QEMU_ABS,
  },
  {
    why: 'VMware vmmouse (QEMU vmport): the psmouse driver sets 0..0xffff on both axes',
    matches: (d) => d.name === 'VirtualPS/2 VMware VMMouse',
    range: { xMin: 0, xMax: 0xffff, yMin: 0, yMax: 0xffff },
  },
];

/** The range to report for a device, or undefined when none is known. */
export function resolveAbsRange(dev: ProcInputDevice, id: string, overrides: Readonly<Record<string, AxisRange>> = {}): AxisRange | undefined {
  const own = (key: string): AxisRange | undefined => (Object.hasOwn(overrides, key) ? overrides[key] : undefined);
  const given = own(id) ?? own(dev.name);
  if (given !== undefined) return given;
  const abs = dev.bits.ABS;
  if (abs === undefined || !abs.has(0) || !abs.has(1)) return undefined;
  return KNOWN_ABS_RANGES.find((k) => k.matches(dev))?.range;
}
