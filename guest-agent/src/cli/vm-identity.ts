/**
 * The VM the agent runs in, for the hello's `vmUuid`: the SMBIOS system UUID
 * (QEMU `-uuid`, libvirt `<uuid>`), which differs between clones of one
 * template even when their hostnames (the default agent id) are equal. The hub
 * checks it against the VM a token or channel is bound to.
 *
 * - Linux: `/sys/class/dmi/id/product_uuid` (mode 0400, root only). The kernel
 *   prints SMBIOS >= 2.6 UUIDs with the first three fields little-endian, the
 *   order QEMU writes `-uuid` in, so the text equals what QEMU was given.
 * - Windows: `reg.exe query HKLM\SYSTEM\HardwareConfig /v LastConfig` (run
 *   with execFile, no shell): Windows names the current hardware configuration
 *   after the SMBIOS UUID, in the same byte order as Win32_ComputerSystemProduct.
 *   Not checked on a real Windows guest yet.
 *
 * Whatever cannot be read (not root, no DMI, no such value, an all-zero or
 * all-FF "not set" UUID) gives `undefined` and a reason; the agent then sends
 * no vmUuid and says so once at info level: an agent outside a VM is normal.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { VM_UUID_PATTERN } from '@atp/protocol';

export const LINUX_PRODUCT_UUID_PATH = '/sys/class/dmi/id/product_uuid';

export interface VmUuidResult {
  /** Lowercase canonical 8-4-4-4-12; absent when it could not be read. */
  vmUuid?: string;
  /** Where it came from, or why there is none (for the log). */
  source: string;
  reason?: string;
}

export interface VmUuidOptions {
  platform?: NodeJS.Platform;
  /** The Linux DMI file (tests point it elsewhere). */
  linuxPath?: string;
  /** reg.exe (default %SystemRoot%\System32\reg.exe). */
  regExe?: string;
  timeoutMs?: number;
}

/** Normalises a UUID as firmware or Windows prints it (braces, uppercase); undefined for anything else or the "not set" values. */
export function normalizeVmUuid(text: string): string | undefined {
  const uuid = text.trim().replace(/^\{(.*)\}$/, '$1').toLowerCase();
  if (!VM_UUID_PATTERN.test(uuid)) return undefined;
  const digits = uuid.replace(/-/g, '');
  if (/^0+$/.test(digits) || /^f+$/.test(digits)) return undefined;
  return uuid;
}

/** The LastConfig value from `reg.exe query … /v LastConfig` output (value and type names are not localised). */
export function parseRegLastConfig(output: string): string | undefined {
  const match = /^\s*LastConfig\s+REG_SZ\s+(\S+)\s*$/im.exec(output);
  return match?.[1] === undefined ? undefined : normalizeVmUuid(match[1]);
}

export async function readVmUuid(options: VmUuidOptions = {}): Promise<VmUuidResult> {
  const platform = options.platform ?? process.platform;
  if (platform === 'linux') return readLinux(options.linuxPath ?? LINUX_PRODUCT_UUID_PATH);
  if (platform === 'win32') return readWindows(options.regExe ?? path.win32.join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'reg.exe'), options.timeoutMs ?? 5000);
  return { source: platform, reason: `no SMBIOS UUID reader for ${platform}` };
}

async function readLinux(file: string): Promise<VmUuidResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return { source: file, reason: code === 'EACCES' ? `${file} is readable by root only` : `${file}: ${code}` };
  }
  const vmUuid = normalizeVmUuid(text);
  return vmUuid === undefined ? { source: file, reason: `${file} holds no usable UUID (${JSON.stringify(text.trim().slice(0, 64))})` } : { vmUuid, source: file };
}

function readWindows(regExe: string, timeoutMs: number): Promise<VmUuidResult> {
  const source = 'HKLM\\SYSTEM\\HardwareConfig LastConfig';
  return new Promise((resolve) => {
    execFile(regExe, ['query', 'HKLM\\SYSTEM\\HardwareConfig', '/v', 'LastConfig'], { windowsHide: true, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout) => {
      if (error !== null) {
        resolve({ source, reason: `${path.win32.basename(regExe)} failed: ${error.message.split('\n')[0] ?? ''}` });
        return;
      }
      const vmUuid = parseRegLastConfig(stdout);
      resolve(vmUuid === undefined ? { source, reason: 'no UUID-shaped LastConfig value' } : { vmUuid, source });
    });
  });
}
