/**
 * The agent's VM identity (src/cli/vm-identity.ts): the Linux DMI file read and
 * normalised, the "not set" and unreadable cases giving no vmUuid with a
 * reason, and the Windows registry answer parsed from reg.exe's real output
 * (captured from wine's reg.exe, which prints Windows' format: a blank line,
 * the key, then `    LastConfig    REG_SZ    {UUID}` with CRLF). That the value
 * equals QEMU's -uuid inside a real guest is checked in test/e2e-identity.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeVmUuid, parseRegLastConfig, readVmUuid } from '../src/cli/vm-identity.js';

const UUID = '6a1f4c2e-0b3d-4e5f-8a9b-0c1d2e3f4a5b';
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function dmiFile(content: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-vm-identity-'));
  dirs.push(dir);
  const file = path.join(dir, 'product_uuid');
  await writeFile(file, content);
  return file;
}

describe('VM identity', () => {
  it('reads the Linux DMI product_uuid, lowercased, and says why when there is none', async () => {
    expect(await readVmUuid({ platform: 'linux', linuxPath: await dmiFile(`${UUID.toUpperCase()}\n`) })).toMatchObject({ vmUuid: UUID });
    const missing = await readVmUuid({ platform: 'linux', linuxPath: '/nonexistent/product_uuid' });
    expect(missing.vmUuid).toBeUndefined();
    expect(missing.reason).toContain('ENOENT');
    for (const notSet of ['00000000-0000-0000-0000-000000000000\n', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF\n', 'Not Settable\n', '']) {
      const result = await readVmUuid({ platform: 'linux', linuxPath: await dmiFile(notSet) });
      expect(result.vmUuid).toBeUndefined();
      expect(result.reason).toContain('no usable UUID');
    }
    expect((await readVmUuid({ platform: 'darwin' })).reason).toContain('darwin');
  });

  it('normalises braces and case, and refuses anything not 8-4-4-4-12', () => {
    expect(normalizeVmUuid(`{${UUID.toUpperCase()}}`)).toBe(UUID);
    expect(normalizeVmUuid(` ${UUID}\r\n`)).toBe(UUID);
    for (const bad of [UUID.replace(/-/g, ''), `${UUID}0`, UUID.replace('a', 'g'), `{${UUID}`]) expect(normalizeVmUuid(bad)).toBeUndefined();
  });

  it("parses reg.exe's LastConfig answer; a reg.exe that cannot run gives no vmUuid", async () => {
    const output = '\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\HardwareConfig\r\n    LastConfig    REG_SZ    {6A1F4C2E-0B3D-4E5F-8A9B-0C1D2E3F4A5B}\r\n\r\n';
    expect(parseRegLastConfig(output)).toBe(UUID);
    expect(parseRegLastConfig('\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\HardwareConfig\r\n    LastConfig    REG_SZ    {not-a-uuid}\r\n')).toBeUndefined();
    expect(parseRegLastConfig('ERROR: The system was unable to find the specified registry key or value.\r\n')).toBeUndefined();
    const failed = await readVmUuid({ platform: 'win32', regExe: '/nonexistent/reg.exe' });
    expect(failed).toMatchObject({ source: 'HKLM\\SYSTEM\\HardwareConfig LastConfig' });
    expect(failed.vmUuid).toBeUndefined();
    expect(failed.reason).toContain('reg.exe failed');
  });
});
