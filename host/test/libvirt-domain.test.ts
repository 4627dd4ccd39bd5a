/**
 * LibvirtClient against a real libvirtd and a real TCG domain (no guest OS:
 * SeaBIOS is enough for QEMU to take monitor commands and input): define,
 * start, list/lookup/state, dumpxml, the existing QMP helpers through
 * qemu-monitor-command, send-key, events, typed faults, destroy, undefine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputSendEvent, queryStatus, sendKey } from '../src/vm/qmp/commands.js';
import { ping as qgaPing } from '../src/vm/qga/commands.js';
import { VirshLibvirtClient } from '../src/vm/libvirt/client.js';
import { buildDomainXml } from '../src/vm/libvirt/domain-xml.js';
import type { LibvirtEvent, LibvirtEventStream } from '../src/vm/libvirt/events.js';
import { acquireLibvirtSuiteLock, ensureLibvirtd, removeDomain, SYSTEM_URI, testDomainName } from './support/libvirtd.js';

const LONG = 180_000;

describe('LibvirtClient on a real libvirtd', () => {
  let release: (() => Promise<void>) | undefined;
  let dir = '';
  let client: VirshLibvirtClient;
  let events: LibvirtEventStream;
  const name = testDomainName('atp-dom');
  const agentPath = (): string => path.join(dir, 'agent.sock');

  beforeAll(async () => {
    release = await acquireLibvirtSuiteLock();
    await ensureLibvirtd();
    dir = await mkdtemp(path.join(os.tmpdir(), 'atp-libvirt-'));
    client = new VirshLibvirtClient({ uri: SYSTEM_URI });
    events = client.events({ domain: name });
    const xml = buildDomainXml({
      name,
      agentSocketPath: agentPath(),
      inputs: [{ type: 'tablet', bus: 'usb' }, { type: 'keyboard', bus: 'virtio' }],
      graphics: { type: 'vnc', port: 'auto' },
    });
    await client.define(xml);
  }, LONG);

  afterAll(async () => {
    await client?.close();
    await removeDomain(name);
    if (dir) await rm(dir, { recursive: true, force: true });
    await release?.();
  }, LONG);

  /** Repeats `act` until an event matching `match` arrives (virsh event registers a moment after it starts). */
  async function actUntilEvent(act: () => Promise<void>, match: (e: LibvirtEvent) => boolean): Promise<LibvirtEvent> {
    for (let attempt = 0; attempt < 20; attempt++) {
      await act();
      const seen = await events.waitFor(match, 3000);
      if (seen) return seen;
    }
    throw new Error('no matching event after 20 attempts');
  }

  it('lists, looks up and reads the state of the defined (shut off) domain', async () => {
    expect(await client.listDomains()).toContainEqual({ id: undefined, name, state: 'shutoff' });
    expect(await client.lookup(name)).toMatchObject({ name, id: undefined, state: 'shutoff', persistent: true, vcpus: 1, maxMemoryKiB: 65536 });
    expect(await client.state(name)).toBe('shutoff');
  });

  it('fails typed, naming the domain, on calls that need it running', async () => {
    await expect(queryStatus(client.qmpExecutor(name))).rejects.toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_RUNNING', details: { domain: name } });
    await expect(client.suspend(name)).rejects.toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_RUNNING' });
    await expect(client.sendKey(name, ['KEY_A'])).rejects.toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_RUNNING' });
  });

  it('starts the domain; dumpxml gives the agent and guest agent channels, VNC and the inputs', async () => {
    await client.start(name);
    expect(await client.state(name)).toBe('running');
    const listed = (await client.listDomains()).find((d) => d.name === name);
    expect(listed?.state).toBe('running');
    expect(listed?.id).toBeGreaterThan(0);
    const d = await client.domainXml(name);
    expect(d.id).toBe(listed?.id);
    expect(d.agentChannel).toMatchObject({ type: 'unix', mode: 'bind', path: agentPath(), state: 'disconnected' });
    expect(d.guestAgentChannel?.path).toMatch(/org\.qemu\.guest_agent\.0$/);
    expect(d.graphics).toHaveLength(1);
    expect(d.graphics[0]).toMatchObject({ type: 'vnc', listen: '127.0.0.1' });
    expect(d.graphics[0]?.port).toBeGreaterThanOrEqual(5900);
    expect(d.inputs).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'tablet', bus: 'usb' }), expect.objectContaining({ type: 'keyboard', bus: 'virtio' })]));
  }, LONG);

  it('runs the existing QMP helpers through qemu-monitor-command', async () => {
    const qmp = client.qmpExecutor(name);
    expect(await queryStatus(qmp)).toMatchObject({ status: 'running', running: true });
    await inputSendEvent(qmp, [
      { type: 'key', down: true, key: { type: 'qcode', data: 'a' } },
      { type: 'key', down: false, key: { type: 'qcode', data: 'a' } },
      { type: 'abs', axis: 'x', value: 0x4000 },
      { type: 'abs', axis: 'y', value: 0x2000 },
    ]);
    await sendKey(qmp, [{ type: 'qcode', data: 'shift' }, { type: 'qcode', data: 'b' }], { holdTimeMs: 10 });
    await expect(qmp.execute('no-such-command')).rejects.toMatchObject({ code: 'ATP_QMP_COMMAND', details: { errorClass: 'CommandNotFound' } });
    // the same through one virsh process per call
    const perCall = new VirshLibvirtClient({ uri: SYSTEM_URI, mode: 'per-call' });
    try {
      expect(await queryStatus(perCall.qmpExecutor(name))).toMatchObject({ running: true });
    } finally {
      await perCall.close();
    }
  });

  it('sends keys with virsh send-key (codeset and hold time) and refuses unknown codes', async () => {
    await client.sendKey(name, ['KEY_LEFTCTRL', 'KEY_C'], { holdTimeMs: 20 });
    await client.sendKey(name, [0x1e], { codeset: 'xt', holdTimeMs: 5 });
    await expect(client.sendKey(name, ['KEY_NOPE'])).rejects.toMatchObject({ code: 'ATP_LIBVIRT_ARGUMENT' });
  });

  it('reports suspend and resume on the event stream', async () => {
    const states: string[] = [];
    const suspended = await actUntilEvent(
      async () => {
        await client.suspend(name);
        states.push(await client.state(name));
        await client.resume(name);
      },
      (e) => e.kind === 'lifecycle' && e.event === 'suspended',
    );
    expect(suspended).toMatchObject({ kind: 'lifecycle', domain: name, event: 'suspended' });
    expect(states[0]).toBe('paused');
    const resumed = await events.waitFor((e) => e.kind === 'lifecycle' && e.event === 'resumed', 30_000);
    expect(resumed).toMatchObject({ domain: name, event: 'resumed' });
    expect(await client.state(name)).toBe('running');
  }, LONG);

  it('fails typed when the guest agent is not connected (no guest OS)', async () => {
    await expect(qgaPing(client.qgaExecutor(name), { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'ATP_LIBVIRT_AGENT_UNAVAILABLE', details: { domain: name } });
    await expect(client.shutdown(name, 'agent')).rejects.toMatchObject({ code: 'ATP_LIBVIRT_AGENT_UNAVAILABLE' });
  });

  it('names an unknown domain in a typed error', async () => {
    const ghost = `${name}-ghost`;
    await expect(client.lookup(ghost)).rejects.toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_FOUND', details: { domain: ghost } });
    await expect(queryStatus(client.qmpExecutor(ghost))).rejects.toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_FOUND', details: { domain: ghost } });
    await expect(client.start(ghost)).rejects.toThrow(ghost);
  });

  it('resets, destroys (stopped event) and undefines', async () => {
    await client.reset(name);
    expect(await client.state(name)).toBe('running');
    await client.destroy(name);
    const stopped = await events.waitFor((e) => e.kind === 'lifecycle' && e.event === 'stopped', 30_000);
    expect(stopped).toMatchObject({ domain: name, event: 'stopped' });
    expect(await client.state(name)).toBe('shutoff');
    await client.undefine(name);
    await expect(client.lookup(name)).rejects.toMatchObject({ code: 'ATP_LIBVIRT_DOMAIN_NOT_FOUND' });
  }, LONG);
});
