/**
 * The windows-hooks capture backend: low-level keyboard and mouse hooks
 * (WH_KEYBOARD_LL, WH_MOUSE_LL) through koffi, on a worker thread with its own
 * message loop (hook-thread.ts); records become CapturedEvents in
 * hook-mapping.ts. Low-level hooks see the input of the desktop of the session
 * the agent runs in, so the agent runs in the user's logon session (a scheduled
 * task at logon), not as a service in session 0.
 *
 * Why koffi and not uiohook-napi: koffi gives the raw KBDLLHOOKSTRUCT (scanCode,
 * LLKHF_EXTENDED, LLKHF_INJECTED) the canonical key id and the injected flag need,
 * plus the session / input-desktop calls for the hello, with one small addon.
 *
 * The hello learns where the agent runs through capabilities():
 * 'win-session:<id>', 'win-console-session:<id>', 'win-desktop:<name>'.
 */
import { Worker } from 'node:worker_threads';
import { AtpError, type AxisRange, type DeviceInfo } from '@atp/protocol';
import { CaptureEmitter } from '../capture.js';
import type { Capture, CaptureEventsOptions, CaptureHandlers, CapturedEvent } from '../capture.js';
import { HookKeyboardTranslator, KEYBOARD_DEVICE, MOUSE_DEVICE, translateMouseHook, virtualScreenRange } from './hook-mapping.js';
import type { HookTranslation } from './hook-mapping.js';
import { hookThreadSource } from './hook-thread.js';
import { sessionProblem } from './session-check.js';
import type { HookThreadData, HookThreadReady } from './hook-thread.js';
import type { DesktopInfo, Win32Api } from './win32-api.js';

export { HookKeyboardTranslator, keyFromHook, set1FromHook, translateMouseHook, virtualScreenRange, signedHighWord } from './hook-mapping.js';
export type { HookTranslation, KeyboardHookRecord, MouseHookRecord } from './hook-mapping.js';
export type { DesktopInfo } from './win32-api.js';
export { sessionProblem } from './session-check.js';

export interface WindowsHooksCaptureOptions {
  keyboard?: boolean;
  mouse?: boolean;
  /** How long start() waits for the hook thread (default 10 s). */
  startTimeoutMs?: number;
}

export interface HookCounters {
  events: number;
  injected: number;
  ignored: number;
}

export class WindowsHooksCapture implements Capture {
  readonly backend = 'windows-hooks';
  readonly counters: HookCounters = { events: 0, injected: 0, ignored: 0 };
  private readonly emitter = new CaptureEmitter();
  private api: Win32Api | undefined;
  private worker: Worker | undefined;
  private threadId = 0;
  private ready: HookThreadReady | undefined;
  private range: AxisRange | undefined;
  private keyboard = new HookKeyboardTranslator();
  private starting: Promise<void> | undefined;

  constructor(private readonly options: WindowsHooksCaptureOptions = {}) {}

  /** What the hook thread reported at the last start (which hooks are installed). */
  get status(): HookThreadReady | undefined {
    return this.ready;
  }

