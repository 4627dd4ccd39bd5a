/**
 * Sessions bound to VMs (host/src/hub/bindings.ts), over real sockets in this
 * process: clones with one hello agentId told apart by bound tokens and their
 * SMBIOS UUIDs, refusals (wrong VM, another VM's token on a bound channel, a
 * bound key claimed without its binding) as typed ATP_HUB_IDENTITY errors,
 * unbinding, and a hub without bindings behaving as before. A unix socket the
 * test serves stands in for QEMU's chardev (the hub is its client), as in
 * hub-virtio.test.ts; the real chardev with real agents is test/e2e-identity.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentMessageDecoder, agentMessage, encodeAgentMessage, type AgentMessage, type AgentMessageOf, type AgentMessageType, type HelloBody } from '@atp/protocol';
import { AgentHub, type TcpListener } from '../src/hub/index.js';
import { keyEvent, RawHubClient, until } from './support/hub-client.js';
import { StreamCollector } from './support/hub-collect.js';

const HUB_TOKEN = 'hub-wide-token';
const UUID_A = '6a1f4c2e-0b3d-4e5f-8a9b-0c1d2e3f4a5b';
const UUID_B = 'd4c3b2a1-9f8e-4d7c-b6a5-948372615041';
const UUID_C = '00112233-4455-4677-8899-aabbccddeeff';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startHub(): Promise<{ hub: AgentHub; tcp: TcpListener }> {
  const hub = await AgentHub.create({ auth: { tokens: [HUB_TOKEN] }, timing: { pingIntervalMs: 200 } });
  cleanups.push(() => hub.close());
  return { hub, tcp: await hub.listenTcp() };
}

async function agent(tcp: TcpListener): Promise<RawHubClient> {
  const c = await RawHubClient.connect({ tcp: { port: tcp.port } });
  cleanups.push(() => c.close());
  return c;
}

/** The guest end of a stand-in chardev: what the hub sent on this connection, and a way to answer. */
class GuestEnd {
  readonly received: AgentMessage[] = [];
  closed = false;
  private readonly decoder = new AgentMessageDecoder();

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.decoder.push(chunk)) if (item.kind === 'message') this.received.push(item.message);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }

  hello(body: Partial<HelloBody> & Pick<HelloBody, 'agentId' | 'bootId' | 'token'>): void {
    const full: HelloBody = { os: { platform: 'linux', release: 'x', arch: 'x64' }, captureBackends: [], capabilities: [], version: '0', lastSeq: null, unacked: 0, overflowed: 0, ...body };
    this.socket.write(encodeAgentMessage(agentMessage('hello', full)));
  }

  events(bootId: string, seqs: number[]): void {
    this.socket.write(encodeAgentMessage(agentMessage('events', { bootId, events: seqs.map((s) => keyEvent(s)) })));
  }

  async waitFor<T extends AgentMessageType>(type: T): Promise<AgentMessageOf<T>> {
    await until(() => this.received.some((m) => m.type === type), `${type} from the hub`);
    return this.received.find((m): m is AgentMessageOf<T> => m.type === type) as AgentMessageOf<T>;
  }
}

/** A unix socket standing in for a VM's chardev: every connection the hub makes is a new GuestEnd. */
async function standInChannel(): Promise<{ path: string; guests: GuestEnd[]; next(count: number): Promise<GuestEnd> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-hub-identity-'));
  const sockPath = path.join(dir, 'agent.sock');
  const guests: GuestEnd[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    guests.push(new GuestEnd(s));
  });
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  return {
    path: sockPath,
    guests,
    /** The `count`-th connection (1-based), once the hub made it. */
    async next(count: number): Promise<GuestEnd> {
      await until(() => guests.length >= count, `hub connection ${count} to the channel`);
      return guests[count - 1] as GuestEnd;
    },
  };
}

