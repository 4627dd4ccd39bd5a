/**
 * The hook thread of the Windows backend, run as a worker (eval'd source, so
 * the single-file executable needs no extra file): it installs WH_KEYBOARD_LL
 * and WH_MOUSE_LL with SetWindowsHookExW and pumps GetMessageW. Windows calls a
 * low-level hook on the thread that installed it, from inside that thread's
 * GetMessageW, so the JS callbacks run synchronously here while the agent's
 * main thread stays free. Each callback copies the struct fields into a small
 * array, posts it to the main thread and returns CallNextHookEx at once (a hook
 * slower than LowLevelHooksTimeout is skipped, and eventually removed, by
 * Windows). PostThreadMessageW(WM_QUIT) from the main thread ends the loop.
 *
 * hookThreadMain must stay self-contained: it is serialized with toString().
 * Messages to the main thread:
 *   { type: 'ready', threadId, keyboard, mouse, error? }  once, after installing
 *   [0, message, vkCode, scanCode, flags, t]             keyboard record
 *   [1, message, x, y, mouseData, flags, t]              mouse record
 *   { type: 'exit', error? }                              the loop ended
 */
import type * as WorkerThreads from 'node:worker_threads';
import type { Koffi } from './koffi-types.js';

export interface HookThreadData {
  addon: string;
  keyboard: boolean;
  mouse: boolean;
}

export interface HookThreadReady {
  type: 'ready';
  threadId: number;
  keyboard: boolean;
  mouse: boolean;
  error?: string;
}

export function hookThreadMain(wt: typeof WorkerThreads): void {
  const port = wt.parentPort;
  if (port === null) return;
  const data = wt.workerData as HookThreadData;
  const mod = { exports: {} as unknown };
  process.dlopen(mod, data.addon);
  const koffi = mod.exports as Koffi;
  const user32 = koffi.load('user32.dll');
  const kernel32 = koffi.load('kernel32.dll');
  const KBD = koffi.struct('ATP_KBDLLHOOKSTRUCT', { vkCode: 'uint32_t', scanCode: 'uint32_t', flags: 'uint32_t', time: 'uint32_t', dwExtraInfo: 'uintptr_t' });
  const POINT = koffi.struct('ATP_POINT', { x: 'int32_t', y: 'int32_t' });
  const MOUSE = koffi.struct('ATP_MSLLHOOKSTRUCT', { pt: POINT, mouseData: 'uint32_t', flags: 'uint32_t', time: 'uint32_t', dwExtraInfo: 'uintptr_t' });
  const HookProc = koffi.proto('intptr_t __stdcall ATP_HookProc(int nCode, uintptr_t wParam, void *lParam)');
  const SetWindowsHookExW = user32.func('void * __stdcall SetWindowsHookExW(int idHook, ATP_HookProc *lpfn, void *hmod, uint32_t dwThreadId)');
  const CallNextHookEx = user32.func('intptr_t __stdcall CallNextHookEx(void *hhk, int nCode, uintptr_t wParam, void *lParam)');
  const UnhookWindowsHookEx = user32.func('bool __stdcall UnhookWindowsHookEx(void *hhk)');
  const GetMessageW = user32.func('int __stdcall GetMessageW(void *lpMsg, void *hWnd, uint32_t wMsgFilterMin, uint32_t wMsgFilterMax)');
  const PeekMessageW = user32.func('bool __stdcall PeekMessageW(void *lpMsg, void *hWnd, uint32_t wMsgFilterMin, uint32_t wMsgFilterMax, uint32_t wRemoveMsg)');
  const GetModuleHandleW = kernel32.func('void * __stdcall GetModuleHandleW(void *lpModuleName)');
  const GetCurrentThreadId = kernel32.func('uint32_t __stdcall GetCurrentThreadId()');
  const GetLastError = kernel32.func('uint32_t __stdcall GetLastError()');

  const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0);
  const onKeyboard = (nCode: number, wParam: unknown, lParam: unknown): unknown => {
    if (nCode === 0) {
      try {
        const s = koffi.decode(lParam, KBD) as { vkCode: number; scanCode: number; flags: number };
        port.postMessage([0, num(wParam), s.vkCode, s.scanCode, s.flags, Date.now()]);
      } catch {
        // never let an exception escape into user32
      }
    }
    return CallNextHookEx(null, nCode, wParam, lParam);
  };
  const onMouse = (nCode: number, wParam: unknown, lParam: unknown): unknown => {
    if (nCode === 0) {
      try {
        const s = koffi.decode(lParam, MOUSE) as { pt: { x: number; y: number }; mouseData: number; flags: number };
        port.postMessage([1, num(wParam), s.pt.x, s.pt.y, s.mouseData, s.flags, Date.now()]);
      } catch {
        // as above
      }
    }
    return CallNextHookEx(null, nCode, wParam, lParam);
  };

  const msg = Buffer.alloc(64);
  // Creates this thread's message queue, so PostThreadMessageW(WM_QUIT) cannot miss it.
  PeekMessageW(msg, null, 0, 0, 0);
  const threadId = num(GetCurrentThreadId());
  const module = GetModuleHandleW(null);
  const hooks: unknown[] = [];
  const callbacks: unknown[] = [];
  const errors: string[] = [];
  const install = (id: number, name: string, fn: (nCode: number, wParam: unknown, lParam: unknown) => unknown): boolean => {
    const cb = koffi.register(fn, koffi.pointer(HookProc));
    callbacks.push(cb);
    const hook = SetWindowsHookExW(id, cb, module, 0);
    if (hook === null || hook === undefined) {
      errors.push(`SetWindowsHookExW(${name}) failed (GetLastError ${num(GetLastError())})`);
      return false;
    }
    hooks.push(hook);
    return true;
  };
  const keyboard = data.keyboard && install(13, 'WH_KEYBOARD_LL', onKeyboard);
  const mouse = data.mouse && install(14, 'WH_MOUSE_LL', onMouse);
  const ready: HookThreadReady = { type: 'ready', threadId, keyboard, mouse };
  if (errors.length > 0) ready.error = errors.join('; ');
  port.postMessage(ready);
  let loopError: string | undefined;
  if (hooks.length > 0) {
    for (;;) {
      const r = num(GetMessageW(msg, null, 0, 0));
      if (r === 0) break;
      if (r === -1) {
        loopError = `GetMessageW failed (GetLastError ${num(GetLastError())})`;
        break;
      }
    }
  }
  for (const hook of hooks) UnhookWindowsHookEx(hook);
  for (const cb of callbacks) koffi.unregister(cb);
  port.postMessage(loopError === undefined ? { type: 'exit' } : { type: 'exit', error: loopError });
}

/** The worker's eval source. */
export function hookThreadSource(): string {
  return `(${hookThreadMain.toString()})(require('node:worker_threads'));`;
}
