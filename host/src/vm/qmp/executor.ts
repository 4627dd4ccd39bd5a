/**
 * The one thing the typed QMP helpers need: something that runs a command and
 * resolves with its `return` value. QmpClient implements it over a socket; a
 * libvirt-backed executor (`virsh qemu-monitor-command`) can implement it too.
 */
import { hostNow } from '../../util/clock.js';

/** Told the hostNow() time at which a command left this process (see QmpExecuteOptions.onSent). */
export type SentHook = (at: number) => void;

export interface QmpExecuteOptions {
  /** Reject with ATP_QMP_TIMEOUT when no reply arrives within this many ms. */
  timeoutMs?: number;
  /**
   * Called with hostNow() when the command is actually written out, after any
   * queueing in the executor (waiting for a reconnect, for a busy virsh):
   * QmpClient calls it just before it writes to the socket, the virsh executor
   * just before it writes the line to an interactive virsh (or once a per-call
   * one is spawned). A
   * wrapper that resends a call (reconnectingQmpExecutor) calls it again for the
   * resend. Not called when the command never left. Executors that cannot tell
   * do not call it, so callers keep a fallback time. Synchronous; what it
   * throws is ignored (reportSent), so it can never break the command.
   */
  onSent?: SentHook;
}

export interface QmpExecutor {
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options?: QmpExecuteOptions): Promise<T>;
}

/** Calls `hook` with hostNow(), ignoring what it throws: the command is already on its way. */
export function reportSent(hook: SentHook | undefined): void {
  if (hook === undefined) return;
  try {
    hook(hostNow());
  } catch {
    // A faulty hook only loses its own timestamp; the caller falls back to its own.
  }
}
