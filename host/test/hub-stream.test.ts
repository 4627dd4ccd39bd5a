/**
 * Consumer streams over the journal store: an in-process stream that falls
 * behind (past the in-memory tail and the merged stream's high-water mark, with
 * several agents waiting for room at once) still delivers every item once and
 * in order per agent, then follows live commits, and ends when the store closes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { followSelected, JournalEventStore, type HubItem, type HubItemInput } from '../src/hub/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const event = (agentId: string, seq: number): HubItemInput => ({
  kind: 'event',
  agentId,
  bootId: 'b',
  receivedAt: seq,
  seq,
  event: { seq, t: seq, device: 'd', kind: 'rel', dx: seq, dy: 0 },
});

async function append(store: JournalEventStore, agents: string[], from: number, to: number): Promise<void> {
  for (let seq = from; seq <= to; seq += 50) {
    await Promise.all(agents.map((a) => store.append(a, Array.from({ length: Math.min(50, to - seq + 1) }, (_, k) => event(a, seq + k)))));
  }
}

describe('journal store streams', () => {
  it('delivers everything once and in order to a consumer that fell far behind, then follows live, then ends on close', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-hub-stream-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const store = new JournalEventStore({ dir, tailItems: 16 });
    await store.open();
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await store.close();
    });
    const agents = ['a', 'b', 'c'];
    await append(store, agents, 1, 3000);

    const seen = new Map<string, number[]>(agents.map((a) => [a, []]));
    const stream = followSelected(store, {});
    const take = async (count: number): Promise<void> => {
      for (let n = 0; n < count; n++) {
        const next = await stream.next();
        if (next.done === true) throw new Error('stream ended early');
        const item: HubItem = next.value;
        if (item.kind === 'event') seen.get(item.agentId)?.push(item.seq);
      }
    };
    // Held back: 9,000 items wait (over the 4,096 high-water mark and the 16-item tail).
    await take(9000);
    for (const a of agents) expect(seen.get(a)).toEqual(Array.from({ length: 3000 }, (_, k) => k + 1));

    await append(store, agents, 3001, 3100);
    await take(300);
    for (const a of agents) expect(seen.get(a)?.slice(-3)).toEqual([3098, 3099, 3100]);
    for (const a of agents) expect(seen.get(a)).toHaveLength(3100);

    closed = true;
    await store.close();
    const end = await stream.next();
    expect(end.done).toBe(true);
  });
});
