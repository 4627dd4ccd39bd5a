/**
 * Builds the lab guest: Debian's kernel plus an initramfs holding busybox-static,
 * the input/virtio/USB modules, the host's qemu-ga (and, with an agent, either
 * the host's node and the bundled agent, or a prebuilt single-file agent
 * executable) with their ldd libraries, and a generated /init. The image is cached under <cache>/images/<sha256>/ where the hash
 * covers the exact archive bytes, the kernel and the compression, so a second
 * build with the same inputs only re-reads and re-hashes them.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { AtpError } from '@atp/protocol';
import { defaultCacheDir } from '../paths.js';
import { requireExecutable } from '../prereqs.js';
import { runCommand } from '../run-command.js';
import { bundleAgent } from './agent-bundle.js';
import { encodeCpio, type CpioEntry } from './cpio-codec.js';
import { assertLabExecutable } from './elf-codec.js';
import { fetchBusybox, fetchKernel } from './debs.js';
import { GUEST_AGENT_BINARY_PATH, GUEST_AGENT_PATH, GUEST_MODULE_DIR, GUEST_NODE_PATH, GUEST_QGA_PATH, initScript, type GuestAgentKind } from './init-script.js';
import { parseLddOutput } from './ldd-codec.js';
import { publishDir } from './publish-dir.js';
import { resolveModulePaths } from './modules.js';

/** Bump when the image layout changes in a way the inputs do not show. */
const LAYOUT_VERSION = 'atp-lab-image-2';
export const DEFAULT_AGENT_ARGS: readonly string[] = ['run', '--link', 'virtio'];

export type ImageCompression = 'none' | 'gzip';

export interface BuildImageOptions {
  cacheDir?: string;
  /** The guest agent: its entry file or a directory with main.js. Without it the image has no node. */
  agent?: string;
  /**
   * A prebuilt single-file agent (the linux-x64 Node SEA from `npm run package:agent`),
   * copied to /opt/atp/atp-agent with its ldd libraries; the image then has no node.
   * Exclusive with `agent`.
   */
  agentBinary?: string;
  /** esbuild aliases for the agent bundle (package name → file), e.g. workspace sources. */
  agentAliases?: Readonly<Record<string, string>>;
  /** Arguments after the bundle (or executable) path; `--token T` is appended in the guest. */
  agentArgs?: readonly string[];
  /** The node binary copied into the guest (default: the one running this code). */
  nodeBinary?: string;
  /**
   * 'gzip' (default, level 1): 48 MB instead of 116 MB with node, about 3 s more
   * to build, and the same boot time under TCG here (10–15 s either way, within noise).
   */
  compression?: ImageCompression;
  log?: (line: string) => void;
}

export interface LabImage {
  hash: string;
  dir: string;
  kernel: string;
  initrd: string;
  kernelRelease: string;
  kernelPackage: string;
  initrdBytes: number;
  hasAgent: boolean;
  /** How the agent runs in this image, when it has one. */
  agentKind?: GuestAgentKind;
  /** True when the cached image was used as is. */
  reused: boolean;
}

async function hostBinaryEntries(binary: string, guestPath: string, data?: Uint8Array): Promise<CpioEntry[]> {
  const { stdout } = await runCommand(requireExecutable('ldd'), [binary]);
  const entries: CpioEntry[] = [{ kind: 'file', path: guestPath, data: data ?? (await readFile(binary)), mode: 0o755 }];
  for (const lib of parseLddOutput(stdout, binary)) entries.push({ kind: 'file', path: lib, data: await readFile(await realpath(lib)), mode: 0o755 });
  return entries;
}

/** The single-file agent and the libraries its ldd lists (it is a full node binary: libstdc++, libc, ...). */
async function singleFileAgentEntries(file: string): Promise<CpioEntry[]> {
  const resolved = path.resolve(file);
  let data: Uint8Array;
  try {
    data = await readFile(resolved);
  } catch (cause) {
    throw new AtpError('ATP_LAB_IMAGE', `agent executable ${resolved} cannot be read (build it: npm run package:agent -- --target linux-x64)`, { cause, details: { path: resolved } });
  }
  assertLabExecutable(data, resolved);
  return hostBinaryEntries(resolved, GUEST_AGENT_BINARY_PATH, data);
}

function agentKindOf(options: BuildImageOptions): GuestAgentKind | undefined {
  if (options.agent !== undefined && options.agentBinary !== undefined) {
    throw new AtpError('ATP_SCHEMA_INVALID', 'give either agent (a JS entry to bundle) or agentBinary (a single-file executable), not both', { details: { field: 'agentBinary' } });
  }
  return options.agentBinary !== undefined ? 'single-file' : options.agent !== undefined ? 'bundle' : undefined;
}

/**
 * Parent dirs of every entry, shallow first, then the entries (dirs the kernel
 * needs before their files). A path listed twice (libc for qemu-ga and for the
 * agent) is kept once, the first time.
 */