  start(): Promise<void> {
    this.starting ??= this.startHooks().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async startHooks(): Promise<void> {
    if (process.platform !== 'win32') throw new AtpError('ATP_CAPTURE_HOOKS', `windows-hooks needs Windows (this is ${process.platform})`);
    const { loadWin32Api } = await import('./win32-api.js');
    const api = (this.api ??= loadWin32Api());
    const screen = api.virtualScreen();
    this.range = virtualScreenRange(screen.left, screen.top, screen.width, screen.height);
    this.keyboard = new HookKeyboardTranslator(api.locks());
    const workerData: HookThreadData = { addon: api.addon, keyboard: this.options.keyboard ?? true, mouse: this.options.mouse ?? true };
    const worker = new Worker(hookThreadSource(), { eval: true, workerData });
    this.worker = worker;
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    const ready = await new Promise<HookThreadReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new AtpError('ATP_CAPTURE_HOOKS', `the hook thread did not start within ${timeoutMs} ms`)), timeoutMs);
      worker.on('message', (message: unknown) => {
        if (Array.isArray(message)) this.onRecord(message);
        else if (isReady(message)) {
          clearTimeout(timer);
          resolve(message);
        } else if (isExit(message) && message.error !== undefined) {
          this.emitter.fail(new AtpError('ATP_CAPTURE_HOOKS', `hook message loop ended: ${message.error}`));
        }
      });
      worker.once('error', (cause) => {
        clearTimeout(timer);
        reject(new AtpError('ATP_CAPTURE_HOOKS', `the hook thread failed: ${cause.message}`, { cause }));
      });
      worker.once('exit', () => {
        clearTimeout(timer);
        reject(new AtpError('ATP_CAPTURE_HOOKS', 'the hook thread exited before it was ready'));
      });
    }).catch(async (error: unknown) => {
      await worker.terminate();
      this.worker = undefined;
      throw error;
    });
    this.ready = ready;
    this.threadId = ready.threadId;
    if (!ready.keyboard && !ready.mouse) {
      await this.stop();
      throw new AtpError('ATP_CAPTURE_HOOKS', `no hook could be installed: ${ready.error ?? 'unknown error'}`, { details: { ...ready } });
    }
    if (ready.error !== undefined) this.emitter.fail(new AtpError('ATP_CAPTURE_HOOKS', ready.error, { details: { ...ready } }));
    const where = sessionProblem(api.desktop());
    if (where !== undefined) this.emitter.fail(where);
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.starting = undefined;
    if (worker !== undefined) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      if (this.threadId !== 0) this.api?.postQuit(this.threadId);
      const timer = setTimeout(() => void worker.terminate(), 2_000);
      await exited;
      clearTimeout(timer);
    }
    this.keyboard.reset();
    this.emitter.end();
  }

  devices(): DeviceInfo[] {
    const list: DeviceInfo[] = [];
    if (this.options.keyboard ?? true) list.push({ id: KEYBOARD_DEVICE, name: 'Windows low-level keyboard hook', kind: 'keyboard', bus: 'hook' });
    if (this.options.mouse ?? true) {
      const mouse: DeviceInfo = { id: MOUSE_DEVICE, name: 'Windows low-level mouse hook (screen pixels)', kind: 'pointer-absolute', bus: 'hook' };
      if (this.range !== undefined) mouse.absRange = this.range;
      list.push(mouse);
    }
    return list;
  }

  /** Where the agent runs (session, input desktop); null fields when Windows would not say. */
  desktop(): DesktopInfo | undefined {
    return this.api?.desktop();
  }

  capabilities(): string[] {
    const d = this.desktop();
    if (d === undefined) return [];
    const caps: string[] = [];
    if (d.sessionId !== null) caps.push(`win-session:${d.sessionId}`);
    if (d.consoleSessionId !== null) caps.push(`win-console-session:${d.consoleSessionId}`);
    caps.push(`win-desktop:${(d.inputDesktop ?? 'inaccessible').slice(0, 48)}`);
    return caps;
  }

  subscribe(handlers: CaptureHandlers): () => void {
    return this.emitter.subscribe(handlers);
  }

  events(options?: CaptureEventsOptions): AsyncIterableIterator<CapturedEvent> {
    return this.emitter.events(options);
  }

  private onRecord(r: unknown[]): void {
    const n = (i: number): number => (typeof r[i] === 'number' ? (r[i] as number) : 0);
    let result: HookTranslation;
    if (r[0] === 0) result = this.keyboard.translate({ message: n(1), vkCode: n(2), scanCode: n(3), flags: n(4), t: n(5) });
    else result = translateMouseHook({ message: n(1), x: n(2), y: n(3), mouseData: n(4), flags: n(5), t: n(6) }, this.range);
    if (result.injected) this.counters.injected++;
    if (result.event === undefined) {
      this.counters.ignored++;
      return;
    }
    this.counters.events++;
    this.emitter.emit(result.event);
  }
}

function isReady(value: unknown): value is HookThreadReady {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'ready' && typeof (value as { threadId?: unknown }).threadId === 'number';
}

function isExit(value: unknown): value is { type: 'exit'; error?: string } {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'exit';
}
