/**
 * Helpers for host/test/platform-display.test.ts (a VDI pool's VMs reached
 * through the platform's display details):
 * - `setDisplayPassword`: changes a running domain's SPICE or VNC password
 *   through libvirt's monitor passthrough (QMP set_password), i.e. behind the
 *   platform's back, so the key it hands out no longer opens the display.
 * - `captureOutput`: tees what this process writes to stdout, stderr and the
 *   console while a run lasts, so a test can check that no secret was printed anywhere.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SYSTEM_URI } from './libvirtd.js';

const run = promisify(execFile);

export async function setDisplayPassword(domain: string, protocol: 'spice' | 'vnc', password: string): Promise<void> {
  const command = JSON.stringify({ execute: 'set_password', arguments: { protocol, password } });
  await run('virsh', ['-q', '-c', SYSTEM_URI, 'qemu-monitor-command', domain, command], { env: { ...process.env, LC_ALL: 'C' }, timeout: 30_000 });
}

export interface Captured {
  /** Everything written to stdout, stderr or the console since the capture began. */
  text(): string;
  /** Puts the original writers back (idempotent). */
  stop(): void;
}

type Write = (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;

/** Tees process.stdout/stderr writes and the console (vitest routes console output past the streams). */
export function captureOutput(): Captured {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((s) => s.write.bind(s) as Write);
  streams.forEach((stream, i) => {
    const original = writes[i] as Write;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return original(chunk, ...rest);
    }) as typeof stream.write;
  });
  const consoles = CONSOLE_METHODS.map((m) => console[m]);
  CONSOLE_METHODS.forEach((m, i) => {
    const original = consoles[i] as (...args: unknown[]) => void;
    console[m] = (...args: unknown[]): void => {
      chunks.push(`${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a) ?? String(a))).join(' ')}\n`);
      original(...args);
    };
  });
  let stopped = false;
  return {
    text: () => chunks.join(''),
    stop: () => {
      if (stopped) return;
      stopped = true;
      streams.forEach((stream, i) => (stream.write = writes[i] as typeof stream.write));
      CONSOLE_METHODS.forEach((m, i) => (console[m] = consoles[i] as (typeof console)[typeof m]));
    },
  };
}
