/**
 * `atp-host vm list|start|stop|reboot`: libvirt domains on this machine or a
 * hosts.yaml host (`--host HOST`, or NAME@HOST). `stop` asks the guest (ACPI)
 * unless `--force` (destroy); `reboot` likewise (ACPI, or `--force`: reset).
 * `clone` and `unclone` (clones of a template domain) live in vm-clone.ts.
 */
import type { Command } from 'commander';
import { AtpError } from '@atp/protocol';
import { locationOf, withConfigDir } from './config.js';
import type { CliIo } from './program.js';
import { registerVmCloneCommands } from './vm-clone.js';
import { openLibvirtHost, parseVmRef, withDomain } from '../targets/domains.js';

interface Flags {
  host?: string;
  configDir?: string;
  force?: boolean;
  json?: boolean;
}

/** NAME[@HOST] combined with --host. */
function vmSpec(name: string, flags: Flags): string {
  const ref = parseVmRef(name);
  if (flags.host === undefined) return name;
  if (ref.host !== undefined && ref.host !== flags.host) {
    throw new AtpError('ATP_SCHEMA_INVALID', `${name} names host '${ref.host}' but --host says '${flags.host}'`, { details: { field: 'host', value: flags.host } });
  }
  return `${ref.domain}@${flags.host}`;
}

export function registerVmCommands(program: Command, io: CliIo): void {
  const vm = program.command('vm').description('libvirt domains: list, start, stop, reboot, clone, unclone');

  withConfigDir(vm.command('list').description('list the domains of a host'))
    .option('--host <host>', 'a hosts.yaml host (default this machine)')
    .option('--json', 'print as JSON')
    .action(async (flags: Flags) => {
      const h = await openLibvirtHost(flags.host, locationOf(flags));
      try {
        const domains = await h.client.listDomains();
        if (flags.json === true) return io.out(`${JSON.stringify({ host: h.host.name, uri: h.host.libvirtUri, domains })}\n`);
        for (const d of domains) io.out(`${String(d.id ?? '-').padStart(4)}  ${d.name.padEnd(32)} ${d.state}\n`);
      } finally {
        await h.close();
      }
    });

  const lifecycle = (verb: 'start' | 'stop' | 'reboot', describe: string, act: (flags: Flags) => string): void => {
    withConfigDir(vm.command(verb).description(describe))
      .argument('<name>', 'NAME or NAME@HOST')
      .option('--host <host>', 'a hosts.yaml host (default this machine)')
      .option('--force', verb === 'start' ? 'no effect' : verb === 'stop' ? 'destroy (pull the plug) instead of an ACPI shutdown' : 'reset instead of an ACPI reboot')
      .option('--json', 'print the result as JSON')
      .action(async (name: string, flags: Flags) => {
        const spec = vmSpec(name, flags);
        const done = await withDomain(
          spec,
          locationOf(flags),
          async (d) => {
            const how = act(flags);
            if (how === 'start') await d.client.start(d.domain);
            else if (how === 'destroy') await d.client.destroy(d.domain);
            else if (how === 'shutdown') await d.client.shutdown(d.domain, 'acpi');
            else if (how === 'reset') await d.client.reset(d.domain);
            else await d.client.reboot(d.domain, 'acpi');
            return { vm: d.label, action: how, state: await d.client.state(d.domain) };
          },
          { requireRunning: verb !== 'start' },
        );
        io.out(flags.json === true ? `${JSON.stringify(done)}\n` : `${done.vm}: ${done.action} (now ${done.state})\n`);
      });
  };
  lifecycle('start', 'start a defined domain', () => 'start');
  lifecycle('stop', 'shut a domain down (ACPI; --force destroys it)', (f) => (f.force === true ? 'destroy' : 'shutdown'));
  lifecycle('reboot', 'reboot a domain (ACPI; --force resets it)', (f) => (f.force === true ? 'reset' : 'reboot'));
  registerVmCloneCommands(vm, io);
}
