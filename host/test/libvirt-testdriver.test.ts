/**
 * virsh against libvirt's built-in test driver (test:///default, no daemon):
 * the interactive process and the per-call runner on real virsh output, the
 * quoting function through virsh's real parser (`echo` returns what it parsed),
 * and the restart of a killed interactive virsh.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirshLibvirtClient } from '../src/vm/libvirt/client.js';
import { AutoVirsh } from '../src/vm/libvirt/virsh-auto.js';
import { VirshProcess } from '../src/vm/libvirt/virsh-process.js';
import { PerCallVirsh } from '../src/vm/libvirt/virsh-runner.js';
import { requireBinary } from './support/binaries.js';

const URI = 'test:///default';

describe.each(['interactive', 'per-call'] as const)('LibvirtClient on test:///default (%s)', (mode) => {
  let client: VirshLibvirtClient;
  beforeAll(() => {
    requireBinary('virsh', 'libvirt-clients');
    client = new VirshLibvirtClient({ uri: URI, mode });
  });
  afterAll(async () => {
    await client.close();
  });

  it('lists domains and reads dominfo and domstate', async () => {
    expect(client.runner.mode).toBe(mode);
    expect(await client.listDomains()).toEqual([{ id: 1, name: 'test', state: 'running' }]);
    const info = await client.lookup('test');
    expect(info).toMatchObject({ name: 'test', id: 1, state: 'running', persistent: true });
    expect(info.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(await client.state('test')).toBe('running');
  });

  it('suspends and resumes (state persists within one connection only in interactive mode)', async () => {
    await client.suspend('test');
    if (mode === 'interactive') {
      expect(await client.state('test')).toBe('paused');
      await client.resume('test');
    }
    expect(await client.state('test')).toBe('running');
  });

  it('names an unknown domain in a typed error', async () => {
    await expect(client.lookup('no-such-vm')).rejects.toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_FOUND', details: { domain: 'no-such-vm' } });
    await expect(client.state("it's \"odd\"")).rejects.toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_FOUND', details: { domain: "it's \"odd\"" } });
    // the connection is still usable after an error
    expect(await client.state('test')).toBe('running');
  });

  it('parses dumpxml of the test domain', async () => {
    const d = await client.domainXml('test');
    expect(d).toMatchObject({ name: 'test', type: 'test', id: 1 });
  });
});

describe('quoting through the real virsh parser', () => {
  let proc: VirshProcess;
  beforeAll(() => {
    requireBinary('virsh', 'libvirt-clients');
    proc = new VirshProcess({ uri: URI });
  });
  afterAll(async () => {
    await proc.close();
  });

  it('virsh echo returns every quoted argument unchanged: quotes, backslashes, ; # and unicode', async () => {
    const printable = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => ![...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f));
    const tricky = fc.constantFrom(`'`, `"`, '\\', ';', '#', ' ', '--x', "''", '\\\'', 'é', '✓', '😀', '{"a":"b c"}');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(printable, tricky), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')), async (text) => {
        expect(await proc.run(['echo', '--', text])).toBe(text);
      }),
      { numRuns: 150 },
    );
  });

  it('interactive mode refuses a newline; auto mode sends that call per process instead', async () => {
    await expect(proc.run(['echo', '--', 'a\nb'])).rejects.toMatchObject({ code: 'ATP_LIBVIRT_ARGUMENT' });
    const auto = new AutoVirsh({ uri: URI });
    try {
      expect(await auto.run(['echo', '--', 'a\nb\tc'])).toBe('a\nb\tc');
      expect(auto.mode).toBe('interactive');
      expect(await new PerCallVirsh({ uri: URI }).run(['echo', '--', `x'y`])).toBe(`x'y`);
    } finally {
      await auto.close();
    }
  });

  it('restarts a killed interactive virsh and fails the call in flight with a typed error', async () => {
    const before = proc.pid;
    expect(before).toBeDefined();
    const inFlight = proc.run(['echo', 'x']);
    proc.kill();
    await expect(inFlight).rejects.toMatchObject({ code: expect.stringMatching(/^ATP_LIBVIRT_(CONNECTION|VIRSH)$/) });
    // the next call starts a new process (after a short backoff) and works
    expect(await proc.run(['echo', 'again'])).toBe('again');
    expect(proc.pid).not.toBe(before);
    expect(proc.starts).toBeGreaterThanOrEqual(2);
  });
});
