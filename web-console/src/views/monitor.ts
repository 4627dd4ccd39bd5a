/**
 * Monitoring: the agents connected to the hub (GET /api/v1/agents: transport,
 * since when, last event, clock offset), and the hub's load: events/s and the
 * server's event-loop delay, first from GET /api/v1/metrics, then from the
 * live `metrics` events (one every couple of seconds), plotted over the last
 * few minutes. Agents reload when one connects or leaves, and every 10 s.
 */
import { ApiAgentListSchema, ApiMetricsSampleSchema, type ApiMetricsSample } from '@atp/protocol';
import { describeError, getParsed } from '../api.js';
import { fill, formatMs, formatTime, h, pill, table } from '../dom.js';
import { EventStream } from '../events.js';
import { linePlot } from '../plots.js';
import { throttle, type App, type View } from '../view.js';

/** Samples kept for the plots (about 5 minutes at one per 2 s). */
const KEEP = 150;

/** Adds a sample (newest last, none twice), keeping the last `keep`. Pure. */
export function addSample(samples: ApiMetricsSample[], sample: ApiMetricsSample, keep = KEEP): ApiMetricsSample[] {
  if (samples.some((s) => s.at === sample.at)) return samples;
  return [...samples, sample].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)).slice(-keep);
}

function figures(sample: ApiMetricsSample): HTMLElement {
  const pairs: [string, string][] = [
    ['Events/s', sample.eventsPerSec.toFixed(1)],
    ['Events in all', String(sample.eventsTotal)],
    ['Agent sessions', `${sample.sessions} (${sample.connections} ${sample.connections === 1 ? 'connection' : 'connections'})`],
    ['Event-loop delay', `p50 ${formatMs(sample.eventLoopDelay.p50Ms)}, p99 ${formatMs(sample.eventLoopDelay.p99Ms)}, max ${formatMs(sample.eventLoopDelay.maxMs)}`],
    ['Memory (RSS)', `${(sample.rssBytes / 1024 / 1024).toFixed(0)} MiB`],
    ['Event stream clients', String(sample.eventClients)],
    ['Sampled', formatTime(sample.at)],
  ];
  return h('dl', { class: 'facts' }, pairs.map(([t, v]) => h('div', {}, h('dt', {}, t), h('dd', {}, v))));
}

function plots(samples: ApiMetricsSample[]): HTMLElement {
  const t0 = Date.parse(samples[0]?.at ?? new Date().toISOString());
  const at = (s: ApiMetricsSample): number => (Date.parse(s.at) - t0) / 1000;
  return h(
    'div',
    { class: 'plots' },
    linePlot([{ label: 'events/s', points: samples.map((s) => [at(s), s.eventsPerSec] as const) }], {
      title: 'Hub events per second',
      summary: `${samples.length} samples; now ${samples.at(-1)?.eventsPerSec.toFixed(1) ?? '–'}/s`,
      xLabel: 'time (s)',
      yLabel: 'events/s',
    }),
    linePlot(
      [
        { label: 'p99', points: samples.map((s) => [at(s), s.eventLoopDelay.p99Ms] as const) },
        { label: 'p50', points: samples.map((s) => [at(s), s.eventLoopDelay.p50Ms] as const) },
      ],
      { title: 'Event-loop delay', summary: `server process; now p99 ${formatMs(samples.at(-1)?.eventLoopDelay.p99Ms)}`, xLabel: 'time (s)', yLabel: 'delay (ms)' },
    ),
  );
}

export function monitorView(app: App): View {
  const controller = new AbortController();
  const agentsBox = h('div', {}, h('p', { class: 'muted' }, 'Loading agents…'));
  const metricsBox = h('div', {}, h('p', { class: 'muted' }, 'Loading metrics…'));
  let samples: ApiMetricsSample[] = [];

  const loadAgents = async (): Promise<void> => {
    try {
      const { agents } = await getParsed('/agents', ApiAgentListSchema, controller.signal);
      fill(
        agentsBox,
        table(
          'Agents',
          ['Agent', 'State', 'Transport', 'Remote', 'Connected', 'Last event', 'Clock offset'],
          agents.map((a) => [
            a.agentId ?? `(session ${a.sessionId})`,
            pill(a.state),
            a.transport,
            a.remote,
            formatTime(a.connectedAt),
            formatTime(a.lastEventAt),
            a.clock === undefined ? '–' : `${formatMs(a.clock.offsetMs)} ± ${formatMs(a.clock.uncertaintyMs)}`,
          ]),
          { empty: 'No agent is connected.' },
        ),
      );
    } catch (error) {
      if (!controller.signal.aborted) fill(agentsBox, h('p', { class: 'error' }, `Cannot list the agents: ${describeError(error)}`));
    }
  };
  const drawMetrics = throttle(() => {
    const last = samples.at(-1);
    if (last !== undefined) fill(metricsBox, figures(last), plots(samples));
  }, 1_000);
  const refreshAgents = throttle(() => void loadAgents(), 1_000);

  void getParsed('/metrics', ApiMetricsSampleSchema, controller.signal).then(
    (sample) => {
      samples = addSample(samples, sample);
      drawMetrics();
    },
    (error: unknown) => {
      if (!controller.signal.aborted) fill(metricsBox, h('p', { class: 'error' }, `Cannot read the metrics: ${describeError(error)}`));
    },
  );
  refreshAgents();
  const timer = setInterval(refreshAgents, 10_000);
  const stream = new EventStream({
    kinds: ['metrics', 'agent'],
    after: 'now',
    onEvent: (event) => {
      if (event.kind === 'agent') {
        refreshAgents();
        return;
      }
      const parsed = ApiMetricsSampleSchema.safeParse(event.data);
      if (!parsed.success) return;
      samples = addSample(samples, parsed.data);
      drawMetrics();
    },
    onState: (state, detail) => app.setLive(state, detail),
  });

  const root = h(
    'section',
    { class: 'view' },
    h('h1', { id: 'view-title', tabindex: '-1' }, 'Monitoring'),
    h('section', { class: 'card', 'aria-labelledby': 'hub-title' }, h('h2', { id: 'hub-title' }, 'Hub load'), metricsBox),
    h('section', { class: 'card', 'aria-labelledby': 'agents-title' }, h('h2', { id: 'agents-title' }, 'Agents'), agentsBox),
  );
  return {
    title: 'Monitoring',
    root,
    dispose: () => {
      controller.abort();
      clearInterval(timer);
      drawMetrics.cancel();
      refreshAgents.cancel();
      stream.close();
    },
  };
}
