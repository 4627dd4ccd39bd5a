/**
 * Consumer streams over an EventStore: one agent's log, or several merged
 * (order is kept per agent; there is no order across agents). Agents matched
 * by a predicate are picked up as they appear. A stream ends when its signal
 * aborts, the consumer stops iterating, or the store closes.
 */
import { setMaxListeners } from 'node:events';
import { AtpError } from '@atp/protocol';
import type { EventStore } from './store.js';
import type { HubItem } from './types.js';

/** One agent id, a list of them, or a predicate over agent ids (all agents when omitted). */
export type StreamSelector = string | { agentIds?: readonly string[]; match?: (agentId: string) => boolean };

export interface StreamOptions {
  /** 'start' (default): every item ever stored; 'now': only items committed after the call; a number: from that index (one agent only). */
  from?: 'start' | 'now' | number;
  signal?: AbortSignal;
}

/** Items a merged stream buffers before it stops pulling from its agents. */
const HIGH_WATER = 4096;
/**
 * The same for items handed over live at commit: a group commit (journal
 * store) delivers a whole turn's items before the consumer can run, so a
 * consumer that keeps up must not be taken for a slow one after one big flush.
 */
const LIVE_HIGH_WATER = 4 * HIGH_WATER;

export async function* followSelected(store: EventStore, selector: StreamSelector, options: StreamOptions = {}): AsyncGenerator<HubItem> {
  const fixed = typeof selector === 'string' ? [selector] : selector.agentIds;
  const match = typeof selector === 'string' ? undefined : selector.match;
  const from = options.from ?? 'start';
  if (typeof from === 'number' && (fixed === undefined || fixed.length !== 1)) {
    throw new AtpError('ATP_SCHEMA_INVALID', 'a numeric `from` needs exactly one agent id');
  }
  const controller = new AbortController();
  // Every per-agent follower listens on this signal while it waits.
  setMaxListeners(0, controller.signal);
  const onAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const queue: HubItem[] = [];
  let head = 0;
  let failure: unknown;
  let running = 0;
  let wake: (() => void) | undefined;
  /** Followers waiting for the consumer to make room (each one's resolver). */
  const space: (() => void)[] = [];
  const started = new Set<string>();
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  /** Agents delivered straight from the store's in-memory tail on each commit (no follower loop, no promise per item). */
  const live = new Map<string, number>();
  const tail = store.tail?.bind(store);
  const goLive = (agentId: string, next: number): boolean => {
    if (tail === undefined || controller.signal.aborted || queue.length - head > LIVE_HIGH_WATER) return false;
    const items = tail(agentId, next);
    if (items === undefined) return false;
    for (const item of items) queue.push(item);
    live.set(agentId, next + items.length);
    if (items.length > 0) poke();
    return true;
  };
  const onCommit = (agentId: string): void => {
    if (store.closed) return poke();
    const next = live.get(agentId);
    if (next === undefined) return;
    if (!goLive(agentId, next)) {
      // Fell out of the tail, or the consumer is slow: back to the follower loop, which waits for space.
      live.delete(agentId);
      follow(agentId, next);
    }
  };
  const follow = (agentId: string, startAt: number): void => {
    running++;
    void (async () => {
      try {
        let next = startAt;
        if (goLive(agentId, next)) return;
        for await (const item of store.follow(agentId, next, controller.signal)) {
          queue.push(item);
          next = item.index + 1;
          poke();
          while (queue.length - head > HIGH_WATER && !controller.signal.aborted) await new Promise<void>((r) => space.push(r));
          if (goLive(agentId, next)) return;
        }
      } catch (error) {
        failure ??= error;
      } finally {
        running--;
        poke();
      }
    })();
  };
  const start = (agentId: string, startAt: number): void => {
    if (started.has(agentId)) return;
    started.add(agentId);
    follow(agentId, startAt);
  };
  const startAtFor = (agentId: string, known: boolean): number => {
    if (typeof from === 'number') return from;
    return from === 'now' && known ? store.nextIndex(agentId) : 0;
  };

  controller.signal.addEventListener('abort', poke, { once: true });
  const offCommit = store.onCommit?.(onCommit);
  let unsubscribe: () => unknown = () => undefined;
  if (fixed !== undefined) for (const id of fixed) start(id, startAtFor(id, true));
  else {
    unsubscribe = store.onAgent((id) => {
      if (match === undefined || match(id)) start(id, 0);
    });
    for (const id of store.agents()) if (match === undefined || match(id)) start(id, startAtFor(id, true));
  }
  try {
    for (;;) {
      if (head < queue.length) {
        const item = queue[head++] as HubItem;
        if (head > 1024 && head * 2 > queue.length) {
          queue.splice(0, head);
          head = 0;
        }
        if (space.length > 0 && queue.length - head <= HIGH_WATER) for (const r of space.splice(0)) r();
        yield item;
        continue;
      }
      if (failure !== undefined) throw failure instanceof AtpError ? failure : new AtpError('ATP_HUB_STORE', String(failure), { cause: failure });
      if (controller.signal.aborted || (store.closed && running === 0)) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    offCommit?.();
    unsubscribe();
    controller.abort();
    options.signal?.removeEventListener('abort', onAbort);
    for (const r of space.splice(0)) r();
  }
}
