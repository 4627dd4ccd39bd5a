/**
 * The Win32 calls the Windows backend makes from the agent's main thread (koffi):
 * ending the hook thread, the virtual screen, lock-key state, and where the agent
 * runs: its session id, the console session, and the name of the input desktop
 * ('Default' normally, 'Winlogon' on the secure desktop, null when this process
 * may not open it). Loaded only on win32.
 */
import type { Koffi, KoffiFunction } from './koffi-types.js';
import { koffiAddonPath, loadAddon } from './native-addon.js';

export interface DesktopInfo {
  /** ProcessIdToSessionId of this process. */
  sessionId: number | null;
  /** WTSGetActiveConsoleSessionId: the session attached to the physical (here: virtual) console. */
  consoleSessionId: number | null;
  /** Name of the desktop receiving input now, or null when it cannot be opened. */
  inputDesktop: string | null;
}

export interface Win32Api {
  addon: string;
  postQuit(threadId: number): boolean;
  virtualScreen(): { left: number; top: number; width: number; height: number };
  locks(): { capslock: boolean; numlock: boolean };
  desktop(): DesktopInfo;
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0);

export function loadWin32Api(): Win32Api {
  const addon = koffiAddonPath();
  const koffi = loadAddon<Koffi>(addon);
  const user32 = koffi.load('user32.dll');
  const kernel32 = koffi.load('kernel32.dll');
  const f = (lib: 'user32' | 'kernel32', decl: string): KoffiFunction => (lib === 'user32' ? user32 : kernel32).func(decl);
  const PostThreadMessageW = f('user32', 'bool __stdcall PostThreadMessageW(uint32_t idThread, uint32_t Msg, uintptr_t wParam, intptr_t lParam)');
  const GetSystemMetrics = f('user32', 'int __stdcall GetSystemMetrics(int nIndex)');
  const GetKeyState = f('user32', 'int16_t __stdcall GetKeyState(int nVirtKey)');
  const OpenInputDesktop = f('user32', 'void * __stdcall OpenInputDesktop(uint32_t dwFlags, bool fInherit, uint32_t dwDesiredAccess)');
  const CloseDesktop = f('user32', 'bool __stdcall CloseDesktop(void *hDesktop)');
  const GetUserObjectInformationW = f('user32', 'bool __stdcall GetUserObjectInformationW(void *hObj, int nIndex, void *pvInfo, uint32_t nLength, _Out_ uint32_t *lpnLengthNeeded)');
  const GetCurrentProcessId = f('kernel32', 'uint32_t __stdcall GetCurrentProcessId()');
  const ProcessIdToSessionId = f('kernel32', 'bool __stdcall ProcessIdToSessionId(uint32_t dwProcessId, _Out_ uint32_t *pSessionId)');
  const WTSGetActiveConsoleSessionId = f('kernel32', 'uint32_t __stdcall WTSGetActiveConsoleSessionId()');
  try {
    // Per-monitor aware (DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2 = -4): metrics in the hook's physical pixels.
    f('user32', 'bool __stdcall SetProcessDpiAwarenessContext(intptr_t value)')(-4);
  } catch {
    // before Windows 10 1703: the metrics may be scaled
  }
  return {
    addon,
    postQuit: (threadId) => PostThreadMessageW(threadId, 0x12, 0, 0) === true,
    virtualScreen: () => ({ left: num(GetSystemMetrics(76)), top: num(GetSystemMetrics(77)), width: num(GetSystemMetrics(78)), height: num(GetSystemMetrics(79)) }),
    locks: () => ({ capslock: (num(GetKeyState(0x14)) & 1) === 1, numlock: (num(GetKeyState(0x90)) & 1) === 1 }),
    desktop: () => {
      const out = [0];
      const sessionId = ProcessIdToSessionId(GetCurrentProcessId(), out) === true ? (out[0] ?? null) : null;
      const console = num(WTSGetActiveConsoleSessionId());
      let inputDesktop: string | null = null;
      // DESKTOP_READOBJECTS: enough to read the name.
      const desk = OpenInputDesktop(0, false, 0x0001);
      if (desk !== null && desk !== undefined) {
        const buf = Buffer.alloc(512);
        const needed = [0];
        if (GetUserObjectInformationW(desk, 2, buf, buf.length, needed) === true) inputDesktop = buf.toString('utf16le').replace(/\0.*$/s, '');
        CloseDesktop(desk);
      }
      return { sessionId, consoleSessionId: console === 0xffffffff ? null : console, inputDesktop };
    },
  };
}
