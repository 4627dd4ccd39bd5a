/**
 * The hub's recent hello refusals (a refused token, an agent in the wrong VM),
 * newest last and bounded: the counters say how many, this says which agent,
 * over which connection, and why, so a caller waiting for a session that never
 * comes can report the reason instead of a bare timeout.
 */
import type { TransportKind } from './types.js';

export interface HubRefusal {
  /** Host clock (ms) when the hello was refused. */
  at: number;
  /** ATP_HUB_AUTH or ATP_HUB_IDENTITY. */
  code: string;
  message: string;
  /** The bound key the refusal concerns (the channel's or the token's), when there is one. */
  key: string | undefined;
  /** What the hello said. */
  agentId: string;
  vmUuid: string | undefined;
  transport: TransportKind;
  remote: string;
}

export const MAX_REFUSALS_KEPT = 64;

export class RefusalLog {
  private readonly entries: HubRefusal[] = [];

  add(refusal: HubRefusal): void {
    this.entries.push(refusal);
    if (this.entries.length > MAX_REFUSALS_KEPT) this.entries.splice(0, this.entries.length - MAX_REFUSALS_KEPT);
  }

  list(): HubRefusal[] {
    return this.entries.map((r) => ({ ...r }));
  }
}
