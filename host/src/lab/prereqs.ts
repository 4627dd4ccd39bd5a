/**
 * Prerequisites of the lab VM on a Debian host, checked all at once so the
 * user gets one message listing everything missing and the one apt-get line
 * that installs it. `installPrerequisites` runs that line (root on Debian only).
 * No cpio (we write the archive ourselves), no kmod (no depmod: modules are
 * insmod-ed in dependency order), no busybox on the host (downloaded as a .deb).
 */
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { runCommand } from './run-command.js';

export interface Prerequisite {
  /** What is needed, e.g. "qemu-system-x86_64". */
  what: string;
  /** The Debian package that provides it, when apt can fix it. */
  debianPackage?: string;
  /** How to fix it when no package does (e.g. "run apt-get update"). */
  hint?: string;
}

const BINARIES: readonly { name: string; pkg: string }[] = [
  { name: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { name: 'qemu-ga', pkg: 'qemu-guest-agent' },
  { name: 'apt-get', pkg: 'apt' },
  { name: 'apt-cache', pkg: 'apt' },
  { name: 'dpkg-deb', pkg: 'dpkg' },
  { name: 'ldd', pkg: 'libc-bin' },
];

const SEARCH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The absolute path of an executable, searching PATH and the sbin dirs. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...SEARCH_DIRS];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** An executable that must exist; ATP_LAB_PREREQ names its package otherwise. */
export function requireExecutable(name: string): string {
  const found = findExecutable(name);
  if (found) return found;
  const pkg = BINARIES.find((b) => b.name === name)?.pkg;
  throw prerequisiteError(pkg ? [{ what: name, debianPackage: pkg }] : [{ what: name }]);
}

function aptHasLists(): boolean {
  try {
    return readdirSync('/var/lib/apt/lists').some((f) => f.endsWith('_Packages') || f.includes('_Packages.'));
  } catch {
    return false;
  }
}

/** Everything missing for `lab up`; empty when all is there. */
export function missingPrerequisites(): Prerequisite[] {
  const missing: Prerequisite[] = [];
  for (const b of BINARIES) if (!findExecutable(b.name)) missing.push({ what: b.name, debianPackage: b.pkg });
  if (existsSync('/var/lib/apt/lists') && !aptHasLists()) {
    missing.push({ what: 'Debian package lists (apt-get download needs them)', hint: 'run `apt-get update` once as root' });
  }
  return missing;
}

export function installCommand(missing: readonly Prerequisite[]): string[] | undefined {
  const pkgs = [...new Set(missing.flatMap((m) => (m.debianPackage ? [m.debianPackage] : [])))];
  return pkgs.length > 0 ? ['apt-get', 'install', '-y', ...pkgs] : undefined;
}

export function prerequisiteError(missing: readonly Prerequisite[]): AtpError {
  const lines = missing.map((m) => `  - ${m.what}${m.debianPackage ? ` (package ${m.debianPackage})` : ''}${m.hint ? `: ${m.hint}` : ''}`);
  const install = installCommand(missing);
  const message = [
    'the lab VM is missing prerequisites:',
    ...lines,
    ...(install ? [`install them with: ${install.join(' ')}`, '(or run `atp-host lab up --install` as root)'] : []),
  ].join('\n');
  return new AtpError('ATP_LAB_PREREQ', message, { details: { missing: missing.map((m) => m.what), install: install?.join(' ') } });
}

/** Throws ATP_LAB_PREREQ listing everything missing. */
export function assertPrerequisites(): void {
  const missing = missingPrerequisites();
  if (missing.length > 0) throw prerequisiteError(missing);
}

/** Installs what is missing with apt-get (root on Debian only); returns the command run, if any. */
export async function installPrerequisites(log: (line: string) => void = () => undefined): Promise<string[] | undefined> {
  const missing = missingPrerequisites();
  if (missing.length === 0) return undefined;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0 || !existsSync('/etc/debian_version')) {
    throw new AtpError('ATP_LAB_PREREQ', `${prerequisiteError(missing).message}\n--install needs root on Debian`, { details: { missing: missing.map((m) => m.what) } });
  }
  const aptGet = findExecutable('apt-get');
  if (!aptGet) throw prerequisiteError(missing);
  if (missing.some((m) => m.debianPackage === undefined) || !aptHasLists()) {
    log('apt-get update');
    await runCommand(aptGet, ['update'], { errorCode: 'ATP_LAB_PREREQ', timeoutMs: 600_000 });
  }
  const install = installCommand(missingPrerequisites());
  if (!install) return undefined;
  log(install.join(' '));
  await runCommand(aptGet, install.slice(1), { errorCode: 'ATP_LAB_PREREQ', timeoutMs: 1_200_000, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  assertPrerequisites();
  return install;
}
