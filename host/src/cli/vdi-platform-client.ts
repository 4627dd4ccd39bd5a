/**
 * The machinery of the `atp-host vdi …` platform commands (vdi-platform-flag.ts
 * has the flags): the platform --platform resolves to, a client for it that
 * is logged out when the command ends, and the flag parsers the actions share.
 *
 * --platform names a platforms.yaml entry; without it the file's only
 * platform is used, and when there are none or several that is a usage error
 * (ATP_VDI_PLATFORM_CHOICE) listing them.
 */
import { AtpError } from '@atp/protocol';
import { effectivePlatform, loadPlatforms, type EffectivePlatform } from '../config/platforms-file.js';
import { platformClient } from '../targets/platform.js';
import { listNames, type OCloudClient } from '../vdi/index.js';
import { locationOf } from './config-flag.js';
import type { PlatformFlags } from './vdi-platform-flag.js';

/** The platform --platform names, or the only one platforms.yaml holds. */
export async function resolvePlatform(flags: PlatformFlags): Promise<EffectivePlatform> {
  const loaded = await loadPlatforms(locationOf(flags));
  if (flags.platform !== undefined) return effectivePlatform(loaded, flags.platform);
  const names = Object.keys(loaded.platforms);
  const [only] = names;
  if (names.length === 1 && only !== undefined) return effectivePlatform(loaded, only);
  const why = names.length === 0 ? `${loaded.file} has no platforms (atp-host platform add NAME --url URL --username USER)` : `${loaded.file} has ${names.length} platforms: ${listNames(names)}`;
  throw new AtpError('ATP_VDI_PLATFORM_CHOICE', `give --platform NAME: ${why}`, { details: { file: loaded.file, platforms: names } });
}

/** Runs `work` with a client for the flags' platform; logs out afterwards (a failed logout is not the command's failure). */
export async function withPlatformClient<T>(flags: PlatformFlags, work: (client: OCloudClient, platform: EffectivePlatform) => Promise<T>): Promise<T> {
  const platform = await resolvePlatform(flags);
  const client = platformClient(platform);
  try {
    return await work(client, platform);
  } finally {
    await client.logout().catch(() => undefined);
  }
}

const usage = (flag: string, why: string, value: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', `${flag} ${JSON.stringify(value)}: ${why}`, { details: { field: flag, value } });

/** --timeout SECONDS as milliseconds (`fallbackMs` when absent). */
export function timeoutMs(text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) throw usage('--timeout', 'expected seconds > 0', text);
  return Math.round(seconds * 1000);
}

/** A whole number from `min` up. */
export function wholeNumber(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw usage(flag, `expected a whole number from ${min} up`, text);
  return Number(text);
}

/** One of `names` (the keys of `values`), or one of the numbers they stand for. */
export function oneOf(flag: string, text: string, values: Readonly<Record<string, number>>): number {
  const byName = values[text.trim().toLowerCase()];
  if (byName !== undefined) return byName;
  if (/^\d+$/.test(text.trim()) && Object.values(values).includes(Number(text))) return Number(text);
  throw usage(flag, `expected one of ${Object.keys(values).join(', ')}`, text);
}
