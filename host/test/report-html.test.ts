/**
 * The HTML report as a string: self-contained (no URL, script, font or image
 * from anywhere; a CSP that forbids fetches), every report string escaped
 * (a finding with <script> stays text), accessible structure (one h1, section
 * headings, table headers, SVGs with title/desc), the summary, fleet table,
 * findings with their expected/observed diff, and plots whose bars and dots
 * follow the data. Chromium renders it in report-html-chromium.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseReport, type ReportV1 } from '@atp/protocol';
import { formatHtmlReport, reportVerdict } from '../src/report/html.js';
import { findingDiff } from '../src/report/html-diff.js';
import { parseReportSpecs } from '../src/cli/verify-options.js';
import { erroredSuite, passingSuite, sampleReport } from './report-fixture.js';
import { fleetHtmlReport, hostileSuite, htmlReport, IMG, SCRIPT, samples } from './report-html-fixture.js';

const all = (html: string, re: RegExp): RegExpMatchArray[] => [...html.matchAll(re)];
const attr = (tag: string, name: string): string | undefined => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

describe('self-contained', () => {
  const html = formatHtmlReport(htmlReport());

  it('references nothing outside the page and runs no script', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    // no URL at all, once the report's own (escaped) text is left out
    expect(formatHtmlReport(fleetHtmlReport())).not.toMatch(/:\/\//);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|<embed|@import|url\(|\ssrc="|\shref="(?!#)/i);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:; base-uri &#39;none&#39;; form-action &#39;none&#39;">`);
    expect(html).toMatch(/<meta charset="utf-8">/);
  });

  it('balances the elements it opens', () => {
    for (const tag of ['section', 'details', 'table', 'svg', 'figure', 'pre', 'dl', 'main']) {
      expect(all(html, new RegExp(`<${tag}[\\s>]`, 'g')).length, tag).toBe(all(html, new RegExp(`</${tag}>`, 'g')).length);
    }
  });

  it('gives every id once', () => {
    const ids = all(html, /\sid="([^"]+)"/g).map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('escaping', () => {
  const html = formatHtmlReport(htmlReport(), { title: `Nightly ${SCRIPT}`, stepLabels: [undefined, ['a', 'b', `type ${IMG}`]] as string[][] });

  it('renders markup from names, messages, labels and the title as text', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;');
    expect(html).toContain('&lt;img src=&quot;http');
    // the step label of step 2 in the hostile suite (a finding sits on it)
    expect(html).toContain('type &lt;img src=');
  });

  it('shows control characters from the guest escaped, as the terminal summary does', () => {
    expect(html).not.toContain('\u001b');
    expect(html).toContain('\\u001b[31m');
  });
});

describe('content', () => {
  const report = htmlReport();
  const html = formatHtmlReport(report, { stepLabels: [[], ['a', 'b', 'c', 'press ctrl+c']] });

  it('states the verdict in words and symbols, and the summary figures', () => {
    expect(reportVerdict(report)).toBe('error');
    expect(html).toMatch(/<h1>ATP run report <span class="badge error"><span aria-hidden="true">! <\/span>ERROR<\/span><\/h1>/);
    expect(html).toContain('3: 1 passed, 1 failed, 1 error<');
    expect(html).toContain('1305 of 1310 matched');
    expect(html).toContain('1 min 21 s');
    expect(html).toContain('p50 10.1 ms · p99 21.3 ms · max 45.0 ms');
    expect(html).toContain('63% (100% = one core)');
  });

  it('has one h1, the section headings, and headers on every table', () => {
    expect(all(html, /<h1>/g)).toHaveLength(1);
    const h2 = all(html, /<h2 id="[^"]+">([^<]+)<\/h2>/g).map((m) => m[1]);
    expect(h2).toEqual(['Summary', 'Suites']);
    expect(all(html, /<h3 id=/g)).toHaveLength(3);
    expect(all(html, /<table/g).length).toBe(all(html, /<thead><tr><th scope="col"/g).length);
  });

  it('links every suite in the index to its section, and opens the ones that did not pass', () => {
    for (const n of [1, 2, 3]) expect(html).toContain(`<a href="#suite-${n}">`);
    expect(all(html, /<details open><summary><h3/g)).toHaveLength(3);
  });

  it('lists findings with the step label and the expected/observed diff', () => {
    expect(html).toContain('step 3<br><span class="muted">press ctrl+c</span>');
    expect(html).toContain('<span class="d-expected"><span class="sign" aria-hidden="true">−</span><span class="sr">expected: </span>key: &quot;KEY_Z&quot;</span>');
    expect(html).toContain('<span class="d-observed"><span class="sign" aria-hidden="true">+</span><span class="sr">observed: </span>key: &quot;KEY_Y&quot;</span>');
    expect(html).toContain('<h4>Findings (5)</h4>');
    expect(html).toContain('<h4>Notes (1)</h4>');
    expect(html).toContain('<strong>ATP_QMP_DISCONNECTED</strong>: QMP closed while input-send-event was in flight');
  });

  it('draws a histogram whose bars add up to the samples, and one dot per sample over time', () => {
    const svgs = all(html, /<svg class="plot"[^>]*>[\s\S]*?<\/svg>/g).map((m) => m[0]);
    expect(svgs).toHaveLength(2);
    const [hist = '', time = ''] = svgs;
    for (const svg of svgs) {
      expect(svg).toMatch(/role="img" aria-labelledby="suite-1-(hist|time)-title" aria-describedby="suite-1-(hist|time)-desc"/);
      expect(svg).toMatch(/<title id="suite-1-(hist|time)-title">Latency (histogram|over time): smoke on lab<\/title><desc id=/);
    }
    const bars = all(hist, /<rect class="bar( overflow)?"[^>]*><title>([^<]*): (\d+)<\/title><\/rect>/g);
    expect(bars.reduce((n, m) => n + Number(m[3]), 0)).toBe(400);
    // the 80 ms stall sits in the long-tail bin, not stretching the axis
    expect(bars.filter((m) => m[1] === ' overflow').map((m) => Number(m[3]))).toEqual([1]);
    const heights = bars.map((m) => Number(attr(m[0], 'height')));
    const counts = bars.map((m) => Number(m[3]));
    const tallest = counts.indexOf(Math.max(...counts));
    expect(heights[tallest]).toBe(Math.max(...heights));
    expect(heights[tallest]).toBeGreaterThan(100);
    // one dot per sample; the 80 ms stall is past the long-tail cut, drawn as a triangle on the top edge
    expect(all(time, /<circle class="pt"/g)).toHaveLength(399);
    expect(all(time, /<path class="pt over"[^>]*><title>80\.0 ms at 6\.00 s \(above the axis\)<\/title>/g)).toHaveLength(1);
    expect(time).toMatch(/▲ 1 above \d+ ms \(max 80\.0 ms\)/);
    expect(hist).toMatch(/<text[^>]*>p50 3\.7 ms<\/text>/);
    expect(time).toMatch(/<text[^>]*>p99<\/text>/);
  });

  it('tells the reader when the samples are a spread of more latencies', () => {
    const s = { ...passingSuite(), latencySamples: { ...samples(), total: 4000 } };
    expect(formatHtmlReport(sampleReport([s]))).toContain('The plots show 400 of 4000 latencies');
  });

  it('says why there is no plot for a report without samples', () => {
    const old = formatHtmlReport(sampleReport([passingSuite()]));
    expect(old).not.toContain('<svg');
    expect(old).toContain('holds no per-key latencies');
  });

  it('caps long finding lists and says how many more the JSON has', () => {
    const suite = hostileSuite();
    const many = { ...suite, findings: Array.from({ length: 30 }, (_, i) => ({ kind: 'extra' as const, step: 1, message: `extra ${i}` })) };
    const html2 = formatHtmlReport(sampleReport([many]), { maxFindings: 10 });
    expect(html2).toContain('… and 20 more findings (the JSON report has them all).');
    expect(all(html2, /<td>extra \d+<\/td>/g)).toHaveLength(10);
  });
});

describe('fleet', () => {
  const report: ReportV1 = fleetHtmlReport();
  const html = formatHtmlReport(report);

  it('shows the per-VM table with failures first and outcomes in words', () => {
    const rows = all(html, /<tr><th scope="row">([^<]+)<\/th><td><span class="badge (\w+)"><span aria-hidden="true">[^<]*<\/span>([\w-]+)<\/span>/g).map((m) => `${m[1]} ${m[3]}`);
    expect(rows).toEqual(['vm-02 failed', 'vm-03 infra-error', 'vm-01 passed']);
    expect(html).toContain('<strong>ATP_LAB_BOOT</strong>: no agent within 240 s &lt;script&gt;');
    expect(html).toMatch(/<h2 id="fleet-h">Fleet<\/h2>/);
    expect(html).toContain('<dt>VMs</dt><dd>3: 1 passed, 1 failed, 1 infra-error</dd>');
    expect(html).toContain('8: 4 passed, 4 failed, 0 errors');
  });

  it('folds passing suites of a long report and keeps failing ones open', () => {
    expect(report.suites).toHaveLength(8);
    expect(all(html, /<details open><summary>/g)).toHaveLength(4);
    expect(all(html, /<details><summary>/g)).toHaveLength(4);
    expect(all(html, /<svg class="plot"/g)).toHaveLength(16);
  });

  it('is still a valid report after the fleet fixture round trip', () => {
    expect(() => parseReport(JSON.parse(JSON.stringify(report)))).not.toThrow();
  });
});

describe('findingDiff', () => {
  it('shows agreeing fields once, disagreeing ones as − and +, one-sided ones on their side', () => {
    const diff = findingDiff({ key: 'KEY_A', modifiers: ['ctrl'] }, { key: 'KEY_A', modifiers: [], seq: 4 });
    const lines = all(diff, /<span class="d-(\w+)">/g).map((m) => m[1]);
    expect(lines).toEqual(['same', 'expected', 'observed', 'observed']);
    expect(findingDiff(undefined, undefined)).toBe('');
  });
});

describe('--report html:FILE', () => {
  it('is accepted beside json and junit, and a wrong kind names the three', () => {
    expect(parseReportSpecs(['html:out/r.html,json:r.json', 'junit:r.xml'])).toEqual([
      { kind: 'html', file: 'out/r.html' },
      { kind: 'json', file: 'r.json' },
      { kind: 'junit', file: 'r.xml' },
    ]);
    expect(() => parseReportSpecs(['pdf:r.pdf'])).toThrow(/expected json:FILE, junit:FILE or html:FILE/);
  });
});

describe('verdict', () => {
  it('is FAIL for an empty report and ERROR when a suite could not run', () => {
    expect(reportVerdict(sampleReport([]))).toBe('fail');
    expect(reportVerdict(sampleReport([passingSuite(), erroredSuite()]))).toBe('error');
    expect(reportVerdict(sampleReport([passingSuite()]))).toBe('pass');
  });
});
