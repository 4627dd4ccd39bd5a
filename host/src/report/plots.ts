/**
 * Inline SVG plots for the HTML report, drawn from a suite's latency samples:
 * a histogram of latencies and latency over time, each with the report's
 * percentiles as labelled marker lines. Each SVG is an image (role="img")
 * named by its <title> and described by a <desc> that states the figures in
 * words; bars carry a <title> tooltip, and markers are told apart by dash
 * pattern and label, not only by colour. No script, no external resource. Pure.
 */
import { esc, text } from './html-parts.js';
import { histogram, linear, niceAxis, tailCut, tickLabel, type Histogram } from './plots-scale.js';
import { formatMs } from './format.js';

export interface Marker {
  /** "p50", "p99" ... */
  label: string;
  value: number;
}

export interface PlotOptions {
  /** Unique in the page: prefixes the ids of the title and description. */
  id: string;
  title: string;
  markers?: readonly Marker[];
}

const W = 560;
const H = 272;
const M = { left: 56, right: 18, top: 58, bottom: 46 } as const;
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

const n1 = (v: number): string => (Math.round(v * 10) / 10).toString();

function frame(options: PlotOptions, description: string, body: string): string {
  const t = `${options.id}-title`;
  const d = `${options.id}-desc`;
  return (
    `<svg class="plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="${esc(t)}" aria-describedby="${esc(d)}" data-plot="${esc(options.id)}">` +
    `<title id="${esc(t)}">${text(options.title)}</title><desc id="${esc(d)}">${text(description)}</desc>` +
    `<text class="plot-title" x="${M.left}" y="18">${text(options.title)}</text>${body}</svg>`
  );
}

/** Grid lines and tick labels for the y axis; the x axis is drawn by each plot. */
function yAxis(ticks: readonly number[], step: number, y: (v: number) => number, label: string): string {
  const lines = ticks
    .map((v) => `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${n1(y(v))}" y2="${n1(y(v))}"/><text class="tick" x="${M.left - 6}" y="${n1(y(v) + 4)}" text-anchor="end">${tickLabel(v, step)}</text>`)
    .join('');
  const mid = M.top + PLOT_H / 2;
  return `${lines}<text class="axis-label" transform="translate(14 ${n1(mid)}) rotate(-90)" text-anchor="middle">${text(label)}</text>`;
}

function xAxisLine(): string {
  return `<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${M.top + PLOT_H}" y2="${M.top + PLOT_H}"/>`;
}

function xLabel(label: string): string {
  return `<text class="axis-label" x="${n1(M.left + PLOT_W / 2)}" y="${H - 8}" text-anchor="middle">${text(label)}</text>`;
}

function markerText(markers: readonly Marker[]): string {
  return markers.map((m) => `${m.label} ${formatMs(m.value)}`).join(', ');
}

/** Vertical marker lines (histogram): labels staggered in rows above the plot so close percentiles stay readable. */
function verticalMarkers(markers: readonly Marker[], x: (v: number) => number, lo: number, hi: number): string {
  return markers
    .filter((m) => Number.isFinite(m.value) && m.value >= lo && m.value <= hi)
    .map((m, i) => {
      const px = n1(x(m.value));
      const labelY = M.top - 6 - (i % 2) * 12;
      return (
        `<g class="marker marker-${i}"><line x1="${px}" x2="${px}" y1="${M.top - 2 - (i % 2) * 12}" y2="${M.top + PLOT_H}" stroke-dasharray="${DASHES[i % DASHES.length] ?? ''}"/>` +
        `<text x="${px}" y="${labelY}" text-anchor="middle">${text(`${m.label} ${formatMs(m.value)}`)}</text></g>`
      );
    })
    .join('');
}

/** Horizontal marker lines (latency over time), labelled at the right end. */
function horizontalMarkers(markers: readonly Marker[], y: (v: number) => number, lo: number, hi: number): string {
  return markers
    .filter((m) => Number.isFinite(m.value) && m.value >= lo && m.value <= hi)
    .map((m, i) => {
      const py = n1(y(m.value));
      return (
        `<g class="marker marker-${i}"><line x1="${M.left}" x2="${W - M.right}" y1="${py}" y2="${py}" stroke-dasharray="${DASHES[i % DASHES.length] ?? ''}"/>` +
        `<text x="${W - M.right - 4}" y="${n1(y(m.value) - 4)}" text-anchor="end">${text(m.label)}</text></g>`
      );
    })
    .join('');
}

