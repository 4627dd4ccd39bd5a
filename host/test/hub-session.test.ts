import { afterEach, describe, expect, it } from 'vitest';
import { agentMessage } from '@atp/protocol';
import { AgentHub, type TcpListener, type WsListener } from '../src/hub/index.js';
import { keyEvent, range, RawHubClient, until, type RawTarget } from './support/hub-client.js';
import { StreamCollector } from './support/hub-collect.js';

const TOKEN = 'secret-token';
let hub: AgentHub | undefined;
const clients: RawHubClient[] = [];

async function startHub(options: Partial<Parameters<typeof AgentHub.create>[0]> = {}): Promise<{ hub: AgentHub; tcp: TcpListener; ws: WsListener }> {
  hub = await AgentHub.create({ auth: { tokens: [TOKEN], agentTokens: { special: ['special-token'] } }, timing: { pingIntervalMs: 200 }, ...options });
  return { hub, tcp: await hub.listenTcp(), ws: await hub.listenWs() };
}

async function client(target: RawTarget): Promise<RawHubClient> {
  const c = await RawHubClient.connect(target);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.close();
  hub = undefined;
});

describe.each(['tcp', 'ws'] as const)('agent hub sessions over %s', (kind) => {
  const targetOf = (l: { tcp: TcpListener; ws: WsListener }): RawTarget => (kind === 'tcp' ? { tcp: { port: l.tcp.port } } : { ws: `ws://127.0.0.1:${l.ws.port}/` });

  it('welcomes a good token and refuses a wrong one with a fatal error, staying alive', async () => {
    const started = await startHub();
    const good = await client(targetOf(started));
    good.hello({ agentId: 'a1', bootId: 'b1', token: TOKEN });
    const welcome = await good.waitFor('welcome');
    expect(welcome.body.ackedSeq).toBeNull();
    expect(welcome.body.heartbeatMs).toBe(200);

    const bad = await client(targetOf(started));
    bad.hello({ agentId: 'a2', bootId: 'b1', token: 'wrong' });
    const error = await bad.waitFor('error');
    expect(error.body).toMatchObject({ code: 'ATP_HUB_AUTH', fatal: true });
    await bad.waitClosed();
    // A per-agent token list: the shared token is not enough for that agent id.
    const special = await client(targetOf(started));
    special.hello({ agentId: 'special', bootId: 'b1', token: TOKEN });
    expect((await special.waitFor('error')).body.code).toBe('ATP_HUB_AUTH');
    const special2 = await client(targetOf(started));
    special2.hello({ agentId: 'special', bootId: 'b1', token: 'special-token' });
    await special2.waitFor('welcome');

    expect(started.hub.metrics().authFailures).toBe(2);
    // The hub still serves the good session.
    good.events('b1', [keyEvent(1)]);
    await good.waitForAck(1);
    expect(started.hub.sessions().filter((s) => s.state === 'active').map((s) => s.agentId).sort()).toEqual(['a1', 'special']);
  });

  it('delivers events in order, drops resent seqs, acks cumulatively, resumes a reconnect and marks a new boot', async () => {
    const started = await startHub();
    const stream = new StreamCollector(started.hub.stream('vm1'));
    const a = await client(targetOf(started));
    a.hello({ agentId: 'vm1', bootId: 'boot-1', token: TOKEN });
    await a.waitFor('welcome');
    a.events('boot-1', range(1, 5).map((s) => keyEvent(s)));
    a.events('boot-1', range(3, 8).map((s) => keyEvent(s))); // 3..5 resent
    a.events('boot-1', [keyEvent(8), keyEvent(9)]); // 8 resent
    await a.waitForAck(9);
    const acks = a.received.filter((m) => m.type === 'ack').map((m) => (m.type === 'ack' ? m.body.seq : 0));
    expect(acks).toEqual([...acks].sort((x, y) => x - y));
    expect(a.received.every((m) => m.type !== 'ack' || m.body.bootId === 'boot-1')).toBe(true);
    expect(started.hub.metrics().duplicates).toBe(4);

    // Reconnect with the same boot: welcome.ackedSeq is the last committed seq; resending is harmless.
    a.close();
    await until(() => started.hub.sessions().every((s) => s.agentId !== 'vm1'), 'the old session to end');
    const b = await client(targetOf(started));
    b.hello({ agentId: 'vm1', bootId: 'boot-1', token: TOKEN, lastSeq: 11, unacked: 2 });
    expect((await b.waitFor('welcome')).body.ackedSeq).toBe(9);
    b.events('boot-1', range(9, 11).map((s) => keyEvent(s)));
    await b.waitForAck(11);

    // A new boot: the stream gets a boot-changed notice naming the last seq of the old boot.
    b.close();
    const c = await client(targetOf(started));
    c.hello({ agentId: 'vm1', bootId: 'boot-2', token: TOKEN, lastSeq: null, unacked: 0, overflowed: 3 });
    expect((await c.waitFor('welcome')).body.ackedSeq).toBeNull();
    c.events('boot-2', [keyEvent(1), keyEvent(2)]);
    await c.waitForAck(2);

    await stream.until((items) => items.filter((i) => i.kind === 'event').length === 13, '13 events');
    const events = stream.events();
    expect(events.map((e) => `${e.bootId}:${e.seq}`)).toEqual([...range(1, 11).map((s) => `boot-1:${s}`), 'boot-2:1', 'boot-2:2']);
    const changed = stream.of('boot-changed');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ bootId: 'boot-2', previous: { bootId: 'boot-1', lastSeq: 11, hello: { lastSeq: 11, unacked: 2 } }, hello: { overflowed: 3 } });
    expect(stream.of('connected').map((i) => i.ackedSeq)).toEqual([null, 9, null]);
    expect(stream.items.map((i) => i.index)).toEqual(range(0, stream.items.length - 1));
    expect(started.hub.metrics()).toMatchObject({ eventsDelivered: 13, duplicates: 5, bootChanges: 1, gaps: 0 });
  });

  it('accepts a gap but reports it in the stream and the counters', async () => {
    const started = await startHub();
    const stream = new StreamCollector(started.hub.stream({}));
    const a = await client(targetOf(started));
    a.hello({ agentId: 'gappy', bootId: 'b', token: TOKEN });
    await a.waitFor('welcome');
    a.events('b', [keyEvent(1), keyEvent(2), keyEvent(5)]);
    await a.waitForAck(5);
    await stream.until((items) => items.some((i) => i.kind === 'event' && i.seq === 5), 'seq 5');
    expect(stream.items.filter((i) => i.kind === 'event' || i.kind === 'gap').map((i) => (i.kind === 'gap' ? `gap${i.expected}-${i.got}` : i.kind === 'event' ? i.seq : 0))).toEqual([1, 2, 'gap3-5', 5]);
    expect(started.hub.metrics()).toMatchObject({ gaps: 1, gapMissing: 2 });
  });

  it('estimates the clock offset from pings and answers agent pings', async () => {
    const started = await startHub();
    const skew = 123_456;
    const a = await RawHubClient.connect(targetOf(started), { now: () => Date.now() + skew });
    clients.push(a);
    a.hello({ agentId: 'clocky', bootId: 'b', token: TOKEN });
    await a.waitFor('welcome');
    await until(() => (started.hub.clock('clocky')?.samples ?? 0) >= 3, 'three clock samples');
    const estimate = started.hub.clock('clocky');
    expect(estimate?.bootId).toBe('b');
    // Date.now() and the hub's performance clock agree to within a few ms; the skew dominates.
    expect(Math.abs((estimate?.offsetMs ?? 0) - skew)).toBeLessThan(1000);
    expect(estimate?.uncertaintyMs).toBeGreaterThanOrEqual(0);

    a.send(agentMessage('ping', { id: 7, t1: 42 }));
    const pong = await a.waitFor('pong', (m) => m.body.id === 7);
    expect(pong.body.t1).toBe(42);
    expect(pong.body.t3).toBeGreaterThanOrEqual(pong.body.t2);
  });

  it('refuses events for another boot and host-only messages as protocol errors', async () => {
    const started = await startHub();
    const a = await client(targetOf(started));
    a.hello({ agentId: 'p1', bootId: 'b1', token: TOKEN });
    await a.waitFor('welcome');
    a.events('other-boot', [keyEvent(1)]);
    expect((await a.waitFor('error')).body).toMatchObject({ code: 'ATP_HUB_PROTOCOL', fatal: true });
    await a.waitClosed();

    const b = await client(targetOf(started));
    b.events('b1', [keyEvent(1)]);
    expect((await b.waitFor('error')).body.code).toBe('ATP_HUB_PROTOCOL');
    const c = await client(targetOf(started));
    c.hello({ agentId: 'p3', bootId: 'b1', token: TOKEN });
    await c.waitFor('welcome');
    c.send(agentMessage('ack', { bootId: 'b1', seq: 1 }));
    expect((await c.waitFor('error')).body.code).toBe('ATP_HUB_PROTOCOL');
    expect(started.hub.metrics().protocolErrors).toBe(3);
  });

  it('supersedes an older session of the same agent', async () => {
    const started = await startHub();
    const a = await client(targetOf(started));
    a.hello({ agentId: 'dup', bootId: 'b', token: TOKEN });
    await a.waitFor('welcome');
    const b = await client(targetOf(started));
    b.hello({ agentId: 'dup', bootId: 'b', token: TOKEN });
    await b.waitFor('welcome');
    expect((await a.waitFor('error')).body.code).toBe('ATP_HUB_SUPERSEDED');
    await a.waitClosed();
    b.events('b', [keyEvent(1)]);
    await b.waitForAck(1);
    expect(started.hub.metrics().superseded).toBe(1);
  });
});

