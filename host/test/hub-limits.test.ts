import { afterEach, describe, expect, it } from 'vitest';
import { agentMessage } from '@atp/protocol';
import { AgentHub, type HubLimits } from '../src/hub/index.js';
import { keyEvent, RawHubClient, until } from './support/hub-client.js';

const TOKEN = 'limits-token';
let hub: AgentHub | undefined;
const clients: RawHubClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.close();
  hub = undefined;
});

async function setup(limits: Partial<HubLimits>, pingIntervalMs = 5000): Promise<{ hub: AgentHub; connect: () => Promise<RawHubClient> }> {
  const h = await AgentHub.create({ auth: { tokens: [TOKEN] }, limits, timing: { pingIntervalMs, pingBurst: 0 } });
  hub = h;
  const { port } = await h.listenTcp();
  return {
    hub: h,
    connect: async () => {
      const c = await RawHubClient.connect({ tcp: { port } });
      clients.push(c);
      return c;
    },
  };
}

describe('agent hub limits', () => {
  it('refuses connections beyond maxSessions with ATP_HUB_LIMIT_SESSIONS, and admits again once one leaves', async () => {
    const { hub: h, connect } = await setup({ maxSessions: 2 });
    const a = await connect();
    a.hello({ agentId: 'a', bootId: 'b', token: TOKEN });
    await a.waitFor('welcome');
    const b = await connect();
    await until(() => h.metrics().connectionsActive === 2, 'two connections');
    const c = await connect();
    expect((await c.waitFor('error')).body).toMatchObject({ code: 'ATP_HUB_LIMIT_SESSIONS', fatal: true });
    await c.waitClosed();
    expect(h.metrics().connectionsRefused).toBe(1);
    b.close();
    await until(() => h.metrics().connectionsActive === 1, 'one connection');
    const d = await connect();
    d.hello({ agentId: 'd', bootId: 'b', token: TOKEN });
    await d.waitFor('welcome');
    a.events('b', [keyEvent(1)]);
    await a.waitForAck(1);
  });

  it('closes a session that exceeds its message rate with ATP_HUB_LIMIT_RATE', async () => {
    const { hub: h, connect } = await setup({ messagesPerSecond: 5, messageBurst: 5 });
    const fast = await connect();
    fast.hello({ agentId: 'fast', bootId: 'b', token: TOKEN });
    await fast.waitFor('welcome');
    for (let i = 0; i < 20; i++) fast.send(agentMessage('ping', { id: i, t1: i }));
    expect((await fast.waitFor('error')).body).toMatchObject({ code: 'ATP_HUB_LIMIT_RATE', fatal: true });
    await fast.waitClosed();
    expect(h.metrics().rateLimited).toBe(1);
    // A polite session on the same hub is unaffected.
    const slow = await connect();
    slow.hello({ agentId: 'slow', bootId: 'b', token: TOKEN });
    await slow.waitFor('welcome');
    slow.events('b', [keyEvent(1)]);
    await slow.waitForAck(1);
  });

  it('closes a connection that sends no hello in time with ATP_HUB_HELLO_TIMEOUT', async () => {
    const { hub: h, connect } = await setup({ helloTimeoutMs: 200 });
    const silent = await connect();
    expect((await silent.waitFor('error')).body.code).toBe('ATP_HUB_HELLO_TIMEOUT');
    await silent.waitClosed();
    expect(h.metrics().helloTimeouts).toBe(1);
  });

  it('closes a session that stops answering with ATP_HUB_IDLE_TIMEOUT', async () => {
    const { hub: h, connect } = await setup({ idleTimeoutMs: 400 }, 100);
    const mute = await connect();
    mute.setAnswerPings(false);
    mute.hello({ agentId: 'mute', bootId: 'b', token: TOKEN });
    await mute.waitFor('welcome');
    expect((await mute.waitFor('error')).body.code).toBe('ATP_HUB_IDLE_TIMEOUT');
    expect(h.metrics().idleTimeouts).toBe(1);
  });
});
