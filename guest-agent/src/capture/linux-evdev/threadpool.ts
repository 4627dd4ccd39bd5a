/**
 * Sizing the libuv threadpool for the evdev reader (see reader.ts: each open
 * device blocks one pool thread in read()). Node's default is 4 threads; a
 * typical guest has 3-6 input devices, so without a larger pool the devices
 * beyond the fourth are never read and every other pool user (fs, dns.lookup,
 * crypto, zlib) stalls.
 *
 * libuv reads UV_THREADPOOL_SIZE once, when the pool is first used, so the
 * agent's main must call configureThreadpool() before anything asynchronous
 * touches the file system. This module itself only uses synchronous calls.
 */
import fs from 'node:fs';

export const LIBUV_DEFAULT_THREADPOOL_SIZE = 4;
/** libuv's upper bound. */
export const LIBUV_MAX_THREADPOOL_SIZE = 1024;
/** Threads left for everything that is not a device read. */
export const SPARE_THREADS = 8;
/** Devices that may appear later through hotplug, on top of the ones present at start. */
export const HOTPLUG_HEADROOM = 8;

/** Pool size for `deviceCount` devices: one thread each, hotplug headroom and spare threads. */
export function recommendedThreadpoolSize(deviceCount: number): number {
  const wanted = Math.max(0, Math.floor(deviceCount)) + HOTPLUG_HEADROOM + SPARE_THREADS;
  return Math.min(LIBUV_MAX_THREADPOOL_SIZE, wanted);
}

/** The pool size libuv will use (or uses) according to the environment. */
export function currentThreadpoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10);
  if (!Number.isFinite(raw) || raw < 1) return LIBUV_DEFAULT_THREADPOOL_SIZE;
  return Math.min(raw, LIBUV_MAX_THREADPOOL_SIZE);
}

/** Number of event nodes in `devDir` now (synchronous: safe before the pool exists). */
export function countEventNodes(devDir = '/dev/input'): number {
  try {
    return fs.readdirSync(devDir).filter((name) => /^event\d+$/.test(name)).length;
  } catch {
    return 0;
  }
}

/**
 * Raises UV_THREADPOOL_SIZE in `env` to the recommended size for the devices in
 * `devDir` (never lowers a larger value the user set). Returns the size now in
 * `env`. Only effective before the threadpool is first used.
 */
export function configureThreadpool(options: { devDir?: string; deviceCount?: number; env?: NodeJS.ProcessEnv } = {}): number {
  const env = options.env ?? process.env;
  const count = options.deviceCount ?? countEventNodes(options.devDir);
  const wanted = recommendedThreadpoolSize(count);
  if (currentThreadpoolSize(env) < wanted) env.UV_THREADPOOL_SIZE = String(wanted);
  return currentThreadpoolSize(env);
}
