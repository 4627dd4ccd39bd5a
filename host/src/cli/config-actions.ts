/** What `atp-host config init|show` do (config.ts defines the commands and loads this when one runs). */
import { effectiveHost, initHostsFile, loadHosts } from '../config/hosts-file.js';
import { configDir } from '../config/paths.js';
import { locationOf } from './config-flag.js';
import type { CliIo } from './program.js';

export interface ConfigFlags {
  configDir?: string;
  json?: boolean;
}

export async function configInit(flags: ConfigFlags, io: CliIo): Promise<void> {
  const r = await initHostsFile(locationOf(flags));
  if (flags.json) return io.out(`${JSON.stringify(r)}\n`);
  io.out(r.created ? `wrote ${r.file}\n` : `${r.file} exists; left as it is\n`);
}

export async function configShow(flags: ConfigFlags, io: CliIo): Promise<void> {
  const location = locationOf(flags);
  const loaded = await loadHosts(location);
  const hosts = Object.keys(loaded.hosts).map((name) => effectiveHost(loaded, name));
  const view = { configDir: configDir(location), hostsFile: loaded.file, exists: loaded.exists, hosts };
  if (flags.json) return io.out(`${JSON.stringify(view, null, 2)}\n`);
  io.out(`config dir  ${view.configDir}\nhosts file  ${view.hostsFile}${view.exists ? '' : ' (absent: atp-host config init)'}\n`);
  for (const h of hosts) {
    io.out(h.kind === 'local' ? `  ${h.name}: local, ${h.libvirtUri}\n` : `  ${h.name}: ssh ${h.user}@${h.host}:${h.port}, ${h.identityFile ?? 'agent'}, known_hosts ${h.knownHostsFile}, ${h.libvirtUri}\n`);
  }
}
