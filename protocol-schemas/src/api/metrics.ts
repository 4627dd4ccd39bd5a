/**
 * A hub metrics sample: what `GET /api/v1/metrics` answers and what each
 * `kind: 'metrics'` live event carries (one every couple of seconds). Rates
 * are over the interval since the previous sample; the event-loop delay is
 * the server process's own (perf_hooks), the figure that tells whether the
 * host keeps up with its agents.
 */
import { z } from 'zod';

const count = z.number().int().min(0);
const ms = z.number().min(0);

export const ApiAgentActivitySchema = z.strictObject({
  agentId: z.string(),
  /** An admitted session is open for this agent now. */
  connected: z.boolean(),
  /** ISO time the hub received this agent's latest observed event; null when none since the server started. */
  lastEventAt: z.string().nullable(),
  /** Events received from this agent since the server started. */
  events: count,
});
export type ApiAgentActivity = z.output<typeof ApiAgentActivitySchema>;

export const ApiMetricsSampleSchema = z.strictObject({
  /** ISO time of the sample. */
  at: z.string(),
  /** Length of the interval the rates are over, ms. */
  intervalMs: ms,
  /** Admitted agent sessions and open hub connections (admitted or not). */
  sessions: count,
  connections: count,
  /** Observed events the hub received per second over the interval, and in total. */
  eventsPerSec: z.number().min(0),
  eventsTotal: count,
  agents: z.array(ApiAgentActivitySchema),
  /** Event-loop delay of the server process over the interval, ms. */
  eventLoopDelay: z.strictObject({ p50Ms: ms, p99Ms: ms, maxMs: ms }),
  /** Resident set size of the server process, bytes. */
  rssBytes: count,
  /** Open /api/v1/events connections. */
  eventClients: count,
});
export type ApiMetricsSample = z.output<typeof ApiMetricsSampleSchema>;
