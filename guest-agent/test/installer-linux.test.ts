/**
 * The Linux installers (packaging/installers/install.sh, uninstall.sh): shellcheck
 * clean, and into a scratch root (--root, so systemctl is never run) they
 * create the binary, config and unit, a second run changes nothing, an existing
 * config is never overwritten, and uninstall removes them. The "binary" is a
 * two-line stand-in script: what is installed does not change what the installer
 * does (the real executable is exercised in test/agent-sea.test.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const installers = fileURLToPath(new URL('../packaging/installers/', import.meta.url));
const installSh = path.join(installers, 'install.sh');
const uninstallSh = path.join(installers, 'uninstall.sh');

function sh(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

/** path -> [mode, mtime, inode, content] of every file below dir. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const s = await stat(file);
    out.set(path.relative(dir, file), `${(s.mode & 0o7777).toString(8)} ${s.mtimeMs} ${s.ino} ${(await readFile(file)).toString('base64')}`);
  }
  return out;
}

/** host/test/support/binaries.ts is off limits here (lint layering): the same loud failure, for one tool. */
function requireShellcheck(): string {
  for (const dir of ['/usr/bin', '/bin', '/usr/local/bin']) {
    const candidate = path.join(dir, 'shellcheck');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('shellcheck is required by this test and was not found. Install it with: apt-get install -y shellcheck (.ci/run does this)');
}

let scratch: string;
let binary: string;

beforeEach(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'atp-installer-'));
  binary = path.join(scratch, 'atp-agent-linux-x64');
  await writeFile(binary, '#!/bin/sh\necho 9.9.9-standin\n');
  await chmod(binary, 0o755);
});

afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('install.sh / uninstall.sh', () => {
  it('are shellcheck-clean POSIX sh', async () => {
    const shellcheck = requireShellcheck();
    const result = await sh(shellcheck, ['-s', 'sh', installSh, uninstallSh]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('install into a scratch root, change nothing the second time, keep the config, uninstall cleanly', async () => {
    const root = path.join(scratch, 'root');
    const first = await sh(installSh, ['--root', root, '--binary', binary]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/installed +\S+\/usr\/local\/bin\/atp-agent/);
    expect(first.stdout).toMatch(/created +\S+\/etc\/atp\/agent\.yaml/);
    expect(first.stdout).toMatch(/installed +\S+\/etc\/systemd\/system\/atp-agent\.service/);
    expect(first.stdout).toContain('systemctl not run');
    expect(first.stdout).toContain('atp-agent 9.9.9-standin ready');

    const unit = await readFile(path.join(root, 'etc/systemd/system/atp-agent.service'), 'utf8');
    expect(unit).toContain('Restart=always');
    expect(unit).toContain('DeviceAllow=char-input r');
    expect(unit).toContain('ExecStart=/usr/local/bin/atp-agent run --config /etc/atp/agent.yaml');
    expect((await stat(path.join(root, 'usr/local/bin/atp-agent'))).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(root, 'etc/atp/agent.yaml'))).mode & 0o777).toBe(0o600);

    const before = await snapshot(root);
    const second = await sh(installSh, ['--root', root, '--binary', binary]);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toMatch(/^(installed|created)/m);
    expect(second.stdout).toMatch(/kept +\S+agent\.yaml/);
    expect(await snapshot(root)).toEqual(before);

    // A changed config is never overwritten; a new binary is.
    await writeFile(path.join(root, 'etc/atp/agent.yaml'), 'link: tcp\n');
    await writeFile(binary, '#!/bin/sh\necho 9.9.10-standin\n');
    const third = await sh(installSh, ['--root', root, '--binary', binary]);
    expect(third.stdout).toMatch(/installed +\S+\/usr\/local\/bin\/atp-agent/);
    expect(await readFile(path.join(root, 'etc/atp/agent.yaml'), 'utf8')).toBe('link: tcp\n');

    const removed = await sh(uninstallSh, ['--root', root]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/removed +\S+atp-agent\.service/);
    expect(removed.stdout).toMatch(/removed +\S+\/usr\/local\/bin\/atp-agent/);
    expect(removed.stdout).toMatch(/kept +\S+\/etc\/atp/);
    const purged = await sh(uninstallSh, ['--root', root, '--purge']);
    expect(purged.code).toBe(0);
    expect(purged.stdout).toMatch(/absent +\S+atp-agent\.service/);
    expect([...(await snapshot(root)).keys()]).toEqual([]);
  });

  it('refuse a missing binary and unknown arguments with a message', async () => {
    const missing = await sh(installSh, ['--root', path.join(scratch, 'r'), '--binary', path.join(scratch, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('agent executable not found');
    const unknown = await sh(installSh, ['--bogus']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown argument: --bogus');
  });
});
