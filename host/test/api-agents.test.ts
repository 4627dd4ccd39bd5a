/**
 * /api/v1/agents against a real server and its real hub: two agents speak
 * the agent protocol to the hub (one over the server's own /ws WebSocket,
 * one over a TCP listener of the same hub), answering pings with clocks set
 * ahead by known amounts. The list shows each session with its agent id,
 * boot, transport, remote address, connect time, the clock offset estimate
 * (close to the skew, within its own uncertainty plus a margin for the
 * shared machine) and, once events arrived, the time of the last ones; an
 * agent that leaves drops out of the list.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyEvent, RawHubClient, until } from './support/hub-client.js';
import { explain, startApiRig, type ApiRig } from './api-areas-support.js';

interface AgentRow {
  sessionId: string;
  agentId?: string;
  bootId?: string;
  state: string;
  transport: string;
  remote: string;
  connectedAt: string;
  lastMessageAt: string;
  lastEventAt?: string;
  clock?: { offsetMs: number; uncertaintyMs: number; delayMs: number; samples: number };
}

let rig: ApiRig;
let dir = '';
const clients: RawHubClient[] = [];

async function agents(): Promise<AgentRow[]> {
  const a = await rig.call('GET', '/api/v1/agents');
  expect(a.status, explain(a)).toBe(200);
  return (a.json as { agents: AgentRow[] }).agents;
}

/** Polls the list until `check` accepts it (the hub's pings and acks take their time on a busy machine). */
async function agentsWhen(check: (rows: AgentRow[]) => boolean, what: string): Promise<AgentRow[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const rows = await agents();
    if (check(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`GET /api/v1/agents never showed ${what} within 30 s; last: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atp-api-agents-'));
  rig = await startApiRig({ configDir: dir });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await rig?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('GET /api/v1/agents', () => {
  it('is empty before any agent connects', async () => {
    expect(await agents()).toEqual([]);
  });

  it('lists each session: id, boot, transport, remote, since when, clock offset, last events; a leaving agent drops out', async () => {
    const before = Date.now();
    const web = await RawHubClient.connect({ ws: rig.server.wsUrl }, { now: () => Date.now() + 5000 });
    clients.push(web);
    const tcpListener = await rig.hub.listenTcp({ host: '127.0.0.1', port: 0 });
    const tcp = await RawHubClient.connect({ tcp: { port: tcpListener.port } }, { now: () => Date.now() - 2000 });
    clients.push(tcp);
    web.hello({ agentId: 'page-1', bootId: 'boot-web', token: rig.hubToken });
    tcp.hello({ agentId: 'guest-1', bootId: 'boot-tcp', token: rig.hubToken });
    await web.waitFor('welcome');
    await tcp.waitFor('welcome');

    const rows = await agentsWhen((r) => r.length === 2 && r.every((a) => a.clock !== undefined), 'both agents with a clock estimate');
    const byId = new Map(rows.map((r) => [r.agentId, r]));
    const w = byId.get('page-1');
    const t = byId.get('guest-1');
    expect(w).toMatchObject({ agentId: 'page-1', bootId: 'boot-web', state: 'active', transport: 'ws', remote: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1:\d+$/) });
    expect(t).toMatchObject({ agentId: 'guest-1', bootId: 'boot-tcp', state: 'active', transport: 'tcp', remote: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1:\d+$/) });
    // The hub's clock (timeOrigin + performance.now()) and Date.now() may have drifted apart a little: measure it.
    const hubAhead = rig.hub.now() - Date.now();
    for (const [row, skew] of [[w, 5000], [t, -2000]] as const) {
      const connectedAt = Date.parse(row?.connectedAt ?? '');
      expect(connectedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(connectedAt).toBeLessThanOrEqual(Date.now() + 1000);
      const clock = row?.clock;
      expect(clock?.samples).toBeGreaterThanOrEqual(1);
      // The estimate is within its own bound of the truth (guest clock minus the hub's), plus a few ms of rounding.
      expect(Math.abs((clock?.offsetMs ?? 0) - (skew - hubAhead))).toBeLessThanOrEqual((clock?.uncertaintyMs ?? 0) + 5);
      expect(row?.lastEventAt).toBeUndefined();
    }

    const sentAt = Date.now();
    tcp.events('boot-tcp', [keyEvent(1), keyEvent(2, 'KEY_A', 'up')]);
    await tcp.waitForAck(2);
    const withEvents = await agentsWhen((r) => r.some((a) => a.agentId === 'guest-1' && a.lastEventAt !== undefined), 'the TCP agent with a last-event time');
    const lastEventAt = Date.parse(withEvents.find((a) => a.agentId === 'guest-1')?.lastEventAt ?? '');
    expect(lastEventAt - hubAhead).toBeGreaterThanOrEqual(sentAt - 5);
    expect(lastEventAt - hubAhead).toBeLessThanOrEqual(Date.now() + 5);
    expect(withEvents.find((a) => a.agentId === 'page-1')?.lastEventAt).toBeUndefined();

    web.close();
    const left = await agentsWhen((r) => r.length === 1, 'the WebSocket agent gone');
    expect(left.map((a) => a.agentId)).toEqual(['guest-1']);
    tcp.close();
    await until(() => rig.hub.sessions().length === 0, 'the TCP session to end');
    expect(await agents()).toEqual([]);
  });
});
