/**
 * `atp-host platform add|list|remove|check`: the OCloudView VDI platforms in
 * platforms.yaml (beside hosts.yaml). A password is never a flag: `add` records
 * where it comes from (`--password-file`, mode 0600, or `--password-env`,
 * default ATP_VDI_PASSWORD); `check` logs in and shows each platform host with
 * the hosts.yaml entry that reaches its libvirt (or UNMAPPED).
 */
import type { Command } from 'commander';
import { AtpError } from '@atp/protocol';
import { addPlatform, effectivePlatform, loadPlatforms, removePlatform, type EffectivePlatform } from '../config/platforms-file.js';
import type { PlatformConfig } from '../config/platforms-schema.js';
import { formatTable } from '../report/index.js';
import { hypervisorFor, platformClient } from '../targets/platform.js';
import { HOST_STATUS } from '../vdi/index.js';
import { locationOf, withConfigDir } from './config.js';
import type { CliIo } from './program.js';

interface Flags {
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

function configFrom(flags: Flags): PlatformConfig {
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

export function registerPlatformCommands(program: Command, io: CliIo): void {
  const group = program.command('platform').description('OCloudView VDI platforms ATP talks to (platforms.yaml)');

  withConfigDir(group.command('add <name>').description('add a platform (the password is never a flag: a 0600 file or an environment variable)'))
    .option('--url <url>', 'the management server, e.g. http://10.0.0.2:8088')
    .option('--username <user>', 'the admin user')
    .option('--password-file <file>', 'a file holding the password (mode 0600)')
    .option('--password-env <name>', 'the environment variable holding the password (default ATP_VDI_PASSWORD)')
    .option('--timeout <ms>', 'per-request timeout in ms')
    .option('--map <ip=host...>', 'a platform host IP and the hosts.yaml host reaching its libvirt (repeatable)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, flags: Flags) => {
      const loaded = await addPlatform(name, configFrom(flags), locationOf(flags));
      const p = effectivePlatform(loaded, name);
      if (flags.json === true) return io.out(`${JSON.stringify({ file: loaded.file, platform: p })}\n`);
      io.out(`added ${name} to ${loaded.file}: ${p.url} as ${p.username}, password from ${passwordText(p)}\n`);
    });

  withConfigDir(group.command('list').description('list the platforms'))
    .option('--json', 'print as JSON')
    .action(async (flags: Flags) => {
      const loaded = await loadPlatforms(locationOf(flags));
      const all = Object.keys(loaded.platforms).map((n) => effectivePlatform(loaded, n));
      if (flags.json === true) return io.out(`${JSON.stringify({ file: loaded.file, platforms: all })}\n`);
      if (all.length === 0) return io.out(`no platforms in ${loaded.file} (atp-host platform add NAME --url URL --username USER)\n`);
      io.out(formatTable([{ head: 'NAME' }, { head: 'URL' }, { head: 'USER' }, { head: 'PASSWORD' }, { head: 'HOST MAP' }], all.map((p) => [p.name, p.url, p.username, passwordText(p), Object.entries(p.hosts).map(([ip, h]) => `${ip}=${h}`).join(',')])));
    });

  withConfigDir(group.command('remove <name>').description('remove a platform'))
    .option('--json', 'print the result as JSON')
    .action(async (name: string, flags: Flags) => {
      const loaded = await removePlatform(name, locationOf(flags));
      if (flags.json === true) return io.out(`${JSON.stringify({ file: loaded.file, removed: name })}\n`);
      io.out(`removed ${name} from ${loaded.file}\n`);
    });

  withConfigDir(group.command('check <name>').description('log in, list the platform hosts and how each is reached, count VMs and pools'))
    .option('--json', 'print the result as JSON')
    .action(async (name: string, flags: Flags) => {
      const platform = effectivePlatform(await loadPlatforms(locationOf(flags)), name);
      const r = await checkPlatform(platform);
      if (flags.json === true) return io.out(`${JSON.stringify(r)}\n`);
      io.out(`${r.name}: ${r.url}: logged in in ${r.loginMs} ms; ${r.vms} VMs, ${r.pools} desk pools, ${r.hosts.length} hosts\n`);
      io.out(formatTable([{ head: 'HOST' }, { head: 'IP' }, { head: 'STATUS' }, { head: 'REACHED AS' }], r.hosts.map((h) => [h.name, h.ip, h.status, h.hypervisor])));
    });
}
