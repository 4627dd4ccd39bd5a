/**
 * buildAgentPackages: the single-file `atp-agent` executables for linux-x64,
 * linux-arm64 and win-x64 plus manifest.json, as `npm run package:agent` and
 * (later) `atp-host agent build --target …` make them.
 *
 * bundle (bundle.ts) → per target: pinned Node binary and addons, verified
 * (pinned.ts) → SEA blob with the pinned Linux x64 Node → inject (sea.ts).
 * Unsigned builds are cached under cacheDir by a hash of everything that goes
 * into them (bundle bytes, pinned.json, target), so tests and benches build each
 * executable once; a lock directory keeps concurrent builders from doing the
 * same work twice.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { AGENT_VERSION } from '../src/version.js';
import { AGENT_ROOT, bundleAgent } from './bundle.js';
import { PINNED_PATH, TARGETS, defaultCacheDir, fetchPinned, readPinned, sha256File } from './pinned.js';
import type { AgentTarget } from './pinned.js';
import { defaultSeaOptions, injectSea, makeSeaBlob } from './sea.js';
import type { SeaOptions, SignOptions } from './sea.js';

export { TARGETS, type AgentTarget } from './pinned.js';
export type { SeaOptions, SignOptions } from './sea.js';

export interface BuildAgentOptions {
  /** Default: every target. */
  targets?: readonly AgentTarget[];
  /** Default guest-agent/dist/packages (git-ignored). */
  outDir?: string;
  /** Pinned downloads and built executables; default ATP_BUILD_CACHE or ~/.cache/atp-agent-build. */
  cacheDir?: string;
  /** Windows Authenticode signing; unsigned by default. Signed builds bypass the cache. */
  sign?: SignOptions;
  pinnedFile?: string;
  log?: (line: string) => void;
  /** false: leave unsigned executables in the cache and return their cache paths (tests, benches); no outDir, no manifest.json. */
  copyToOutDir?: boolean;
  /** Overrides the shipped SEA recipe (defaultSeaOptions) for every target: the agent bench compares variants. */
  sea?: SeaOptions;
}

export interface AgentPackage {
  target: AgentTarget;
  /** File name inside outDir. */
  file: string;
  path: string;
  nodeVersion: string;
  agentVersion: string;
  bytes: number;
  sha256: string;
  signed: boolean;
  /** Native addons carried as SEA assets. */
  assets: string[];
}

export interface AgentPackagesManifest {
  agentVersion: string;
  nodeVersion: string;
  bundleSha256: string;
  packages: AgentPackage[];
}

/** Bump when the recipe (SEA config, injection) changes, so cached executables are rebuilt. */
const RECIPE = 'sea-recipe-2';

export const DEFAULT_OUT_DIR = path.join(AGENT_ROOT, 'dist', 'packages');

export function packageFileName(target: AgentTarget): string {
  return target.startsWith('win-') ? `atp-agent-${target}.exe` : `atp-agent-${target}`;
}

