/**
 * A real libvirtd for tests, started by hand (no systemd here), as
 * ARCHITECTURE.md describes: the libvirt-qemu user and group, a qemu.conf that
 * runs QEMU as root with no security driver and no cgroups, `virtlogd
 * --daemon`, `libvirtd --daemon`, then wait until `virsh version` answers.
 * A daemon that already answers is reused. Several test files may call
 * `ensureLibvirtd()` at once: a lock file serialises the start.
 *
 * Test files that use the daemon also hold `acquireLibvirtSuiteLock()` for
 * their whole run, because one of them kills and restarts the daemon.
 * No vitest imports: the bench uses this too.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './binaries.js';

const run = promisify(execFile);
export const SYSTEM_URI = 'qemu:///system';
const QEMU_CONF = '/etc/libvirt/qemu.conf';
const PID_FILE = '/run/libvirtd.pid';
const REQUIRED_CONF: [string, RegExp][] = [
  ['user = "root"', /^\s*user\s*=\s*"root"/m],
  ['group = "root"', /^\s*group\s*=\s*"root"/m],
  ['security_driver = "none"', /^\s*security_driver\s*=\s*"none"/m],
  ['cgroup_controllers = [ ]', /^\s*cgroup_controllers\s*=\s*\[\s*\]/m],
  ['dynamic_ownership = 0', /^\s*dynamic_ownership\s*=\s*0/m],
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An exclusive lock file (O_EXCL); a lock whose holder process is gone is taken over. */
export async function acquireLock(file: string, timeoutMs: number): Promise<() => Promise<void>> {
  const token = `${process.pid} ${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(token);
      await handle.close();
      return async () => {
        const now = await readFile(file, 'utf8').catch(() => '');
        if (now === token) await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).split(' ')[0]);
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) await rm(file, { force: true });
    else if (Date.now() > deadline) throw new Error(`lock ${file} is still held by pid ${holder} after ${timeoutMs} ms`);
    else await sleep(100);
  }
}

/** Held by every test file that talks to the real daemon, for its whole run. */
export function acquireLibvirtSuiteLock(timeoutMs = 600_000): Promise<() => Promise<void>> {
  return acquireLock(path.join(os.tmpdir(), 'atp-libvirt-suite.lock'), timeoutMs);
}

async function answers(uri = SYSTEM_URI): Promise<boolean> {
  try {
    await run('virsh', ['-q', '-c', uri, 'version'], { env: { ...process.env, LC_ALL: 'C' }, timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function ensureQemuUser(): Promise<void> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const group = await readFile('/etc/group', 'utf8');
  if (!/^libvirt-qemu:/m.test(group)) await run('groupadd', ['-r', 'libvirt-qemu']);
  if (!/^libvirt-qemu:/m.test(passwd)) await run('useradd', ['-r', '-g', 'libvirt-qemu', '-d', '/var/lib/libvirt', '-s', '/usr/sbin/nologin', 'libvirt-qemu']);
}

async function ensureQemuConf(): Promise<void> {
  const current = await readFile(QEMU_CONF, 'utf8').catch(() => undefined);
  if (current === undefined) {
    await mkdir(path.dirname(QEMU_CONF), { recursive: true });
    const body = ['# Written by ATP test support (host/test/support/libvirtd.ts): libvirtd started by hand,', '# without systemd, cgroups or a security driver.', ...REQUIRED_CONF.map(([line]) => line), ''];
    await writeFile(QEMU_CONF, body.join('\n'));
    return;
  }
  const missing = REQUIRED_CONF.filter(([, re]) => !re.test(current)).map(([line]) => line);
  if (missing.length > 0) throw new Error(`${QEMU_CONF} exists but lacks: ${missing.join(', ')}; add these lines (ATP tests run QEMU as root without cgroups).`);
}

/** Starts virtlogd and libvirtd unless the daemon already answers. Idempotent; safe in parallel. */
export async function ensureLibvirtd(): Promise<void> {
  requireBinary('virsh', 'libvirt-clients');
  requireBinary('libvirtd', 'libvirt-daemon libvirt-daemon-driver-qemu');
  requireBinary('virtlogd', 'libvirt-daemon');
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  if (await answers()) return;
  const release = await acquireLock(path.join(os.tmpdir(), 'atp-libvirtd-start.lock'), 120_000);
  try {
    if (await answers()) return;
    await ensureQemuUser();
    await ensureQemuConf();
    await mkdir('/var/log/libvirt/qemu', { recursive: true });
    await mkdir('/var/lib/libvirt/qemu', { recursive: true });
    if (!(await daemonRunning('/run/virtlogd.pid'))) await run('virtlogd', ['--daemon']);
    if (!(await daemonRunning(PID_FILE))) await run('libvirtd', ['--daemon']);
    const deadline = Date.now() + 60_000;
    while (!(await answers())) {
      if (Date.now() > deadline) throw new Error('libvirtd did not answer `virsh version` within 60 s (see /var/log/libvirt and `libvirtd --verbose`)');
      await sleep(200);
    }
  } finally {
    await release();
  }
}

async function daemonRunning(pidFile: string): Promise<boolean> {
  const pid = await libvirtPid(pidFile);
  return pid !== undefined && alive(pid);
}

export async function libvirtPid(pidFile = PID_FILE): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** SIGKILLs the running libvirtd (domains keep running) and waits until it is gone. */
export async function killLibvirtd(): Promise<void> {
  const pid = await libvirtPid();
  if (pid === undefined || !alive(pid)) return;
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 15_000;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  await rm(PID_FILE, { force: true });
}

/** Sends a signal to libvirtd (SIGSTOP/SIGCONT make a call hang on demand). */
export async function signalLibvirtd(signal: NodeJS.Signals): Promise<void> {
  const pid = await libvirtPid();
  if (pid === undefined) throw new Error('libvirtd is not running');
  process.kill(pid, signal);
}

/** Destroys (if running) and undefines a domain with a plain virsh, ignoring "not running" / "not found". */
export async function removeDomain(name: string): Promise<void> {
  const env = { ...process.env, LC_ALL: 'C' };
  await run('virsh', ['-q', '-c', SYSTEM_URI, 'destroy', '--domain', name], { env, timeout: 30_000 }).catch(() => undefined);
  await run('virsh', ['-q', '-c', SYSTEM_URI, 'undefine', '--domain', name], { env, timeout: 30_000 }).catch(() => undefined);
}

/** A domain name unique to this run. */
export function testDomainName(prefix = 'atp-test'): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
