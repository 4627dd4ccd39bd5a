/**
 * File-backed EventStore: one append-only NDJSON journal per agent
 * (`<dir>/<encodeURIComponent(agentId)>.ndjson`, one HubItem per line). append()
 * resolves only after the bytes were written (and fdatasync'ed with
 * `durability: 'fsync'`), and the hub acks only after that, so a killed hub
 * loses nothing it acknowledged and its successor, restoring the highest seq
 * per (agentId, bootId) on open(), tells each agent exactly where to resume.
 * Writes are group commits (journal-commit.ts): what all agents appended in one
 * event-loop turn is written at its end, one write per agent file.
 *
 * In-process followers read recent items from a small in-memory tail and fall
 * back to the file when behind it; `readOnly` mode (another process, or a
 * consumer that outlives the hub) tails the files, woken by fs.watch and a poll.
 * One writer per directory at a time (not locked: the hub's owner ensures it).
 */
import { watch, type FSWatcher } from 'node:fs';
import { appendFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AtpError } from '@atp/protocol';
import { AgentWriter, GroupCommit, storeError, type Durability, type JournalWriterKind, type PendingAppend } from './journal-commit.js';
import { JournalFileReader } from './journal-reader.js';
import { AgentListeners, Notifier, StoreIndex, type AgentBootState, type EventStore } from './store.js';
import type { HubItem, HubItemInput } from './types.js';

export interface JournalStoreOptions {
  dir: string;
  /** 'write' (default) survives the hub process dying; 'fsync' also survives the machine losing power. */
  durability?: Durability;
  /**
   * Group-commit window in ms: appends are written together at the end of the
   * current event-loop turn (0, the default) or this long after the first one.
   */
  commitWindowMs?: number;
  /**
   * Where journal writes run: on the event loop ('inline', the default) or on a
   * write thread ('thread', journal-write-thread.ts), which takes them off the
   * loop but costs more CPU in all and needs a core of its own to pay off.
   */
  writer?: JournalWriterKind;
  /** Follow only: never writes, discovers agents and new lines by watching the directory. */
  readOnly?: boolean;
  /** Read-only poll interval in ms (fs.watch wakes followers sooner). */
  pollMs?: number;
  /**
   * Recent items kept in memory per agent for in-process followers; older ones
   * are read from the file. Default: TAIL_BUDGET_ITEMS shared by the agents,
   * between 4 and 256 each. Small on purpose: a live follower takes each item
   * at its commit, and items kept for a second outlive the young generation,
   * get promoted and are then reclaimed by full GCs whose pauses (15–70 ms at
   * 1,000 agents with 16,384 items) landed in the stream's p99.
   */
  tailItems?: number;
}

const SUFFIX = '.ndjson';
const TAIL_BUDGET_ITEMS = 4096;
const tailFor = (agents: number): number => Math.max(4, Math.min(256, Math.floor(TAIL_BUDGET_ITEMS / Math.max(1, agents))));

/** An agent's file writer plus what in-process followers read: the next index to assign and the committed tail. */
class JournalWriter extends AgentWriter {
  tail: HubItem[] = [];

  constructor(
    agentId: string,
    file: string,
    public assigned: number,
    public tailStart: number,
  ) {
    super(agentId, file);
  }
}

export class JournalEventStore implements EventStore {
  private readonly index = new StoreIndex();
  private readonly writers = new Map<string, JournalWriter>();
  private readonly notifier = new Notifier();
  private readonly listeners = new AgentListeners();
  private readonly commits = new AgentListeners();
  private readonly known = new Set<string>();
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private isClosed = false;
  /** Lines skipped while restoring (torn writes). */
  corruptLines = 0;

  /** The group commit behind append(); its counters show how many flushes and file writes it took. */
  readonly commit: GroupCommit;

