/**
 * The event store behind the hub: one ordered item log per agent (events and
 * session notices), numbered by `index` from 0 without holes. The hub appends
 * and acknowledges only once append() resolved; consumers follow the logs from
 * the store, so what they read is exactly what was committed, once, in order.
 * Shared pieces here: the interface, the per-agent index both stores keep
 * (restored from the journal on startup) and the wake-up notifier.
 */
import type { HelloSummary, HubItem, HubItemInput } from './types.js';

export interface AgentBootState {
  bootId: string;
  /** Highest seq committed for this boot, null before its first event. */
  highestSeq: number | null;
  /** What this boot's last hello said, when the store has seen one. */
  hello: HelloSummary | null;
  /** Highest cumulative ack recorded for this boot (connected / disconnected items), null when none. */
  ackedSeq: number | null;
}

export interface EventStore {
  /** Loads what a previous run left; call once before anything else. */
  open(): Promise<void>;
  readonly closed: boolean;
  agents(): string[];
  /** The index the next item of `agentId` will get (0 for an unknown agent). */
  nextIndex(agentId: string): number;
  highestSeq(agentId: string, bootId: string): number | null;
  /** The boot of the agent's most recent item. */
  lastBoot(agentId: string): AgentBootState | undefined;
  /** Appends in order; resolves once committed (durable for the journal). Rejects ATP_HUB_STORE. */
  append(agentId: string, items: readonly HubItemInput[]): Promise<HubItem[]>;
  /** Items of `agentId` from index `from`, then new ones as they come, until `signal` aborts or the store closes. */
  follow(agentId: string, from: number, signal?: AbortSignal): AsyncIterable<HubItem>;
  /** Called once per agent when its first item is committed (or discovered). Returns unsubscribe. */
  onAgent(listener: (agentId: string) => void): () => void;
  /**
   * Optional fast path for in-process followers: the committed items of
   * `agentId` from index `from` on, synchronously, while they are still in
   * memory ([] when `from` is the next index); undefined when they are not (the
   * follower reads them through follow()).
   */
  tail?(agentId: string, from: number): readonly HubItem[] | undefined;
  /** With tail(): called synchronously after every commit of an agent's items. Returns unsubscribe. */
  onCommit?(listener: (agentId: string) => void): () => void;
  close(): Promise<void>;
}

interface AgentIndex {
  next: number;
  boots: Map<string, number | null>;
  acked: Map<string, number>;
  last: { bootId: string; hello: HelloSummary | null } | undefined;
}

/** Per-agent bookkeeping derived from the items: next index, highest seq per boot, last boot. */
export class StoreIndex {
  private readonly byAgent = new Map<string, AgentIndex>();

  apply(item: HubItem): void {
    let a = this.byAgent.get(item.agentId);
    if (a === undefined) {
      a = { next: 0, boots: new Map(), acked: new Map(), last: undefined };
      this.byAgent.set(item.agentId, a);
    }
    a.next = item.index + 1;
    if (!a.boots.has(item.bootId)) a.boots.set(item.bootId, null);
    if (item.kind === 'event') a.boots.set(item.bootId, Math.max(item.seq, a.boots.get(item.bootId) ?? 0));
    else if ((item.kind === 'connected' || item.kind === 'disconnected') && typeof item.ackedSeq === 'number') {
      a.acked.set(item.bootId, Math.max(item.ackedSeq, a.acked.get(item.bootId) ?? 0));
    }
    const hello = item.kind === 'connected' || item.kind === 'boot-changed' ? item.hello : undefined;
    if (a.last?.bootId !== item.bootId) a.last = { bootId: item.bootId, hello: hello ?? null };
    else if (hello !== undefined) a.last.hello = hello;
  }

  has(agentId: string): boolean {
    return this.byAgent.has(agentId);
  }

  agents(): string[] {
    return [...this.byAgent.keys()];
  }

  nextIndex(agentId: string): number {
    return this.byAgent.get(agentId)?.next ?? 0;
  }

  highestSeq(agentId: string, bootId: string): number | null {
    return this.byAgent.get(agentId)?.boots.get(bootId) ?? null;
  }

  lastBoot(agentId: string): AgentBootState | undefined {
    const a = this.byAgent.get(agentId);
    if (a?.last === undefined) return undefined;
    return { bootId: a.last.bootId, highestSeq: a.boots.get(a.last.bootId) ?? null, hello: a.last.hello, ackedSeq: a.acked.get(a.last.bootId) ?? null };
  }

  /** Gives each input its index, in order. */
  number(agentId: string, items: readonly HubItemInput[]): HubItem[] {
    let next = this.nextIndex(agentId);
    return items.map((item) => ({ ...item, index: next++ }) as HubItem);
  }
}

/** Wakes followers of a key when something is appended (or everything when the store closes). */
export class Notifier {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly bySignal = new WeakMap<AbortSignal, Set<() => void>>();

  wait(key: string, signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      let set = this.waiters.get(key);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(key, set);
      }
      const waiters = set;
      const onAbort = signal === undefined ? undefined : this.abortSet(signal);
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        onAbort?.delete(done);
        waiters.delete(done);
        resolve();
      };
      waiters.add(done);
      onAbort?.add(done);
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
    });
  }

  /**
   * The waiters to release when `signal` aborts. One listener per signal, not
   * one per wait: a thousand followers sharing a signal would otherwise add and
   * remove a listener on every item.
   */
  private abortSet(signal: AbortSignal): Set<() => void> {
    let set = this.bySignal.get(signal);
    if (set === undefined) {
      const waiters = new Set<() => void>();
      set = waiters;
      this.bySignal.set(signal, waiters);
      signal.addEventListener('abort', () => {
        for (const w of [...waiters]) w();
      }, { once: true });
    }
    return set;
  }

  notify(key: string): void {
    const set = this.waiters.get(key);
    if (set === undefined) return;
    this.waiters.delete(key);
    for (const w of set) w();
  }

  notifyAll(): void {
    for (const key of [...this.waiters.keys()]) this.notify(key);
  }
}

/** Listener set for onAgent. */
export class AgentListeners {
  private readonly listeners = new Set<(agentId: string) => void>();

  add(listener: (agentId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(agentId: string): void {
    for (const l of this.listeners) l(agentId);
  }
}
