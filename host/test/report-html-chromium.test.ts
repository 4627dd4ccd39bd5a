/**
 * The HTML report in real headless Chromium, opened from a file with the
 * browser offline and every request but the file itself aborted: no request
 * is even attempted besides the file, nothing is blocked by the page's CSP,
 * no script runs (a finding's <script> is text), the plots are drawn (bars
 * and dots with a real size on screen, SVGs exposed as images with their
 * accessible names), and screenshots (light and dark) are saved to
 * .vitest-artifacts/report-html/ for a person to look at.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatHtmlReport } from '../src/report/html.js';
import { launchChromium, type Chromium } from '../../test/support/chromium.js';
import { fleetHtmlReport, htmlReport, SCRIPT } from './report-html-fixture.js';

const ARTIFACTS = path.resolve('.vitest-artifacts', 'report-html');

let browser: Chromium;
/** Every request the page attempted, and every console message. */
const requests: string[] = [];
const consoleLines: string[] = [];
let fileUrl = '';
let fleetUrl = '';

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'report.html');
  await writeFile(file, formatHtmlReport(htmlReport(), { title: `Nightly input check ${SCRIPT}`, stepLabels: [[], ['type hello', 'press enter', 'type <script>', 'press ctrl+c']] }));
  const fleetFile = path.join(ARTIFACTS, 'report-fleet.html');
  await writeFile(fleetFile, formatHtmlReport(fleetHtmlReport(), { title: 'Fleet run' }));
  fileUrl = pathToFileURL(file).href;
  fleetUrl = pathToFileURL(fleetFile).href;
  browser = await launchChromium({ width: 1280, height: 900 });
  await browser.context.setOffline(true);
  await browser.context.route('**/*', async (route) => {
    const url = route.request().url();
    if (url === fileUrl || url === fleetUrl) await route.continue();
    else await route.abort();
  });
  browser.page.on('request', (r) => requests.push(r.url()));
  browser.page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe('the HTML report in Chromium, offline', () => {
  it('loads with no request but the file itself, no script and no CSP complaint', async () => {
    const { page } = browser;
    await page.goto(fileUrl, { waitUntil: 'load', timeout: 60_000 });
    expect(requests).toEqual([fileUrl]);
    expect(consoleLines).toEqual([]);
    expect(await page.evaluate(() => document.scripts.length)).toBe(0);
    expect(await page.title()).toMatch(/^Nightly input check <script>document\.title="pwned"<\/script>: ERROR · 3 suites · 2025-01-02 03:04:05 UTC$/);
    await expect.poll(() => page.getByRole('heading', { level: 3, name: /typing <script>/ }).count()).toBe(1);
  }, 60_000);

  it('draws the plots: bars and dots with a real size, SVGs named as images', async () => {
    const { page } = browser;
    const images = page.getByRole('img');
    expect(await images.count()).toBe(2);
    const histogram = page.getByRole('img', { name: 'Latency histogram: smoke on lab', exact: true });
    expect(await histogram.count()).toBe(1);
    expect(await histogram.getAttribute('aria-describedby')).toBe('suite-1-hist-desc');
    expect(await page.locator('#suite-1-hist-desc').textContent()).toMatch(/^Histogram of 400 latencies in bins of/);
    expect(await page.getByRole('img', { name: 'Latency over time: smoke on lab', exact: true }).count()).toBe(1);
    for (const svg of await page.locator('svg.plot').all()) {
      const box = await svg.boundingBox();
      expect(box?.width ?? 0).toBeGreaterThan(300);
      expect(box?.height ?? 0).toBeGreaterThan(140);
    }
    const bars = await page.locator('svg.plot rect.bar').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => ({ w: r.width, h: r.height })));
    expect(bars.length).toBeGreaterThan(5);
    expect(bars.filter((b) => b.w > 2 && b.h > 1).length).toBeGreaterThan(5);
    expect(Math.max(...bars.map((b) => b.h))).toBeGreaterThan(80);
    const dots = await page.locator('svg.plot .pt').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).filter((r) => r.width > 1 && r.height > 1).length);
    expect(dots).toBe(400);
    // the bars are painted in a colour, not transparent
    const fill = await page.locator('svg.plot rect.bar').first().evaluate((e) => getComputedStyle(e).fill);
    expect(fill).toMatch(/^rgb\(\d+, \d+, \d+\)$/);
  }, 60_000);

  it('shows the summary, the findings with their diff, and the headings in order', async () => {
    const { page } = browser;
    const h2 = await page.getByRole('heading', { level: 2 }).allTextContents();
    expect(h2).toEqual(['Summary', 'Suites']);
    const diff = page.locator('pre.diff').filter({ hasText: 'KEY_Z' });
    await expect.poll(() => diff.locator('.d-expected').textContent()).toBe('−expected: key: "KEY_Z"');
    expect(await diff.locator('.d-observed').textContent()).toBe('+observed: key: "KEY_Y"');
    expect(await page.getByRole('cell', { name: /step 3\s*press ctrl\+c/ }).count()).toBe(2);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-dark.png'), fullPage: false });
    await page.emulateMedia({ colorScheme: 'light' });
  }, 60_000);

  it('shows a fleet run with its per-VM table; folded suites open on a click', async () => {
    const { page } = browser;
    requests.length = 0;
    await page.goto(fleetUrl, { waitUntil: 'load', timeout: 60_000 });
    expect(requests).toEqual([fleetUrl]);
    const fleet = page.getByRole('table').filter({ hasText: 'infra-error' });
    expect(await fleet.getByRole('row').count()).toBe(4);
    const folded = page.locator('section.suite > details:not([open])');
    expect(await folded.count()).toBe(4);
    const plot = page.locator('section.suite > details').nth(0).locator('svg.plot').first();
    expect(await plot.evaluate((e) => e.checkVisibility())).toBe(false);
    await folded.first().locator(':scope > summary').click();
    expect(await plot.evaluate((e) => e.checkVisibility())).toBe(true);
    expect((await plot.boundingBox())?.height ?? 0).toBeGreaterThan(140);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-fleet.png'), fullPage: true });
    expect(consoleLines).toEqual([]);
  }, 60_000);
});
