/**
 * Hub restart on the journal store: the hub runs in a child process and is
 * killed with SIGKILL mid-stream (nothing flushed), a new one starts on the same
 * journal and ports, agents resume from welcome.ackedSeq, and a consumer in
 * this process (another process than either hub, outliving both) sees every
 * event exactly once, in order.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentHub, followJournal, JournalEventStore } from '../src/hub/index.js';
import { keyEvent, range, RawHubClient, type RawTarget } from './support/hub-client.js';
import { StreamCollector } from './support/hub-collect.js';
import { startHubProcess, type HubProcess } from './support/hub-process.js';

const TOKEN = 'restart-token';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-hub-restart-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function connect(target: RawTarget): Promise<RawHubClient> {
  const c = await RawHubClient.connect(target);
  cleanups.push(() => c.close());
  return c;
}

describe('agent hub restart on the journal store', () => {
  it('loses and doubles nothing when the hub process is killed and restarted', async () => {
    const scratch = await tempDir();
    const journal = path.join(scratch, 'journal');
    let hubProc: HubProcess = await startHubProcess(scratch, journal, TOKEN);
    cleanups.push(() => hubProc.kill());
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const consumer = new StreamCollector(followJournal(journal, {}, { signal: abort.signal, pollMs: 50 }));

    const agents = [
      { id: 'vm-tcp', target: (p: HubProcess): RawTarget => ({ tcp: { port: p.tcp } }) },
      { id: 'vm-ws', target: (p: HubProcess): RawTarget => ({ ws: `ws://127.0.0.1:${p.ws}/` }) },
    ];
    const before: RawHubClient[] = [];
    for (const a of agents) {
      const c = await connect(a.target(hubProc));
      c.hello({ agentId: a.id, bootId: 'boot-1', token: TOKEN });
      await c.waitFor('welcome');
      for (let s = 1; s <= 50; s += 10) c.events('boot-1', range(s, s + 9).map((n) => keyEvent(n)));
      await c.waitForAck(50);
      // In flight when the hub dies: some may be committed, none need be acked.
      for (let s = 51; s <= 60; s++) c.events('boot-1', [keyEvent(s)]);
      before.push(c);
    }
    await hubProc.kill();
    const ackedBeforeCrash = before.map((c) => c.highestAck() ?? 0);

    hubProc = await startHubProcess(scratch, journal, TOKEN, { tcp: hubProc.tcp, ws: hubProc.ws });
    for (const [i, a] of agents.entries()) {
      const c = await connect(a.target(hubProc));
      c.hello({ agentId: a.id, bootId: 'boot-1', token: TOKEN, lastSeq: 60, unacked: 60 - (ackedBeforeCrash[i] ?? 0) });
      const resumeFrom = (await c.waitFor('welcome')).body.ackedSeq ?? 0;
      // Everything acked before the crash was durable.
      expect(resumeFrom).toBeGreaterThanOrEqual(ackedBeforeCrash[i] ?? 0);
      expect(resumeFrom).toBeLessThanOrEqual(60);
      // Resend from one earlier than needed too: the hub must drop the duplicate.
      c.events('boot-1', range(Math.max(1, resumeFrom), 70).map((n) => keyEvent(n)));
      await c.waitForAck(70);
    }

    for (const a of agents) {
      await consumer.until((items) => items.some((i) => i.agentId === a.id && i.kind === 'event' && i.seq === 70), `${a.id} seq 70`);
    }
    for (const a of agents) {
      expect(consumer.events(a.id).map((e) => e.seq)).toEqual(range(1, 70));
      const indexes = consumer.items.filter((i) => i.agentId === a.id).map((i) => i.index);
      expect(indexes).toEqual(range(0, indexes.length - 1));
    }

    // A third hub (in this process) restores the same state from the journal.
    await hubProc.kill();
    const store = new JournalEventStore({ dir: journal });
    const hub = await AgentHub.create({ auth: { tokens: [TOKEN] }, store });
    cleanups.push(() => hub.close());
    for (const a of agents) expect(store.highestSeq(a.id, 'boot-1')).toBe(70);
    const replay = new StreamCollector(hub.stream({ agentIds: agents.map((a) => a.id) }));
    await replay.until((items) => items.filter((i) => i.kind === 'event').length === 140, 'the replay');
    expect(replay.events('vm-ws').map((e) => e.seq)).toEqual(range(1, 70));
  });

  it('terminates a torn last line on open so the next item starts clean', async () => {
    const dir = await tempDir();
    const first = new JournalEventStore({ dir });
    await first.open();
    const base = { agentId: 'torn', bootId: 'b', receivedAt: 1 };
    await first.append('torn', [{ ...base, kind: 'event', seq: 1, event: { seq: 1, t: 1, device: 'd', kind: 'rel', dx: 1, dy: 0 } }]);
    await first.close();
    const { appendFile } = await import('node:fs/promises');
    await appendFile(first.fileFor('torn'), '{"agentId":"torn","index":1,"kin');

    const second = new JournalEventStore({ dir });
    await second.open();
    expect(second.nextIndex('torn')).toBe(1);
    expect(second.highestSeq('torn', 'b')).toBe(1);
    await second.append('torn', [{ ...base, kind: 'event', seq: 2, event: { seq: 2, t: 2, device: 'd', kind: 'rel', dx: 1, dy: 0 } }]);
    await second.close();
    const lines = (await readFile(first.fileFor('torn'), 'utf8')).split('\n');
    expect(lines).toHaveLength(4); // item 0, torn line, item 1, trailing ''
    const items: number[] = [];
    for await (const item of followJournal(dir, 'torn', { signal: AbortSignal.timeout(2000) })) {
      if (item.kind === 'event') items.push(item.seq);
      if (items.length === 2) break;
    }
    expect(items).toEqual([1, 2]);
  });
});
