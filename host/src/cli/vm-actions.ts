/** What `atp-host vm list|start|stop|reboot` do (vm.ts defines them and loads this file when one runs). */
import { AtpError } from '@atp/protocol';
import { openLibvirtHost, parseVmRef, withDomain } from '../targets/domains.js';
import { locationOf } from './config-flag.js';
import type { CliIo } from './program.js';

export interface VmFlags {
  host?: string;
  configDir?: string;
  force?: boolean;
  json?: boolean;
}

/** What `vm start|stop|reboot` asks libvirt for. */
export type VmLifecycleAction = 'start' | 'destroy' | 'shutdown' | 'reset' | 'reboot';

/** NAME[@HOST] combined with --host. */
function vmSpec(name: string, flags: VmFlags): string {
  const ref = parseVmRef(name);
  if (flags.host === undefined) return name;
  if (ref.host !== undefined && ref.host !== flags.host) {
    throw new AtpError('ATP_SCHEMA_INVALID', `${name} names host '${ref.host}' but --host says '${flags.host}'`, { details: { field: 'host', value: flags.host } });
  }
  return `${ref.domain}@${flags.host}`;
}

export async function listVms(flags: VmFlags, io: CliIo): Promise<void> {
  const h = await openLibvirtHost(flags.host, locationOf(flags));
  try {
    const domains = await h.client.listDomains();
    if (flags.json === true) return io.out(`${JSON.stringify({ host: h.host.name, uri: h.host.libvirtUri, domains })}\n`);
    for (const d of domains) io.out(`${String(d.id ?? '-').padStart(4)}  ${d.name.padEnd(32)} ${d.state}\n`);
  } finally {
    await h.close();
  }
}

export async function changeVmState(how: VmLifecycleAction, name: string, flags: VmFlags, io: CliIo): Promise<void> {
  const spec = vmSpec(name, flags);
  const done = await withDomain(
    spec,
    locationOf(flags),
    async (d) => {
      if (how === 'start') await d.client.start(d.domain);
      else if (how === 'destroy') await d.client.destroy(d.domain);
      else if (how === 'shutdown') await d.client.shutdown(d.domain, 'acpi');
      else if (how === 'reset') await d.client.reset(d.domain);
      else await d.client.reboot(d.domain, 'acpi');
      return { vm: d.label, action: how, state: await d.client.state(d.domain) };
    },
    { requireRunning: how !== 'start' },
  );
  io.out(flags.json === true ? `${JSON.stringify(done)}\n` : `${done.vm}: ${done.action} (now ${done.state})\n`);
}
