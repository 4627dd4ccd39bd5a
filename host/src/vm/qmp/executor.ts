/**
 * The one thing the typed QMP helpers need: something that runs a command and
 * resolves with its `return` value. QmpClient implements it over a socket; a
 * libvirt-backed executor (`virsh qemu-monitor-command`) can implement it too.
 */
export interface QmpExecuteOptions {
  /** Reject with ATP_QMP_TIMEOUT when no reply arrives within this many ms. */
  timeoutMs?: number;
}

export interface QmpExecutor {
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options?: QmpExecuteOptions): Promise<T>;
}