function withParents(all: readonly CpioEntry[]): CpioEntry[] {
  const seen = new Set<string>();
  const entries = all.filter((e) => {
    const key = e.path.replace(/^\/+/, '');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const dirs = new Set<string>();
  for (const e of entries) {
    const parts = e.path.replace(/^\/+/, '').split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const e of entries) if (e.kind === 'dir') dirs.delete(e.path.replace(/^\/+/, ''));
  const sorted = [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  return [...sorted.map((d): CpioEntry => ({ kind: 'dir', path: d })), ...entries];
}

/** Every entry of the initramfs, in archive order. */
export async function collectEntries(options: BuildImageOptions & { cacheDir: string }): Promise<{ entries: CpioEntry[]; kernel: Awaited<ReturnType<typeof fetchKernel>> }> {
  const log = options.log ?? (() => undefined);
  const agentKind = agentKindOf(options);
  const kernel = await fetchKernel(options.cacheDir, log);
  const busybox = await fetchBusybox(options.cacheDir, log);
  const modules = resolveModulePaths(await readFile(path.join(kernel.modulesDir, 'modules.order'), 'utf8'));
  const entries: CpioEntry[] = [
    ...['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'run', 'etc', 'root', 'var', 'opt/atp'].map((p): CpioEntry => ({ kind: 'dir', path: p })),
    { kind: 'dir', path: 'tmp', mode: 0o1777 },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    { kind: 'file', path: 'bin/busybox', data: await readFile(busybox.binary), mode: 0o755 },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    { kind: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
    { kind: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\n') },
  ];
  for (const m of modules) {
    entries.push({ kind: 'file', path: `${GUEST_MODULE_DIR}/${path.basename(m.path)}`, data: await readFile(path.join(kernel.modulesDir, m.path)) });
  }
  entries.push(...(await hostBinaryEntries(requireExecutable('qemu-ga'), GUEST_QGA_PATH)));
  if (options.agentBinary !== undefined) {
    log(`adding the single-file agent ${options.agentBinary}`);
    entries.push(...(await singleFileAgentEntries(options.agentBinary)));
  } else if (options.agent !== undefined) {
    log(`bundling the agent from ${options.agent}`);
    entries.push({ kind: 'file', path: GUEST_AGENT_PATH, data: await bundleAgent(options.agent, options.agentAliases) });
    entries.push(...(await hostBinaryEntries(options.nodeBinary ?? process.execPath, GUEST_NODE_PATH)));
  }
  const script = initScript({ modules: modules.map((m) => path.basename(m.path)), agent: agentKind !== undefined, ...(agentKind === undefined ? {} : { agentKind }), agentArgs: options.agentArgs ?? DEFAULT_AGENT_ARGS });
  entries.push({ kind: 'file', path: 'init', data: Buffer.from(script), mode: 0o755 });
  return { entries: withParents(entries), kernel };
}

/** Builds (or reuses) the image for these inputs. */
export async function buildImage(options: BuildImageOptions = {}): Promise<LabImage> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const compression = options.compression ?? 'gzip';
  const agentKind = agentKindOf(options);
  const log = options.log ?? (() => undefined);
  const { entries, kernel } = await collectEntries({ ...options, cacheDir });

  const hash = createHash('sha256');
  hash.update(`${LAYOUT_VERSION}\0${compression}\0`);
  hash.update(await readFile(kernel.vmlinuz));
  for (const chunk of encodeCpio(entries)) hash.update(chunk);
  const digest = hash.digest('hex');

  const dir = path.join(cacheDir, 'images', digest);
  const result = (reused: boolean, initrdBytes: number): LabImage => ({
    hash: digest,
    dir,
    kernel: path.join(dir, 'vmlinuz'),
    initrd: path.join(dir, 'initrd.img'),
    kernelRelease: kernel.release,
    kernelPackage: `${kernel.package.name} ${kernel.package.version}`,
    initrdBytes,
    hasAgent: agentKind !== undefined,
    ...(agentKind === undefined ? {} : { agentKind }),
    reused,
  });
  if (existsSync(path.join(dir, 'manifest.json'))) {
    log(`reusing image ${digest.slice(0, 12)}`);
    return result(true, (await stat(path.join(dir, 'initrd.img'))).size);
  }

  log(`writing image ${digest.slice(0, 12)} (${compression})`);
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = await mkdtemp(`${dir}.tmp-`);
  try {
    await copyFile(kernel.vmlinuz, path.join(tmp, 'vmlinuz'));
    const source = Readable.from(encodeCpio(entries), { objectMode: false });
    const sink = createWriteStream(path.join(tmp, 'initrd.img'));
    if (compression === 'gzip') await pipeline(source, createGzip({ level: 1 }), sink);
    else await pipeline(source, sink);
    const initrdBytes = (await stat(path.join(tmp, 'initrd.img'))).size;
    const manifest = { hash: digest, layout: LAYOUT_VERSION, compression, kernel: result(false, initrdBytes).kernelPackage, release: kernel.release, agent: options.agent ?? null, agentBinary: options.agentBinary ?? null, files: entries.map((e) => e.path) };
    await writeFile(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await publishDir(tmp, dir, 'manifest.json');
    return result(false, initrdBytes);
  } catch (cause) {
    throw cause instanceof AtpError ? cause : new AtpError('ATP_LAB_IMAGE', `cannot write the lab image: ${String(cause)}`, { cause });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
