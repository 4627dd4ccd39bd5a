/**
 * AgentSession against a misbehaving or restarting test hub: refused token,
 * resend-buffer overflow while the hub is down, a hung hub (heartbeat), and the
 * host-initiated messages (ping, exec-request).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, RESEND_BUFFER_DEVICE } from '@atp/protocol';
import type { AgentMessage, AtpError } from '@atp/protocol';
import { runExec } from '../src/exec/index.js';
import { TcpLink } from '../src/link/index.js';
import { keyEvent, makeSession, Sessions } from './support/agent-fixtures.js';
import { TestHub, waitFor } from './support/test-hub.js';
import type { TestHubOptions } from './support/test-hub.js';

const hubs: TestHub[] = [];
const sessions = new Sessions();

afterEach(async () => {
  await sessions.stopAll();
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

async function startHub(options: TestHubOptions = {}): Promise<TestHub> {
  const hub = await TestHub.start(options);
  hubs.push(hub);
  return hub;
}

const tcp = (hub: TestHub): TcpLink => new TcpLink({ host: '127.0.0.1', port: hub.tcpPort });

describe('AgentSession faults', () => {
  it('reports a refused token as a typed ATP_AGENT_AUTH error and retries with growing backoff, then recovers', async () => {
    const hub = await startHub({ token: 'right' });
    const session = sessions.add(makeSession(tcp(hub), 'wrong', { authBackoff: { initialMs: 100, maxMs: 1_000, jitter: 0.5 }, random: () => 0 }));
    const failures: Array<{ error: AtpError; delayMs: number }> = [];
    session.on('failure', (error, delayMs) => failures.push({ error, delayMs }));
    session.push(keyEvent(0));
    session.start();
    await waitFor(() => failures.length >= 3, 'three refusals');
    for (const f of failures.slice(0, 3)) {
      expect(f.error.code).toBe('ATP_AGENT_AUTH');
      expect(f.error.details['hostCode']).toBe('ATP_HUB_AUTH');
      expect(f.error.message).toMatch(/refused the agent's token/);
    }
    // random() = 0 removes the jitter: the delays are the backoff schedule itself, no spinning.
    expect(failures.slice(0, 3).map((f) => f.delayMs)).toEqual([100, 200, 400]);
    expect(session.stats.connects).toBeLessThanOrEqual(failures.length + 1);
    expect(session.stats.welcomes).toBe(0);
    hub.token = 'wrong';
    await waitFor(() => hub.uniqueSeqs(session.sender.bootId).length === 1, 'delivery once the token is accepted');
  });

  it('counts resend-buffer overflow while the hub is down and reports it in the next hello and a sync-dropped event', async () => {
    const hub = await startHub();
    const session = sessions.add(makeSession(tcp(hub), 'secret', { resendCapacity: 10 }));
    session.start();
    await waitFor(() => session.state === 'ready', 'the first welcome');
    await hub.stop();
    await waitFor(() => session.state === 'backoff', 'the session to notice');
    for (let i = 0; i < 25; i++) session.push(keyEvent(i));
    expect(session.sender.counters()).toEqual({ lastSeq: 25, unacked: 10, overflowed: 15 });
    await hub.restart();
    const bootId = session.sender.bootId;
    await waitFor(() => hub.uniqueSeqs(bootId).length === 11, 'the survivors and the marker');
    const hello = hub.connections.at(-1)?.hello;
    expect(hello).toMatchObject({ lastSeq: 25, unacked: 10, overflowed: 15 });
    expect(hub.uniqueSeqs(bootId)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]);
    expect(hub.events.get(bootId)?.at(-1)).toMatchObject({ kind: 'sync-dropped', device: RESEND_BUFFER_DEVICE, lost: 15 });
  });

  it('declares a silent link dead after three heartbeats and reconnects', async () => {
    const hub = await startHub({ heartbeatMs: 100 });
    const session = sessions.add(makeSession(tcp(hub)));
    const failures: AtpError[] = [];
    session.on('failure', (error) => failures.push(error));
    session.start();
    await waitFor(() => session.state === 'ready', 'the welcome');
    hub.mute = true;
    await waitFor(() => failures.some((e) => e.code === 'ATP_AGENT_TIMEOUT'), 'a heartbeat timeout');
    expect(failures.find((e) => e.code === 'ATP_AGENT_TIMEOUT')?.message).toMatch(/3 heartbeats/);
    // The agent pinged while it waited.
    expect(hub.messages.some((m) => m.type === 'ping')).toBe(true);
    hub.mute = false;
    await waitFor(() => session.state === 'ready' && hub.connections.length >= 2, 'the reconnect');
  });

  it('answers pings with pongs on the agent clock, and exec requests through the handler or with ATP_EXEC_DISABLED', async () => {
    const hub = await startHub();
    const withExec = sessions.add(makeSession(tcp(hub), 'secret', { clock: () => 4242, handlers: { exec: (body) => runExec(body) } }));
    withExec.start();
    await waitFor(() => hub.liveConnections().length === 1 && hub.connections[0]?.welcome !== undefined, 'the welcome');
    const conn = hub.liveConnections()[0];
    const send = (m: AgentMessage): void => conn?.send(m);
    send({ v: PROTOCOL_VERSION, type: 'ping', body: { id: 7, t1: 100 } });
    send({ v: PROTOCOL_VERSION, type: 'exec-request', body: { id: 'x1', argv: [process.execPath, '-e', 'process.stdout.write("hi")'] } });
    await waitFor(() => hub.messages.some((m) => m.type === 'pong') && hub.messages.some((m) => m.type === 'exec-result'), 'pong and exec-result');
    expect(hub.messages.find((m) => m.type === 'pong')?.body).toEqual({ id: 7, t1: 100, t2: 4242, t3: 4242 });
    const result = hub.messages.find((m) => m.type === 'exec-result');
    expect(result?.type === 'exec-result' && Buffer.from(result.body.stdoutB64, 'base64').toString()).toBe('hi');

    const hub2 = await startHub();
    const noExec = sessions.add(makeSession(tcp(hub2)));
    noExec.start();
    await waitFor(() => hub2.liveConnections()[0]?.welcome !== undefined, 'the second welcome');
    hub2.liveConnections()[0]?.send({ v: PROTOCOL_VERSION, type: 'exec-request', body: { id: 'x2', argv: ['true'] } });
    await waitFor(() => hub2.messages.some((m) => m.type === 'exec-result'), 'the refusal');
    const refused = hub2.messages.find((m) => m.type === 'exec-result');
    expect(refused?.type === 'exec-result' && refused.body.error?.code).toBe('ATP_EXEC_DISABLED');
  });
});
