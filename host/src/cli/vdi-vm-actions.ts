/** What `atp-host vdi vm start|stop|reboot|delete|bind-user` do (vdi-vm.ts defines them and loads this file when one runs). */
import { AtpError } from '@atp/protocol';
import { formatTable } from '../report/index.js';
import type { DomainVO, OCloudClient } from '../vdi/index.js';
import type { CliIo } from './program.js';
import type { VdiVmHooks } from './vdi-vm.js';
import { allUsers, findPool, findUser, findVms, listNames } from '../vdi/index.js';
import { DEFAULT_POWER_TIMEOUT_MS } from './defaults.js';
import { timeoutMs, withPlatformClient } from './vdi-platform-client.js';
import { printJson, seconds, type PlatformFlags } from './vdi-platform-flag.js';
import { powerWithProgress, type PowerVerb, type VmResult } from './vdi-vm-power.js';

export interface SelectFlags extends PlatformFlags {
  pool?: string;
}

export interface PowerFlags extends SelectFlags {
  force?: boolean;
  timeout?: string;
}

export interface BindFlags extends PlatformFlags {
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

export async function power(verb: PowerVerb, refs: string[], flags: PowerFlags, io: CliIo, hooks: VdiVmHooks): Promise<void> {
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

export async function remove(refs: string[], flags: SelectFlags, io: CliIo): Promise<void> {
  const command = 'vdi vm delete';
  checkSelection(command, refs, flags.pool);
  await withPlatformClient(flags, async (client, platform) => {
    const vms = await selectVms(client, command, refs, flags.pool);
    await client.deleteDomains(vms.map((v) => v.id));
    report(io, command, platform.name, vms.map((v) => ({ id: v.id, name: v.name, ok: true, statusText: 'deleted', note: 'deleted' })), flags.json === true);
  });
}

export async function bindUser(refs: string[], flags: BindFlags, io: CliIo): Promise<void> {
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
