/**
 * /api/v1/events on a real server with real WebSockets: who may connect
 * (cookie, first-message token; a token in the URL, a foreign Origin or a
 * wrong bearer header refused before the handshake with the API's error
 * body; a wrong or missing auth message closed with a code and reason), the
 * subscription (filters, gap, bad messages), the hub's /ws beside it, and
 * the keep-alive that drops a client that stopped answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiErrorSchema, EVENTS_CLOSE_CODES } from '@atp/protocol';
import { RawHubClient } from './support/hub-client.js';
import { EventsTestClient, refusedUpgrade, signIn, startEventsRig, TcpProxy, until, type EventsRig } from './api-events-support.js';

let rig: EventsRig;
beforeAll(async () => {
  rig = await startEventsRig({ events: { authTimeoutMs: 500 } });
});
afterAll(async () => {
  await rig.close();
});

const errorCode = (body: string): string => ApiErrorSchema.parse(JSON.parse(body)).error.code;

describe('authentication', () => {
  it('takes the console session cookie (with the server Origin): ready at once, then the events it subscribes to', async () => {
    const cookie = await signIn(rig);
    const client = await EventsTestClient.open(rig.eventsUrl, { cookie, origin: rig.origin });
    const ready = await client.next('ready');
    expect(ready.lastIndex).toBe(rig.events.lastIndex);
    client.send({ type: 'subscribe', after: ready.lastIndex });
    const published = rig.events.publish({ kind: 'log', data: { line: 'cookie client sees this' } });
    await until(() => client.events.length === 1, 'the event');
    expect(client.events[0]).toEqual(published);
    client.close();
  });

  it('takes the token as the first message', async () => {
    const client = await EventsTestClient.open(rig.eventsUrl);
    client.send({ type: 'auth', token: rig.token });
    const ready = await client.next('ready');
    client.send({ type: 'subscribe', after: ready.lastIndex });
    rig.events.publish({ kind: 'log', data: { line: 'token client sees this' } });
    await until(() => client.events.length === 1, 'the event');
    expect(client.events[0]?.data).toEqual({ line: 'token client sees this' });
    client.close();
  });

  it('closes a wrong token with 4401 and says why', async () => {
    const client = await EventsTestClient.open(rig.eventsUrl);
    client.send({ type: 'auth', token: 'not-the-token' });
    const closed = await client.closed();
    expect(closed.code).toBe(EVENTS_CLOSE_CODES.auth);
    expect(closed.reason).toMatch(/^ATP_API_AUTH: wrong API token/);
    expect(client.messages).toEqual([{ type: 'error', error: { code: 'ATP_API_AUTH', message: 'wrong API token' } }]);
  });

  it('closes a client that subscribes before it authenticates (4401) and one that never authenticates (4408)', async () => {
    const eager = await EventsTestClient.open(rig.eventsUrl);
    eager.send({ type: 'subscribe', after: 0 });
    expect((await eager.closed()).code).toBe(EVENTS_CLOSE_CODES.auth);
    const silent = await EventsTestClient.open(rig.eventsUrl);
    const closed = await silent.closed();
    expect(closed.code).toBe(EVENTS_CLOSE_CODES.authTimeout);
    expect(closed.reason).toMatch(/^ATP_API_AUTH: no auth message within 500 ms/);
    expect(silent.events).toEqual([]);
  });

  it('refuses a token in the URL with 401 before the handshake, even with a valid cookie', async () => {
    const cookie = await signIn(rig);
    for (const key of ['token', 'access_token']) {
      const refused = await refusedUpgrade(`${rig.eventsUrl}?${key}=${rig.token}`, { cookie, origin: rig.origin });
      expect(refused.status).toBe(401);
      expect(errorCode(refused.body)).toBe('ATP_API_AUTH');
    }
  });

  it('refuses a foreign Origin with 403 before the handshake, even with a valid cookie', async () => {
    const cookie = await signIn(rig);
    const refused = await refusedUpgrade(rig.eventsUrl, { cookie, origin: 'http://evil.example' });
    expect(refused.status).toBe(403);
    expect(errorCode(refused.body)).toBe('ATP_API_ORIGIN');
    expect(rig.lines.some((l) => l.includes('ATP_API_ORIGIN'))).toBe(true);
  });

  it('refuses a wrong bearer header with 401 and takes a right one', async () => {
    const refused = await refusedUpgrade(rig.eventsUrl, { authorization: 'Bearer nope' });
    expect(refused.status).toBe(401);
    expect(errorCode(refused.body)).toBe('ATP_API_AUTH');
    const client = await EventsTestClient.open(rig.eventsUrl, { authorization: `Bearer ${rig.token}` });
    await client.next('ready');
    client.close();
  });
});

describe('subscription', () => {
  it('filters by kind and by run id, in index order', async () => {
    const all = await EventsTestClient.open(rig.eventsUrl, { authorization: `Bearer ${rig.token}` });
    const runOnly = await EventsTestClient.open(rig.eventsUrl, { authorization: `Bearer ${rig.token}` });
    const after = (await all.next('ready')).lastIndex;
    await runOnly.next('ready');
    all.send({ type: 'subscribe', after });
    runOnly.send({ type: 'subscribe', after, kinds: ['run'], runId: 'run-b' });
    const published = [
      rig.events.publish({ kind: 'run', runId: 'run-a', data: { type: 'x', n: 1 } }),
      rig.events.publish({ kind: 'run', runId: 'run-b', data: { type: 'x', n: 2 } }),
      rig.events.publish({ kind: 'metrics', data: { n: 3 } }),
      rig.events.publish({ kind: 'run', runId: 'run-b', data: { type: 'x', n: 4 } }),
    ];
    await until(() => all.events.length === 4 && runOnly.events.length === 2, 'the filtered events');
    expect(all.events).toEqual(published);
    expect(runOnly.events.map((e) => e.data['n'])).toEqual([2, 4]);
    all.close();
    runOnly.close();
  });

  it('closes a malformed message, an unknown kind and a second subscribe with 4400 naming the problem', async () => {
    const cases: [unknown[], RegExp][] = [
      [['not json'], /^ATP_SCHEMA_INVALID: events: a client message must be one JSON text frame/],
      [[{ type: 'subscribe', after: 0, kinds: ['nope'] }], /^ATP_SCHEMA_INVALID: .*kinds\[0\]/],
      [[{ type: 'subscribe', after: -1 }], /^ATP_SCHEMA_INVALID: .*after/],
      [[{ type: 'subscribe', after: 0 }, { type: 'subscribe', after: 0 }], /^ATP_SCHEMA_INVALID: events: one subscribe per connection/],
    ];
    for (const [messages, reason] of cases) {
      const client = await EventsTestClient.open(rig.eventsUrl, { authorization: `Bearer ${rig.token}` });
      await client.next('ready');
      for (const m of messages) {
        if (typeof m === 'string') client.ws.send(m);
        else client.send(m);
      }
      const closed = await client.closed();
      expect(closed.code, JSON.stringify(messages)).toBe(EVENTS_CLOSE_CODES.badMessage);
      expect(closed.reason).toMatch(reason);
    }
  });

  it('says `gap` when the log no longer holds what was asked, then sends the rest; an index from another epoch starts over', async () => {
    const small = await startEventsRig({ capacity: 10 });
    try {
      for (let i = 1; i <= 30; i++) small.events.publish({ kind: 'log', data: { line: `line ${i}` } });
      const behind = await EventsTestClient.open(small.eventsUrl, { authorization: `Bearer ${small.token}` });
      const ready = await behind.next('ready');
      expect(ready).toMatchObject({ lastIndex: 30, oldest: 21 });
      behind.send({ type: 'subscribe', after: 5 });
      await until(() => behind.events.length === 10, 'the 10 held events');
      expect(behind.messages.slice(1, 2)).toEqual([{ type: 'gap', oldest: 21 }]);
      expect(behind.events.map((e) => e.index)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);

      const otherEpoch = await EventsTestClient.open(small.eventsUrl, { authorization: `Bearer ${small.token}` });
      const again = await otherEpoch.next('ready');
      expect(again.epoch).toBe(ready.epoch);
      otherEpoch.send({ type: 'subscribe', after: 5000 });
      await until(() => otherEpoch.events.length === 10, 'the held events after a restart-style resume');
      expect(otherEpoch.messages[1]).toEqual({ type: 'gap', oldest: 21 });

      const fresh = await EventsTestClient.open(small.eventsUrl, { authorization: `Bearer ${small.token}` });
      await fresh.next('ready');
      fresh.send({ type: 'subscribe', after: 0 });
      await until(() => fresh.events.length === 10, 'everything held, for a client that saw nothing yet');
      expect(fresh.messages.filter((m) => m.type === 'gap')).toEqual([]);
      behind.close();
      otherEpoch.close();
      fresh.close();
    } finally {
      await small.close();
    }
  });

  it('catches up a large backlog without cutting a reader that keeps up', async () => {
    const start = rig.events.lastIndex;
    const line = 'x'.repeat(500);
    for (let i = 0; i < 5000; i++) rig.events.publish({ kind: 'log', data: { line } });
    const client = await EventsTestClient.open(rig.eventsUrl, { authorization: `Bearer ${rig.token}` });
    await client.next('ready');
    client.send({ type: 'subscribe', after: start });
    await until(() => client.events.length === 5000, 'a 5000-event backlog', 30_000);
    expect(client.events.map((e) => e.index)).toEqual(Array.from({ length: 5000 }, (_, i) => start + 1 + i));
    expect(client.closeInfo).toBeUndefined();
    client.close();
  });
});

describe('the server around it', () => {
  it('keeps the hub WebSocket at /ws working and answers other upgrade paths 404', async () => {
    const agent = await RawHubClient.connect({ ws: rig.server.wsUrl });
    agent.hello({ agentId: 'beside-events', bootId: 'boot-1', token: rig.hubToken });
    await agent.waitFor('welcome');
    agent.close();
    const refused = await refusedUpgrade(`ws://127.0.0.1:${rig.server.port}/api/v1/nope`, { authorization: `Bearer ${rig.token}` });
    expect(refused.status).toBe(404);
  });

  it('drops a client that stops answering keep-alive pings', async () => {
    const pinging = await startEventsRig({ events: { pingIntervalMs: 200 } });
    const proxy = new TcpProxy(pinging.server.port);
    await proxy.start();
    try {
      const client = await EventsTestClient.open(`ws://127.0.0.1:${proxy.port}/api/v1/events`, { authorization: `Bearer ${pinging.token}` });
      await client.next('ready');
      expect(pinging.server.events?.clientCount).toBe(1);
      proxy.hold('fromClient', true);
      await until(() => pinging.server.events?.clientCount === 0, 'the silent client to be dropped', 10_000);
      expect(pinging.lines.some((l) => l.includes('did not answer the keep-alive ping'))).toBe(true);
      client.close();
    } finally {
      await proxy.close();
      await pinging.close();
    }
  });

  it('closes its clients with 1001 when the server stops', async () => {
    const stopping = await startEventsRig();
    const client = await EventsTestClient.open(stopping.eventsUrl, { authorization: `Bearer ${stopping.token}` });
    await client.next('ready');
    await stopping.close();
    expect((await client.closed()).code).toBe(EVENTS_CLOSE_CODES.shutdown);
  });
});
