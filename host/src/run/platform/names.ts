/**
 * Names in a v2 suite's platform steps resolved against what the platform
 * lists now (the lookups themselves are vdi/names.ts, shared with the CLI),
 * and a `VmSet` (`{pool}` or `{vms}`) turned into its VMs.
 */
import type { VmSet } from '@atp/protocol';
import { allUsers, findModel as pickModel, findPool as pickPool, findUser as pickUser, findVms, type DesktopPoolVO, type DomainVO, type OCloudClient, type UserRow } from '../../vdi/index.js';

export async function findPool(client: OCloudClient, ref: string, signal: AbortSignal): Promise<DesktopPoolVO> {
  return pickPool(await client.pools({}, { signal }), ref);
}

export async function findModel(client: OCloudClient, ref: string, signal: AbortSignal): Promise<DomainVO> {
  return pickModel(await client.models({}, { signal }), ref);
}

/** The VMs of a set: every VM of the pool (possibly none), or the named VMs. */
export async function vmsOf(client: OCloudClient, set: VmSet, signal: AbortSignal): Promise<{ vms: DomainVO[]; what: string }> {
  if ('pool' in set) {
    const pool = await findPool(client, set.pool, signal);
    return { vms: await client.poolDomains(pool.id, { signal }), what: `pool ${pool.name}` };
  }
  return { vms: findVms(await client.domains({}, { signal }), set.vms), what: `VM${set.vms.length === 1 ? '' : 's'} ${set.vms.join(', ')}` };
}

/** The user whose id is `ref`, else whose sAMAccountName is `ref`, over every organisation unit. */
export async function findUser(client: OCloudClient, ref: string, signal: AbortSignal): Promise<UserRow> {
  return pickUser(await allUsers(client, { signal }), ref);
}
