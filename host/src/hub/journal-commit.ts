/**
 * Group commit for the journal store (store-journal.ts). An append only queues
 * its items on the agent's writer; what every agent queued during one
 * event-loop turn (or during `windowMs`, when set) is flushed together at the
 * end of it (setImmediate: after the turn's socket reads): one write per agent
 * file carrying all that agent queued, on the event loop (`writer: 'inline'`,
 * synchronously; through the thread pool with write + fdatasync for 'fsync')
 * or all of them in one message to the write thread (`writer: 'thread'`,
 * journal-write-thread.ts). Only once the write (and fdatasync) covering its
 * items has returned is an append resolved, so the hub's ack still never
 * precedes the data it acknowledges. Why: a write per append also woke a
 * promise, the ack batcher and the streams once per event; a flush per turn
 * coalesces an agent's resends and bursts into one write and runs the commit
 * bookkeeping for all agents in one pass.
 * A failed write (or fdatasync) rejects every append it covered with
 * ATP_HUB_STORE and breaks that agent's writer: its later appends fail at once,
 * so nothing past the failure is ever acknowledged; other agents go on.
 */
import { writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { AtpError } from '@atp/protocol';
import type { HubItem } from './types.js';
import { JournalWriteThread, type WriteOutcome } from './journal-write-thread.js';

export type Durability = 'write' | 'fsync';
/** Where the writes run: the event loop (the store's default) or the write thread. */
export type JournalWriterKind = 'thread' | 'inline';

/** One append waiting for its commit. */
export interface PendingAppend {
  items: HubItem[];
  resolve(): void;
  reject(error: AtpError): void;
}

/** One agent's journal file and what is queued for it. */
export class AgentWriter {
  handle: FileHandle | undefined;
  queue: PendingAppend[] = [];
  /** The file is being opened; the flush after that takes what is queued. */
  opening = false;
  /** An inline 'fsync' write is in flight; its loop takes what is queued meanwhile. */
  writing = false;
  broken: AtpError | undefined;

  constructor(
    readonly agentId: string,
    readonly file: string,
  ) {}
}

/** What the store does once a batch is on disk. */
export type OnCommitted = (w: AgentWriter, batch: readonly PendingAppend[], items: readonly HubItem[]) => void;

const linesOf = (items: readonly HubItem[]): string => (items.length === 1 ? `${JSON.stringify(items[0])}\n` : `${items.map((i) => JSON.stringify(i)).join('\n')}\n`);

/** Writes all of `text`; the string goes to the fd without an intermediate Buffer unless the write comes up short. */
function writeAllSync(fd: number, text: string): void {
  const written = writeSync(fd, text);
  if (written === Buffer.byteLength(text)) return;
  const data = Buffer.from(text);
  for (let off = written; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}

export const storeError = (message: string, cause: unknown): AtpError =>
  cause instanceof AtpError ? cause : new AtpError('ATP_HUB_STORE', `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });

/**
 * Flushes out at the write thread at once. Past it, what agents append waits in
 * their queues for the next reply and goes out as one larger write per file:
 * a slow disk makes batches bigger instead of the queue of messages longer.
 */
const MAX_FLUSHES_IN_FLIGHT = 4;
/**
 * Items one flush commits at most; the agents left over go in the next turn's.
 * A commit hands its items to the live streams before their consumers can run
 * again, and a merged stream holding more than its live high-water mark sends
 * its agents back to reading the journal files (stream.ts). Not much lower: a
 * flush runs once per loop turn, so this also caps the commit rate of a busy
 * hub (1,024 was measured to starve at 20 turns/s).
 */
const MAX_FLUSH_ITEMS = 8192;

export class GroupCommit {
  private readonly dirty = new Set<AgentWriter>();
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushNow = (): void => this.flush();
  /** Opens, thread flushes and inline writes not yet back. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Started with the first flush that needs it (a read-only store never does). */
  private thread: JournalWriteThread | undefined;
  /** Flushes that wrote something, and the agent file writes they made (for tests and metrics). */
  flushes = 0;
  writes = 0;

  constructor(
    private readonly durability: Durability,
    private readonly windowMs: number,
    private readonly writer: JournalWriterKind,
    private readonly onCommitted: OnCommitted,
  ) {}

  /** Queues `pending` on `w` for the next flush; a broken writer rejects it at once. */
  enqueue(w: AgentWriter, pending: PendingAppend): void {
    if (w.broken !== undefined) return pending.reject(w.broken);
    w.queue.push(pending);
    this.dirty.add(w);
    this.schedule();
  }

  /** Writes everything queued now (also called by idle()). */
  flush(): void {
    clearImmediate(this.immediate);
    clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
    if (this.dirty.size === 0 || (this.thread?.pending ?? 0) >= MAX_FLUSHES_IN_FLIGHT) return;
    const writesBefore = this.writes;
    const posted: { w: AgentWriter; batch: PendingAppend[]; items: HubItem[] }[] = [];
    const request = { fds: [] as number[], texts: [] as string[], fsync: this.durability === 'fsync' };
    let budget = MAX_FLUSH_ITEMS;
    for (const w of this.dirty) {
      if (budget <= 0) break;
      this.dirty.delete(w);
      if (w.queue.length === 0 || w.opening || w.writing) continue;
      for (const b of w.queue) budget -= b.items.length;
      if (w.broken !== undefined) {
        this.fail(w, this.take(w).batch, w.broken);
        continue;
      }
      if (w.handle === undefined) {
        this.open(w);
        continue;
      }
      if (this.writer === 'inline') {
        if (this.durability === 'write') this.writeNow(w, w.handle);
        else this.track(this.writeAsync(w, w.handle));
        continue;
      }
      const taken = this.take(w);
      this.writes++;
      posted.push({ w, ...taken });
      request.fds.push(w.handle.fd);
      request.texts.push(linesOf(taken.items));
    }
    if (this.writes > writesBefore) this.flushes++;
    if (this.dirty.size > 0) this.schedule();
    if (posted.length === 0) return;
    const thread = (this.thread ??= new JournalWriteThread());
    this.track(
      new Promise((resolve) =>
        thread.write(request, (outcome) => {
          this.settle(posted, outcome);
          // Appends held back while the thread was busy.
          if (this.dirty.size > 0) this.schedule();
          resolve();
        }),
      ),
    );
  }

  /** Resolves once nothing is queued or in flight. */
  async idle(): Promise<void> {
    for (;;) {
      this.flush();
      if (this.inFlight.size === 0) return;
      await Promise.allSettled([...this.inFlight]);
    }
  }

  /** Stops the write thread (after idle()). */
  async stop(): Promise<void> {
    await this.thread?.stop();
  }

  private schedule(): void {
    if (this.immediate !== undefined || this.timer !== undefined) return;
    if (this.windowMs > 0) this.timer = setTimeout(this.flushNow, this.windowMs);
    else this.immediate = setImmediate(this.flushNow);
  }

  private take(w: AgentWriter): { batch: PendingAppend[]; items: HubItem[] } {
    const batch = w.queue;
    w.queue = [];
    return { batch, items: batch.length === 1 ? (batch[0]?.items ?? []) : batch.flatMap((b) => b.items) };
  }

  private settle(posted: readonly { w: AgentWriter; batch: PendingAppend[]; items: HubItem[] }[], outcome: WriteOutcome | Error): void {
    for (const [k, { w, batch, items }] of posted.entries()) {
      const failed = outcome instanceof Error ? outcome : outcome[k];
      if (failed !== null && failed !== undefined) this.fail(w, batch, failed instanceof Error ? failed : Object.assign(new Error(failed.message), { code: failed.code }));
      else if (w.broken !== undefined) this.fail(w, batch, w.broken);
      else this.onCommitted(w, batch, items);
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private open(w: AgentWriter): void {
    w.opening = true;
    this.track(
      open(w.file, 'a').then(
        (handle) => {
          w.handle = handle;
        },
        (error: unknown) => {
          w.broken ??= storeError(`cannot open the journal of ${w.agentId}`, error);
        },
      ).finally(() => {
        w.opening = false;
        this.dirty.add(w);
        this.schedule();
      }),
    );
  }

  /** Inline, durability 'write': synchronously (a small append to the page cache costs less than a thread-pool round trip). */
  private writeNow(w: AgentWriter, handle: FileHandle): void {
    const { batch, items } = this.take(w);
    try {
      this.writes++;
      writeAllSync(handle.fd, linesOf(items));
    } catch (error) {
      this.fail(w, batch, error);
      return;
    }
    this.onCommitted(w, batch, items);
  }

  /** Inline, durability 'fsync': write and fdatasync through the thread pool; takes what is queued meanwhile too. */
  private async writeAsync(w: AgentWriter, handle: FileHandle): Promise<void> {
    w.writing = true;
    try {
      while (w.queue.length > 0) {
        const { batch, items } = this.take(w);
        try {
          if (w.broken !== undefined) throw w.broken;
          this.writes++;
          await handle.write(linesOf(items));
          await handle.datasync();
        } catch (error) {
          this.fail(w, batch, error);
          continue;
        }
        this.onCommitted(w, batch, items);
      }
    } finally {
      w.writing = false;
    }
  }

  private fail(w: AgentWriter, batch: readonly PendingAppend[], error: unknown): void {
    w.broken ??= storeError(`cannot write the journal of ${w.agentId}`, error);
    for (const b of batch) b.reject(w.broken);
  }
}
