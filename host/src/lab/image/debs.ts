/**
 * Gets Debian's kernel and busybox-static WITHOUT installing them (installing
 * linux-image-amd64 spends minutes in update-initramfs): resolve the current
 * package name and version with apt-cache, `apt-get download` the .deb into
 * the cache (no root needed, but apt-get update must have run once), and
 * `dpkg-deb -x` it into <cache>/pkgs/<name>_<version>/. Both steps are cached:
 * a second run touches neither the network nor the disk beyond a stat.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { requireExecutable } from '../prereqs.js';
import { runCommand } from '../run-command.js';
import { publishDir } from './publish-dir.js';

export interface ExtractedPackage {
  name: string;
  version: string;
  /** The extracted tree (root of the package's files). */
  dir: string;
}

/** What apt says when its lists are missing, or stale (a mirror that dropped the version the lists name answers 404). */
const NEEDS_UPDATE = /Unable to locate package|No packages found|has no installation candidate|Can't select candidate|No candidate version|404\s+Not Found|Failed to fetch/i;

/** An apt failure as a typed error; missing or stale package lists get the `apt-get update` hint. */
export function aptError(what: string, cause: unknown): AtpError {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (NEEDS_UPDATE.test(message)) {
    return new AtpError('ATP_LAB_PREREQ', `apt does not know ${what}: its package lists are missing or stale. Run \`apt-get update\` once (as root), then retry.`, {
      cause,
      details: { package: what },
    });
  }
  return cause instanceof AtpError ? cause : new AtpError('ATP_LAB_IMAGE', `apt failed for ${what}: ${message}`, { cause });
}

/** "linux-image-amd64" → its current dependency, e.g. "linux-image-6.1.0-56-amd64". */
export async function resolveKernelPackage(meta = 'linux-image-amd64'): Promise<string> {
  let out: string;
  try {
    out = (await runCommand(requireExecutable('apt-cache'), ['depends', meta])).stdout;
  } catch (error) {
    throw aptError(meta, error);
  }
  const names = [...out.matchAll(/^\s+Depends:\s+(linux-image-[0-9][^\s]*-amd64)\s*$/gm)].map((m) => m[1] ?? '');
  const name = names.find((n) => n !== '');
  if (!name) throw aptError(meta, new Error(`No packages found: apt-cache depends ${meta} names no linux-image-<version>-amd64`));
  return name;
}

export async function candidateVersion(pkg: string): Promise<string> {
  let out: string;
  try {
    out = (await runCommand(requireExecutable('apt-cache'), ['show', '--no-all-versions', pkg])).stdout;
  } catch (error) {
    throw aptError(pkg, error);
  }
  const version = /^Version:\s*(\S+)\s*$/m.exec(out)?.[1];
  if (!version) throw aptError(pkg, new Error(`No candidate version in apt-cache show ${pkg}`));
  return version;
}

const safe = (text: string): string => text.replace(/[^A-Za-z0-9.+~-]/g, '_');

/** Downloads (if not cached) and extracts (if not cached) the candidate version of `pkg`. */
export async function fetchPackage(cacheDir: string, pkg: string, log: (line: string) => void = () => undefined): Promise<ExtractedPackage> {
  const version = await candidateVersion(pkg);
  const stem = `${safe(pkg)}_${safe(version)}`;
  const debsDir = path.join(cacheDir, 'debs');
  const deb = path.join(debsDir, `${stem}.deb`);
  const dir = path.join(cacheDir, 'pkgs', stem);
  const complete = path.join(dir, '.atp-complete');
  if (existsSync(complete)) return { name: pkg, version, dir };

  if (!existsSync(deb)) {
    await mkdir(debsDir, { recursive: true });
    const tmp = await mkdtemp(path.join(debsDir, 'download-'));
    try {
      log(`apt-get download ${pkg}=${version}`);
      try {
        await runCommand(requireExecutable('apt-get'), ['download', `${pkg}=${version}`], { cwd: tmp, timeoutMs: 600_000 });
      } catch (error) {
        throw aptError(pkg, error);
      }
      const got = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
      if (got.length !== 1 || !got[0]) throw new AtpError('ATP_LAB_IMAGE', `apt-get download ${pkg} left ${got.length} .deb files`, { details: { files: got } });
      await rename(path.join(tmp, got[0]), deb);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  // Extract beside the target and rename: concurrent builders never see half a tree.
  log(`dpkg-deb -x ${path.basename(deb)}`);
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = await mkdtemp(`${dir}.tmp-`);
  try {
    await runCommand(requireExecutable('dpkg-deb'), ['-x', deb, tmp], { timeoutMs: 600_000 });
    await writeFile(path.join(tmp, '.atp-complete'), `${pkg} ${version}\n`);
    await publishDir(tmp, dir, '.atp-complete');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { name: pkg, version, dir };
}

export interface KernelTree {
  package: ExtractedPackage;
  /** e.g. "6.1.0-56-amd64" */
  release: string;
  vmlinuz: string;
  /** /lib/modules/<release> inside the extracted tree. */
  modulesDir: string;
}

export async function fetchKernel(cacheDir: string, log?: (line: string) => void): Promise<KernelTree> {
  const pkg = await fetchPackage(cacheDir, await resolveKernelPackage(), log);
  const release = pkg.name.replace(/^linux-image-/, '');
  const vmlinuz = path.join(pkg.dir, 'boot', `vmlinuz-${release}`);
  const candidates = [path.join(pkg.dir, 'lib', 'modules', release), path.join(pkg.dir, 'usr', 'lib', 'modules', release)];
  const modulesDir = candidates.find((c) => existsSync(c));
  if (!existsSync(vmlinuz) || !modulesDir) {
    throw new AtpError('ATP_LAB_IMAGE', `${pkg.name} has no boot/vmlinuz-${release} or lib/modules/${release}`, { details: { dir: pkg.dir } });
  }
  return { package: pkg, release, vmlinuz, modulesDir };
}

/** busybox-static's /bin/busybox, extracted. */
export async function fetchBusybox(cacheDir: string, log?: (line: string) => void): Promise<{ package: ExtractedPackage; binary: string }> {
  const pkg = await fetchPackage(cacheDir, 'busybox-static', log);
  const binary = path.join(pkg.dir, 'bin', 'busybox');
  if (!existsSync(binary)) throw new AtpError('ATP_LAB_IMAGE', `busybox-static has no bin/busybox`, { details: { dir: pkg.dir } });
  return { package: pkg, binary };
}
