/**
 * One run's page: its summary (GET /api/v1/runs/:id), live progress per VM
 * (its stored run events, GET /runs/:id/events, then the live `run` events of
 * /api/v1/events for this run; each run event applied once by its seq), and
 * once it has a report (GET /runs/:id/report): results per VM and per suite,
 * the latency plots and the findings with their diffs. Cancel while it runs;
 * the JSON, JUnit and HTML reports are links (the HTML one opens in a new tab:
 * the API does not let itself be framed).
 */
import { ApiRunDetailSchema, ApiRunEventsSchema, ApiSuiteListSchema, isActiveRunStatus, ReportV1Schema, type ApiRunDetail, type ApiVmProgress, type ReportV1 } from '@atp/protocol';
import { API, ApiFailure, describeError, getParsed, postJson } from '../api.js';
import { fill, h, pill } from '../dom.js';
import { EventStream } from '../events.js';
import { findingsList } from '../findings.js';
import { latencyHistogram, latencyOverTime } from '../plots.js';
import { applyRunData, applyRunEvent, emptyProgress, type RunProgress } from '../progress.js';
import { throttle, type App, type View } from '../view.js';
import { latencySeries, liveFindings, progressRows, progressTable, reportFindings, suiteResultsTable, summaryList, vmResultsTable } from './run-parts.js';

const section = (id: string, title: string, ...content: HTMLElement[]): HTMLElement =>
  h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...content);

export function runView(app: App, id: string): View {
  const controller = new AbortController();
  const base = `/runs/${encodeURIComponent(id)}`;
  const progress: RunProgress = emptyProgress();
  let detail: ApiRunDetail | undefined;
  let report: ReportV1 | undefined;
  let snapshot: readonly ApiVmProgress[] = [];

  const status = h('span', { id: 'run-status', role: 'status', 'aria-live': 'polite' });
  const cancel = h('button', { type: 'button', hidden: true }, 'Cancel run');
  const links = h('p', { class: 'links' });
  const summary = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const progressBox = h('div', { 'aria-live': 'off' });
  const results = h('div', { class: 'stack' });

  const drawHead = (): void => {
    if (detail === undefined) return;
    fill(status, pill(detail.status));
    cancel.hidden = !isActiveRunStatus(detail.status);
    fill(
      links,
      detail.hasReport
        ? [
            h('a', { href: `${API}${base}/report.html`, target: '_blank', rel: 'noopener' }, 'HTML report (new tab)'),
            ' · ',
            h('a', { href: `${API}${base}/report`, download: `${id}.json` }, 'JSON report'),
            ' · ',
            h('a', { href: `${API}${base}/report.xml`, download: `${id}.xml` }, 'JUnit report'),
          ]
        : h('span', { class: 'muted' }, 'The reports appear here when the run has finished.'),
    );
    fill(summary, summaryList(detail, report));
  };
  const drawProgress = throttle(() => fill(progressBox, progressTable(progressRows(progress, snapshot)), liveFindingsBox()), 250);
  const liveFindingsBox = (): HTMLElement | null => {
    if (report !== undefined) return null;
    const found = liveFindings(progress);
    return found.length === 0 ? null : h('div', {}, h('h3', {}, `Findings so far (${found.length})`), findingsList(found, { limit: 50 }));
  };
  const drawResults = (): void => {
    if (report === undefined) return;
    const series = latencySeries(report);
    const found = reportFindings(report);
    fill(
      results,
      section('results-title', 'Results', ...[vmResultsTable(report), suiteResultsTable(report)].filter((e): e is HTMLElement => e !== null)),
      section('plots-title', 'Latency', ...(series.length === 0 ? [h('p', { class: 'muted' }, 'This report has no latency samples.')] : [h('div', { class: 'plots' }, latencyHistogram(series), latencyOverTime(series))])),
      section('findings-title', `Findings (${found.length})`, findingsList(found)),
    );
  };

  const loadReport = async (): Promise<void> => {
    if (report !== undefined || detail?.hasReport !== true) return;
    try {
      report = await getParsed(`${base}/report`, ReportV1Schema, controller.signal);
      drawHead();
      drawResults();
      drawProgress();
    } catch (error) {
      if (!controller.signal.aborted) fill(results, h('p', { class: 'error' }, `Cannot load the report: ${describeError(error)}`));
    }
  };
  const loadDetail = async (): Promise<void> => {
    try {
      detail = await getParsed(base, ApiRunDetailSchema, controller.signal);
      snapshot = detail.progress;
      drawHead();
      drawProgress();
      await loadReport();
    } catch (error) {
      if (controller.signal.aborted) return;
      fill(summary, h('p', { class: 'error' }, error instanceof ApiFailure && error.status === 404 ? `No run ${id} on this server.` : `Cannot load the run: ${describeError(error)}`));
    }
  };
  /** The run's stored events after the last one applied (all pages). */
  const backfill = async (): Promise<void> => {
    let after = progress.lastSeq;
    for (;;) {
      const page = await getParsed(`${base}/events?after=${after}`, ApiRunEventsSchema, controller.signal);
      for (const event of page.events) if (event.seq > progress.lastSeq) applyRunEvent(progress, event);
      if (page.next === undefined || page.next <= after) break;
      after = page.next;
    }
    drawProgress();
  };
  const refreshDetail = throttle(() => void loadDetail(), 1_000);
  /** Step counts of the server's suites, so a VM's progress reads "step 3 of 35" before any VM finished the suite. */
  const loadSuiteSteps = async (): Promise<void> => {
    const { suites } = await getParsed('/suites', ApiSuiteListSchema, controller.signal);
    for (const suite of suites) if (suite.ok && !progress.suiteSteps.has(suite.name)) progress.suiteSteps.set(suite.name, suite.steps);
    drawProgress();
  };

  let stream: EventStream | undefined;
  const start = async (): Promise<void> => {
    await loadDetail();
    if (controller.signal.aborted || detail === undefined) return;
    await backfill().catch((error: unknown) => {
      if (!controller.signal.aborted) app.announce(`Cannot read the run's events: ${describeError(error)}`, 'error');
    });
    if (controller.signal.aborted || !isActiveRunStatus(detail.status)) return;
    void loadSuiteSteps().catch(() => undefined);
    stream = new EventStream({
      kinds: ['run'],
      runId: id,
      after: 0,
      onEvent: (event) => {
        if (!applyRunData(progress, event.data)) return;
        drawProgress();
        const type = event.data.type;
        if (type === 'run-status' || type === 'run-finished') refreshDetail();
      },
      onGap: () => void backfill().catch(() => undefined),
      onState: (state, detailText) => app.setLive(state, detailText),
    });
  };
  void start();

  cancel.addEventListener('click', () => {
    cancel.disabled = true;
    postJson(`${base}/cancel`, {})
      .then(() => app.announce(`Run ${id}: cancel requested.`, 'info'))
      .catch((error: unknown) => app.announce(`Cannot cancel: ${describeError(error)}`, 'error'))
      .finally(() => {
        cancel.disabled = false;
        refreshDetail();
      });
  });

  const root = h(
    'section',
    { class: 'view' },
    h('div', { class: 'view-head' }, h('h1', { id: 'view-title', tabindex: '-1' }, `Run ${id}`), status, cancel),
    links,
    section('summary-title', 'Summary', summary),
    section('progress-title', 'Progress', progressBox),
    results,
  );
  return {
    title: `Run ${id}`,
    root,
    dispose: () => {
      controller.abort();
      drawProgress.cancel();
      refreshDetail.cancel();
      stream?.close();
    },
  };
}