describe('sessions bound to VMs', () => {
  it('tells clones with one agentId apart by their bound tokens: each gets its own key, and its events land only there', async () => {
    const { hub, tcp } = await startHub();
    hub.bind({ token: 'token-a', key: 'vm-a', vmUuid: UUID_A });
    // Upper case from the host is fine: compared lower case.
    hub.bind({ token: 'token-b', key: 'desk-07@hv1', vmUuid: UUID_B.toUpperCase() });
    const streamA = new StreamCollector(hub.stream('vm-a'));
    const streamB = new StreamCollector(hub.stream('desk-07@hv1'));
    const a = await agent(tcp);
    const b = await agent(tcp);
    a.hello({ agentId: 'desk', bootId: 'boot-a', token: 'token-a', vmUuid: UUID_A });
    await a.waitFor('welcome');
    b.hello({ agentId: 'desk', bootId: 'boot-b', token: 'token-b', vmUuid: UUID_B });
    await b.waitFor('welcome');
    a.events('boot-a', [keyEvent(1, 'KEY_A'), keyEvent(2, 'KEY_A', 'up')]);
    b.events('boot-b', [keyEvent(1, 'KEY_B'), keyEvent(2, 'KEY_B', 'up'), keyEvent(3, 'KEY_C')]);
    await a.waitForAck(2);
    await b.waitForAck(3);
    await streamA.until((items) => items.filter((i) => i.kind === 'event').length === 2, 'vm-a events');
    await streamB.until((items) => items.filter((i) => i.kind === 'event').length === 3, 'desk-07@hv1 events');

    expect(streamA.events().map((e) => [e.agentId, e.event.kind === 'key' ? e.event.key : '?'])).toEqual([
      ['vm-a', 'KEY_A'],
      ['vm-a', 'KEY_A'],
    ]);
    expect(streamB.events().map((e) => (e.event.kind === 'key' ? e.event.key : '?'))).toEqual(['KEY_B', 'KEY_B', 'KEY_C']);
    // Neither superseded the other, although both said "desk".
    expect(hub.metrics().superseded).toBe(0);
    expect(a.received.some((m) => m.type === 'error')).toBe(false);
    const status = hub.sessions().map(({ agentId, helloAgentId, vmUuid, state }) => ({ agentId, helloAgentId, vmUuid, state }));
    expect(status.sort((x, y) => String(x.agentId).localeCompare(String(y.agentId)))).toEqual([
      { agentId: 'desk-07@hv1', helloAgentId: 'desk', vmUuid: UUID_B, state: 'active' },
      { agentId: 'vm-a', helloAgentId: 'desk', vmUuid: UUID_A, state: 'active' },
    ]);
    // What the agent said stays visible; the key is what the hub files it under.
    expect(hub.agentHello('vm-a')).toMatchObject({ agentId: 'desk', key: 'vm-a', vmUuid: UUID_A, bootId: 'boot-a' });
    expect(hub.agentHello('vm-a')).not.toHaveProperty('token');
    expect(hub.agentHello('desk')).toBeUndefined();
    expect(streamA.of('connected')[0]?.hello).toMatchObject({ agentId: 'desk', vmUuid: UUID_A });
    await until(() => hub.clock('vm-a') !== undefined && hub.clock('desk-07@hv1') !== undefined, 'both clock estimates');
    expect(hub.clock('vm-a')).toMatchObject({ agentId: 'vm-a', bootId: 'boot-a' });
    expect(hub.clock('desk')).toBeUndefined();
  });

  it('refuses a bound token from the wrong VM or without a vmUuid, and a bound key claimed without its binding, with ATP_HUB_IDENTITY', async () => {
    const { hub, tcp } = await startHub();
    hub.bind({ token: 'token-a', key: 'vm-a', vmUuid: UUID_A });

    const wrongVm = await agent(tcp);
    wrongVm.hello({ agentId: 'desk', bootId: 'b1', token: 'token-a', vmUuid: UUID_C });
    const refusal = await wrongVm.waitFor('error');
    expect(refusal.body).toMatchObject({ code: 'ATP_HUB_IDENTITY', fatal: true, details: { reason: 'ATP_HUB_IDENTITY', key: 'vm-a', expectedVmUuid: UUID_A, presentedVmUuid: UUID_C, agentId: 'desk' } });
    for (const part of ['vm-a', UUID_A, UUID_C, 'desk']) expect(refusal.body.message).toContain(part);
    await wrongVm.waitClosed();

    const noUuid = await agent(tcp);
    noUuid.hello({ agentId: 'desk', bootId: 'b1', token: 'token-a' });
    expect((await noUuid.waitFor('error')).body).toMatchObject({ code: 'ATP_HUB_IDENTITY', details: { key: 'vm-a', presentedVmUuid: null } });

    // The shared token cannot speak as a bound key.
    const claimer = await agent(tcp);
    claimer.hello({ agentId: 'vm-a', bootId: 'b1', token: HUB_TOKEN, vmUuid: UUID_A });
    expect((await claimer.waitFor('error')).body).toMatchObject({ code: 'ATP_HUB_IDENTITY', details: { key: 'vm-a', agentId: 'vm-a' } });

    // An unknown token is still an auth failure, counted apart.
    const stranger = await agent(tcp);
    stranger.hello({ agentId: 'desk', bootId: 'b1', token: 'nobody', vmUuid: UUID_A });
    expect((await stranger.waitFor('error')).body.code).toBe('ATP_HUB_AUTH');

    // A vmUuid not in canonical lower case is a schema error (the agent lowercases what it reads).
    const upper = await agent(tcp);
    const helloBody = { agentId: 'desk', bootId: 'b1', token: 'token-a', vmUuid: UUID_A.toUpperCase(), os: { platform: 'linux', release: 'x', arch: 'x64' } };
    const raw = { v: 1, type: 'hello', body: { ...helloBody, captureBackends: [], capabilities: [], version: '0', lastSeq: null, unacked: 0, overflowed: 0 } };
    upper.sendRaw(`${JSON.stringify(raw)}\n`);
    expect((await upper.waitFor('error')).body.code).toBe('ATP_SCHEMA_INVALID');

    expect(hub.metrics()).toMatchObject({ identityRefusals: 3, authFailures: 1, sessionsAdmitted: 0 });
    expect(hub.refusals().map((r) => [r.code, r.key ?? null, r.agentId, r.vmUuid ?? null, r.transport])).toEqual([
      ['ATP_HUB_IDENTITY', 'vm-a', 'desk', UUID_C, 'tcp'],
      ['ATP_HUB_IDENTITY', 'vm-a', 'desk', null, 'tcp'],
      ['ATP_HUB_IDENTITY', 'vm-a', 'vm-a', UUID_A, 'tcp'],
      ['ATP_HUB_AUTH', null, 'desk', UUID_A, 'tcp'],
    ]);
    expect(hub.sessions().filter((s) => s.state === 'active')).toEqual([]);

    // The right VM still gets in.
    const right = await agent(tcp);
    right.hello({ agentId: 'desk', bootId: 'b1', token: 'token-a', vmUuid: UUID_A });
    await right.waitFor('welcome');
  });

  it('names every session on a bound channel by its key, and refuses another VM, another key\'s token or an unknown token there', async () => {
    const { hub } = await startHub();
    hub.bind({ token: 'token-a', key: 'vm-a', vmUuid: UUID_A });
    hub.bind({ token: 'token-b', key: 'vm-b' });
    const channel = await standInChannel();
    const stream = new StreamCollector(hub.stream('vm-b'));
    await hub.connectVirtio({ path: channel.path, bind: { key: 'vm-b', vmUuid: UUID_B }, backoff: { initialMs: 20, maxMs: 100 } });

    // vm-a's token (and even vm-a's UUID) on vm-b's channel.
    const first = await channel.next(1);
    first.hello({ agentId: 'desk', bootId: 'b1', token: 'token-a', vmUuid: UUID_A });
    const refusal = await first.waitFor('error');
    expect(refusal.body).toMatchObject({ code: 'ATP_HUB_IDENTITY', details: { key: 'vm-b', tokenKey: 'vm-a', agentId: 'desk' } });
    expect(refusal.body.message).toContain("token of vm-a presented on vm-b's channel");

    // The hub-wide token from another VM (wrong UUID); the refusal closes the connection and the hub reconnects.
    const second = await channel.next(2);
    second.hello({ agentId: 'desk', bootId: 'b1', token: HUB_TOKEN, vmUuid: UUID_C });
    expect((await second.waitFor('error')).body).toMatchObject({ code: 'ATP_HUB_IDENTITY', details: { key: 'vm-b', expectedVmUuid: UUID_B, presentedVmUuid: UUID_C } });

    const third = await channel.next(3);
    third.hello({ agentId: 'desk', bootId: 'b1', token: 'unknown', vmUuid: UUID_B });
    expect((await third.waitFor('error')).body).toMatchObject({ code: 'ATP_HUB_AUTH', details: { key: 'vm-b' } });

    // The right VM with the hub-wide token, then after an agent restart with vm-b's own token: both are vm-b.
    const fourth = await channel.next(4);
    fourth.hello({ agentId: 'desk', bootId: 'b1', token: HUB_TOKEN, vmUuid: UUID_B });
    await fourth.waitFor('welcome');
    fourth.events('b1', [1, 2]);
    await until(() => fourth.received.some((m) => m.type === 'ack' && m.body.seq === 2), 'ack 2');
    fourth.hello({ agentId: 'renamed', bootId: 'b2', token: 'token-b', vmUuid: UUID_B });
    await until(() => fourth.received.filter((m) => m.type === 'welcome').length === 2, 'the second welcome on the channel');
    fourth.events('b2', [1]);
    await stream.until((items) => items.some((i) => i.kind === 'event' && i.bootId === 'b2'), 'the event of boot b2');
    expect(stream.items.map((i) => `${i.kind}:${i.agentId}`)).toEqual(['connected:vm-b', 'event:vm-b', 'event:vm-b', 'disconnected:vm-b', 'boot-changed:vm-b', 'connected:vm-b', 'event:vm-b']);
    expect(hub.sessions().filter((s) => s.state === 'active').map((s) => [s.agentId, s.helloAgentId, s.transport])).toEqual([['vm-b', 'renamed', 'virtio']]);
    expect(hub.metrics()).toMatchObject({ identityRefusals: 2, authFailures: 1 });
    expect(hub.refusals().map((r) => [r.code, r.key, r.transport])).toEqual([
      ['ATP_HUB_IDENTITY', 'vm-b', 'virtio'],
      ['ATP_HUB_IDENTITY', 'vm-b', 'virtio'],
      ['ATP_HUB_AUTH', 'vm-b', 'virtio'],
    ]);
  });

  it('accepts a hello without vmUuid on a bound channel with the hub-wide token (the channel is the VM\'s own), but not with a UUID-bound token', async () => {
    const { hub } = await startHub();
    hub.bind({ token: 'token-c', key: 'vm-c', vmUuid: UUID_C });
    const channel = await standInChannel();
    await hub.connectVirtio({ path: channel.path, bind: { key: 'vm-c', vmUuid: UUID_C }, backoff: { initialMs: 20, maxMs: 100 } });
    const first = await channel.next(1);
    first.hello({ agentId: 'old-agent', bootId: 'b1', token: 'token-c' });
    expect((await first.waitFor('error')).body).toMatchObject({ code: 'ATP_HUB_IDENTITY', details: { key: 'vm-c', expectedVmUuid: UUID_C, presentedVmUuid: null } });
    const second = await channel.next(2);
    second.hello({ agentId: 'old-agent', bootId: 'b1', token: HUB_TOKEN });
    await second.waitFor('welcome');
    expect(hub.sessions().filter((s) => s.state === 'active').map((s) => [s.agentId, s.helloAgentId])).toEqual([['vm-c', 'old-agent']]);
  });

  it('unbinds: the live session ends, the token is refused, the key is free again; bad bindings are refused up front', async () => {
    const { hub, tcp } = await startHub();
    const unbind = hub.bind({ token: 'token-a', key: 'vm-a', vmUuid: UUID_A });
    const a = await agent(tcp);
    a.hello({ agentId: 'desk', bootId: 'b1', token: 'token-a', vmUuid: UUID_A });
    await a.waitFor('welcome');

    unbind();
    unbind(); // idempotent
    expect((await a.waitFor('error')).body).toMatchObject({ code: 'ATP_HUB_AUTH', details: { key: 'vm-a' } });
    await a.waitClosed();
    const again = await agent(tcp);
    again.hello({ agentId: 'desk', bootId: 'b2', token: 'token-a', vmUuid: UUID_A });
    expect((await again.waitFor('error')).body.code).toBe('ATP_HUB_AUTH');
    const plain = await agent(tcp);
    plain.hello({ agentId: 'vm-a', bootId: 'b3', token: HUB_TOKEN });
    await plain.waitFor('welcome');

    const invalid = (binding: Parameters<AgentHub['bind']>[0], field: string): void => {
      expect(() => hub.bind(binding)).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID', details: expect.objectContaining({ field }) }));
    };
    hub.bind({ token: 'token-x', key: 'vm-x' });
    invalid({ token: 'token-y', key: 'vm-x' }, 'bind.key');
    invalid({ token: 'token-x', key: 'vm-y' }, 'bind.token');
    invalid({ token: HUB_TOKEN, key: 'vm-y' }, 'bind.token');
    invalid({ token: '', key: 'vm-y' }, 'bind.token');
    invalid({ token: 'token-y', key: ' vm-y' }, 'bind.key');
    invalid({ token: 'token-y', key: 'vm-y', vmUuid: 'not-a-uuid' }, 'bind.vmUuid');

    // One open channel per key; closing the channel frees it.
    const channel = await standInChannel();
    const first = await hub.connectVirtio({ path: channel.path, bind: { key: 'vm-c' } });
    await expect(hub.connectVirtio({ path: channel.path, bind: { key: 'vm-c' } })).rejects.toMatchObject({ code: 'ATP_SCHEMA_INVALID' });
    await first.close();
    const second = await hub.connectVirtio({ path: channel.path, bind: { key: 'vm-c' }, backoff: { initialMs: 20, maxMs: 100 } });
    const guest = await channel.next(2);
    guest.hello({ agentId: 'whoever', bootId: 'b1', token: HUB_TOKEN });
    await guest.waitFor('welcome');
    expect(hub.sessions().find((s) => s.transport === 'virtio' && s.state === 'active')).toMatchObject({ agentId: 'vm-c', helloAgentId: 'whoever', vmUuid: undefined });
    await second.close();
  });

  it('without bindings, keys sessions by the hello agentId as before: the same id supersedes, and a vmUuid is only reported', async () => {
    const { hub, tcp } = await startHub();
    const stream = new StreamCollector(hub.stream('desk'));
    const first = await agent(tcp);
    first.hello({ agentId: 'desk', bootId: 'b1', token: HUB_TOKEN, vmUuid: UUID_A });
    await first.waitFor('welcome');
    const second = await agent(tcp);
    second.hello({ agentId: 'desk', bootId: 'b2', token: HUB_TOKEN, vmUuid: UUID_B });
    await second.waitFor('welcome');
    expect((await first.waitFor('error')).body.code).toBe('ATP_HUB_SUPERSEDED');
    expect(hub.metrics()).toMatchObject({ superseded: 1, identityRefusals: 0 });
    await until(() => hub.sessions().length === 1, 'the superseded session to go');
    expect(hub.sessions()[0]).toMatchObject({ agentId: 'desk', helloAgentId: 'desk', vmUuid: UUID_B });
    expect(hub.agentHello('desk')).toMatchObject({ agentId: 'desk', key: 'desk', vmUuid: UUID_B });
    await stream.until((items) => items.filter((i) => i.kind === 'connected').length === 2, 'both connected notices');
    const hellos = stream.of('connected').map((i) => i.hello);
    // The summary names no other agentId when the key is the hello's own.
    expect(hellos.map((h) => [h.agentId, h.vmUuid])).toEqual([
      [undefined, UUID_A],
      [undefined, UUID_B],
    ]);
  });
});
