/** Drains a hub stream in the background so tests can poll what was delivered. */
import type { HubItem } from '../../src/hub/index.js';

export class StreamCollector {
  readonly items: HubItem[] = [];
  error: unknown;
  done = false;
  private readonly finished: Promise<void>;

  constructor(stream: AsyncIterable<HubItem>) {
    this.finished = (async () => {
      try {
        for await (const item of stream) this.items.push(item);
      } catch (error) {
        this.error = error;
      } finally {
        this.done = true;
      }
    })();
  }

  events(agentId?: string): Extract<HubItem, { kind: 'event' }>[] {
    return this.items.filter((i): i is Extract<HubItem, { kind: 'event' }> => i.kind === 'event' && (agentId === undefined || i.agentId === agentId));
  }

  of<K extends HubItem['kind']>(kind: K): Extract<HubItem, { kind: K }>[] {
    return this.items.filter((i): i is Extract<HubItem, { kind: K }> => i.kind === kind);
  }

  async until(check: (items: HubItem[]) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.items)) {
      if (this.error !== undefined) throw this.error;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; have ${this.items.map((i) => `${i.kind}${i.kind === 'event' ? i.seq : ''}`).join(' ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stopped(): Promise<void> {
    await this.finished;
  }
}
