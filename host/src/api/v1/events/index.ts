/** The live events: the /api/v1/events WebSocket endpoint and the producers that feed the event log. */
export { EVENTS_PATH, EventsEndpoint, type EventsClientStats, type EventsEndpointOptions } from './endpoint.js';
export { AgentActivity } from './agent-activity.js';
export { MetricsSampler, type MetricsSources } from './metrics-sampler.js';
export { DEFAULT_METRICS_INTERVAL_MS, EVENTS_SERVICE, METRICS_SERVICE, eventsEndpointOf, metricsSamplerOf, startEventProducers, type EventProducers } from './producers.js';
