/**
 * `atp-host vdi vm start|stop|reboot|delete (VM… | --pool POOL)` and
 * `vdi vm bind-user VM… --user NAME`: VMs of an OCloudView platform
 * (vdi-platform-flag.ts says how the platform is chosen), by name or id or as
 * every VM of a desk pool.
 *
 * start/stop/reboot (`--force`: power off or reset instead of asking the
 * guest; `--timeout SECONDS`, default 120) wait until each VM is in the wanted
 * status, with a progress line per VM on stderr (vdi-vm-power.ts), then print
 * one row per VM. delete is the platform's delete; bind-user resolves the user
 * (sAMAccountName or id) through the group tree. When some VMs failed, the
 * rows are printed first and the command fails with ATP_VDI_VMS_FAILED (exit
 * 1) naming each failed VM and why.
 */
import type { Command } from 'commander';
import { AtpError } from '@atp/protocol';
import { formatTable } from '../report/index.js';
import type { DomainVO, OCloudClient } from '../vdi/index.js';
import type { CliIo } from './program.js';
import { allUsers, findPool, findUser, findVms, listNames } from '../vdi/index.js';
import { printJson, seconds, timeoutMs, withPlatformClient, withPlatformFlags, type PlatformFlags } from './vdi-platform-flag.js';
import { powerWithProgress, type PowerVerb, type VmResult } from './vdi-vm-power.js';

export const DEFAULT_POWER_TIMEOUT_MS = 120_000;

export interface VdiVmHooks {
  /** Whether stderr is a terminal (then a live count is redrawn in place besides the per-VM lines); default false. */
  stderrTty?: boolean;
}

interface SelectFlags extends PlatformFlags {
  pool?: string;
}

interface PowerFlags extends SelectFlags {
  force?: boolean;
  timeout?: string;
}

interface BindFlags extends PlatformFlags {
  user: string;
}