function binLabel(from: number, to: number, overflow: boolean, step: number): string {
  return overflow ? `≥ ${tickLabel(from, step)} ms (up to ${formatMs(to)})` : `${tickLabel(from, step)}–${tickLabel(to, step)} ms`;
}

/** The histogram's bins, for the table beside the plot. */
export function histogramBins(values: readonly number[]): Histogram {
  return histogram(values);
}

/** A histogram of latencies (ms) with the markers as vertical lines. */
export function histogramSvg(values: readonly number[], options: PlotOptions): string {
  const h = histogram(values);
  const markers = options.markers ?? [];
  if (h.total === 0) return frame(options, 'No latencies were measured.', `<text class="empty" x="${W / 2}" y="${H / 2}" text-anchor="middle">no latencies</text>`);
  const slots = h.bins.length;
  const first = h.bins[0]?.from ?? 0;
  const regularEnd = first + h.bins.filter((b) => b.overflow !== true).length * h.width;
  const x = linear(first, first + slots * h.width, M.left, W - M.right);
  const maxCount = Math.max(...h.bins.map((b) => b.count));
  const yAx = niceAxis(0, maxCount, 4);
  const yStep = Math.max(1, yAx.step);
  const yTicks = yAx.ticks.filter((t) => Number.isInteger(t));
  const y = linear(0, yAx.hi, M.top + PLOT_H, M.top);
  const gap = Math.min(1.5, (PLOT_W / slots) * 0.15);
  const bars = h.bins
    .map((b, i) => {
      const x0 = x(first + i * h.width) + gap / 2;
      const w = Math.max(0.5, x(first + (i + 1) * h.width) - x(first + i * h.width) - gap);
      const top = y(b.count);
      const label = `${binLabel(b.from, b.to, b.overflow === true, h.width)}: ${b.count}`;
      return `<rect class="bar${b.overflow === true ? ' overflow' : ''}" x="${n1(x0)}" y="${n1(top)}" width="${n1(w)}" height="${n1(M.top + PLOT_H - top)}"><title>${text(label)}</title></rect>`;
    })
    .join('');
  const xAx = niceAxis(first, regularEnd, 6);
  const overflow = h.bins.find((b) => b.overflow === true);
  // With an overflow bin its own label (≥ X) stands where the last regular tick would.
  const lastTick = overflow === undefined ? regularEnd + 1e-9 : regularEnd - xAx.step / 2;
  const xTicks = xAx.ticks
    .filter((t) => t >= first - 1e-9 && t <= lastTick)
    .map((t) => `<line class="tick-mark" x1="${n1(x(t))}" x2="${n1(x(t))}" y1="${M.top + PLOT_H}" y2="${M.top + PLOT_H + 4}"/><text class="tick" x="${n1(x(t))}" y="${M.top + PLOT_H + 16}" text-anchor="middle">${tickLabel(t, xAx.step)}</text>`)
    .join('');
  const overflowTick =
    overflow === undefined ? '' : `<text class="tick" x="${n1(x(first + (slots - 0.5) * h.width))}" y="${M.top + PLOT_H + 16}" text-anchor="middle">≥${tickLabel(overflow.from, h.width)}</text>`;
  const tallest = h.bins.reduce((best, b) => (b.count > best.count ? b : best), h.bins[0] ?? { from: 0, to: 0, count: 0 });
  const description =
    `Histogram of ${h.total} latencies in bins of ${tickLabel(h.width, h.width)} ms, ` +
    `from ${formatMs(Math.min(...values.filter(Number.isFinite)))} to ${formatMs(Math.max(...values.filter(Number.isFinite)))}; ` +
    `the most (${tallest.count}) in ${binLabel(tallest.from, tallest.to, tallest.overflow === true, h.width)}` +
    `${overflow === undefined ? '' : `; ${overflow.count} in the long tail from ${formatMs(overflow.from)}`}` +
    `${markers.length === 0 ? '' : `. ${markerText(markers)}`}.`;
  const body =
    yAxis(yTicks, yStep, y, 'keys') + bars + xAxisLine() + xTicks + overflowTick + verticalMarkers(markers, x, first, regularEnd) + xLabel('latency (ms)');
  return frame(options, description, body);
}

