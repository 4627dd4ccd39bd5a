/**
 * Agents coming and going, from the hub's stream: each connect and disconnect
 * is published as a `kind: 'agent'` live event (data: ApiAgentEventData), and
 * each observed event updates the agent's "last event" time and count that
 * the metrics sample lists. Reads the hub's store like any consumer, so it
 * sees exactly what the hub delivered.
 */
import type { ApiAgentActivity, ApiAgentEventData } from '@atp/protocol';
import type { AgentHub, HubItem } from '../../../hub/index.js';
import type { EventLog } from '../event-log.js';

interface Seen {
  lastEventAt: number | null;
  events: number;
  /** Last time anything was heard of the agent (for forgetting old ones). */
  touchedAt: number;
}

/** Agents remembered at most; the longest-silent disconnected ones are forgotten first. */
const MAX_AGENTS = 1000;

export class AgentActivity {
  private readonly seen = new Map<string, Seen>();
  private eventsTotal = 0;

  constructor(
    private readonly hub: AgentHub,
    private readonly events: EventLog,
  ) {}

  /** Follows the hub until `signal` aborts or the hub closes. */
  async watch(signal: AbortSignal): Promise<void> {
    try {
      for await (const item of this.hub.stream({ match: () => true }, { from: 'now', signal })) this.item(item);
    } catch {
      // The stream ends with an abort error when the server stops.
    }
  }

  /** Observed events received since watching began. */
  get total(): number {
    return this.eventsTotal;
  }

  /** Every agent with a session now or heard of since the server started. */
  snapshot(): ApiAgentActivity[] {
    const connected = new Set(this.hub.sessions().flatMap((s) => (s.state === 'active' && s.agentId !== undefined ? [s.agentId] : [])));
    const ids = new Set([...this.seen.keys(), ...connected]);
    return [...ids].sort().map((agentId) => {
      const seen = this.seen.get(agentId);
      const last = seen?.lastEventAt ?? null;
      return { agentId, connected: connected.has(agentId), lastEventAt: last === null ? null : new Date(last).toISOString(), events: seen?.events ?? 0 };
    });
  }

  private item(item: HubItem): void {
    const entry = this.touch(item.agentId, item.receivedAt);
    if (item.kind === 'event') {
      entry.lastEventAt = item.receivedAt;
      entry.events++;
      this.eventsTotal++;
      return;
    }
    let data: ApiAgentEventData;
    if (item.kind === 'connected') {
      const os = `${item.hello.os.platform} ${item.hello.os.release} ${item.hello.os.arch}`;
      data = { type: 'connected', agentId: item.agentId, bootId: item.bootId, sessionId: item.sessionId, transport: item.transport, remote: item.remote, version: item.hello.version, os };
    } else if (item.kind === 'disconnected') {
      data = { type: 'disconnected', agentId: item.agentId, bootId: item.bootId, sessionId: item.sessionId, reason: item.reason, lastSeq: item.lastSeq };
    } else return;
    this.events.publish({ kind: 'agent', data });
  }

  private touch(agentId: string, at: number): Seen {
    let entry = this.seen.get(agentId);
    if (entry === undefined) {
      entry = { lastEventAt: null, events: 0, touchedAt: at };
      this.seen.set(agentId, entry);
      if (this.seen.size > MAX_AGENTS) this.forgetOne();
    }
    entry.touchedAt = at;
    return entry;
  }

  private forgetOne(): void {
    const connected = new Set(this.hub.sessions().map((s) => s.agentId));
    let oldest: [string, number] | undefined;
    for (const [id, s] of this.seen) if (!connected.has(id) && (oldest === undefined || s.touchedAt < oldest[1])) oldest = [id, s.touchedAt];
    if (oldest !== undefined) this.seen.delete(oldest[0]);
  }
}
