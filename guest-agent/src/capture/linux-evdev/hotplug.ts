/**
 * Follows input devices appearing and vanishing. A device is *present* when
 * /proc/bus/input/devices lists it with an evdev handler (eventN) AND the node
 * devDir/eventN exists as a character device (or a FIFO, which tests use). The
 * kernel updates /proc before devtmpfs creates or removes the node, so requiring
 * both avoids opening a node that is not there yet.
 *
 * Triggers: fs.watch (inotify) on devDir, debounced by `settleMs`; a periodic
 * rescan every `rescanMs` as the fallback for missed or unsupported
 * notifications (no devDir yet, inotify limits); and rescan() from the owner, e.g.
 * when a reader reports its device gone.
 *
 * Scans use synchronous reads of two small in-memory files: they never wait
 * for a libuv threadpool thread, whatever else keeps the pool busy.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseProcInputDevices, type ProcInputDevice } from '@atp/protocol';

export interface DeviceScan {
  /** Present devices, in /proc order. */
  devices: ProcInputDevice[];
}

export interface HotplugOptions {
  procDevicesPath: string;
  devDir: string;
  wordBits?: 32 | 64;
  /** Fallback rescan period (default 2000 ms). */
  rescanMs?: number;
  /** Quiet time after a devDir notification before scanning (default 50 ms). */
  settleMs?: number;
  onScan: (scan: DeviceScan) => void;
  /** A scan failed (the /proc file could not be read); scanning goes on. */
  onScanError: (error: unknown) => void;
}

/** Reads and filters the present devices once (throws what fs throws for the /proc file). */
export function scanPresentDevices(procDevicesPath: string, devDir: string, wordBits?: 32 | 64): ProcInputDevice[] {
  const text = fs.readFileSync(procDevicesPath, 'utf8');
  let nodes: Set<string>;
  try {
    nodes = new Set(
      fs.readdirSync(devDir, { withFileTypes: true }).filter((d) => d.isCharacterDevice() || d.isFIFO()).map((d) => d.name),
    );
  } catch {
    nodes = new Set();
  }
  const parsed = parseProcInputDevices(text, wordBits === undefined ? {} : { wordBits });
  return parsed.filter((d) => d.eventNode !== undefined && nodes.has(d.eventNode));
}

export class HotplugWatcher {
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: HotplugOptions) {}

  /** Starts following; does not scan (call rescan() for the first scan). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.watch();
    this.timer = setInterval(() => {
      if (this.watcher === undefined) this.watch();
      this.rescan();
    }, this.options.rescanMs ?? 2000);
    this.timer.unref();
  }

  stop(): void {
    this.running = false;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.settle !== undefined) clearTimeout(this.settle);
    this.timer = undefined;
    this.settle = undefined;
  }

  /** Scans now and reports the result (synchronously). */
  rescan(): void {
    let devices: ProcInputDevice[];
    try {
      devices = scanPresentDevices(this.options.procDevicesPath, this.options.devDir, this.options.wordBits);
    } catch (error) {
      this.options.onScanError(error);
      return;
    }
    this.options.onScan({ devices });
  }

  private watch(): void {
    try {
      const watcher = fs.watch(this.options.devDir, { persistent: false }, (_event, name) => {
        if (name !== null && !/^event\d+$/.test(path.basename(String(name)))) return;
        this.scheduleScan();
      });
      watcher.on('error', () => {
        watcher.close();
        if (this.watcher === watcher) this.watcher = undefined;
      });
      this.watcher = watcher;
    } catch {
      this.watcher = undefined;
    }
  }

  private scheduleScan(): void {
    if (!this.running) return;
    if (this.settle !== undefined) clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      this.settle = undefined;
      if (this.running) this.rescan();
    }, this.options.settleMs ?? 50);
    this.settle.unref();
  }
}
