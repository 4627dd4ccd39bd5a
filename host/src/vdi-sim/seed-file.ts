/**
 * The seed file of `atp-host vdi simulate --seed FILE.yaml`: the admin login,
 * organisation units and users (SimSeed), every key optional (the built-in
 * default fills what is missing). The admin password comes from the
 * environment variable ATP_VDI_SIM_PASSWORD if set, else from the file, else
 * it is the built-in default; the caller learns which, so it can print the
 * password only when it is the well-known default.
 *
 * Errors: unreadable file or bad YAML → ATP_VDI_SIM_SEED naming the file;
 * a schema problem → ATP_SCHEMA_INVALID naming the file and the field.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { AtpError, parseWith } from '@atp/protocol';
import { DEFAULT_SEED, resolveSeed, simSeedSchema } from './seed.js';
import type { SimSeed } from './types.js';

export const SIM_PASSWORD_ENV = 'ATP_VDI_SIM_PASSWORD';

export type AdminPasswordSource = 'env' | 'file' | 'default';

export interface LoadedSeed {
  seed: SimSeed;
  passwordSource: AdminPasswordSource;
}

const seedFileSchema = z.strictObject({
  admin: z.strictObject({ username: z.string().min(1).max(256).optional(), password: z.string().min(1).max(256).optional() }).optional(),
  ous: simSeedSchema.shape.ous.optional(),
  users: simSeedSchema.shape.users.optional(),
});

/** The seed from `file` (or the default without one) with the admin password resolved. */
export async function loadSeed(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LoadedSeed> {
  const fromFile = file === undefined ? {} : await readSeedFile(file);
  const envPassword = env[SIM_PASSWORD_ENV];
  const filePassword = fromFile.admin?.password;
  const [password, passwordSource]: [string, AdminPasswordSource] =
    envPassword !== undefined && envPassword !== '' ? [envPassword, 'env'] : filePassword !== undefined ? [filePassword, 'file'] : [DEFAULT_SEED.admin.password, 'default'];
  const seed: SimSeed = {
    admin: { username: fromFile.admin?.username ?? DEFAULT_SEED.admin.username, password },
    ous: fromFile.ous ?? DEFAULT_SEED.ous,
    users: fromFile.users ?? DEFAULT_SEED.users,
  };
  // Cross-field checks (a user's OU exists, no duplicates) now, naming the file.
  resolveSeed(seed, file ?? 'default seed');
  return { seed, passwordSource };
}

async function readSeedFile(file: string): Promise<z.output<typeof seedFileSchema>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new AtpError('ATP_VDI_SIM_SEED', `${file}: cannot read the seed file: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: { file } });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const bad = doc.errors[0];
  if (bad) {
    const { line, col } = lines.linePos(bad.pos[0]);
    throw new AtpError('ATP_VDI_SIM_SEED', `${file}:${line}:${col}: not valid YAML: ${bad.message.split('\n')[0] ?? bad.message}`, { details: { file, line, column: col } });
  }
  return parseWith(seedFileSchema, doc.toJS() ?? {}, { source: file, what: 'simulator seed' });
}
