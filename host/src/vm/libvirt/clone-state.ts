/**
 * What `vm clone` made, so `vm unclone PREFIX` can find the dirs again: a small
 * JSON file `PREFIX.clones.json` in the clone root dir, on the machine the
 * clones run on (through CloneHost, so also on an SSH host). unclonePrefix
 * removes the domains named PREFIX-<n> (listed by libvirt, whether the file
 * knows them or not) and the dirs the file records (else `rootDir/NAME`),
 * then the file itself.
 */
import path from 'node:path';
import { z } from 'zod';
import { AtpError } from '@atp/protocol';
import type { LibvirtClient } from './client.js';
import { CLONE_PREFIX, localCloneHost, removeClones, type CloneHost, type CreatedClone } from './clone.js';

const CloneStateSchema = z.object({
  version: z.literal(1),
  template: z.string(),
  prefix: z.string(),
  rootDir: z.string(),
  createdAt: z.string(),
  clones: z.array(z.object({ name: z.string().min(1), uuid: z.string(), dir: z.string().min(1) })),
});
export type CloneState = z.infer<typeof CloneStateSchema>;

export function cloneStateFile(rootDir: string, prefix: string): string {
  if (!CLONE_PREFIX.test(prefix)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `clone prefix ${JSON.stringify(prefix)}: up to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`, { details: { field: 'prefix', value: prefix } });
  }
  return path.posix.join(rootDir, `${prefix}.clones.json`);
}

function stateError(file: string, what: string, cause?: unknown): AtpError {
  return new AtpError('ATP_LIBVIRT_CLONE_STATE', `clone state file ${file}: ${what}`, { details: { file }, ...(cause === undefined ? {} : { cause }) });
}

/** Writes the state file for clones just made; returns its path. */
export async function recordClones(host: CloneHost, record: { template: string; prefix: string; rootDir: string; clones: readonly CreatedClone[] }): Promise<string> {
  const file = cloneStateFile(record.rootDir, record.prefix);
  const state: CloneState = {
    version: 1,
    template: record.template,
    prefix: record.prefix,
    rootDir: record.rootDir,
    createdAt: new Date().toISOString(),
    clones: record.clones.map((c) => ({ name: c.name, uuid: c.uuid, dir: c.dir })),
  };
  try {
    await host.writeText(file, `${JSON.stringify(state, null, 2)}\n`);
  } catch (error) {
    throw stateError(file, `cannot write it: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  return file;
}

/** The state file's content, or undefined when there is none. */
export async function readCloneState(host: CloneHost, rootDir: string, prefix: string): Promise<CloneState | undefined> {
  const file = cloneStateFile(rootDir, prefix);
  let text: string | undefined;
  try {
    text = await host.readText(file);
  } catch (error) {
    throw stateError(file, `cannot read it: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw stateError(file, 'not JSON', error);
  }
  const parsed = CloneStateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw stateError(file, `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  if (parsed.data.prefix !== prefix) throw stateError(file, `records prefix '${parsed.data.prefix}', not '${prefix}'`);
  return parsed.data;
}

export interface UncloneResult {
  /** The clones removed (domains and/or dirs), by name. */
  removed: string[];
  /** The state file that was read and deleted, if there was one. */
  stateFile: string | undefined;
}

/** Removes the clones named PREFIX-<n> and their dirs, and the prefix's state file. Idempotent. */
export async function unclonePrefix(client: LibvirtClient, prefix: string, options: { rootDir: string; host?: CloneHost }): Promise<UncloneResult> {
  const host = options.host ?? localCloneHost();
  const rootDir = path.posix.normalize(options.rootDir);
  const state = await readCloneState(host, rootDir, prefix);
  const ours = new RegExp(`^${prefix.replace(/[.]/g, '\\.')}-[1-9][0-9]*$`);
  const dirs = new Map<string, string>((state?.clones ?? []).map((c) => [c.name, c.dir]));
  for (const d of await client.listDomains()) if (ours.test(d.name) && !dirs.has(d.name)) dirs.set(d.name, path.posix.join(rootDir, d.name));
  const clones = [...dirs].map(([name, dir]) => ({ name, dir })).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  await removeClones(client, clones, { host });
  const file = cloneStateFile(rootDir, prefix);
  if (state !== undefined) await host.remove(file);
  return { removed: clones.map((c) => c.name), stateFile: state === undefined ? undefined : file };
}
