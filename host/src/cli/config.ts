/** `atp-host config init|show`: the XDG config files (hosts.yaml for now). */
import type { Command } from 'commander';
import { effectiveHost, initHostsFile, loadHosts } from '../config/hosts-file.js';
import { configDir, type ConfigLocation } from '../config/paths.js';
import type { CliIo } from './program.js';

interface Flags {
  configDir?: string;
  json?: boolean;
}

export const locationOf = (flags: { configDir?: string }): ConfigLocation => (flags.configDir ? { configDir: flags.configDir } : {});

export const withConfigDir = (cmd: Command): Command => cmd.option('--config-dir <dir>', 'config directory (env ATP_CONFIG_DIR; default $XDG_CONFIG_HOME/atp or ~/.config/atp)');

export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = program.command('config').description('ATP config files (hosts.yaml)');

  withConfigDir(config.command('init').description('write a commented default hosts.yaml unless one exists'))
    .option('--json', 'print the result as JSON')
    .action(async (flags: Flags) => {
      const r = await initHostsFile(locationOf(flags));
      if (flags.json) return io.out(`${JSON.stringify(r)}\n`);
      io.out(r.created ? `wrote ${r.file}\n` : `${r.file} exists; left as it is\n`);
    });

  withConfigDir(config.command('show').description('print the effective config (defaults applied, paths resolved)'))
    .option('--json', 'print as JSON')
    .action(async (flags: Flags) => {
      const location = locationOf(flags);
      const loaded = await loadHosts(location);
      const hosts = Object.keys(loaded.hosts).map((name) => effectiveHost(loaded, name));
      const view = { configDir: configDir(location), hostsFile: loaded.file, exists: loaded.exists, hosts };
      if (flags.json) return io.out(`${JSON.stringify(view, null, 2)}\n`);
      io.out(`config dir  ${view.configDir}\nhosts file  ${view.hostsFile}${view.exists ? '' : ' (absent: atp-host config init)'}\n`);
      for (const h of hosts) {
        io.out(h.kind === 'local' ? `  ${h.name}: local, ${h.libvirtUri}\n` : `  ${h.name}: ssh ${h.user}@${h.host}:${h.port}, ${h.identityFile ?? 'agent'}, known_hosts ${h.knownHostsFile}, ${h.libvirtUri}\n`);
      }
    });
}
