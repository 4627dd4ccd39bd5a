/**
 * The agent's view of the kernel's input devices: ids, DeviceInfo for the wire,
 * and the hotplug diff. The /proc/bus/input/devices parser and the classifier
 * are the shared ones in @atp/protocol (protocol-schemas/src/evdev/). Pure.
 */
import { busName, classifyDevice, type AxisRange, type DeviceInfo, type ProcInputDevice } from '@atp/protocol';

/**
 * A device's id: its evdev node name (`event3`), or the sysfs input name
 * (`input3`) when no evdev node is bound. The kernel keeps both for the device's
 * lifetime; after an unplug it may reuse the number for another device, which
 * the hotplug diff detects (same id, different name/sysfs path).
 */
export function deviceId(dev: ProcInputDevice): string {
  if (dev.eventNode !== undefined) return dev.eventNode;
  const base = dev.sysfs.split('/').pop();
  return base !== undefined && base.length > 0 ? base : `input-${dev.name || 'unnamed'}`;
}

export function toDeviceInfo(dev: ProcInputDevice, absRange?: AxisRange): DeviceInfo {
  const info: DeviceInfo = { id: deviceId(dev).slice(0, 256), name: dev.name.slice(0, 256), kind: classifyDevice(dev), bus: busName(dev.bus) };
  if (dev.phys.length > 0) info.phys = dev.phys.slice(0, 256);
  if (absRange !== undefined) info.absRange = absRange;
  return info;
}

/** Key that changes when a node name is reused by another device. */
export function identityOf(dev: ProcInputDevice): string {
  return `${deviceId(dev)}\u0000${dev.sysfs}\u0000${dev.name}\u0000${dev.phys}`;
}

export interface DeviceDiff {
  added: ProcInputDevice[];
  removed: ProcInputDevice[];
}

/** What changed between two scans (matched by identity; a reused node name is a remove plus an add). */
export function diffDevices(previous: readonly ProcInputDevice[], next: readonly ProcInputDevice[]): DeviceDiff {
  const before = new Map(previous.map((d) => [identityOf(d), d]));
  const after = new Map(next.map((d) => [identityOf(d), d]));
  return {
    added: [...after].filter(([k]) => !before.has(k)).map(([, d]) => d),
    removed: [...before].filter(([k]) => !after.has(k)).map(([, d]) => d),
  };
}