/**
 * Latency (ms) against time since the first send (points in ms), with the
 * markers as horizontal lines. A long tail (plots-scale.ts tailCut) is cut off
 * the y axis: those points sit on the top edge as triangles, with a note, so
 * one stall does not flatten every other point onto the x axis.
 */
export function latencyOverTimeSvg(points: readonly (readonly [number, number])[], options: PlotOptions): string {
  const markers = options.markers ?? [];
  const finite = points.filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v));
  if (finite.length === 0) return frame(options, 'No latencies were measured.', `<text class="empty" x="${W / 2}" y="${H / 2}" text-anchor="middle">no latencies</text>`);
  const seconds = finite.map(([t]) => t / 1000);
  const latencies = finite.map(([, v]) => v);
  const cut = tailCut([...latencies].sort((a, b) => a - b));
  const xAx = niceAxis(0, Math.max(...seconds), 6);
  const yAx = niceAxis(Math.min(0, ...latencies), cut ?? Math.max(...latencies), 4);
  const x = linear(xAx.lo, xAx.hi, M.left, W - M.right);
  const y = linear(yAx.lo, yAx.hi, M.top + PLOT_H, M.top);
  const above = finite.filter(([, v]) => v > yAx.hi);
  const dots = finite
    .filter(([, v]) => v <= yAx.hi)
    .map(([t, v]) => `<circle class="pt" cx="${n1(x(t / 1000))}" cy="${n1(y(v))}" r="2.2"/>`)
    .join('');
  const clipped = above
    .map(([t, v]) => {
      const cx = x(t / 1000);
      return `<path class="pt over" d="M${n1(cx - 4)} ${M.top + 3}L${n1(cx + 4)} ${M.top + 3}L${n1(cx)} ${M.top - 4}Z"><title>${text(`${formatMs(v)} at ${tickLabel(t / 1000, 0.01)} s (above the axis)`)}</title></path>`;
    })
    .join('');
  const aboveNote = above.length === 0 ? '' : `<text class="tick" x="${W - M.right}" y="${M.top - 8}" text-anchor="end">▲ ${above.length} above ${tickLabel(yAx.hi, yAx.step)} ms (max ${text(formatMs(Math.max(...above.map(([, v]) => v))))})</text>`;
  const xTicks = xAx.ticks
    .map((t) => `<line class="tick-mark" x1="${n1(x(t))}" x2="${n1(x(t))}" y1="${M.top + PLOT_H}" y2="${M.top + PLOT_H + 4}"/><text class="tick" x="${n1(x(t))}" y="${M.top + PLOT_H + 16}" text-anchor="middle">${tickLabel(t, xAx.step)}</text>`)
    .join('');
  const worst = finite.reduce((best, p) => (p[1] > best[1] ? p : best), finite[0] ?? [0, 0]);
  const description =
    `${finite.length} latencies over ${tickLabel(Math.max(...seconds), 0.1)} s since the first key; ` +
    `the highest ${formatMs(worst[1])} at ${tickLabel(worst[0] / 1000, 0.01)} s` +
    `${above.length === 0 ? '' : `; ${above.length} above ${tickLabel(yAx.hi, yAx.step)} ms are drawn on the top edge`}` +
    `${markers.length === 0 ? '' : `. ${markerText(markers)}`}.`;
  const body =
    yAxis(yAx.ticks, yAx.step, y, 'latency (ms)') + xAxisLine() + xTicks + dots + clipped + aboveNote + horizontalMarkers(markers, y, yAx.lo, yAx.hi) + xLabel('time since the first key (s)');
  return frame(options, description, body);
}
