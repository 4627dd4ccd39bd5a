/**
 * The simulator's directory: the admin login, organisation units and users,
 * from a seed (SimSeed) or the built-in default. `simSeedSchema` is the zod
 * schema both `startSimulator` and the seed file reader (seed-file.ts) check
 * against; `resolveSeed` flattens the OU tree, gives everything an id and
 * checks that every user's `ou` names a unit. Pure.
 */
import { z } from 'zod';
import { AtpError, parseWith } from '@atp/protocol';
import { stableUuid } from './ids.js';
import type { SimSeed } from './types.js';

export const DEFAULT_ADMIN_PASSWORD = 'admin123';

export const DEFAULT_SEED: SimSeed = {
  admin: { username: 'admin', password: DEFAULT_ADMIN_PASSWORD },
  ous: [{ ou: 'atp', distinguishedName: 'OU=atp,DC=atp,DC=local' }],
  users: [
    { sAMAccountName: 'user01', displayName: 'User One', password: 'user01pass', ou: 'atp' },
    { sAMAccountName: 'user02', displayName: 'User Two', password: 'user02pass', ou: 'atp' },
  ],
};

const text = z.string().min(1).max(256);

type SeedOus = SimSeed['ous'];
const ouSchema: z.ZodType<SeedOus[number]> = z.lazy(() =>
  z.strictObject({
    ou: text,
    distinguishedName: text,
    children: z.array(ouSchema).optional(),
  }),
);

export const simSeedSchema = z.strictObject({
  admin: z.strictObject({ username: text, password: text }),
  ous: z.array(ouSchema).min(1),
  users: z.array(
    z.strictObject({
      id: z.uuid().optional(),
      sAMAccountName: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-" (1 to 64)'),
      displayName: text,
      password: text,
      ou: text,
    }),
  ),
});

export interface SimOu {
  id: string;
  ou: string;
  distinguishedName: string;
  /** The parent unit's id; undefined at the top. */
  parentId: string | undefined;
  children: SimOu[];
}

export interface SimUser {
  id: string;
  sAMAccountName: string;
  displayName: string;
  password: string;
  /** The unit the user is in. */
  ou: SimOu;
  /** CN=displayName,<the unit's DN>. */
  distinguishedName: string;
}

export interface SimDirectory {
  admin: { username: string; password: string };
  /** Top-level units (each with its children). */
  tree: SimOu[];
  users: SimUser[];
}

const escapeDnValue = (value: string): string => value.replace(/([,+"\\<>;=])/g, '\\$1');

/** Validates a seed (ATP_SCHEMA_INVALID naming `source` and the field) and builds the directory. */
export function resolveSeed(seed: SimSeed, source = 'seed'): SimDirectory {
  const checked = parseWith(simSeedSchema, seed, { source, what: 'simulator seed' });
  const all: SimOu[] = [];
  const build = (ous: SeedOus, parent: SimOu | undefined): SimOu[] =>
    ous.map((o) => {
      const unit: SimOu = { id: stableUuid('ou', o.distinguishedName.toLowerCase()), ou: o.ou, distinguishedName: o.distinguishedName, parentId: parent?.id, children: [] };
      all.push(unit);
      unit.children = build(o.children ?? [], unit);
      return unit;
    });
  const tree = build(checked.ous, undefined);
  const dns = new Set<string>();
  for (const unit of all) {
    const key = unit.distinguishedName.toLowerCase();
    if (dns.has(key)) throw invalid(source, 'ous', `two organisation units have distinguishedName '${unit.distinguishedName}'`);
    dns.add(key);
  }
  const names = new Set<string>();
  const users = checked.users.map((u, i): SimUser => {
    const unit = all.find((o) => o.distinguishedName.toLowerCase() === u.ou.toLowerCase()) ?? all.find((o) => o.ou === u.ou);
    if (unit === undefined) throw invalid(source, `users[${i}].ou`, `no organisation unit named or with distinguishedName '${u.ou}'`);
    const key = u.sAMAccountName.toLowerCase();
    if (names.has(key)) throw invalid(source, `users[${i}].sAMAccountName`, `'${u.sAMAccountName}' appears twice`);
    names.add(key);
    return {
      id: u.id ?? stableUuid('user', key),
      sAMAccountName: u.sAMAccountName,
      displayName: u.displayName,
      password: u.password,
      ou: unit,
      distinguishedName: `CN=${escapeDnValue(u.displayName)},${unit.distinguishedName}`,
    };
  });
  return { admin: checked.admin, tree, users };
}

function invalid(source: string, field: string, message: string): AtpError {
  return new AtpError('ATP_SCHEMA_INVALID', `${source}: invalid simulator seed: ${field}: ${message}`, { details: { source, field } });
}

/** Every unit of the tree, depth first. */
export function allOus(tree: readonly SimOu[]): SimOu[] {
  return tree.flatMap((o) => [o, ...allOus(o.children)]);
}
