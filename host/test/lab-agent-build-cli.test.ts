/**
 * `atp-host agent build`: a real build through `npm run package:agent` in this
 * checkout (linux-x64, cached by input hash, so a warm run takes seconds) into
 * a temp folder, and the usage errors that never reach npm.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot, packageAgentArgs } from '../src/cli/agent.js';
import { runCli, type CliIo } from '../src/cli/program.js';

let out: string;

beforeAll(async () => {
  out = await mkdtemp(path.join(os.tmpdir(), 'atp-agent-build-'));
});

afterAll(async () => {
  if (out !== undefined) await rm(out, { recursive: true, force: true });
});

function captureIo(): CliIo & { stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  return { out: (t) => void (o += t), err: (t) => void (e += t), stdout: () => o, stderr: () => e };
}

describe('atp-host agent build', () => {
  it('finds the checkout and passes targets and the output folder as --flag=value', () => {
    const root = findRepoRoot();
    expect(root).toBeDefined();
    expect(packageAgentArgs('linux-x64,win-x64', 'x')).toEqual(['run', '--silent', 'package:agent', '--', '--target=linux-x64,win-x64', `--out=${path.resolve('x')}`]);
    expect(packageAgentArgs('all', undefined)).toEqual(['run', '--silent', 'package:agent', '--', '--target=all']);
  });

  it('refuses a malformed target list with exit 2 before running npm', async () => {
    for (const target of ['--out=/etc', 'linux-x64,', 'linux x64', '']) {
      const io = captureIo();
      expect(await runCli(['agent', 'build', '--target', target, '--out', out], io)).toBe(2);
      expect(io.stderr()).toContain('ATP_SCHEMA_INVALID');
    }
  });

  it('builds the linux-x64 executable into --out and lists it', async () => {
    const io = captureIo();
    const code = await runCli(['agent', 'build', '--target', 'linux-x64', '--out', out], io);
    expect(code, io.stderr()).toBe(0);
    const exe = path.join(out, 'atp-agent-linux-x64');
    expect(io.stdout()).toContain(exe);
    expect((await stat(exe)).mode & 0o111).not.toBe(0);
    const manifest: unknown = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ packages: [{ target: 'linux-x64' }] });
  }, 600_000);

  it('reports an unknown target from the packaging CLI as a failed build (exit 3)', async () => {
    const io = captureIo();
    expect(await runCli(['agent', 'build', '--target', 'linux-riscv64', '--out', out], io)).toBe(3);
    expect(io.stderr()).toContain('unknown target');
    expect(io.stderr()).toContain('ATP_PACKAGING_BUILD');
  }, 120_000);
});
