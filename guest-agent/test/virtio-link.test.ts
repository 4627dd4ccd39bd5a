/**
 * virtio-serial: port discovery from a fake sysfs/dev tree in a temp dir (path
 * logic; the real port arrives with the lab VM), and the VirtioLink's polling,
 * EOF-means-no-host and reconnect behaviour over a FIFO pair standing in for the
 * port (support/fifo-port.ts).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import type { AtpError } from '@atp/protocol';
import { VirtioLink, resolveVirtioPort } from '../src/link/index.js';
import { keyEvent, makeSession, Sessions } from './support/agent-fixtures.js';
import { FifoPort } from './support/fifo-port.js';
import { TestHub, waitFor } from './support/test-hub.js';

let dir: string;
const sessions = new Sessions();
const cleanups: Array<() => Promise<void> | void> = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-virtio-'));
});
afterEach(async () => {
  await sessions.stopAll();
  for (const c of cleanups.splice(0)) await c();
  await rm(dir, { recursive: true, force: true });
});

async function fakeTree(): Promise<{ devRoot: string; sysRoot: string }> {
  const devRoot = path.join(dir, 'dev');
  const sysRoot = path.join(dir, 'sys');
  for (const [vport, name] of [['vport0p1', 'org.qemu.guest_agent.0'], ['vport0p2', 'org.atp.agent.0'], ['vport0p3', '']] as const) {
    await mkdir(path.join(sysRoot, 'class', 'virtio-ports', vport), { recursive: true });
    await writeFile(path.join(sysRoot, 'class', 'virtio-ports', vport, 'name'), `${name}\n`);
  }
  await mkdir(devRoot, { recursive: true });
  await writeFile(path.join(devRoot, 'vport0p1'), '');
  await writeFile(path.join(devRoot, 'vport0p2'), '');
  return { devRoot, sysRoot };
}

describe('resolveVirtioPort', () => {
  it('finds the port by scanning sysfs names when there is no udev link', async () => {
    const roots = await fakeTree();
    expect(await resolveVirtioPort('org.atp.agent.0', roots)).toEqual({ path: path.join(roots.devRoot, 'vport0p2'), via: 'sysfs' });
    expect(await resolveVirtioPort('org.qemu.guest_agent.0', roots)).toEqual({ path: path.join(roots.devRoot, 'vport0p1'), via: 'sysfs' });
  });

  it('prefers /dev/virtio-ports/NAME, and takes an absolute path as it is', async () => {
    const roots = await fakeTree();
    await mkdir(path.join(roots.devRoot, 'virtio-ports'));
    await symlink('../vport0p2', path.join(roots.devRoot, 'virtio-ports', 'org.atp.agent.0'));
    expect(await resolveVirtioPort('org.atp.agent.0', roots)).toEqual({ path: path.join(roots.devRoot, 'virtio-ports', 'org.atp.agent.0'), via: 'udev' });
    expect(await resolveVirtioPort('/dev/hvc9', roots)).toEqual({ path: '/dev/hvc9', via: 'path' });
  });

  it('says what it saw when the port is missing, or its node is', async () => {
    const roots = await fakeTree();
    const missing = await resolveVirtioPort('org.other.0', roots).catch((e: unknown) => e as AtpError);
    expect(isAtpError(missing, 'ATP_AGENT_CONNECT')).toBe(true);
    expect((missing as AtpError).message).toMatch(/no virtio-serial port named org\.other\.0.*vport0p1=org\.qemu\.guest_agent\.0, vport0p2=org\.atp\.agent\.0, vport0p3=\(unnamed\)/);
    await rm(path.join(roots.devRoot, 'vport0p2'));
    const noNode = await resolveVirtioPort('org.atp.agent.0', roots).catch((e: unknown) => e as AtpError);
    expect((noNode as AtpError).message).toMatch(/is vport0p2 in sysfs, but .*vport0p2 does not exist/);
    const empty = await resolveVirtioPort('org.atp.agent.0', { devRoot: path.join(dir, 'none'), sysRoot: path.join(dir, 'none') }).catch((e: unknown) => e as AtpError);
    expect((empty as AtpError).message).toMatch(/lists no named ports/);
  });
});

describe('VirtioLink over a FIFO-pair stand-in', () => {
  it('fails to connect while no host is on the port: EOF, or nobody reading', async () => {
    const port = new FifoPort(dir);
    const link = new VirtioLink({ standIn: { readPath: port.toAgent, writePath: port.fromAgent } });
    const nobodyReading = (await link.connect().catch((e: unknown) => e)) as AtpError;
    expect(isAtpError(nobodyReading, 'ATP_AGENT_CONNECT')).toBe(true);
    expect(nobodyReading.message).toMatch(/no host is reading it/);
    // The host reads our side but has not opened its writing side: the agent's read returns EOF.
    const { openSync, closeSync, constants } = await import('node:fs');
    const reader = openSync(port.fromAgent, constants.O_RDONLY | constants.O_NONBLOCK);
    cleanups.push(() => closeSync(reader));
    const eof = (await link.connect().catch((e: unknown) => e)) as AtpError;
    expect(isAtpError(eof, 'ATP_AGENT_CONNECT')).toBe(true);
    expect(eof.message).toMatch(/no host is connected .*EOF/);
  });

  it('runs a session that waits for the host, delivers, notices EOF when the host leaves, and resends after it returns', async () => {
    const hub = await TestHub.start();
    cleanups.push(() => hub.close());
    const port = new FifoPort(dir);
    cleanups.push(() => port.detach());
    const session = sessions.add(makeSession(new VirtioLink({ standIn: { readPath: port.toAgent, writePath: port.fromAgent } })));
    const failures: AtpError[] = [];
    session.on('failure', (e) => failures.push(e));
    for (let i = 0; i < 50; i++) session.push(keyEvent(i));
    session.start();
    await waitFor(() => failures.length >= 2, 'connect attempts without a host');
    expect(failures.every((e) => e.code === 'ATP_AGENT_CONNECT')).toBe(true);

    port.attach(hub);
    const bootId = session.sender.bootId;
    await waitFor(() => hub.uniqueSeqs(bootId).length === 50, 'the first 50 events');
    expect(hub.connections[0]?.hello).toMatchObject({ lastSeq: 50, unacked: 50, overflowed: 0 });
    await waitFor(() => session.sender.unacked === 0, 'acks over the port');

    hub.acking = false;
    for (let i = 50; i < 120; i++) session.push(keyEvent(i));
    await waitFor(() => hub.uniqueSeqs(bootId).length === 120, 'events 51..120');
    port.detach();
    await waitFor(() => failures.some((e) => /EOF/.test(e.message) && e.code === 'ATP_AGENT_DISCONNECTED'), 'the agent to read EOF');
    for (let i = 120; i < 150; i++) session.push(keyEvent(i));
    hub.acking = true;
    port.attach(hub);
    await waitFor(() => hub.uniqueSeqs(bootId).length === 150, 'all 150 events after the host came back');
    expect(hub.uniqueSeqs(bootId)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    const last = hub.connections.at(-1);
    expect(last?.welcome?.ackedSeq).toBe(120);
    expect(last?.seqs[0]).toBe(121);
    await waitFor(() => session.sender.unacked === 0, 'the final acks');
  });
});