  constructor(private readonly options: JournalStoreOptions) {
    this.commit = new GroupCommit(options.durability ?? 'write', options.commitWindowMs ?? 0, options.writer ?? 'inline', (w, batch, items) => this.committed(w as JournalWriter, batch, items));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  fileFor(agentId: string): string {
    return path.join(this.options.dir, `${encodeURIComponent(agentId)}${SUFFIX}`);
  }

  async open(): Promise<void> {
    try {
      await mkdir(this.options.dir, { recursive: true });
      if (this.options.readOnly) return await this.startWatching();
      for (const agentId of await this.listAgents()) await this.restore(agentId);
    } catch (error) {
      throw error instanceof AtpError ? error : storeError(`cannot open the journal in ${this.options.dir}`, error);
    }
  }

  agents(): string[] {
    return this.options.readOnly ? [...this.known] : this.index.agents();
  }

  nextIndex(agentId: string): number {
    return this.index.nextIndex(agentId);
  }

  highestSeq(agentId: string, bootId: string): number | null {
    return this.index.highestSeq(agentId, bootId);
  }

  lastBoot(agentId: string): AgentBootState | undefined {
    return this.index.lastBoot(agentId);
  }

  append(agentId: string, items: readonly HubItemInput[]): Promise<HubItem[]> {
    if (this.isClosed || this.options.readOnly) {
      return Promise.reject(new AtpError(this.isClosed ? 'ATP_HUB_CLOSED' : 'ATP_HUB_STORE', `the journal store is ${this.isClosed ? 'closed' : 'read-only'}`));
    }
    const w = this.writer(agentId);
    // The hub builds a fresh input array per append and never reuses it: number the items in place (no copy per item).
    const numbered = items as HubItem[];
    for (const item of numbered) item.index = w.assigned++;
    if (numbered.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => this.commit.enqueue(w, { items: numbered, resolve: () => resolve(numbered), reject }));
  }

  async *follow(agentId: string, from: number, signal?: AbortSignal): AsyncIterable<HubItem> {
    const reader = new JournalFileReader(this.fileFor(agentId));
    let next = from;
    try {
      while (!signal?.aborted) {
        const w = this.writers.get(agentId);
        if (w !== undefined && next >= w.tailStart && next < w.tailStart + w.tail.length) {
          const item = w.tail[next - w.tailStart];
          if (item !== undefined) {
            next++;
            yield item;
          }
          continue;
        }
        const behind = this.options.readOnly || next < this.index.nextIndex(agentId);
        const items = behind ? await reader.readMore() : [];
        for (const item of items) {
          if (item.index !== next) continue;
          next++;
          yield item;
        }
        if (items.length > 0) continue;
        if (this.isClosed) return;
        await this.notifier.wait(agentId, signal, this.options.readOnly ? (this.options.pollMs ?? 100) : undefined);
      }
    } finally {
      await reader.close();
    }
  }

  onAgent(listener: (agentId: string) => void): () => void {
    return this.listeners.add(listener);
  }

  tail(agentId: string, from: number): readonly HubItem[] | undefined {
    const w = this.writers.get(agentId);
    if (w === undefined || from < w.tailStart || from > w.tailStart + w.tail.length) return undefined;
    return from === w.tailStart + w.tail.length ? [] : w.tail.slice(from - w.tailStart);
  }

  onCommit(listener: (agentId: string) => void): () => void {
    return this.commits.add(listener);
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.watcher?.close();
    clearInterval(this.poller);
    await this.commit.idle();
    await this.commit.stop();
    for (const w of this.writers.values()) {
      await w.handle?.close().catch(() => undefined);
      w.handle = undefined;
    }
    this.notifier.notifyAll();
    // Live in-process streams learn of the close through their commit hook.
    for (const agentId of this.writers.keys()) this.commits.emit(agentId);
  }

  private writer(agentId: string): JournalWriter {
    let w = this.writers.get(agentId);
    if (w === undefined) {
      const next = this.index.nextIndex(agentId);
      w = new JournalWriter(agentId, this.fileFor(agentId), next, next);
      this.writers.set(agentId, w);
    }
    return w;
  }

  /** A batch is on disk: index it, keep it in the tail, resolve its appends, wake followers. */
  private committed(w: JournalWriter, batch: readonly PendingAppend[], items: readonly HubItem[]): void {
    const agentId = w.agentId;
    const isNew = !this.index.has(agentId);
    // Trim before adding: a live follower is at the end of the tail, so the whole new batch must stay in it.
    const keep = this.options.tailItems ?? tailFor(this.writers.size);
    if (w.tail.length > 2 * keep) {
      const drop = w.tail.length - keep;
      w.tail.splice(0, drop);
      w.tailStart += drop;
    }
    for (const item of items) {
      this.index.apply(item);
      w.tail.push(item);
    }
    for (const b of batch) b.resolve();
    if (isNew) this.listeners.emit(agentId);
    this.commits.emit(agentId);
    this.notifier.notify(agentId);
  }

  /** Reads an agent's journal into the index; terminates a torn last line so the next append starts clean. */
  private async restore(agentId: string): Promise<void> {
    const reader = new JournalFileReader(this.fileFor(agentId));
    try {
      for (let items = await reader.readMore(); items.length > 0; items = await reader.readMore()) {
        for (const item of items) if (item.index === this.index.nextIndex(agentId) && item.agentId === agentId) this.index.apply(item);
      }
      this.corruptLines += reader.corrupt;
      if (reader.midLine) await appendFile(this.fileFor(agentId), '\n');
    } finally {
      await reader.close();
    }
  }

  private async listAgents(): Promise<string[]> {
    const names = await readdir(this.options.dir);
    return names.filter((n) => n.endsWith(SUFFIX)).map((n) => decodeURIComponent(n.slice(0, -SUFFIX.length)));
  }

  private async startWatching(): Promise<void> {
    const discover = async (): Promise<void> => {
      for (const agentId of await this.listAgents().catch(() => [])) {
        if (this.known.has(agentId)) continue;
        this.known.add(agentId);
        this.listeners.emit(agentId);
      }
    };
    await discover();
    try {
      this.watcher = watch(this.options.dir, (event, name) => {
        if (typeof name !== 'string' || !name.endsWith(SUFFIX)) return;
        if (event === 'rename') void discover();
        this.notifier.notify(decodeURIComponent(name.slice(0, -SUFFIX.length)));
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // fs.watch unavailable: the poll below still finds everything.
    }
    this.poller = setInterval(() => void discover(), (this.options.pollMs ?? 100) * 5);
    this.poller.unref();
  }
}
