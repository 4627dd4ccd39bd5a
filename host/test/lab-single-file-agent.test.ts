/**
 * The lab image with a prebuilt single-file agent instead of node + bundle: the
 * /init line that starts it, the ELF check that keeps a Windows or arm64 build
 * out of the x86-64 guest, and the image's entries (collected with a host ELF,
 * /usr/bin/true, standing in for the 120 MB Node SEA: the image code treats any
 * dynamic x86-64 executable alike; test/e2e-sea-lab.test.ts boots the real one).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { labAgentOptions } from '../src/cli/verify-options.js';
import { collectEntries, type CpioEntry } from '../src/lab/index.js';
import { assertLabExecutable, readElfHeader } from '../src/lab/image/elf-codec.js';
import { initScript } from '../src/lab/image/init-script.js';
import { defaultCacheDir } from '../src/lab/paths.js';
import { requireBinary } from './support/binaries.js';

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'atp-lab-sfa-'));
});

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** A 64-byte ELF header prefix with the given class, data and machine. */
function elfHeader(class64: boolean, littleEndian: boolean, machine: number): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, class64 ? 2 : 1, littleEndian ? 1 : 2, 1]);
  if (littleEndian) b.set([machine & 0xff, machine >> 8], 18);
  else b.set([machine >> 8, machine & 0xff], 18);
  return b;
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('the init script with a single-file agent', () => {
  it('runs /opt/atp/atp-agent with the same arguments as the bundle, and never node', () => {
    const args = ['run', '--link', 'virtio'];
    const single = initScript({ modules: ['evdev.ko'], agent: true, agentKind: 'single-file', agentArgs: args });
    const bundle = initScript({ modules: ['evdev.ko'], agent: true, agentArgs: args });
    expect(single).toContain(`/opt/atp/atp-agent 'run' '--link' 'virtio' --token-file /run/atp/token > /dev/console 2>&1`);
    expect(single).not.toContain('/usr/bin/node');
    expect(single).not.toContain('agent.mjs');
    expect(bundle).toContain(`/usr/bin/node /opt/atp/agent.mjs 'run' '--link' 'virtio' --token-file /run/atp/token`);
    // Only the program words differ.
    expect(single.replace('/opt/atp/atp-agent', 'X')).toBe(bundle.replace('/usr/bin/node /opt/atp/agent.mjs', 'X'));
  });
});

describe('the ELF check', () => {
  it('reads class, byte order and machine', () => {
    expect(readElfHeader(elfHeader(true, true, 0x3e))).toEqual({ class64: true, littleEndian: true, machine: 'x86-64' });
    expect(readElfHeader(elfHeader(true, true, 0xb7))).toEqual({ class64: true, littleEndian: true, machine: 'aarch64' });
    expect(readElfHeader(elfHeader(false, false, 0x28))?.machine).toBe('machine-40');
    expect(readElfHeader(Buffer.from('MZ\x90\x00'.padEnd(64, '\0'), 'latin1'))).toBeUndefined();
    expect(readElfHeader(new Uint8Array(4))).toBeUndefined();
  });

  it('accepts a 64-bit little-endian x86-64 ELF and the host executable itself', async () => {
    expect(() => assertLabExecutable(elfHeader(true, true, 0x3e), 'a')).not.toThrow();
    const head = (await readFile(requireBinary('true', 'coreutils'))).subarray(0, 64);
    expect(() => assertLabExecutable(head, 'true')).not.toThrow();
  });

  it('refuses a Windows exe, an arm64 build and a 32-bit ELF with ATP_LAB_IMAGE, naming the linux-x64 agent', () => {
    for (const bytes of [Buffer.from('MZ'.padEnd(64, '\0'), 'latin1'), elfHeader(true, true, 0xb7), elfHeader(false, true, 0x3e)]) {
      const error = errorOf(() => assertLabExecutable(bytes, 'agent'));
      expect(isAtpError(error, 'ATP_LAB_IMAGE')).toBe(true);
      expect(String(error)).toContain('linux-x64');
    }
    expect(String(errorOf(() => assertLabExecutable(elfHeader(true, true, 0xb7), 'agent')))).toContain('aarch64');
  });
});

describe('the image entries with a single-file agent', () => {
  it('hold the executable at /opt/atp/atp-agent with its ldd libraries, no node, no bundle, each path once', async () => {
    const exe = requireBinary('true', 'coreutils');
    const { entries } = await collectEntries({ cacheDir: defaultCacheDir(), agentBinary: exe });
    const byPath = new Map<string, CpioEntry>(entries.map((e) => [e.path.replace(/^\/+/, ''), e]));
    const agent = byPath.get('opt/atp/atp-agent');
    expect(agent?.kind).toBe('file');
    if (agent?.kind !== 'file') return;
    expect(agent.mode).toBe(0o755);
    expect(Buffer.from(agent.data).equals(await readFile(exe))).toBe(true);
    expect(byPath.has('lib/x86_64-linux-gnu/libc.so.6')).toBe(true);
    expect(byPath.has('lib64/ld-linux-x86-64.so.2')).toBe(true);
    expect(byPath.has('usr/bin/node')).toBe(false);
    expect(byPath.has('opt/atp/agent.mjs')).toBe(false);
    expect(byPath.size).toBe(entries.length);
    const init = byPath.get('init');
    const script = init?.kind === 'file' ? Buffer.from(init.data).toString('utf8') : '';
    expect(script).toContain(`/opt/atp/atp-agent 'run' '--link' 'virtio' --token-file /run/atp/token`);
    expect(script).not.toContain('/usr/bin/node');
  }, 300_000);

  it('refuses a missing file, a non-ELF file and both agent kinds at once', async () => {
    const cacheDir = defaultCacheDir();
    const missing = await rejectionOf(collectEntries({ cacheDir, agentBinary: path.join(scratch, 'nope') }));
    expect(isAtpError(missing, 'ATP_LAB_IMAGE')).toBe(true);
    expect(String(missing)).toContain('npm run package:agent');
    const exe = path.join(scratch, 'atp-agent-win-x64.exe');
    await writeFile(exe, Buffer.from('MZ'.padEnd(4096, '\0'), 'latin1'));
    expect(isAtpError(await rejectionOf(collectEntries({ cacheDir, agentBinary: exe })), 'ATP_LAB_IMAGE')).toBe(true);
    const both = await rejectionOf(collectEntries({ cacheDir, agent: 'guest-agent/src/main.ts', agentBinary: exe }));
    expect(isAtpError(both, 'ATP_SCHEMA_INVALID')).toBe(true);
  }, 300_000);
});

describe('verify --agent-binary', () => {
  it('passes the executable to the lab, alone and only with --lab', () => {
    expect(labAgentOptions({ lab: true, agentBinary: 'a' })).toEqual({ agentBinary: 'a' });
    expect(labAgentOptions({ lab: true, labAgent: 'm.ts' })).toEqual({ agent: 'm.ts' });
    expect(labAgentOptions({ lab: true })).toEqual({});
    expect(isAtpError(errorOf(() => labAgentOptions({ agentBinary: 'a' })), 'ATP_SCHEMA_INVALID')).toBe(true);
    expect(String(errorOf(() => labAgentOptions({ lab: true, labAgent: 'm.ts', agentBinary: 'a' })))).toContain('not both');
  });
});
