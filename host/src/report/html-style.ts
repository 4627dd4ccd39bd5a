/**
 * The HTML report's stylesheet, inlined into the page (no fonts or files from
 * anywhere: the system's own sans-serif and monospace). Colours come from
 * variables with a dark variant; verdicts also carry a symbol and a word, and
 * plot markers a dash pattern and a label, so nothing depends on colour alone.
 */
export const REPORT_CSS = `
:root {
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9;
  --error: #8250df; --error-bg: #fbefff; --note: #0969da; --note-bg: #ddf4ff;
  --bar: #0969da; --bar-tail: #9a6700; --pt: #0969da; --grid: #e4e8ec; --mark: #1f2328;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --panel: #151b23;
    --pass: #3fb950; --pass-bg: #12261e; --fail: #f85149; --fail-bg: #2d1215;
    --error: #ab7df8; --error-bg: #231a33; --note: #4493f8; --note-bg: #121d2f;
    --bar: #4493f8; --bar-tail: #d29922; --pt: #4493f8; --grid: #262c36; --mark: #e6edf3;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
h2 { font-size: 1.3rem; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.08rem; margin: 0; display: inline; }
h4 { font-size: 0.98rem; margin: 20px 0 8px; }
a { color: var(--note); }
.muted, .where { color: var(--muted); }
.where { font-weight: normal; margin-left: 6px; }
.sub { color: var(--muted); margin: 0 0 8px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 0.82rem; font-weight: 700; letter-spacing: 0.02em; border: 1px solid currentColor; white-space: nowrap; vertical-align: middle; }
h1 .badge { font-size: 1rem; padding: 3px 14px; }
.badge.pass { color: var(--pass); background: var(--pass-bg); }
.badge.fail { color: var(--fail); background: var(--fail-bg); }
.badge.error { color: var(--error); background: var(--error-bg); }
.badge.note { color: var(--note); background: var(--note-bg); }
.badge.skip { color: var(--muted); background: var(--panel); }
dl.facts { display: flex; flex-wrap: wrap; gap: 8px 10px; margin: 8px 0; }
dl.facts > div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 5px 11px; min-width: 96px; }
dl.facts dt { font-size: 0.74rem; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
dl.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
dl.summary > div { min-width: 150px; padding: 8px 14px; }
dl.summary dd { font-size: 1.12rem; }
.table-wrap { overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
caption { text-align: left; font-weight: 600; color: var(--muted); padding: 2px 0 4px; font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--panel); font-weight: 600; border-bottom: 2px solid var(--line); }
tbody th { font-weight: 600; }
table.fleet tbody th { white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.counts { width: auto; }
table.findings td:nth-child(1) { width: 13em; max-width: 13em; overflow-wrap: anywhere; }
table.findings td:nth-child(3) { min-width: 240px; overflow-wrap: anywhere; }
table.findings td:nth-child(4) { min-width: 280px; width: 34%; }
tr.row-fail th, tr.row-error th { border-left: 3px solid var(--fail); }
.none { color: var(--muted); }
pre.diff { margin: 0; font: 0.82rem/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.diff > span { display: block; padding: 0 6px; border-radius: 3px; }
.d-expected { background: var(--fail-bg); color: var(--fail); }
.d-observed { background: var(--pass-bg); color: var(--pass); }
.d-same { color: var(--muted); }
.sign { display: inline-block; width: 1.2em; font-weight: 700; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.error-box { background: var(--error-bg); border: 1px solid var(--error); border-radius: 6px; padding: 8px 12px; }
section.suite { border: 1px solid var(--line); border-left: 5px solid var(--line); border-radius: 8px; margin: 14px 0; background: var(--bg); }
section.suite.v-pass { border-left-color: var(--pass); }
section.suite.v-fail { border-left-color: var(--fail); }
section.suite.v-error { border-left-color: var(--error); }
section.suite > details > summary { cursor: pointer; padding: 10px 14px; list-style-position: outside; margin-left: 14px; }
section.suite > details[open] > summary { border-bottom: 1px solid var(--line); }
.suite-body { padding: 4px 16px 14px; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; margin: 8px 0; }
.plots figure { margin: 0; flex: 1 1 480px; max-width: 560px; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
figcaption { font-size: 0.8rem; color: var(--muted); padding: 2px 4px; }
svg.plot { width: 100%; height: auto; display: block; font-family: inherit; }
svg.plot .plot-title { font-size: 13px; font-weight: 600; fill: var(--fg); }
svg.plot .tick, svg.plot .axis-label, svg.plot .empty { font-size: 11px; fill: var(--muted); }
svg.plot .axis-label { font-size: 12px; }
svg.plot .grid { stroke: var(--grid); stroke-width: 1; }
svg.plot .axis, svg.plot .tick-mark { stroke: var(--muted); stroke-width: 1; }
svg.plot .bar { fill: var(--bar); }
svg.plot .bar.overflow { fill: var(--bar-tail); }
svg.plot .pt { fill: var(--pt); fill-opacity: 0.55; }
svg.plot .pt.over { fill: var(--bar-tail); fill-opacity: 1; }
svg.plot .marker line { stroke: var(--mark); stroke-width: 1.4; }
svg.plot .marker text { font-size: 11px; fill: var(--fg); font-weight: 600; paint-order: stroke; stroke: var(--panel); stroke-width: 3px; }
details.data { margin: 6px 0; font-size: 0.88rem; }
details.data table { width: auto; }
footer { margin-top: 40px; color: var(--muted); font-size: 0.82rem; }
`;
