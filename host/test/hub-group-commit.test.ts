/**
 * Group commit in the journal store (journal-commit.ts), on real files, with the
 * writes on the write thread and on the event loop: the
 * appends of many agents in one event-loop turn are written at its end, one
 * write per agent file; no append resolves before the bytes it covers are in
 * its file; a write that fails (a FIFO whose reader went away: EPIPE; /dev/full:
 * ENOSPC) rejects every append it covered with ATP_HUB_STORE and every later
 * append of that agent, while the other agents of the same flush commit.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { AtpError } from '@atp/protocol';
import { followSelected, JournalEventStore, type HubItem, type HubItemInput } from '../src/hub/index.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function store(options: { durability?: 'write' | 'fsync'; commitWindowMs?: number; writer?: 'thread' | 'inline'; tailItems?: number } = {}): Promise<JournalEventStore> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atp-hub-commit-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const s = new JournalEventStore({ dir, ...options });
  await s.open();
  cleanups.push(() => s.close());
  return s;
}

const event = (agentId: string, seq: number): HubItemInput => ({ kind: 'event', agentId, bootId: 'b', receivedAt: seq, seq, event: { seq, t: seq, device: 'd', kind: 'rel', dx: seq, dy: 0 } });

/** The seqs of `agentId` that are in its file right now. */
function seqsOnDisk(s: JournalEventStore, agentId: string): number[] {
  let text: string;
  try {
    text = readFileSync(s.fileFor(agentId), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as HubItem & { seq: number }).seq);
}

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (e: unknown) => e);

for (const writer of ['thread', 'inline'] as const) describe(`journal group commit (writes on the ${writer === 'thread' ? 'write thread' : 'event loop'})`, () => {
  for (const durability of ['write', 'fsync'] as const) {
    it(`writes one turn's appends of 40 agents with one write per agent and resolves none before its bytes are on disk (${durability})`, async () => {
      const s = await store({ durability, writer });
      const agents = Array.from({ length: 40 }, (_, i) => `vm-${i}`);
      // First appends open the files.
      await Promise.all(agents.map((a) => s.append(a, [event(a, 1)])));
      const before = { flushes: s.commit.flushes, writes: s.commit.writes };
      const early: string[] = [];
      const waiting: Promise<void>[] = [];
      for (let seq = 2; seq <= 4; seq++) {
        for (const a of agents) {
          waiting.push(
            s.append(a, [event(a, seq)]).then(() => {
              if (!seqsOnDisk(s, a).includes(seq)) early.push(`${a} seq ${seq}`);
            }),
          );
        }
      }
      // Nothing is written within the turn that appended.
      expect(agents.some((a) => seqsOnDisk(s, a).length > 1)).toBe(false);
      await Promise.all(waiting);
      expect(early).toEqual([]);
      expect(s.commit.flushes - before.flushes).toBe(1);
      expect(s.commit.writes - before.writes).toBe(agents.length);
      for (const a of agents) {
        expect(seqsOnDisk(s, a)).toEqual([1, 2, 3, 4]);
        expect(s.highestSeq(a, 'b')).toBe(4);
      }
    });
  }

  it('waits for the window when one is set, then commits everything queued in it at once', async () => {
    const s = await store({ commitWindowMs: 40, writer });
    await Promise.all([s.append('w', [event('w', 1)]), s.append('x', [event('x', 1)])]);
    const before = { flushes: s.commit.flushes, writes: s.commit.writes };
    const t0 = performance.now();
    const done = Promise.all([s.append('w', [event('w', 2)]), s.append('x', [event('x', 2)])]);
    // A turn later nothing is written yet (the window has not passed, whatever the machine's load).
    await new Promise((r) => setImmediate(r));
    if (performance.now() - t0 < 35) expect(seqsOnDisk(s, 'w')).toEqual([1]);
    await done;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    expect(seqsOnDisk(s, 'w')).toEqual([1, 2]);
    expect({ flushes: s.commit.flushes - before.flushes, writes: s.commit.writes - before.writes }).toEqual({ flushes: 1, writes: 2 });
  });

  it('fails every append a broken write covered (EPIPE from a FIFO without reader) and every later one, and commits the other agents', async () => {
    const s = await store({ writer });
    const fifo = s.fileFor('piped');
    await promisify(execFile)('mkfifo', [fifo]);
    // A reader, so the store's open and first write succeed; closing it makes the next write fail with EPIPE.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    let readerOpen = true;
    cleanups.push(() => readerOpen && closeSync(reader));
    await s.append('piped', [event('piped', 1)]);
    await s.append('ok', [event('ok', 1)]);
    closeSync(reader);
    readerOpen = false;

    const outcomes = [2, 3, 4].map((seq) => failure(s.append('piped', [event('piped', seq)])));
    const others = [2, 3].map((seq) => s.append('ok', [event('ok', seq)]));
    for (const o of await Promise.all(outcomes)) {
      expect(o).toBeInstanceOf(AtpError);
      expect(o).toMatchObject({ code: 'ATP_HUB_STORE', message: expect.stringContaining('piped') as string });
    }
    await Promise.all(others);
    expect(seqsOnDisk(s, 'ok')).toEqual([1, 2, 3]);
    expect(await failure(s.append('piped', [event('piped', 5)]))).toMatchObject({ code: 'ATP_HUB_STORE' });
    // Nothing past the failure counts as committed.
    expect(s.highestSeq('piped', 'b')).toBe(1);
  });

  it('fails the appends of an agent whose fdatasync-ed write hits ENOSPC (/dev/full) with ATP_HUB_STORE', async () => {
    const s = await store({ durability: 'fsync', writer });
    await symlink('/dev/full', s.fileFor('full'));
    const outcomes = await Promise.all([failure(s.append('full', [event('full', 1)])), failure(s.append('full', [event('full', 2)])), s.append('ok', [event('ok', 1)]).then(() => 'resolved')]);
    expect(outcomes[0]).toMatchObject({ code: 'ATP_HUB_STORE', message: expect.stringContaining('full') as string });
    expect(outcomes[1]).toBe(outcomes[0]);
    expect(outcomes[2]).toBe('resolved');
    expect(s.highestSeq('full', 'b')).toBeNull();
  });

  it('writes what is still queued when it closes, then refuses appends', async () => {
    const s = await store({ writer });
    const pending = s.append('late', [event('late', 1)]);
    await s.close();
    await pending;
    expect(seqsOnDisk(s, 'late')).toEqual([1]);
    expect(await failure(s.append('late', [event('late', 2)]))).toMatchObject({ code: 'ATP_HUB_CLOSED' });
  });
});

