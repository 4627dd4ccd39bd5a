/**
 * Run history: GET /api/v1/runs (the run store, newest first), each run a link
 * to its page. Reloads when a run changes status (live events).
 */
import { ApiRunListSchema, type ApiRunSummary } from '@atp/protocol';
import { describeError, getParsed } from '../api.js';
import { fill, formatMs, formatTime, h, pill, table } from '../dom.js';
import { EventStream } from '../events.js';
import { routeHash } from '../router.js';
import { throttle, type App, type View } from '../view.js';

const PAGE = 100;

/** "2 passed, 1 failed" from a finished run's VM totals. */
export function resultText(run: Pick<ApiRunSummary, 'vms' | 'error'>): string {
  if (run.vms === undefined) return run.error === undefined ? '–' : run.error.code;
  const parts: string[] = [];
  for (const [key, word] of [
    ['passed', 'passed'],
    ['failed', 'failed'],
    ['infraError', 'infra error'],
    ['aborted', 'aborted'],
    ['notRun', 'not run'],
  ] as const) {
    if (run.vms[key] > 0) parts.push(`${run.vms[key]} ${word}`);
  }
  return `${parts.join(', ') || 'no VMs'} of ${run.vms.total}`;
}

export function runDuration(run: Pick<ApiRunSummary, 'startedAt' | 'finishedAt'>): number | undefined {
  if (run.startedAt === undefined || run.finishedAt === undefined) return undefined;
  return Date.parse(run.finishedAt) - Date.parse(run.startedAt);
}

export function runsView(app: App): View {
  const content = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading runs…'));
  const controller = new AbortController();
  const load = async (): Promise<void> => {
    try {
      const { runs, total } = await getParsed(`/runs?limit=${PAGE}`, ApiRunListSchema, controller.signal);
      fill(
        content,
        table(
          total > runs.length ? `Runs (newest ${runs.length} of ${total})` : 'Runs',
          ['Run', 'Status', 'Created', 'Duration', 'Suites', 'Targets', 'VMs'],
          runs.map((run) => [
            h('a', { href: routeHash({ view: 'run', id: run.id }) }, run.id),
            pill(run.status),
            formatTime(run.createdAt),
            formatMs(runDuration(run)),
            run.suites.join(', '),
            run.targets,
            resultText(run),
          ]),
          { empty: 'No runs yet. Start one from “Start a run”.', className: 'runs' },
        ),
      );
    } catch (error) {
      if (!controller.signal.aborted) fill(content, h('p', { class: 'error' }, `Cannot list the runs: ${describeError(error)}`));
    } finally {
      content.setAttribute('aria-busy', 'false');
    }
  };
  const refresh = throttle(() => void load(), 2_000);
  const stream = new EventStream({
    kinds: ['run'],
    after: 'now',
    onEvent: (event) => {
      if (event.data.type === 'run-status') refresh();
    },
    onGap: () => refresh(),
    onState: (state, detail) => app.setLive(state, detail),
  });
  refresh();
  const root = h(
    'section',
    { class: 'view' },
    h('div', { class: 'view-head' }, h('h1', { id: 'view-title', tabindex: '-1' }, 'Runs'), h('a', { class: 'button', href: routeHash({ view: 'start' }) }, 'Start a run')),
    content,
  );
  return {
    title: 'Runs',
    root,
    dispose: () => {
      controller.abort();
      refresh.cancel();
      stream.close();
    },
  };
}
