/**
 * Hands-on input into one libvirt domain, shared by `atp-host keyboard|mouse`
 * and the HTTP API (/api/v1/keyboard/*, /api/v1/mouse/*): open the domain,
 * make sure the guest runs (QEMU drops input while paused: a paused domain
 * is continued first), open the chosen injector on it (QMP through libvirt's
 * qemu-monitor-command by default; SPICE or VNC at the domain's <graphics>
 * or at the endpoint given), run the caller's sends, close everything.
 * Moved out of cli/keyboard.ts so both faces take the same path.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfigLocation } from '../config/paths.js';
import { QmpInjector, type Injector, type Keystroke, type ScreenSize } from '../inject/index.js';
import { ensureGuestRunning } from '../scenario/index.js';
import { withDomain } from './domains.js';
import { openInjector, type InjectorChoice } from './injectors.js';
import { libvirtDisplay } from './libvirt-display.js';

/** The screen size pointer positions refer to unless told otherwise. */
export const DEFAULT_SCREEN: ScreenSize = { width: 1024, height: 768 };

/** Opens the domain (NAME[@HOST]), makes sure it runs, and hands `fn` the chosen injector on it (default QMP); closes everything. */
export function withInjector<T>(vm: string, location: ConfigLocation, screen: ScreenSize, choice: Partial<InjectorChoice>, fn: (injector: Injector, label: string) => Promise<T>): Promise<T> {
  return withDomain(vm, location, async (d) => {
    const qmp = d.client.qmpExecutor(d.domain);
    await ensureGuestRunning(qmp);
    const source = { label: d.label, injector: (s: ScreenSize) => new QmpInjector({ executor: qmp, screen: s }), display: libvirtDisplay(d) };
    const injector = await openInjector(source, screen, { ...choice, kind: choice.kind ?? 'qmp' });
    try {
      return await fn(injector, d.label);
    } finally {
      await injector.close();
    }
  });
}

/** Sends keystrokes one at a time, `rate` per second; resolves with the number of actions (key events) sent. Stops early when `signal` aborts. */
export async function sendPaced(injector: Injector, strokes: readonly Keystroke[], rate: number, signal?: AbortSignal): Promise<number> {
  let actions = 0;
  for (const [i, s] of strokes.entries()) {
    signal?.throwIfAborted();
    if (i > 0) await sleep(1000 / rate, undefined, signal === undefined ? {} : { signal });
    actions += (await injector.send(s.actions)).length;
  }
  return actions;
}