const usage = (message: string, field: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', message, { details: { field } });

/** The VMs named, or every VM of --pool (exactly one of the two). */
async function selectVms(client: OCloudClient, command: string, refs: readonly string[], pool: string | undefined): Promise<DomainVO[]> {
  if (pool !== undefined) {
    const found = findPool(await client.pools(), pool);
    const vms = await client.poolDomains(found.id);
    if (vms.length === 0) throw new AtpError('ATP_VDI_VM_UNKNOWN', `${command}: desk pool ${found.name} has no VMs`, { details: { pool: found.name, known: [] } });
    return vms;
  }
  return findVms(await client.domains(), refs);
}

function checkSelection(command: string, refs: readonly string[], pool: string | undefined): void {
  if (refs.length > 0 && pool !== undefined) throw usage(`${command}: give VM names or --pool POOL, not both`, '--pool');
  if (refs.length === 0 && pool === undefined) throw usage(`${command}: name the VMs (names or ids) or give --pool POOL`, 'VM');
}

/** Prints the rows (table or JSON), then throws ATP_VDI_VMS_FAILED when some VM failed. */
function report(io: CliIo, command: string, platform: string, results: readonly VmResult[], json: boolean): void {
  if (json) printJson(io, { platform, command, vms: results });
  else {
    io.out(
      formatTable(
        [{ head: 'VM' }, { head: 'RESULT' }, { head: 'STATUS' }, { head: 'TIME', right: true }, { head: 'DETAIL' }, { head: 'ID' }],
        results.map((r) => [r.name, r.ok ? 'ok' : 'FAILED', r.statusText, r.ms === undefined ? '' : seconds(r.ms), r.error?.message ?? r.note ?? '', r.id]),
      ),
    );
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return;
  throw new AtpError('ATP_VDI_VMS_FAILED', `${command}: ${failed.length} of ${results.length} VMs failed: ${failed.map((r) => `${r.name}: ${r.error?.message ?? r.note ?? 'failed'}`).join('; ')}`, {
    details: { command, failed: failed.map((r) => ({ id: r.id, name: r.name, status: r.status, code: r.error?.code, message: r.error?.message })) },
  });
}

async function power(verb: PowerVerb, refs: string[], flags: PowerFlags, io: CliIo, hooks: VdiVmHooks): Promise<void> {
  const command = `vdi vm ${verb}`;
  checkSelection(command, refs, flags.pool);
  const deadlineMs = timeoutMs(flags.timeout, DEFAULT_POWER_TIMEOUT_MS);
  await withPlatformClient(flags, async (client, platform) => {
    const vms = await selectVms(client, command, refs, flags.pool);
    io.err(`${command}: ${vms.length} VM${vms.length === 1 ? '' : 's'}${flags.force === true ? ' (force)' : ''}: ${listNames(vms.map((v) => v.name), 10)}; waiting up to ${seconds(deadlineMs)}\n`);
    const tty = hooks.stderrTty === true;
    const results = await powerWithProgress(
      client,
      { verb, vms, force: flags.force === true, deadlineMs },
      { line: (text) => io.err(`${tty ? '\r\u001b[K' : ''}${text}\n`), ...(tty ? { live: (text: string) => io.err(`\r${text}\u001b[K`) } : {}) },
    );
    if (tty) io.err('\r\u001b[K');
    report(io, command, platform.name, results, flags.json === true);
  });
}

async function remove(refs: string[], flags: SelectFlags, io: CliIo): Promise<void> {
  const command = 'vdi vm delete';
  checkSelection(command, refs, flags.pool);
  await withPlatformClient(flags, async (client, platform) => {
    const vms = await selectVms(client, command, refs, flags.pool);
    await client.deleteDomains(vms.map((v) => v.id));
    report(io, command, platform.name, vms.map((v) => ({ id: v.id, name: v.name, ok: true, statusText: 'deleted', note: 'deleted' })), flags.json === true);
  });
}

async function bindUser(refs: string[], flags: BindFlags, io: CliIo): Promise<void> {
  const command = 'vdi vm bind-user';
  if (refs.length === 0) throw usage(`${command}: name the VMs (names or ids)`, 'VM');
  await withPlatformClient(flags, async (client, platform) => {
    const vms = findVms(await client.domains(), refs);
    const user = findUser(await allUsers(client), flags.user);
    const { notBound } = await client.bindUser(
      vms.map((v) => v.id),
      user.id,
    );
    const results = vms.map((v): VmResult => {
      const ok = !notBound.includes(v.id);
      const why = `the platform did not bind ${v.name} to ${user.sAMAccountName} (bound to someone else, in a shared pool, or ${user.sAMAccountName} already has a VM of this dedicated pool)`;
      return { id: v.id, name: v.name, ok, statusText: ok ? `bound to ${user.sAMAccountName}` : 'not bound', ...(ok ? { note: `bound to ${user.sAMAccountName}` } : { error: { code: 'ATP_VDI_TASK', message: why } }) };
    });
    report(io, command, platform.name, results, flags.json === true);
  });
}

/** Adds the `vm` group (start, stop, reboot, delete, bind-user) to the vdi group. */
export function registerVdiVmCommands(group: Command, io: CliIo, hooks: VdiVmHooks = {}): void {
  const vm = group.command('vm').description('start, stop, reboot, delete platform VMs or bind them to a user');

  for (const [verb, what] of [
    ['start', 'start VMs and wait until they run'],
    ['stop', 'stop VMs (ACPI; --force powers off) and wait until they are shut off'],
    ['reboot', 'reboot VMs (ACPI; --force resets) and wait until they run again'],
  ] as const) {
    withPlatformFlags(vm.command(`${verb} [vm...]`).description(`${what}: VMs by name or id, or --pool POOL`))
      .option('--pool <pool>', 'every VM of this desk pool (name or id)')
      .option('--force', verb === 'start' ? 'accepted for symmetry; a start is a start' : verb === 'stop' ? 'power off instead of an ACPI shutdown' : 'reset instead of an ACPI reboot')
      .option('--timeout <seconds>', `how long to wait for the VMs (default ${DEFAULT_POWER_TIMEOUT_MS / 1000})`)
      .action((refs: string[], flags: PowerFlags) => power(verb, refs, flags, io, hooks));
  }

  withPlatformFlags(vm.command('delete [vm...]').description("delete VMs (the platform's delete): by name or id, or --pool POOL"))
    .option('--pool <pool>', 'every VM of this desk pool (name or id)')
    .action((refs: string[], flags: SelectFlags) => remove(refs, flags, io));

  withPlatformFlags(vm.command('bind-user <vm...>').description('bind VMs (names or ids) to a user'))
    .requiredOption('--user <name>', "the user's sAMAccountName (or id): vdi users list")
    .action((refs: string[], flags: BindFlags) => bindUser(refs, flags, io));
}
