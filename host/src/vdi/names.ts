/**
 * Names a person gives (a CLI argument, a suite's platform step) resolved
 * against what the platform lists: desk pools, models and VMs by id or name,
 * users by id or sAMAccountName (exact, else ignoring case: directory logins
 * are case-insensitive), organisation units by distinguishedName. An unknown
 * name is its own ATP_VDI_*_UNKNOWN code listing what exists; a name several
 * records share is ATP_VDI_NAME_AMBIGUOUS listing their ids. The lookups on
 * lists are pure; `usersOf`/`allUsers` walk the platform's per-unit user lists.
 */
import { AtpError, type AtpErrorCode } from '@atp/protocol';
import type { OCloudClient } from './client.js';
import type { CallOptions } from './http.js';
import type { DesktopPoolVO } from './schemas/pool.js';
import type { DomainVO } from './schemas/domain.js';
import type { UserGroupVO, UserListVo } from './schemas/user.js';

interface Named {
  id: string;
  name: string;
}

/** At most `limit` names, then how many more. */
export function listNames(names: readonly string[], limit = 40): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, limit).join(', ');
  return names.length > limit ? `${shown} … and ${names.length - limit} more` : shown;
}

/** The one record whose id is `ref`, else whose name is `ref`. */
function pick<T>(items: readonly T[], ref: string, key: (t: T) => Named, what: string, code: AtpErrorCode): T {
  const byId = items.find((t) => key(t).id === ref);
  if (byId !== undefined) return byId;
  const byName = items.filter((t) => key(t).name === ref);
  const [only] = byName;
  if (byName.length === 1 && only !== undefined) return only;
  if (byName.length > 1) {
    const ids = byName.map((t) => key(t).id);
    throw new AtpError('ATP_VDI_NAME_AMBIGUOUS', `${byName.length} ${what}s are named ${JSON.stringify(ref)}; give one of their ids: ${ids.join(', ')}`, { details: { kind: what, name: ref, ids } });
  }
  const names = items.map((t) => key(t).name);
  throw new AtpError(code, `no ${what} named or with id ${JSON.stringify(ref)} (${what}s: ${listNames(names)})`, { details: { kind: what, name: ref, known: names } });
}

export function findPool(pools: readonly DesktopPoolVO[], ref: string): DesktopPoolVO {
  return pick(pools, ref, (p) => p, 'desk pool', 'ATP_VDI_POOL_UNKNOWN');
}

export function findModel(models: readonly DomainVO[], ref: string): DomainVO {
  return pick(models, ref, (m) => m, 'model', 'ATP_VDI_MODEL_UNKNOWN');
}

/** Every VM `refs` names, in the order given, once each; all unknown names are reported together. */
export function findVms(domains: readonly DomainVO[], refs: readonly string[]): DomainVO[] {
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

/** Every organisation unit of the tree, parents before their children. */
export function walkGroups(tree: readonly UserGroupVO[]): UserGroupVO[] {
  return tree.flatMap((g) => [g, ...walkGroups(g.list)]);
}

export function findGroup(tree: readonly UserGroupVO[], dn: string): UserGroupVO {
  const all = walkGroups(tree);
  const found = all.find((g) => g.distinguishedName.toLowerCase() === dn.toLowerCase());
  if (found !== undefined) return found;
  const dns = all.map((g) => g.distinguishedName);
  throw new AtpError('ATP_VDI_GROUP_UNKNOWN', `no organisation unit ${JSON.stringify(dn)} (units: ${listNames(dns)})`, { details: { group: dn, known: dns } });
}

export interface UserRow extends UserListVo {
  /** The distinguishedName of the unit the user is in. */
  ou: string;
}

/** The unit part of a user's distinguishedName (`CN=x,OU=a,DC=b` → `OU=a,DC=b`); undefined when it has none. */
function unitOf(user: UserListVo): string | undefined {
  const dn = user.distinguishedName;
  const comma = dn === undefined ? -1 : dn.search(/(?<!\\),/);
  return dn === undefined || comma < 0 ? undefined : dn.slice(comma + 1);
}

/**
 * The users of the given units (in their order), each once: a unit's list may
 * include the units below it, so a user keeps the unit their own
 * distinguishedName places them in (else the deepest unit that listed them).
 */
export async function usersOf(client: OCloudClient, units: readonly UserGroupVO[], options: CallOptions = {}): Promise<UserRow[]> {
  const rows = new Map<string, UserRow>();
  for (const unit of units) {
    for (const u of await client.users(unit.distinguishedName, {}, options)) rows.set(u.id, { ...u, ou: unitOf(u) ?? unit.distinguishedName });
  }
  return [...rows.values()];
}

/** Every user of the platform: the whole group tree walked. */
export async function allUsers(client: OCloudClient, options: CallOptions = {}): Promise<UserRow[]> {
  return usersOf(client, walkGroups(await client.groupTree(options)), options);
}

/** The user whose id is `ref`, else whose sAMAccountName is `ref` (exact, else ignoring case). */
export function findUser(users: readonly UserRow[], ref: string): UserRow {
  const byId = users.find((u) => u.id === ref);
  if (byId !== undefined) return byId;
  const exact = users.filter((u) => u.sAMAccountName === ref);
  const matches = exact.length > 0 ? exact : users.filter((u) => u.sAMAccountName.toLowerCase() === ref.toLowerCase());
  const [only] = matches;
  if (matches.length === 1 && only !== undefined) return only;
  if (matches.length > 1) {
    const ids = matches.map((u) => u.id);
    throw new AtpError('ATP_VDI_NAME_AMBIGUOUS', `${matches.length} users have the sAMAccountName ${JSON.stringify(ref)}; give one of their ids instead: ${ids.join(', ')}`, { details: { kind: 'user', name: ref, ids } });
  }
  const names = users.map((u) => u.sAMAccountName);
  throw new AtpError('ATP_VDI_USER_UNKNOWN', `no user ${JSON.stringify(ref)} in the platform's organisation units (users: ${listNames(names)})`, { details: { user: ref, known: names } });
}
