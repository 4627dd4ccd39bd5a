/** What the `atp-host vdi hosts|vms|pools|models|users list` commands do (vdi-lists.ts defines them), and the rows and tables the pool and VM commands print too. */
import { AtpError } from '@atp/protocol';
import { formatTable } from '../report/index.js';
import { HOST_STATUS, POOL_TYPE, type DesktopPoolVO, type DomainVO, type OCloudClient } from '../vdi/index.js';
import { DOMAIN_STATUS_NAMES, domainStatusName, nameOfStatus } from '../vdi/status-names.js';
import type { CliIo } from './program.js';
import { allUsers, findGroup, findPool, usersOf } from '../vdi/index.js';
import { withPlatformClient } from './vdi-platform-client.js';
import { printJson, type PlatformFlags } from './vdi-platform-flag.js';

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

export interface VmsFlags extends PlatformFlags {
  pool?: string;
  status?: string;
}

export interface UsersFlags extends PlatformFlags {
  group?: string;
}

export function listVdiHosts(flags: PlatformFlags, io: CliIo): Promise<void> {
  return withPlatformClient(flags, async (client, platform) => {
    const hosts = await client.hosts();
    if (flags.json === true) return printJson(io, { platform: platform.name, hosts });
    io.out(
      formatTable(
        [{ head: 'HOST' }, { head: 'IP' }, { head: 'STATUS' }, { head: 'RUNNING VMS', right: true }, { head: 'ARCH' }, { head: 'ID' }],
        hosts.map((h) => [h.name, h.ip ?? '', nameOf(HOST_STATUS_NAMES, h.status), h.runningDomainCount === undefined ? '' : String(h.runningDomainCount), h.arch ?? '', h.id]),
      ),
    );
  });
}

export function listVdiVms(flags: VmsFlags, io: CliIo): Promise<void> {
  return withPlatformClient(flags, async (client, platform) => {
    const wanted = flags.status === undefined ? undefined : parseStatuses(flags.status);
    const pools = await client.pools();
    const vms = flags.pool === undefined ? await client.domains() : await client.poolDomains(findPool(pools, flags.pool).id);
    const rows = await vmRows(client, wanted === undefined ? vms : vms.filter((v) => wanted.includes(v.status)), pools);
    if (flags.json === true) return printJson(io, { platform: platform.name, ...(flags.pool === undefined ? {} : { pool: flags.pool }), vms: rows });
    io.out(vmTable(rows));
  });
}

export function listVdiPools(flags: PlatformFlags, io: CliIo): Promise<void> {
  return withPlatformClient(flags, async (client, platform) => {
    const pools = await client.pools();
    if (flags.json === true) return printJson(io, { platform: platform.name, pools });
    const t = poolRows(pools);
    io.out(formatTable(t.columns, t.rows));
  });
}

export function listVdiModels(flags: PlatformFlags, io: CliIo): Promise<void> {
  return withPlatformClient(flags, async (client, platform) => {
    const models = await client.models();
    if (flags.json === true) return printJson(io, { platform: platform.name, models });
    io.out(
      formatTable(
        [{ head: 'MODEL' }, { head: 'STATUS' }, { head: 'CPUS', right: true }, { head: 'MEMORY MIB', right: true }, { head: 'CLONES', right: true }, { head: 'ID' }],
        models.map((m) => [m.name, statusName(m.status), m.cpu === undefined ? '' : String(m.cpu), m.memory === undefined ? '' : String(m.memory), m.childCount === undefined ? '' : String(m.childCount), m.id]),
      ),
    );
  });
}

export function listVdiUsers(flags: UsersFlags, io: CliIo): Promise<void> {
  return withPlatformClient(flags, async (client, platform) => {
    const users = flags.group === undefined ? await allUsers(client) : await usersOf(client, [findGroup(await client.groupTree(), flags.group)]);
    if (flags.json === true) return printJson(io, { platform: platform.name, ...(flags.group === undefined ? {} : { group: flags.group }), users });
    io.out(formatTable([{ head: 'USER' }, { head: 'NAME' }, { head: 'OU' }, { head: 'ID' }], users.map((u) => [u.sAMAccountName, u.displayName ?? '', u.ou, u.id])));
  });
}
