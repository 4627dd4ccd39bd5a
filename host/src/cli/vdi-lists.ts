/**
 * `atp-host vdi hosts|vms|pools|models|users list`: what an OCloudView
 * platform (a platforms.yaml entry, vdi-platform-flag.ts) has, as a table on
 * stdout or with --json as `{ platform, <things>: [...] }` (the platform's
 * records as the client parsed them, plus the resolved names the table shows).
 *
 * - `vms list [--pool POOL] [--status running|shut-off|…]`: a pool's VMs come
 *   from the pool's own VM list; --status takes names or numbers, comma
 *   separated, and is applied here (platforms differ in what their filter takes).
 * - `users list [--group DN]`: one organisation unit, or every unit of the
 *   group tree, walked (vdi-names.ts).
 */
import type { Command } from 'commander';
import { AtpError } from '@atp/protocol';
import { formatTable } from '../report/index.js';
import { HOST_STATUS, POOL_TYPE, type DesktopPoolVO, type DomainVO, type OCloudClient } from '../vdi/index.js';
import { DOMAIN_STATUS_NAMES, domainStatusName, nameOfStatus } from '../vdi/status-names.js';
import type { CliIo } from './program.js';
import { allUsers, findGroup, findPool, usersOf } from '../vdi/index.js';
import { printJson, withPlatformClient, withPlatformFlags, type PlatformFlags } from './vdi-platform-flag.js';

/** Domain status names as flags and table cells spell them (vdi/status-names.ts). */
export const STATUS_NAMES = DOMAIN_STATUS_NAMES;
const nameOf = nameOfStatus;

/** `running`, `shut-off`, … (the number when the platform sent one we do not know). */
export const statusName = domainStatusName;

const HOST_STATUS_NAMES: Readonly<Record<string, number>> = HOST_STATUS;
const POOL_TYPE_NAMES: Readonly<Record<string, number>> = POOL_TYPE;
export const poolTypeName = (type: number | undefined): string => nameOf(POOL_TYPE_NAMES, type);

/** --status: names or numbers, comma separated. */
export function parseStatuses(text: string): number[] {
  return text.split(',').map((part) => {
    const p = part.trim().toLowerCase();
    const named = STATUS_NAMES[p];
    if (named !== undefined) return named;
    if (/^\d+$/.test(p)) return Number(p);
    throw new AtpError('ATP_SCHEMA_INVALID', `--status ${JSON.stringify(text)}: ${JSON.stringify(part)} is not a VM status (${Object.keys(STATUS_NAMES).join(', ')}, or a number)`, { details: { field: '--status', value: text } });
  });
}

const poolModel = (p: DesktopPoolVO): string => p.curModelName ?? p.modelList.find((m) => m.id === (p.curModelId ?? p.modelId))?.name ?? p.curModelId ?? p.modelId ?? '';

export function poolRows(pools: readonly DesktopPoolVO[]): { columns: { head: string; right?: boolean }[]; rows: string[][] } {
  return {
    columns: [{ head: 'POOL' }, { head: 'TYPE' }, { head: 'VMS', right: true }, { head: 'BOUND', right: true }, { head: 'ENABLED' }, { head: 'MODEL' }, { head: 'ID' }],
    rows: pools.map((p) => [p.name, poolTypeName(p.type), String(p.amount ?? ''), String(p.usedAmount ?? ''), p.enabled === undefined ? '?' : p.enabled === 1 ? 'yes' : 'no', poolModel(p), p.id]),
  };
}

/** A VM with its status spelled out, its pool's name (`poolName`, filled in when the platform left it out) and its user's sAMAccountName. */
export interface VmRow extends DomainVO {
  statusText: string;
  userName?: string;
}

/** VMs with their pool's name and their user's sAMAccountName (the tree is walked only when some VM is bound). */
export async function vmRows(client: OCloudClient, vms: readonly DomainVO[], pools?: readonly DesktopPoolVO[]): Promise<VmRow[]> {
  const poolList = pools ?? (vms.some((v) => (v.desktopPoolId ?? v.poolId) !== undefined) ? await client.pools() : []);
  const users = vms.some((v) => v.userId !== undefined) ? await allUsers(client) : [];
  return vms.map((v) => {
    const poolId = v.desktopPoolId ?? v.poolId;
    const poolName = v.poolName ?? poolList.find((p) => p.id === poolId)?.name;
    const userName = v.userId === undefined ? undefined : (users.find((u) => u.id === v.userId)?.sAMAccountName ?? v.userId);
    return { ...v, statusText: statusName(v.status), poolName, ...(userName === undefined ? {} : { userName }) };
  });
}