describe('journal group commit behind a blocked write thread', () => {
  it('holds appends back while four flushes are out and then writes each agent once for all of them', async () => {
    const s = await store({ writer: 'thread' });
    const fifo = s.fileFor('slow');
    await promisify(execFile)('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    cleanups.push(() => closeSync(reader));
    await s.append('slow', [event('slow', 1)]);
    await s.append('x', [event('x', 1)]);
    // More than a pipe holds: the thread blocks in this write until the test reads.
    const big: HubItemInput = { kind: 'event', agentId: 'slow', bootId: 'b', receivedAt: 2, seq: 2, event: { seq: 2, t: 2, device: 'd', kind: 'text', text: 'x'.repeat(200_000) } };
    let bigDone = false;
    const before = s.commit.writes;
    const blocked = s.append('slow', [big]).then(() => (bigDone = true));
    await new Promise((r) => setImmediate(r));
    const done: number[] = [];
    const appends: Promise<unknown>[] = [];
    for (let seq = 2; seq <= 11; seq++) {
      appends.push(s.append('x', [event('x', seq)]).then(() => done.push(seq)));
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    }
    expect(done).toEqual([]);
    // Drain the pipe until the big write returns.
    const buffer = Buffer.alloc(65_536);
    while (!bigDone) {
      try {
        readSync(reader, buffer);
      } catch {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    await blocked;
    await Promise.all(appends);
    expect(done).toEqual(range(2, 11));
    expect(seqsOnDisk(s, 'x')).toEqual(range(1, 11));
    // The blocked write, three flushes of x behind it (four out at most), then one write for x's seven held-back appends.
    expect(s.commit.writes - before).toBe(5);
  });
});

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, k) => from + k);

describe('group commits and live streams', () => {
  it('hands a live stream a commit bigger than the in-memory tail from memory, without reading the journal file', async () => {
    const s = await store({ tailItems: 2 });
    await s.append('big', [event('big', 1)]);
    const got: number[] = [];
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const following = (async () => {
      for await (const item of followSelected(s, 'big', { from: 'now', signal: abort.signal })) if (item.kind === 'event') got.push(item.seq);
    })();
    // The store keeps writing through its open descriptor; a follower that fell back to the file would find none.
    await rename(s.fileFor('big'), `${s.fileFor('big')}.moved`);
    await s.append('big', range(2, 11).map((seq) => event('big', seq)));
    const deadline = Date.now() + 5000;
    while (got.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(range(2, 11));
    abort.abort();
    await following;
  });
});
