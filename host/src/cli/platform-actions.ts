/** What the `atp-host platform` commands do (platform.ts defines them and loads this file when one runs). */
import { AtpError } from '@atp/protocol';
import { addPlatform, effectivePlatform, loadPlatforms, removePlatform, type EffectivePlatform } from '../config/platforms-file.js';
import type { PlatformConfig } from '../config/platforms-schema.js';
import { formatTable } from '../report/index.js';
import { hypervisorFor, platformClient } from '../targets/platform.js';
import { HOST_STATUS } from '../vdi/index.js';
import { locationOf } from './config-flag.js';
import type { CliIo } from './program.js';

export interface PlatformEntryFlags {
  configDir?: string;
  url?: string;
  username?: string;
  passwordFile?: string;
  passwordEnv?: string;
  timeout?: string;
  map?: string[];
  json?: boolean;
}

const usage = (message: string, field: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', message, { details: { field } });

/** `IP=HOST` pairs of --map. */
export function parseHostMap(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (pairs === undefined || pairs.length === 0) return undefined;
  const map: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([^=\s]+)=([^=\s]+)$/.exec(pair);
    if (!m?.[1] || !m[2]) throw usage(`--map expects IP=HOST (a hosts.yaml name), got ${JSON.stringify(pair)}`, '--map');
    map[m[1]] = m[2];
  }
  return map;
}

function configFrom(flags: PlatformEntryFlags): PlatformConfig {
  if (flags.url === undefined) throw usage('platform add needs --url http(s)://HOST:PORT', '--url');
  if (flags.username === undefined) throw usage('platform add needs --username USER', '--username');
  const timeoutMs = flags.timeout === undefined ? undefined : Number(flags.timeout);
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) throw usage(`--timeout expects milliseconds, got ${JSON.stringify(flags.timeout)}`, '--timeout');
  const hosts = parseHostMap(flags.map);
  return {
    url: flags.url,
    username: flags.username,
    ...(flags.passwordFile === undefined ? {} : { passwordFile: flags.passwordFile }),
    ...(flags.passwordEnv === undefined ? {} : { passwordEnv: flags.passwordEnv }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(hosts === undefined ? {} : { hosts }),
  };
}

const passwordText = (p: EffectivePlatform): string => (p.password.kind === 'file' ? `file ${p.password.file}` : `env ${p.password.name}`);

const HOST_STATUS_NAMES = Object.fromEntries(Object.entries(HOST_STATUS).map(([k, v]) => [v, k])) as Record<number, string>;

export interface PlatformCheck {
  name: string;
  url: string;
  ok: true;
  loginMs: number;
  hosts: { id: string; name: string; ip: string; status: string; hypervisor: string }[];
  vms: number;
  pools: number;
}

export async function checkPlatform(platform: EffectivePlatform): Promise<PlatformCheck> {
  const client = platformClient(platform);
  const t0 = performance.now();
  await client.login();
  const loginMs = Math.round(performance.now() - t0);
  try {
    const [hosts, vms, pools] = await Promise.all([client.hosts(), client.domains(), client.pools()]);
    return {
      name: platform.name,
      url: platform.url,
      ok: true,
      loginMs,
      hosts: hosts.map((h) => {
        const hv = h.ip === undefined ? null : hypervisorFor(platform, h.ip);
        return { id: h.id, name: h.name, ip: h.ip ?? '', status: h.status === undefined ? '?' : (HOST_STATUS_NAMES[h.status] ?? String(h.status)), hypervisor: hv === null ? 'UNMAPPED' : (hv ?? 'this machine') };
      }),
      vms: vms.length,
      pools: pools.length,
    };
  } finally {
    await client.logout().catch(() => undefined);
  }
}

export async function addPlatformEntry(name: string, flags: PlatformEntryFlags, io: CliIo): Promise<void> {
  const loaded = await addPlatform(name, configFrom(flags), locationOf(flags));
  const p = effectivePlatform(loaded, name);
  if (flags.json === true) return io.out(`${JSON.stringify({ file: loaded.file, platform: p })}\n`);
  io.out(`added ${name} to ${loaded.file}: ${p.url} as ${p.username}, password from ${passwordText(p)}\n`);
}

export async function listPlatforms(flags: PlatformEntryFlags, io: CliIo): Promise<void> {
  const loaded = await loadPlatforms(locationOf(flags));
  const all = Object.keys(loaded.platforms).map((n) => effectivePlatform(loaded, n));
  if (flags.json === true) return io.out(`${JSON.stringify({ file: loaded.file, platforms: all })}\n`);
  if (all.length === 0) return io.out(`no platforms in ${loaded.file} (atp-host platform add NAME --url URL --username USER)\n`);
  io.out(formatTable([{ head: 'NAME' }, { head: 'URL' }, { head: 'USER' }, { head: 'PASSWORD' }, { head: 'HOST MAP' }], all.map((p) => [p.name, p.url, p.username, passwordText(p), Object.entries(p.hosts).map(([ip, h]) => `${ip}=${h}`).join(',')])));
}

export async function removePlatformEntry(name: string, flags: PlatformEntryFlags, io: CliIo): Promise<void> {
  const loaded = await removePlatform(name, locationOf(flags));
  if (flags.json === true) return io.out(`${JSON.stringify({ file: loaded.file, removed: name })}\n`);
  io.out(`removed ${name} from ${loaded.file}\n`);
}

export async function checkPlatformEntry(name: string, flags: PlatformEntryFlags, io: CliIo): Promise<void> {
  const platform = effectivePlatform(await loadPlatforms(locationOf(flags)), name);
  const r = await checkPlatform(platform);
  if (flags.json === true) return io.out(`${JSON.stringify(r)}\n`);
  io.out(`${r.name}: ${r.url}: logged in in ${r.loginMs} ms; ${r.vms} VMs, ${r.pools} desk pools, ${r.hosts.length} hosts\n`);
  io.out(formatTable([{ head: 'HOST' }, { head: 'IP' }, { head: 'STATUS' }, { head: 'REACHED AS' }], r.hosts.map((h) => [h.name, h.ip, h.status, h.hypervisor])));
}
