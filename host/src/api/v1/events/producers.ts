/**
 * What feeds the live event log besides runs (the RunManager publishes
 * those): agents connecting and leaving (agent-activity.ts), a hub metrics
 * sample every `intervalMs` (metrics-sampler.ts; also served by
 * GET /api/v1/metrics through the 'metrics' service), and the server's log
 * lines: `context.log` is wrapped so every line is also a `kind: 'log'`
 * event. `atp-host serve` starts them once per server; they stop when
 * `signal` aborts or stop() is called.
 */
import type { ApiContext } from '../context.js';
import { AgentActivity } from './agent-activity.js';
import { EventsEndpoint } from './endpoint.js';
import { MetricsSampler } from './metrics-sampler.js';

/** Service names in ApiContext.services. */
export const METRICS_SERVICE = 'metrics';
export const EVENTS_SERVICE = 'events';

export const DEFAULT_METRICS_INTERVAL_MS = 2000;

export interface EventProducers {
  readonly sampler: MetricsSampler;
  readonly activity: AgentActivity;
  stop(): Promise<void>;
}

/** The server's events endpoint, when one registered itself (server.ts). */
export function eventsEndpointOf(context: ApiContext): EventsEndpoint | undefined {
  const service = context.services.get(EVENTS_SERVICE);
  return service instanceof EventsEndpoint ? service : undefined;
}

export function metricsSamplerOf(context: ApiContext): MetricsSampler | undefined {
  const service = context.services.get(METRICS_SERVICE);
  return service instanceof MetricsSampler ? service : undefined;
}

export function startEventProducers(context: ApiContext, options: { signal?: AbortSignal; intervalMs?: number } = {}): EventProducers {
  const lifetime = new AbortController();
  const activity = new AgentActivity(context.hub, context.events);
  const sampler = new MetricsSampler({ hub: context.hub, activity, eventClients: () => eventsEndpointOf(context)?.clientCount ?? 0 });
  context.services.set(METRICS_SERVICE, sampler);

  const print = context.log;
  const publishing = (line: string): void => {
    print(line);
    context.events.publish({ kind: 'log', data: { line } });
  };
  context.log = publishing;

  const watching = activity.watch(lifetime.signal);
  const timer = setInterval(() => {
    const sample = sampler.take();
    context.events.publish({ kind: 'metrics', data: sample });
  }, options.intervalMs ?? DEFAULT_METRICS_INTERVAL_MS);
  timer.unref();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(timer);
      lifetime.abort();
      options.signal?.removeEventListener('abort', onAbort);
      if (context.log === publishing) context.log = print;
      if (context.services.get(METRICS_SERVICE) === sampler) context.services.delete(METRICS_SERVICE);
      sampler.stop();
      await watching;
    })());
  const onAbort = (): void => void stop();
  if (options.signal?.aborted === true) void stop();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  return { sampler, activity, stop };
}
