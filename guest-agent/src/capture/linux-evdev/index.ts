/**
 * LinuxEvdevCapture: the Capture backend that reads what the guest kernel's
 * input core delivered, from /dev/input/event* (evdev).
 *
 * - Devices: every node /proc/bus/input/devices lists with an evdev handler
 *   (optionally filtered by kind), followed through hotplug (hotplug.ts). The
 *   device id is the node name, `event3` (devices.ts deviceId).
 * - Events: reader.ts -> the shared InputEventDecoder (@atp/protocol) -> translate.ts; one translator per device, one
 *   ModifierState shared by all of them. `t` is the evdev timestamp (ms, float,
 *   CLOCK_REALTIME, evdev's default clock); `device` events use Date.now(), the
 *   same clock.
 * - Absolute ranges: abs-ranges.ts (options.absRanges, else known QEMU/VMware
 *   devices, else none).
 * - Reading: each device is watched by the event loop's epoll (reader.ts); no
 *   thread per device. At most `maxDevices` are open at once (default 128, one
 *   descriptor each); a device beyond the limit, or an open that fails with
 *   EMFILE/ENFILE, is reported once per device as ATP_CAPTURE_DEVICE_LIMIT
 *   through the error callbacks and retried at the next rescan.
 */
import os from 'node:os';
import { isAtpError, layoutForArch, type AxisRange, type DeviceInfo, type DeviceKind, type InputEventLayout, type ProcInputDevice } from '@atp/protocol';
import { CaptureEmitter, type Capture, type CaptureEventsOptions, type CaptureHandlers, type CapturedEvent } from '../capture.js';
import { captureError } from '../errors.js';
import { resolveAbsRange } from './abs-ranges.js';
import { identityOf, toDeviceInfo } from './devices.js';
import { HotplugWatcher, scanPresentDevices } from './hotplug.js';
import { EvdevReader } from './reader.js';
import { EvdevTranslator, ModifierState } from './translate.js';

export interface LinuxEvdevCaptureOptions {
  procDevicesPath?: string;
  devDir?: string;
  /** input_event record layout (default: from process.arch). */
  layout?: InputEventLayout;
  /** Kernel word size of the /proc bitmaps (default: from os.machine()). */
  wordBits?: 32 | 64;
  /** ABS_X/ABS_Y ranges by device id or name. */
  absRanges?: Readonly<Record<string, AxisRange>>;
  /** Capture only these kinds (default: every device with an evdev node). */
  kinds?: readonly DeviceKind[];
  rescanMs?: number;
  settleMs?: number;
  /** Most devices open at once (default DEFAULT_MAX_DEVICES). */
  maxDevices?: number;
}

export const DEFAULT_MAX_DEVICES = 128;
const OUT_OF_DESCRIPTORS = new Set(['EMFILE', 'ENFILE']);

export const DEFAULT_PROC_DEVICES_PATH = '/proc/bus/input/devices';
export const DEFAULT_DEV_DIR = '/dev/input';

/** Word size of the running kernel (uname -m), which may differ from this process's. */
export function kernelWordBits(machine: string = os.machine()): 32 | 64 {
  return /64|s390x/.test(machine) ? 64 : 32;
}

interface Entry {
  dev: ProcInputDevice;
  info: DeviceInfo;
  translator: EvdevTranslator;
  reader: EvdevReader | undefined;
  /** open -> ended (reader stopped; waits for the device to leave the list). */
  state: 'open' | 'ended';
}

export class LinuxEvdevCapture implements Capture {
  readonly backend = 'linux-evdev';
  private readonly emitter = new CaptureEmitter();
  private readonly modifiers = new ModifierState();
  private readonly entries = new Map<string, Entry>();
  private readonly procDevicesPath: string;
  private readonly devDir: string;
  private readonly wordBits: 32 | 64;
  private hotplug: HotplugWatcher | undefined;
  private running = false;
  /** Identities already reported as over the limit (reported once each until they fit). */
  private readonly overLimit = new Set<string>();

  constructor(private readonly options: LinuxEvdevCaptureOptions = {}) {
    this.procDevicesPath = options.procDevicesPath ?? DEFAULT_PROC_DEVICES_PATH;
    this.devDir = options.devDir ?? DEFAULT_DEV_DIR;
    this.wordBits = options.wordBits ?? kernelWordBits();
  }

  async start(): Promise<void> {
    if (this.running) return;
    let initial: ProcInputDevice[];
    try {
      initial = scanPresentDevices(this.procDevicesPath, this.devDir, this.wordBits);
    } catch (error) {
      throw captureError('ATP_CAPTURE_DEVICE_LIST', `cannot read ${this.procDevicesPath}: ${String(error)}`, { details: { path: this.procDevicesPath }, cause: error });
    }
    this.running = true;
    this.hotplug = new HotplugWatcher({
      procDevicesPath: this.procDevicesPath,
      devDir: this.devDir,
      wordBits: this.wordBits,
      ...(this.options.rescanMs === undefined ? {} : { rescanMs: this.options.rescanMs }),
      ...(this.options.settleMs === undefined ? {} : { settleMs: this.options.settleMs }),
      onScan: ({ devices }) => this.apply(devices),
      onScanError: (error) => this.emitter.fail(captureError('ATP_CAPTURE_DEVICE_LIST', `cannot read ${this.procDevicesPath}: ${String(error)}`, { cause: error })),
    });
    this.hotplug.start();
    this.apply(initial);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.hotplug?.stop();
    this.hotplug = undefined;
    const closing = [...this.entries.values()].map((e) => e.reader?.close());
    for (const e of this.entries.values()) e.translator.close();
    this.entries.clear();
    await Promise.all(closing);
    this.emitter.end();
  }

