/**
 * Group commit across a hub crash: twelve agents (TCP and WebSocket) stream
 * small batches into a hub child on the journal store while it is killed with
 * SIGKILL three times. After each kill, every seq an agent had seen acknowledged
 * must be in its journal file (an ack only after the write that covers it), and
 * no seq may be there twice; after resuming from welcome.ackedSeq (resending a
 * little more than needed) the journal holds every seq exactly once, in order.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJournalLine } from '../src/hub/index.js';
import { keyEvent, range, RawHubClient, until, type RawTarget } from './support/hub-client.js';
import { startHubProcess, type HubProcess } from './support/hub-process.js';

const TOKEN = 'commit-kill-token';
const BOOT = 'boot-1';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Agent {
  id: string;
  target: (hub: HubProcess) => RawTarget;
  /** Highest seq assigned (sent at least once). */
  last: number;
  /** Highest ack this agent ever received. */
  acked: number;
  client?: RawHubClient;
}

/** The event seqs in an agent's journal file, in file order (a torn last line is skipped, as the reader does). */
function journalSeqs(journal: string, agentId: string): number[] {
  const text = readFileSync(path.join(journal, `${encodeURIComponent(agentId)}.ndjson`), 'utf8');
  const seqs: number[] = [];
  for (const line of text.split('\n')) {
    const item = line === '' ? undefined : parseJournalLine(line);
    if (item?.kind === 'event') seqs.push(item.seq);
  }
  return seqs;
}

/** Connects, says hello with what the agent holds, resends from the welcome's ackedSeq (one earlier too: a duplicate the hub must drop). */
async function resume(agent: Agent, hub: HubProcess): Promise<void> {
  const c = await RawHubClient.connect(agent.target(hub));
  cleanups.push(() => c.close());
  agent.client = c;
  c.hello({ agentId: agent.id, bootId: BOOT, token: TOKEN, lastSeq: agent.last === 0 ? null : agent.last, unacked: agent.last - agent.acked });
  const from = ((await c.waitFor('welcome')).body.ackedSeq ?? 0) + 1;
  expect(from - 1).toBeGreaterThanOrEqual(agent.acked);
  const seqs = range(Math.max(1, from - 1), agent.last);
  for (let i = 0; i < seqs.length; i += 40) c.events(BOOT, seqs.slice(i, i + 40).map((s) => keyEvent(s)));
}

/** Every few ms each agent sends a batch of 1..4 new events, until stopped. */
function pump(agents: Agent[]): () => void {
  let n = 0;
  const timer = setInterval(() => {
    for (const a of agents) {
      const c = a.client;
      if (c === undefined || c.closed) continue;
      const count = 1 + ((n + a.last) % 4);
      c.events(BOOT, range(a.last + 1, a.last + count).map((s) => keyEvent(s)));
      a.last += count;
    }
    n++;
  }, 3);
  return () => clearInterval(timer);
}

describe('journal group commit across hub kills', () => {
  it('keeps every acknowledged event of twelve agents through three SIGKILLs and ends with each seq exactly once', async () => {
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'atp-hub-commit-kill-'));
    cleanups.push(() => rm(scratch, { recursive: true, force: true }));
    const journal = path.join(scratch, 'journal');
    const agents: Agent[] = range(1, 12).map((i) => ({
      id: `vm-${i}`,
      target: (hub) => (i % 2 === 0 ? { tcp: { port: hub.tcp } } : { ws: `ws://127.0.0.1:${hub.ws}/` }),
      last: 0,
      acked: 0,
    }));

    for (let round = 0; round <= 3; round++) {
      const hub = await startHubProcess(scratch, journal, TOKEN);
      cleanups.push(() => hub.kill());
      for (const a of agents) await resume(a, hub);
      const stop = pump(agents);
      // Stream until every agent has had something acknowledged in this round, and a little longer.
      const startAcks = agents.map((a) => a.acked);
      await until(() => agents.every((a, k) => (a.client?.highestAck() ?? 0) > (startAcks[k] ?? 0)), `an ack for every agent in round ${round}`, 30_000);
      await sleep(100 + round * 70);
      if (round < 3) {
        await hub.kill();
        stop();
      } else {
        stop();
        for (const a of agents) await a.client?.waitForAck(a.last);
      }
      for (const a of agents) {
        a.acked = Math.max(a.acked, a.client?.highestAck() ?? 0);
        a.client?.close();
        const seqs = journalSeqs(journal, a.id);
        // Acknowledged means on disk; on disk means once.
        expect(seqs.slice(0, a.acked), `${a.id} after round ${round}`).toEqual(range(1, a.acked));
        expect(new Set(seqs).size, `${a.id} duplicates after round ${round}`).toBe(seqs.length);
      }
      if (round === 3) await hub.kill();
    }
    for (const a of agents) {
      expect(a.last).toBeGreaterThan(20);
      expect(journalSeqs(journal, a.id)).toEqual(range(1, a.last));
    }
  }, 120_000);
});