/** Parses "linux-x64,win-x64" (or "all"); throws ATP_PACKAGING_BUILD naming the valid targets. */
export function parseTargets(list: string): AgentTarget[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0 || names.includes('all')) return [...TARGETS];
  const bad = names.filter((n) => !(TARGETS as readonly string[]).includes(n));
  if (bad.length > 0) throw new AtpError('ATP_PACKAGING_BUILD', `unknown target(s) ${bad.join(', ')}; valid: ${TARGETS.join(', ')}`, { details: { targets: bad } });
  return [...new Set(names)] as AgentTarget[];
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` while holding `lockDir` (mkdir is atomic); a lock older than staleMs is taken over. */
async function withLock<T>(lockDir: string, work: () => Promise<T>, staleMs = 15 * 60_000): Promise<T> {
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = await stat(lockDir).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (since > staleMs) await rmdir(lockDir).catch(() => undefined);
      else await sleep(250);
    }
  }
  try {
    return await work();
  } finally {
    await rmdir(lockDir).catch(() => undefined);
  }
}

export async function buildAgentPackages(options: BuildAgentOptions = {}): Promise<AgentPackagesManifest> {
  const log = options.log ?? ((): void => undefined);
  const targets = options.targets ?? TARGETS;
  const outDir = path.resolve(options.outDir ?? DEFAULT_OUT_DIR);
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir());
  const pinnedFile = options.pinnedFile ?? PINNED_PATH;
  const pinned = await readPinned(pinnedFile);
  const pinnedText = await readFile(pinnedFile);
  if (options.copyToOutDir ?? true) await mkdir(outDir, { recursive: true });
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(path.join(cacheDir, '.build-'));
  try {
    const started = Date.now();
    const bundle = await bundleAgent(path.join(work, 'atp-agent.cjs'));
    const bundleSha256 = await sha256File(bundle.file);
    log(`bundle: ${bundle.bytes} bytes from ${bundle.inputs.length} files (${Date.now() - started} ms)`);
    // The blob is made by the pinned Linux x64 Node whatever the target.
    const blobNode = await fetchPinned(pinned.nodes['linux-x64'], cacheDir);
    const packages: AgentPackage[] = [];
    for (const target of targets) {
      const t0 = Date.now();
      const addons = pinned.addons[target] ?? [];
      const name = packageFileName(target);
      const sea = options.sea ?? defaultSeaOptions(target);
      const key = createHash('sha256').update(RECIPE).update(bundleSha256).update(pinnedText).update(target).update(JSON.stringify(sea)).digest('hex').slice(0, 32);
      const cached = path.join(cacheDir, 'sea', key, name);
      const produce = async (dest: string): Promise<void> => {
        const assets: Record<string, string> = {};
        for (const addon of addons) assets[addon.asset] = await fetchPinned(addon, cacheDir);
        const blob = path.join(work, `${target}.blob`);
        await makeSeaBlob({ node: blobNode, bundle: bundle.file, blob, assets, workDir: work, sea });
        const nodeBinary = await fetchPinned(pinned.nodes[target], cacheDir);
        await injectSea({ target, nodeBinary, blob, out: dest, workDir: work, ...(options.sign === undefined ? {} : { sign: options.sign }) });
      };
      const copy = options.copyToOutDir ?? true;
      const out = copy || options.sign !== undefined ? path.join(outDir, name) : cached;
      if (options.sign !== undefined) {
        await produce(out);
      } else {
        await mkdir(path.join(cacheDir, 'sea'), { recursive: true });
        await withLock(path.join(cacheDir, 'sea', `${key}.lock`), async () => {
          if (await exists(cached)) return;
          const tmp = path.join(work, `${name}.tmp`);
          await produce(tmp);
          await mkdir(path.dirname(cached), { recursive: true });
          await rename(tmp, cached);
        });
        if (out !== cached) {
          const tmpOut = `${out}.${process.pid}.tmp`;
          await copyFile(cached, tmpOut);
          await rename(tmpOut, out);
        }
      }
      const entry: AgentPackage = {
        target,
        file: name,
        path: out,
        nodeVersion: pinned.nodeVersion,
        agentVersion: AGENT_VERSION,
        bytes: (await stat(out)).size,
        sha256: await sha256File(out),
        signed: options.sign !== undefined,
        assets: addons.map((a) => a.asset),
      };
      packages.push(entry);
      log(`${target}: ${name} ${(entry.bytes / 2 ** 20).toFixed(1)} MiB sha256 ${entry.sha256.slice(0, 16)}… (${Date.now() - t0} ms)`);
    }
    const manifest: AgentPackagesManifest = { agentVersion: AGENT_VERSION, nodeVersion: pinned.nodeVersion, bundleSha256, packages };
    const forFile = { ...manifest, packages: packages.map(({ path: _path, ...rest }) => rest) };
    if (options.copyToOutDir ?? true) await writeFile(path.join(outDir, 'manifest.json'), `${JSON.stringify(forFile, null, 2)}\n`);
    return manifest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