export function vmTable(rows: readonly VmRow[]): string {
  return formatTable(
    [{ head: 'VM' }, { head: 'STATUS' }, { head: 'POOL' }, { head: 'HOST' }, { head: 'USER' }, { head: 'ID' }],
    rows.map((v) => [v.name, v.statusText, v.poolName ?? '', v.hostName ?? v.hostId ?? '', v.userName ?? '', v.id]),
  );
}

interface VmsFlags extends PlatformFlags {
  pool?: string;
  status?: string;
}

interface UsersFlags extends PlatformFlags {
  group?: string;
}

/** Adds the `hosts`, `vms`, `pools`, `models` and `users` groups, each with `list`, to the vdi group. */
export function registerVdiListCommands(group: Command, io: CliIo): void {
  withPlatformFlags(group.command('hosts').description("the platform's hypervisor hosts").command('list').description('list the hosts'))
    .action((flags: PlatformFlags) =>
      withPlatformClient(flags, async (client, platform) => {
        const hosts = await client.hosts();
        if (flags.json === true) return printJson(io, { platform: platform.name, hosts });
        io.out(
          formatTable(
            [{ head: 'HOST' }, { head: 'IP' }, { head: 'STATUS' }, { head: 'RUNNING VMS', right: true }, { head: 'ARCH' }, { head: 'ID' }],
            hosts.map((h) => [h.name, h.ip ?? '', nameOf(HOST_STATUS_NAMES, h.status), h.runningDomainCount === undefined ? '' : String(h.runningDomainCount), h.arch ?? '', h.id]),
          ),
        );
      }),
    );

  withPlatformFlags(group.command('vms').description("the platform's VMs").command('list').description('list the VMs (of one desk pool, of some statuses)'))
    .option('--pool <pool>', 'only the VMs of this desk pool (name or id)')
    .option('--status <status>', `only VMs in these statuses (comma separated: ${Object.keys(STATUS_NAMES).join(', ')})`)
    .action((flags: VmsFlags) =>
      withPlatformClient(flags, async (client, platform) => {
        const wanted = flags.status === undefined ? undefined : parseStatuses(flags.status);
        const pools = await client.pools();
        const vms = flags.pool === undefined ? await client.domains() : await client.poolDomains(findPool(pools, flags.pool).id);
        const rows = await vmRows(client, wanted === undefined ? vms : vms.filter((v) => wanted.includes(v.status)), pools);
        if (flags.json === true) return printJson(io, { platform: platform.name, ...(flags.pool === undefined ? {} : { pool: flags.pool }), vms: rows });
        io.out(vmTable(rows));
      }),
    );

  withPlatformFlags(group.command('pools').description("the platform's desk pools").command('list').description('list the desk pools'))
    .action((flags: PlatformFlags) =>
      withPlatformClient(flags, async (client, platform) => {
        const pools = await client.pools();
        if (flags.json === true) return printJson(io, { platform: platform.name, pools });
        const t = poolRows(pools);
        io.out(formatTable(t.columns, t.rows));
      }),
    );

  withPlatformFlags(group.command('models').description("the platform's models (templates desk pools clone)").command('list').description('list the models'))
    .action((flags: PlatformFlags) =>
      withPlatformClient(flags, async (client, platform) => {
        const models = await client.models();
        if (flags.json === true) return printJson(io, { platform: platform.name, models });
        io.out(
          formatTable(
            [{ head: 'MODEL' }, { head: 'STATUS' }, { head: 'CPUS', right: true }, { head: 'MEMORY MIB', right: true }, { head: 'CLONES', right: true }, { head: 'ID' }],
            models.map((m) => [m.name, statusName(m.status), m.cpu === undefined ? '' : String(m.cpu), m.memory === undefined ? '' : String(m.memory), m.childCount === undefined ? '' : String(m.childCount), m.id]),
          ),
        );
      }),
    );

  withPlatformFlags(group.command('users').description("the platform's users (its organisation units)").command('list').description('list the users of one organisation unit, or of every unit'))
    .option('--group <dn>', "an organisation unit's distinguishedName (default: every unit of the group tree)")
    .action((flags: UsersFlags) =>
      withPlatformClient(flags, async (client, platform) => {
        const users = flags.group === undefined ? await allUsers(client) : await usersOf(client, [findGroup(await client.groupTree(), flags.group)]);
        if (flags.json === true) return printJson(io, { platform: platform.name, ...(flags.group === undefined ? {} : { group: flags.group }), users });
        io.out(formatTable([{ head: 'USER' }, { head: 'NAME' }, { head: 'OU' }, { head: 'ID' }], users.map((u) => [u.sAMAccountName, u.displayName ?? '', u.ou, u.id])));
      }),
    );
}
