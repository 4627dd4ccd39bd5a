/**
 * The run page's latency plots, drawn as SVG from the JSON report's latency
 * samples (SuiteReport.latencySamples: [ms since the suite's first send,
 * latency ms]): a histogram of all latencies and latency over time, one series
 * per VM and suite. Drawn with DOM calls (no HTML strings, no inline script:
 * the console's CSP allows neither). Each plot is an <svg role="img"> with a
 * title and a text summary for screen readers. The binning and tick rules are
 * pure and tested.
 */
import { h, svg } from './dom.js';

export interface Series {
  label: string;
  points: readonly (readonly [number, number])[];
}

const W = 640;
const H = 240;
const M = { top: 12, right: 16, bottom: 36, left: 52 };
const COLOURS = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626'];

/** Round tick values covering [min, max] (about `count` of them). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max <= min) max = min + 1;
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  if ((ticks.at(-1) ?? 0) < max) ticks.push(Number(((ticks.at(-1) ?? 0) + step).toFixed(10)));
  return ticks;
}

/** Equal-width bins over [0, ticks' top]: counts per bin and the bin edges. */
export function histogramBins(values: readonly number[], binCount = 20): { edges: number[]; counts: number[] } {
  if (values.length === 0) return { edges: [0, 1], counts: [0] };
  const max = Math.max(...values, 0);
  const top = niceTicks(0, max === 0 ? 1 : max).at(-1) ?? 1;
  const width = top / binCount;
  const counts = new Array<number>(binCount).fill(0);
  for (const v of values) {
    const i = Math.min(binCount - 1, Math.max(0, Math.floor(v / width)));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return { edges: Array.from({ length: binCount + 1 }, (_, i) => i * width), counts };
}

const fmt = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1));

function frame(title: string, summary: string, xLabel: string, yLabel: string, x: (v: number) => number, y: (v: number) => number, xTicks: number[], yTicks: number[], body: SVGElement[]): HTMLElement {
  const id = `plot-${Math.random().toString(36).slice(2, 9)}`;
  const axes: SVGElement[] = [];
  for (const t of yTicks) {
    axes.push(svg('line', { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), class: 'grid' }));
    axes.push(svg('text', { x: M.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, fmt(t)));
  }
  for (const t of xTicks) axes.push(svg('text', { x: x(t), y: H - M.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, fmt(t)));
  axes.push(svg('line', { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, class: 'axis' }));
  axes.push(svg('line', { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, class: 'axis' }));
  axes.push(svg('text', { x: (M.left + W - M.right) / 2, y: H - 4, 'text-anchor': 'middle', class: 'label' }, xLabel));
  axes.push(svg('text', { x: 12, y: (M.top + H - M.bottom) / 2, 'text-anchor': 'middle', class: 'label', transform: `rotate(-90 12 ${(M.top + H - M.bottom) / 2})` }, yLabel));
  const plot = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'plot' }, svg('title', { id: `${id}-t` }, title), svg('desc', { id: `${id}-d` }, summary), ...axes, ...body);
  return h('figure', { class: 'figure' }, plot, h('figcaption', {}, h('strong', {}, title), ' ', h('span', { class: 'muted small' }, summary)));
}

export function latencyHistogram(series: readonly Series[]): HTMLElement {
  const values = series.flatMap((s) => s.points.map((p) => p[1]));
  const { edges, counts } = histogramBins(values);
  const xTop = edges.at(-1) ?? 1;
  const yTicks = niceTicks(0, Math.max(1, ...counts), 4);
  const yTop = yTicks.at(-1) ?? 1;
  const x = (v: number): number => M.left + (v / xTop) * (W - M.left - M.right);
  const y = (v: number): number => H - M.bottom - (v / yTop) * (H - M.top - M.bottom);
  const bars = counts.map((c, i) => {
    const x0 = x(edges[i] ?? 0);
    const x1 = x(edges[i + 1] ?? xTop);
    return svg('rect', { x: x0 + 1, y: y(c), width: Math.max(1, x1 - x0 - 2), height: y(0) - y(c), class: 'bar' }, svg('title', {}, `${fmt(edges[i] ?? 0)}–${fmt(edges[i + 1] ?? xTop)} ms: ${c}`));
  });
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const summary = values.length === 0 ? 'no latency samples' : `${values.length} samples, median ${fmt(pick(0.5))} ms, p99 ${fmt(pick(0.99))} ms, max ${fmt(sorted.at(-1) ?? 0)} ms`;
  return frame('Latency histogram', summary, 'latency (ms)', 'keys', x, y, niceTicks(0, xTop), yTicks, bars);
}

export interface LinePlotOptions {
  title: string;
  summary: string;
  xLabel: string;
  yLabel: string;
  /** Points are [x, y]; x is divided by this for the axis (1000: ms → s). */
  xDivisor?: number;
  /** Draw a dot per point when a series has at most this many (default 300). */
  dotsUpTo?: number;
}

/** Lines (one per series, with a legend when there are several) on shared axes. */
export function linePlot(series: readonly Series[], options: LinePlotOptions): HTMLElement {
  const div = options.xDivisor ?? 1;
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0] / div);
  const xTicks = niceTicks(Math.min(0, ...xs), Math.max(1, ...xs));
  const yTicks = niceTicks(Math.min(0, ...all.map((p) => p[1])), Math.max(1, ...all.map((p) => p[1])), 4);
  const [xBottom, xTop, yBottom, yTop] = [xTicks[0] ?? 0, xTicks.at(-1) ?? 1, yTicks[0] ?? 0, yTicks.at(-1) ?? 1];
  const x = (v: number): number => M.left + ((v - xBottom) / (xTop - xBottom)) * (W - M.left - M.right);
  const y = (v: number): number => H - M.bottom - ((v - yBottom) / (yTop - yBottom)) * (H - M.top - M.bottom);
  const body: SVGElement[] = [];
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length] ?? '#2563eb';
    const path = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0] / div).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
    if (s.points.length > 1) body.push(svg('path', { d: path, fill: 'none', stroke: colour, 'stroke-width': 1.5, 'stroke-opacity': 0.8 }));
    if (s.points.length <= (options.dotsUpTo ?? 300)) for (const p of s.points) body.push(svg('circle', { cx: x(p[0] / div), cy: y(p[1]), r: 2, fill: colour }));
  });
  const fig = frame(options.title, options.summary, options.xLabel, options.yLabel, x, y, xTicks, yTicks, body);
  if (series.length > 1) {
    fig.append(
      h(
        'ul',
        { class: 'legend' },
        series.map((s, i) => h('li', {}, h('span', { class: 'swatch', 'data-colour': String(i % COLOURS.length) }), s.label)),
      ),
    );
  }
  return fig;
}

export function latencyOverTime(series: readonly Series[]): HTMLElement {
  const n = series.reduce((sum, s) => sum + s.points.length, 0);
  return linePlot(series, {
    title: 'Latency over time',
    summary: `${n} samples in ${series.length} series (time since each suite's first key)`,
    xLabel: 'time (s)',
    yLabel: 'latency (ms)',
    xDivisor: 1000,
  });
}