describe('agent problems at the hub', () => {
  it('keeps the problems of a hello in the connected notice and journals a non-fatal error as a problem, the session going on', async () => {
    const started = await startHub();
    const stream = new StreamCollector(started.hub.stream('pc1'));
    const a = await client({ tcp: { port: started.tcp.port } });
    const limit = { code: 'ATP_CAPTURE_DEVICE_LIMIT', message: 'not capturing event9', since: 5, details: { device: 'event9' } };
    a.hello({ agentId: 'pc1', bootId: 'b1', token: TOKEN, problems: [limit] });
    await a.waitFor('welcome');
    a.send(agentMessage('error', { code: 'ATP_AGENT_STALLED', message: 'link was stuck', fatal: false, since: 7, resolvedAt: 9, details: { part: 'link' } }));
    a.events('b1', [keyEvent(1)]);
    await a.waitForAck(1);
    await stream.until((items) => items.some((i) => i.kind === 'event'), 'the event');
    expect(stream.of('connected')[0]?.hello.problems).toEqual([limit]);
    expect(stream.of('problem').map((i) => i.problem)).toEqual([{ code: 'ATP_AGENT_STALLED', message: 'link was stuck', since: 7, resolvedAt: 9, details: { part: 'link' } }]);
    expect(started.hub.agentHello('pc1')?.problems).toEqual([limit]);
    expect(started.hub.agentHello('pc1')).not.toHaveProperty('token');
    expect(started.hub.sessions().filter((s) => s.state === 'active')).toHaveLength(1);
  });
});
