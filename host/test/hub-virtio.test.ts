/**
 * virtio-serial: the hub is a client of QEMU's chardev socket. Against a real
 * QEMU (no guest OS, so no agent answers): connect, notice QEMU dying, reconnect
 * with backoff when it comes back on the same path. The session flow over a
 * persistent channel (an agent restarting on the same connection) needs a guest
 * agent QEMU cannot supply here, so a plain unix socket stands in for the
 * chardev in the second test, and in the third, reached through a `{ stream }`
 * factory (the shape of an SSH forward to a remote hypervisor's socket).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentMessageDecoder, agentMessage, encodeAgentMessage, type AgentMessage } from '@atp/protocol';
import { AgentHub, type VirtioClient } from '../src/hub/index.js';
import { keyEvent, RawHubClient, until } from './support/hub-client.js';
import { StreamCollector } from './support/hub-collect.js';
import { chardevQemu } from './support/hub-qemu.js';

const TOKEN = 'virtio-token';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-hub-virtio-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function newHub(): Promise<AgentHub> {
  const hub = await AgentHub.create({ auth: { tokens: [TOKEN] }, limits: { helloTimeoutMs: 200 }, timing: { pingIntervalMs: 1000 } });
  cleanups.push(() => hub.close());
  return hub;
}

const virtioSessions = (hub: AgentHub): number => hub.sessions().filter((s) => s.transport === 'virtio').length;

describe('virtio-serial channel', () => {
  it('connects to a real QEMU chardev, notices QEMU dying and reconnects with backoff when it returns', async () => {
    const dir = await tempDir();
    const qemu = chardevQemu(path.join(dir, 'agent.sock'));
    cleanups.push(() => qemu.kill());
    await qemu.start();
    const hub = await newHub();
    const client: VirtioClient = await hub.connectVirtio({ path: qemu.socketPath, name: 'org.atp.agent.0', backoff: { initialMs: 50, maxMs: 400 } });
    await until(() => client.status().state === 'connected' && virtioSessions(hub) === 1, 'the first connection', 30_000);
    expect(client.status().connects).toBe(1);

    await qemu.kill();
    await until(() => client.status().failures >= 1 && virtioSessions(hub) === 0, 'the drop to be noticed', 30_000);
    // Attempts against the missing socket fail and back off.
    await until(() => client.status().failures >= 3, 'a few failed attempts', 30_000);
    expect(client.status().state).not.toBe('connected');
    expect(client.status().lastError?.code).toBe('ATP_HUB_CHANNEL');

    await qemu.start();
    await until(() => client.status().connects === 2 && virtioSessions(hub) === 1, 'the reconnection', 30_000);
    // A persistent channel waits for its agent: no hello timeout (it is 200 ms here).
    await new Promise((r) => setTimeout(r, 600));
    expect(virtioSessions(hub)).toBe(1);
    expect(hub.metrics().helloTimeouts).toBe(0);

    // The hub serves other transports all along.
    const tcp = await hub.listenTcp();
    const agent = await RawHubClient.connect({ tcp: { port: tcp.port } });
    cleanups.push(() => agent.close());
    agent.hello({ agentId: 'tcp-agent', bootId: 'b', token: TOKEN });
    await agent.waitFor('welcome');
  });

  it('runs sessions over a persistent channel: an agent restarting on the same connection starts a new boot', async () => {
    const dir = await tempDir();
    const sockPath = path.join(dir, 'stand-in.sock');
    const decoder = new AgentMessageDecoder();
    const fromHub: AgentMessage[] = [];
    let guest: net.Socket | undefined;
    const server = net.createServer((s) => {
      guest = s;
      s.on('data', (chunk: Buffer) => {
        for (const item of decoder.push(chunk)) if (item.kind === 'message') fromHub.push(item.message);
      });
    });
    await new Promise<void>((resolve) => server.listen(sockPath, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    cleanups.push(() => {
      guest?.destroy();
    });
    const hub = await newHub();
    const stream = new StreamCollector(hub.stream('guest-1'));
    await hub.connectVirtio({ path: sockPath, backoff: { initialMs: 50, maxMs: 200 } });
    await until(() => guest !== undefined, 'the hub to connect');
    const send = (m: AgentMessage): boolean => guest?.write(encodeAgentMessage(m)) ?? false;
    const hello = (bootId: string): AgentMessage =>
      agentMessage('hello', { agentId: 'guest-1', bootId, os: { platform: 'linux', release: 'x', arch: 'x64' }, captureBackends: [], capabilities: [], version: '0', token: TOKEN, lastSeq: null, unacked: 0, overflowed: 0 });

    send(hello('boot-a'));
    await until(() => fromHub.some((m) => m.type === 'welcome'), 'welcome');
    send(agentMessage('events', { bootId: 'boot-a', events: [keyEvent(1), keyEvent(2)] }));
    await until(() => fromHub.some((m) => m.type === 'ack' && m.body.seq === 2), 'ack 2');
    send(hello('boot-b'));
    await until(() => fromHub.filter((m) => m.type === 'welcome').length === 2, 'second welcome');
    send(agentMessage('events', { bootId: 'boot-b', events: [keyEvent(1)] }));
    await stream.until((items) => items.some((i) => i.kind === 'event' && i.bootId === 'boot-b'), 'boot-b event');
    expect(stream.items.map((i) => i.kind)).toEqual(['connected', 'event', 'event', 'disconnected', 'boot-changed', 'connected', 'event']);
    expect(stream.of('boot-changed')[0]?.previous).toMatchObject({ bootId: 'boot-a', lastSeq: 2 });
  });

  it('takes a { stream } target: calls the factory for every connection, retries when it fails, runs sessions over what it returns', async () => {
    const dir = await tempDir();
    const sockPath = path.join(dir, 'forwarded.sock');
    const guests: net.Socket[] = [];
    const server = net.createServer((s) => {
      s.on('error', () => s.destroy());
      guests.push(s);
    });
    await new Promise<void>((resolve) => server.listen(sockPath, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    cleanups.push(() => {
      for (const g of guests) g.destroy();
    });
    let calls = 0;
    const stream = async (): Promise<net.Socket> => {
      calls++;
      // The second call fails as a broken forward would: the client backs off and calls again.
      if (calls === 2) throw new Error('forward refused');
      return new Promise<net.Socket>((resolve, reject) => {
        const socket = net.createConnection({ path: sockPath }, () => resolve(socket));
        socket.once('error', reject);
      });
    };
    const hub = await newHub();
    const client = await hub.connectVirtio({ stream, name: 'org.atp.agent.0', backoff: { initialMs: 50, maxMs: 200 } });
    expect(client.describe()).toBe('virtio-serial org.atp.agent.0 at custom stream');
    await until(() => guests.length === 1 && client.status().state === 'connected', 'the first connection through the factory');

    const decoder = new AgentMessageDecoder();
    const fromHub: AgentMessage[] = [];
    const guest = guests[0];
    guest?.on('data', (chunk: Buffer) => {
      for (const item of decoder.push(chunk)) if (item.kind === 'message') fromHub.push(item.message);
    });
    guest?.write(
      encodeAgentMessage(agentMessage('hello', { agentId: 'fwd-1', bootId: 'b1', os: { platform: 'linux', release: 'x', arch: 'x64' }, captureBackends: [], capabilities: [], version: '0', token: TOKEN, lastSeq: null, unacked: 0, overflowed: 0 })),
    );
    await until(() => fromHub.some((m) => m.type === 'welcome'), 'welcome over the factory stream');
    expect(hub.sessions().filter((s) => s.transport === 'virtio' && s.agentId === 'fwd-1')).toHaveLength(1);

    // The far end drops: the client calls the factory again (one refusal, then a new stream).
    guest?.destroy();
    await until(() => guests.length === 2 && client.status().connects === 2, 'the reconnection through the factory', 30_000);
    expect(calls).toBe(3);
    expect(client.status()).toMatchObject({ state: 'connected', path: 'custom stream' });
    expect(client.status().failures).toBeGreaterThanOrEqual(2);
    expect(client.status().lastError?.code).toBe('ATP_HUB_CHANNEL');
  });
});
