/**
 * Capture: what the guest's input stack really delivered. The `Capture`
 * interface (capture.ts) and its backends; `listDevices` for `atp-agent devices`.
 */
import fs from 'node:fs/promises';
import { parseProcInputDevices, type DeviceInfo } from '@atp/protocol';
import { resolveAbsRange } from './linux-evdev/abs-ranges.js';
import { toDeviceInfo } from './linux-evdev/devices.js';
import { DEFAULT_DEV_DIR, DEFAULT_PROC_DEVICES_PATH, kernelWordBits, type LinuxEvdevCaptureOptions } from './linux-evdev/index.js';
import { captureError } from './errors.js';

export * from './capture.js';
export type { CaptureErrorCode } from './errors.js';
export { LinuxEvdevCapture, DEFAULT_DEV_DIR, DEFAULT_PROC_DEVICES_PATH, kernelWordBits, type LinuxEvdevCaptureOptions } from './linux-evdev/index.js';
// The evdev wire format lives in @atp/protocol (shared with the host's lab); re-exported for the agent's API.
export { classifyDevice, encodeInputEvents, InputEventDecoder, layoutForArch, parseProcInputDevices } from '@atp/protocol';
export type { DeviceKind, InputEventLayout, ProcInputDevice, RawInputEvent } from '@atp/protocol';
export { EvdevTranslator, ModifierState } from './linux-evdev/translate.js';
export { WindowsHooksCapture, type WindowsHooksCaptureOptions, type HookCounters, type DesktopInfo } from './windows-hooks/index.js';

/** One row of `atp-agent devices`: the DeviceInfo the agent reports, plus what helps a human pick a device. */
export interface CaptureDeviceRow extends DeviceInfo {
  /** The evdev node, or null when no evdev handler is bound (is the evdev module loaded?). */
  path: string | null;
  /** Whether the node exists in devDir (so the capture would open it). */
  present: boolean;
  /** Hex ids as the kernel prints them: 0627. */
  vendor: string;
  product: string;
  version: string;
  handlers: string[];
  sysfs: string;
  uniq: string;
}

export type ListDevicesOptions = Pick<LinuxEvdevCaptureOptions, 'procDevicesPath' | 'devDir' | 'wordBits' | 'absRanges'>;

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/** Every input device the kernel lists, capturable or not, in /proc order. Rejects with ATP_CAPTURE_DEVICE_LIST. */
export async function listDevices(options: ListDevicesOptions = {}): Promise<CaptureDeviceRow[]> {
  const procPath = options.procDevicesPath ?? DEFAULT_PROC_DEVICES_PATH;
  const devDir = options.devDir ?? DEFAULT_DEV_DIR;
  let text: string;
  try {
    text = await fs.readFile(procPath, 'utf8');
  } catch (error) {
    throw captureError('ATP_CAPTURE_DEVICE_LIST', `cannot read ${procPath}: ${String(error)}`, { details: { path: procPath }, cause: error });
  }
  const nodes = new Set(await fs.readdir(devDir).catch(() => []));
  return parseProcInputDevices(text, { wordBits: options.wordBits ?? kernelWordBits() }).map((dev) => {
    const base = toDeviceInfo(dev);
    const absRange = resolveAbsRange(dev, base.id, options.absRanges);
    return {
      ...toDeviceInfo(dev, absRange),
      path: dev.eventNode === undefined ? null : `${devDir}/${dev.eventNode}`,
      present: dev.eventNode !== undefined && nodes.has(dev.eventNode),
      vendor: hex4(dev.vendor),
      product: hex4(dev.product),
      version: hex4(dev.version),
      handlers: dev.handlers,
      sysfs: dev.sysfs,
      uniq: dev.uniq,
    };
  });
}
