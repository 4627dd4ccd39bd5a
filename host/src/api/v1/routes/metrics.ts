/** GET /api/v1/metrics: the latest hub metrics sample (the same one the live `metrics` events carry). */
import { AtpError, ApiMetricsSampleSchema } from '@atp/protocol';
import { metricsSamplerOf } from '../events/producers.js';
import { defineRoute, type ApiRoute } from '../route.js';

export function metricsRoutes(): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/metrics',
      summary: 'The latest hub metrics sample: sessions, events/s, each agent\'s last event, event-loop delay, RSS',
      tag: 'metrics',
      response: ApiMetricsSampleSchema,
      handler: (_request, context) => {
        const sampler = metricsSamplerOf(context);
        if (sampler === undefined) return Promise.reject(new AtpError('ATP_API_NOT_FOUND', 'this server samples no metrics (the event producers are not running)'));
        return Promise.resolve(sampler.latest);
      },
    }),
  ];
}
