/**
 * Suites with `observer: web` run by the real runner against the web verifier
 * page in real headless Chromium, input through WebInjector (playwright's
 * keyboard and mouse, standing in for the VM's input path): a clean suite
 * passes and the page shows PASS; a dropped key is named in the report and the
 * page shows FAIL; a layout mismatch (suite says de, the browser types us)
 * yields a wrongText finding with the per-character diff.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Injector } from '../host/src/inject/actions.js';
import { parseSuiteText, runSuite, type SuiteRun } from '../host/src/scenario/index.js';
import type { CharDiff } from '../host/src/verify/index.js';
import { FaultyInjector } from './support/e2e-faulty-injector.js';
import { WebInjector } from './support/web-injector.js';
import { startRig, waitForLinkState, type Rig } from './support/web-verifier.js';

const ARTIFACTS = path.resolve('.vitest-artifacts', 'web-verifier');
/**
 * A test here waits, each bounded on its own, for the page's link (20 s), the
 * injector's offset probe (10 s), the hub's acks (20 s), the suite's
 * checkpoints and the banner (20 s): the test's bound is their sum, so a hang
 * fails at the wait that hangs, with its own message.
 */
const TEST_MS = 90_000;
let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

/** Until the hub acknowledged everything the page sent (the probe moves), so none of it lands in the suite. */
async function waitDelivered(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const s = window.atpVerifier?.status();
      return s !== undefined && 'delivery' in s && s.delivery.unacked === 0;
    },
    undefined,
    { timeout: 20_000, polling: 50 },
  );
}

/** Opens a fresh page for `agentId` and makes the injector for it. */
async function openPage(agentId: string): Promise<WebInjector> {
  await rig.open(agentId);
  await waitForLinkState(rig.page, 'ready');
  const injector = await WebInjector.create(rig.page);
  await waitDelivered(rig.page);
  return injector;
}

async function run(agentId: string, yaml: string, injector: Injector): Promise<SuiteRun> {
  const loaded = parseSuiteText(yaml, `${agentId}.yaml`);
  return runSuite(loaded, { injector, hub: rig.hub, agentId, vm: 'chromium' }, { settleMs: 300 });
}

/** Waits for the banner the host's status message sets; returns its label. */
async function bannerLabel(page: Page, verdict: 'pass' | 'fail'): Promise<string | null> {
  await page.locator(`#verdict[data-verdict="${verdict}"]`).waitFor({ state: 'visible', timeout: 20_000 });
  return page.locator('#verdict .verdict-label').textContent();
}

/** The capture area's centre in screen pixels (suite coordinates). */
async function captureCentre(page: Page, injector: WebInjector): Promise<{ x: number; y: number }> {
  const box = await page.locator('#capture').boundingBox();
  if (box === null) throw new Error('the capture area is not visible');
  return injector.toScreen(box.x + box.width / 2, box.y + box.height / 2);
}

const suite = (name: string, layout: string, steps: string): string =>
  `version: 1\nname: ${name}\ntarget: { vm: chromium, layout: ${layout} }\nobserver: web\nsteps:\n${steps}`;

describe('web observer suites in Chromium', () => {
  it('passes a suite of shifted text, a combo and clicks, and the page shows PASS', async () => {
    const { page } = rig;
    const injector = await openPage('web-pass');
    const at = await captureCentre(page, injector);
    const text = 'Hello, World! ATP #1 (ok)?';
    const yaml = suite(
      'web pass',
      'us',
      [
        `  - type: ${JSON.stringify(text)}`,
        '  - press: ctrl+b',
        `  - click: left\n    at: { x: ${at.x}, y: ${at.y} }`,
        `  - click: left\n    at: { x: ${at.x + 40}, y: ${at.y + 10} }`,
        `  - expect: { text: ${JSON.stringify(text)} }`,
        '',
      ].join('\n'),
    );
    const { report } = await run('web-pass', yaml, injector);
    expect(report.findings).toEqual([]);
    expect(report.verdict).toBe('pass');
    // Every character plus the combo's and the clicks' transitions matched.
    expect(report.counts.matched).toBe(report.counts.expected);
    expect(await page.locator('#capture').inputValue()).toBe(text);

    expect(await bannerLabel(page, 'pass')).toBe('PASS');
    const banner = await page.locator('#verdict').evaluate((el) => {
      const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return { display: s.display, visibility: s.visibility, width: r.width, height: r.height, top: r.top };
    });
    expect(banner.display).not.toBe('none');
    expect(banner.visibility).toBe('visible');
    expect(banner.width).toBeGreaterThan(300);
    expect(banner.height).toBeGreaterThan(20);
    expect(banner.top).toBeLessThan(768);
    expect(await page.locator('#verdict-detail').textContent()).toContain('web pass');
    // The step line keeps the last step the host announced.
    expect(await page.locator('#step').textContent()).toMatch(/^Step 5\/5: expect/);

    await mkdir(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, 'suite-pass.png');
    await page.screenshot({ path: file });
    const png = await readFile(file);
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1024, 768]);
  }, TEST_MS);

  it('names a dropped key, fails the suite and shows FAIL', async () => {
    const { page } = rig;
    const injector = await openPage('web-drop');
    const faulty = new FaultyInjector(injector, { drop: ['KEY_R'] });
    const yaml = suite('web drop', 'us', ['  - type: "Broken keys"', '  - expect: { text: "Broken keys", timeoutMs: 3000 }', ''].join('\n'));
    const { report } = await run('web-drop', yaml, faulty);
    expect(report.verdict).toBe('fail');
    const missing = report.findings.filter((f) => f.kind === 'missing');
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.every((f) => f.message.includes('KEY_R'))).toBe(true);
    const wrong = report.findings.find((f) => f.kind === 'wrongText');
    expect(wrong?.observed).toMatchObject({ text: 'Boken keys' });
    expect(await page.locator('#capture').inputValue()).toBe('Boken keys');

    expect(await bannerLabel(page, 'fail')).toBe('FAIL');
    expect(await page.locator('#verdict-detail').textContent()).toContain('web drop');
  }, TEST_MS);

  it('reports a layout mismatch as wrongText with the per-character diff', async () => {
    const { page } = rig;
    const injector = await openPage('web-layout');
    // The suite believes the guest types on a German layout (z and y swapped);
    // the browser's keyboard is US, so the page really produces other letters.
    const yaml = suite('web layout', 'de', ['  - type: "zebra yes"', '  - expect: { text: "zebra yes" }', ''].join('\n'));
    const { report } = await run('web-layout', yaml, injector);
    expect(await page.locator('#capture').inputValue()).toBe('yebra zes');
    expect(report.verdict).toBe('fail');
    // The keys themselves arrived exactly as sent: the only finding is the text.
    expect(report.findings.map((f) => f.kind)).toEqual(['wrongText']);
    const finding = report.findings[0];
    expect(finding?.message).toContain('0: z→y');
    expect(finding?.message).toContain('6: y→z');
    const diff = (finding?.observed as { diff: CharDiff[] } | undefined)?.diff;
    expect(diff).toEqual([
      { pos: 0, actualPos: 0, expected: 'z', actual: 'y' },
      { pos: 6, actualPos: 6, expected: 'y', actual: 'z' },
    ]);
    expect(finding?.expected).toEqual({ text: 'zebra yes' });
    expect(await bannerLabel(page, 'fail')).toBe('FAIL');
  }, TEST_MS);
});