  devices(): DeviceInfo[] {
    return [...this.entries.values()].filter((e) => e.state === 'open').map((e) => ({ ...e.info }));
  }

  subscribe(handlers: CaptureHandlers): () => void {
    return this.emitter.subscribe(handlers);
  }

  events(options?: CaptureEventsOptions): AsyncIterableIterator<CapturedEvent> {
    return this.emitter.events(options);
  }

  /** Reconciles the open devices with a scan (opens are synchronous). */
  private apply(present: readonly ProcInputDevice[]): void {
    if (!this.running) return;
    const wanted = new Map(present.filter((d) => this.wants(d)).map((d) => [identityOf(d), d]));
    for (const [identity, entry] of this.entries) {
      if (!wanted.has(identity)) this.remove(identity, entry);
    }
    for (const identity of this.overLimit) if (!wanted.has(identity)) this.overLimit.delete(identity);
    for (const [identity, dev] of wanted) {
      if (this.entries.has(identity)) continue;
      if (this.openCount() >= this.maxDevices) this.limitReached(identity, dev, undefined);
      else this.add(identity, dev);
    }
  }

  /** Devices holding a descriptor (an ended one waits, without it, for its node to leave the list). */
  private openCount(): number {
    let open = 0;
    for (const e of this.entries.values()) if (e.state === 'open') open++;
    return open;
  }

  private get maxDevices(): number {
    return this.options.maxDevices ?? DEFAULT_MAX_DEVICES;
  }

  /** A device that cannot be opened for lack of room: reported once, retried at every rescan. */
  private limitReached(identity: string, dev: ProcInputDevice, errno: string | undefined): void {
    if (this.overLimit.has(identity)) return;
    this.overLimit.add(identity);
    const node = dev.eventNode ?? '?';
    const why = errno === undefined ? `${this.maxDevices} devices are open (the limit; set maxDevices)` : `the process is out of file descriptors (${errno})`;
    this.emitter.fail(
      captureError('ATP_CAPTURE_DEVICE_LIMIT', `not capturing ${node} (${dev.name}): ${why}`, {
        details: { device: node, name: dev.name, open: this.openCount(), maxDevices: this.maxDevices, ...(errno === undefined ? {} : { errno }) },
      }),
    );
  }

  private wants(dev: ProcInputDevice): boolean {
    const kinds = this.options.kinds;
    return kinds === undefined || kinds.includes(toDeviceInfo(dev).kind);
  }

  private add(identity: string, dev: ProcInputDevice): void {
    const base = toDeviceInfo(dev);
    const absRange = resolveAbsRange(dev, base.id, this.options.absRanges);
    const info = toDeviceInfo(dev, absRange);
    const translator = new EvdevTranslator({ device: info.id, modifiers: this.modifiers, ...(absRange === undefined ? {} : { absRange }) });
    const entry: Entry = { dev, info, translator, reader: undefined, state: 'open' };
    this.entries.set(identity, entry);
    const nodePath = `${this.devDir}/${dev.eventNode ?? ''}`;
    try {
      entry.reader = EvdevReader.open(nodePath, {
        layout: this.options.layout ?? layoutForArch(process.arch),
        onEvents: (raw) => {
          if (this.entries.get(identity) !== entry) return;
          for (const event of translator.push(raw)) this.emitter.emit(event);
        },
        onEnd: () => this.ended(identity, entry),
        onError: (error) => this.emitter.fail(error),
      });
      this.overLimit.delete(identity);
      this.emitter.emit({ kind: 'device', t: Date.now(), device: info.id, change: 'added', info });
    } catch (error) {
      const errno = isAtpError(error) ? error.details.errno : undefined;
      if (typeof errno === 'string' && OUT_OF_DESCRIPTORS.has(errno)) {
        // Forget the entry so the next rescan tries again once descriptors are free.
        this.entries.delete(identity);
        translator.close();
        this.limitReached(identity, dev, errno);
        return;
      }
      entry.state = 'ended';
      // A node that vanished between the scan and the open is hotplug, not an error.
      if (errno !== 'ENOENT' && errno !== 'ENODEV') {
        this.emitter.fail(isAtpError(error) ? error : captureError('ATP_CAPTURE_DEVICE_OPEN', `cannot open ${nodePath}: ${String(error)}`, { cause: error }));
      }
    }
  }

  private remove(identity: string, entry: Entry): void {
    this.entries.delete(identity);
    void entry.reader?.close();
    entry.translator.close();
    if (entry.state === 'open') this.emitter.emit({ kind: 'device', t: Date.now(), device: entry.info.id, change: 'removed', info: entry.info });
  }

  /** The reader stopped by itself (device gone, EOF, read error): report the removal, then rescan. */
  private ended(identity: string, entry: Entry): void {
    if (this.entries.get(identity) !== entry) return;
    const wasOpen = entry.state === 'open';
    entry.state = 'ended';
    entry.reader = undefined;
    entry.translator.close();
    if (wasOpen) this.emitter.emit({ kind: 'device', t: Date.now(), device: entry.info.id, change: 'removed', info: entry.info });
    this.hotplug?.rescan();
  }
}
