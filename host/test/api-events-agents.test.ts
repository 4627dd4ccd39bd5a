/**
 * The producers behind /api/v1/events on a real server and hub: an agent
 * session (the raw hub client over the server's /ws) that comes and goes
 * shows up as `agent` events; metrics samples arrive every interval and list
 * the agent's events and last-event time, and GET /api/v1/metrics answers
 * the latest one; the server's log lines arrive as `log` events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiAgentEventDataSchema, ApiMetricsSampleSchema } from '@atp/protocol';
import { startEventProducers, type EventProducers } from '../src/api/v1/events/producers.js';
import { keyEvent, RawHubClient } from './support/hub-client.js';
import { EventsTestClient, startEventsRig, until, type EventsRig } from './api-events-support.js';

let rig: EventsRig;
let producers: EventProducers;
beforeAll(async () => {
  rig = await startEventsRig();
  producers = startEventProducers(rig.context, { intervalMs: 200 });
});
afterAll(async () => {
  await producers.stop();
  await rig.close();
});

async function subscribed(kinds: ('agent' | 'metrics' | 'log')[]): Promise<EventsTestClient> {
  const client = await EventsTestClient.open(rig.eventsUrl, { authorization: `Bearer ${rig.token}` });
  const ready = await client.next('ready');
  client.send({ type: 'subscribe', after: ready.lastIndex, kinds });
  await until(() => rig.server.events?.stats().filter((s) => s.subscribed).length === 1, 'the subscription');
  return client;
}

describe('agent events', () => {
  it('announces an agent session that connects, sends events and goes away, and the metrics list its activity', async () => {
    const watcher = await subscribed(['agent', 'metrics']);
    const agent = await RawHubClient.connect({ ws: rig.server.wsUrl });
    agent.hello({ agentId: 'guest-1', bootId: 'boot-a', token: rig.hubToken });
    await agent.waitFor('welcome');
    agent.events('boot-a', [keyEvent(1), keyEvent(2, 'KEY_A', 'up'), keyEvent(3, 'KEY_B')]);
    await agent.waitForAck(3);
    agent.close();

    const agentData = (): ReturnType<typeof ApiAgentEventDataSchema.parse>[] => watcher.events.filter((e) => e.kind === 'agent').map((e) => ApiAgentEventDataSchema.parse(e.data));
    await until(() => agentData().some((d) => d.type === 'disconnected' && d.agentId === 'guest-1'), 'the disconnected event of guest-1');
    const mine = agentData().filter((d) => d.agentId === 'guest-1');
    expect(mine.map((d) => d.type)).toEqual(['connected', 'disconnected']);
    expect(mine[0]).toMatchObject({ type: 'connected', bootId: 'boot-a', transport: 'ws', version: '0.0.0-test', os: 'linux test x64' });
    expect(mine[1]).toMatchObject({ type: 'disconnected', bootId: 'boot-a', lastSeq: 3 });
    expect(mine[0]?.sessionId).toBe(mine[1]?.sessionId);

    // A metrics sample after the events lists the agent, no longer connected, with its three events.
    await until(
      () => watcher.events.some((e) => e.kind === 'metrics' && ApiMetricsSampleSchema.parse(e.data).agents.some((a) => a.agentId === 'guest-1' && !a.connected)),
      'a metrics sample listing guest-1 as gone',
    );
    const sample = ApiMetricsSampleSchema.parse(watcher.events.filter((e) => e.kind === 'metrics').at(-1)?.data);
    expect(sample.agents.find((a) => a.agentId === 'guest-1')).toMatchObject({ connected: false, events: 3 });
    expect(Date.parse(sample.agents.find((a) => a.agentId === 'guest-1')?.lastEventAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(sample.eventsTotal).toBeGreaterThanOrEqual(3);
    expect(sample.eventClients).toBe(1);
    expect(sample.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    watcher.close();
  });

  it('shows a connected agent as connected in GET /api/v1/metrics, with the rates of the interval', async () => {
    const agent = await RawHubClient.connect({ ws: rig.server.wsUrl });
    agent.hello({ agentId: 'guest-2', bootId: 'boot-b', token: rig.hubToken });
    await agent.waitFor('welcome');
    agent.events('boot-b', Array.from({ length: 20 }, (_, i) => keyEvent(i + 1)));
    await agent.waitForAck(20);
    const read = async (): Promise<ReturnType<typeof ApiMetricsSampleSchema.parse>> => {
      const response = await fetch(`${rig.server.httpUrl}/api/v1/metrics`, { headers: { authorization: `Bearer ${rig.token}` } });
      expect(response.status).toBe(200);
      return ApiMetricsSampleSchema.parse(await response.json());
    };
    // Samples are taken every 200 ms: poll until one was taken after the acks.
    let sample = await read();
    const deadline = Date.now() + 20_000;
    while (!sample.agents.some((a) => a.agentId === 'guest-2' && a.events === 20)) {
      if (Date.now() > deadline) throw new Error(`no sample with guest-2 and its 20 events: ${JSON.stringify(sample.agents)}`);
      await new Promise((r) => setTimeout(r, 50));
      sample = await read();
    }
    expect(sample.sessions).toBe(1);
    expect(sample.agents.find((a) => a.agentId === 'guest-2')?.connected).toBe(true);
    expect(sample.intervalMs).toBeGreaterThan(0);
    expect(sample.eventLoopDelay.p99Ms).toBeGreaterThanOrEqual(sample.eventLoopDelay.p50Ms);
    agent.close();
    const unauthenticated = await fetch(`${rig.server.httpUrl}/api/v1/metrics`);
    expect(unauthenticated.status).toBe(401);
  });
});

describe('log events', () => {
  it('publishes each server log line', async () => {
    const watcher = await subscribed(['log']);
    rig.context.log('api: something worth seeing');
    await until(() => watcher.events.length === 1, 'the log event');
    expect(watcher.events[0]?.data).toEqual({ line: 'api: something worth seeing' });
    expect(rig.lines).toContain('api: something worth seeing');
    watcher.close();
  });
});
