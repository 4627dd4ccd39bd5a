/**
 * In-memory EventStore: for tests and short runs. Keeps every item for the life
 * of the process (no retention), so a hub restart in-process needs the same
 * instance; use the journal store when the hub must survive its own process.
 */
import { AtpError } from '@atp/protocol';
import { AgentListeners, Notifier, StoreIndex, type AgentBootState, type EventStore } from './store.js';
import type { HubItem, HubItemInput } from './types.js';

export class MemoryEventStore implements EventStore {
  private readonly index = new StoreIndex();
  private readonly logs = new Map<string, HubItem[]>();
  private readonly notifier = new Notifier();
  private readonly listeners = new AgentListeners();
  private isClosed = false;

  async open(): Promise<void> {
    // Reopening after close() keeps the items: a hub restarted on the same instance resumes.
    this.isClosed = false;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  agents(): string[] {
    return this.index.agents();
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

  async append(agentId: string, items: readonly HubItemInput[]): Promise<HubItem[]> {
    if (this.isClosed) throw new AtpError('ATP_HUB_CLOSED', 'the event store is closed');
    const isNew = !this.index.has(agentId);
    const numbered = this.index.number(agentId, items);
    let log = this.logs.get(agentId);
    if (log === undefined) {
      log = [];
      this.logs.set(agentId, log);
    }
    for (const item of numbered) {
      log.push(item);
      this.index.apply(item);
    }
    if (isNew && numbered.length > 0) this.listeners.emit(agentId);
    this.notifier.notify(agentId);
    return numbered;
  }

  async *follow(agentId: string, from: number, signal?: AbortSignal): AsyncIterable<HubItem> {
    let next = from;
    while (!signal?.aborted) {
      const log = this.logs.get(agentId) ?? [];
      if (next < log.length) {
        const item = log[next++];
        if (item !== undefined) yield item;
        continue;
      }
      if (this.isClosed) return;
      await this.notifier.wait(agentId, signal);
    }
  }

  onAgent(listener: (agentId: string) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.notifier.notifyAll();
  }
}
