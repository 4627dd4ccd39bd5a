/**
 * Names in a v2 suite's platform steps resolved against what the platform
 * lists: desk pools, models and VMs by id or name, users by id or
 * sAMAccountName (exact, else ignoring case), and a `VmSet` (`{pool}` or
 * `{vms}`) to its VMs. An unknown name is its own ATP_VDI_*_UNKNOWN code
 * listing what exists; a name several records share is ATP_VDI_NAME_AMBIGUOUS
 * listing their ids. The CLI has its own resolver (cli/vdi-names.ts); this
 * layer may not import the CLI, and a suite's step is named in the message.
 */
import { AtpError, type AtpErrorCode, type VmSet } from '@atp/protocol';
import type { DesktopPoolVO, DomainVO, OCloudClient, UserGroupVO, UserListVo } from '../../vdi/index.js';
import { listNames } from './context.js';

interface Named {
  id: string;
  name: string;
}

function pick<T>(items: readonly T[], ref: string, key: (t: T) => Named, what: string, code: AtpErrorCode): T {
  const byId = items.find((t) => key(t).id === ref);
  if (byId !== undefined) return byId;
  const byName = items.filter((t) => key(t).name === ref);
  const [only] = byName;
  if (byName.length === 1 && only !== undefined) return only;
  if (byName.length > 1) {
    const ids = byName.map((t) => key(t).id);
    throw new AtpError('ATP_VDI_NAME_AMBIGUOUS', `${byName.length} ${what}s are named ${JSON.stringify(ref)}; use one of their ids: ${ids.join(', ')}`, { details: { kind: what, name: ref, ids } });
  }
  const names = items.map((t) => key(t).name);
  throw new AtpError(code, `no ${what} named or with id ${JSON.stringify(ref)} (${what}s: ${listNames(names)})`, { details: { kind: what, name: ref, known: names } });
}

export async function findPool(client: OCloudClient, ref: string, signal: AbortSignal): Promise<DesktopPoolVO> {
  return pick(await client.pools({}, { signal }), ref, (p) => p, 'desk pool', 'ATP_VDI_POOL_UNKNOWN');
}

export async function findModel(client: OCloudClient, ref: string, signal: AbortSignal): Promise<DomainVO> {
  return pick(await client.models({}, { signal }), ref, (m) => m, 'model', 'ATP_VDI_MODEL_UNKNOWN');
}

/** Every VM `refs` names (ids or names), in the order given, once each; all unknown ones reported together. */
export function pickVms(domains: readonly DomainVO[], refs: readonly string[]): DomainVO[] {
  const missing = refs.filter((ref) => !domains.some((d) => d.id === ref || d.name === ref));
  if (missing.length > 0) {
    const names = domains.map((d) => d.name);
    throw new AtpError('ATP_VDI_VM_UNKNOWN', `no VM named or with id ${missing.map((m) => JSON.stringify(m)).join(', ')} (VMs: ${listNames(names)})`, { details: { missing, known: names } });
  }
  const found: DomainVO[] = [];
  for (const ref of refs) {
    const d = pick(domains, ref, (v) => v, 'VM', 'ATP_VDI_VM_UNKNOWN');
    if (!found.includes(d)) found.push(d);
  }
  return found;
}

/** The VMs of a set: every VM of the pool (possibly none), or the named VMs. */
export async function vmsOf(client: OCloudClient, set: VmSet, signal: AbortSignal): Promise<{ vms: DomainVO[]; what: string }> {
  if ('pool' in set) {
    const pool = await findPool(client, set.pool, signal);
    return { vms: await client.poolDomains(pool.id, { signal }), what: `pool ${pool.name}` };
  }
  return { vms: pickVms(await client.domains({}, { signal }), set.vms), what: `VM${set.vms.length === 1 ? '' : 's'} ${set.vms.join(', ')}` };
}

function walkGroups(tree: readonly UserGroupVO[]): UserGroupVO[] {
  return tree.flatMap((g) => [g, ...walkGroups(g.list)]);
}

/** The user whose id is `ref`, else whose sAMAccountName is `ref` (exact, else ignoring case), over every organisation unit. */
export async function findUser(client: OCloudClient, ref: string, signal: AbortSignal): Promise<UserListVo> {
  const users = new Map<string, UserListVo>();
  for (const unit of walkGroups(await client.groupTree({ signal }))) {
    for (const u of await client.users(unit.distinguishedName, {}, { signal })) users.set(u.id, u);
  }
  const all = [...users.values()];
  const byId = all.find((u) => u.id === ref);
  if (byId !== undefined) return byId;
  const exact = all.filter((u) => u.sAMAccountName === ref);
  const matches = exact.length > 0 ? exact : all.filter((u) => u.sAMAccountName.toLowerCase() === ref.toLowerCase());
  const [only] = matches;
  if (matches.length === 1 && only !== undefined) return only;
  if (matches.length > 1) {
    const ids = matches.map((u) => u.id);
    throw new AtpError('ATP_VDI_NAME_AMBIGUOUS', `${matches.length} users have the sAMAccountName ${JSON.stringify(ref)}; use one of their ids: ${ids.join(', ')}`, { details: { kind: 'user', name: ref, ids } });
  }
  const names = all.map((u) => u.sAMAccountName);
  throw new AtpError('ATP_VDI_USER_UNKNOWN', `no user ${JSON.stringify(ref)} in the platform's organisation units (users: ${listNames(names)})`, { details: { user: ref, known: names } });
}
