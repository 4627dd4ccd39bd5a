/**
 * A consumer that reads a hub's journal directory on its own: from another
 * process, or across hub restarts (it does not end when a hub closes). Every
 * committed item once, in order per agent.
 */
import { JournalEventStore } from './store-journal.js';
import { followSelected, type StreamSelector } from './stream.js';
import type { HubItem } from './types.js';

export interface FollowJournalOptions {
  /** 'start' (default) or an index (one agent only); 'now' is not available to a reader that keeps no index. */
  from?: 'start' | number;
  signal?: AbortSignal;
  /** Poll interval in ms; fs.watch wakes the reader sooner. */
  pollMs?: number;
}

export async function* followJournal(dir: string, selector: StreamSelector = {}, options: FollowJournalOptions = {}): AsyncGenerator<HubItem> {
  const store = new JournalEventStore({ dir, readOnly: true, ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }) });
  await store.open();
  try {
    yield* followSelected(store, selector, { from: options.from ?? 'start', ...(options.signal === undefined ? {} : { signal: options.signal }) });
  } finally {
    await store.close();
  }
}
