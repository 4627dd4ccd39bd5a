/**
 * Hub metrics, sampled every couple of seconds: sessions, events received
 * per second, each agent's last event, the process's event-loop delay and
 * RSS. Each sample is kept as the latest (GET /api/v1/metrics) and published
 * as a `kind: 'metrics'` live event.
 *
 * The event-loop delay comes from perf_hooks' monitorEventLoopDelay, which
 * records the whole period of a timer of `resolution` ms; the figures here
 * are that period minus the resolution (0 on an idle loop).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { ApiMetricsSample } from '@atp/protocol';
import type { AgentHub } from '../../../hub/index.js';
import type { AgentActivity } from './agent-activity.js';

const RESOLUTION_MS = 10;
const ms = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 1000) / 1000);

export interface MetricsSources {
  hub: AgentHub;
  activity: AgentActivity;
  /** Open /api/v1/events connections. */
  eventClients: () => number;
}

export class MetricsSampler {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private previous: { at: number; delivered: number };
  private sample: ApiMetricsSample;

  constructor(private readonly sources: MetricsSources) {
    this.histogram.enable();
    this.previous = { at: Date.now(), delivered: sources.hub.metrics().eventsDelivered };
    this.sample = this.take();
  }

  /** The most recent sample. */
  get latest(): ApiMetricsSample {
    return this.sample;
  }

  /** Takes a new sample (rates since the previous one) and keeps it as the latest. */
  take(): ApiMetricsSample {
    const now = Date.now();
    const hub = this.sources.hub.metrics();
    const intervalMs = now - this.previous.at;
    const received = hub.eventsDelivered - this.previous.delivered;
    const h = this.histogram;
    const loop = h.count === 0 ? { p50Ms: 0, p99Ms: 0, maxMs: 0 } : { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
    h.reset();
    this.previous = { at: now, delivered: hub.eventsDelivered };
    this.sample = {
      at: new Date(now).toISOString(),
      intervalMs,
      sessions: hub.sessionsActive,
      connections: hub.connectionsActive,
      eventsPerSec: intervalMs <= 0 ? 0 : Math.round((received * 1000 * 10) / intervalMs) / 10,
      eventsTotal: hub.eventsDelivered,
      agents: this.sources.activity.snapshot(),
      eventLoopDelay: loop,
      rssBytes: process.memoryUsage.rss(),
      eventClients: this.sources.eventClients(),
    };
    return this.sample;
  }

  stop(): void {
    this.histogram.disable();
  }
}
